#!/usr/bin/env bash
# Every SOAP answer validates against its contract: OK answers and each
# kind of refusal (tests/e2e/soap_answers.py), faults where the response
# has no result, SOAP faults (not OperationOutcomes) for 401 on /soap.
set -euo pipefail
. "$(dirname "$0")/soap_lib.sh"
soap_setup 18190
start_hsa
export KLASGW_LV_URL=   # no LV here: items wait in the outbox
start_gateway
/usr/bin/python3 "$GW_SOURCE_DIR/tests/e2e/soap_answers.py" "$BASE" "$GW_SOURCE_DIR" \
    >"$dir/answers.log" 2>&1 || { cat "$dir/answers.log"; fail "SOAP answers"; }
grep -q '^0 failure(s)$' "$dir/answers.log" || { cat "$dir/answers.log"; fail "SOAP answers"; }
curl -sf "$BASE/healthz" >/dev/null || fail "gateway died"
echo "ok: every SOAP answer validates"
