#!/usr/bin/env bash
# Every SOAP answer validates against its contract: OK answers and each
# kind of refusal (tests/e2e/soap_answers.py), faults where the response
# has no result, SOAP faults (not OperationOutcomes) for 401 on /soap;
# x-rivta-original-serviceconsumer-hsaid is audited when journal1, listed
# in server.trusted_platforms, passes it on, and refused (audited) from a
# client that is no platform.
set -euo pipefail
. "$(dirname "$0")/soap_lib.sh"
soap_setup 18190
start_hsa
export KLASGW_LV_URL=   # no LV here: items wait in the outbox
export KLASGW_SERVER_TRUSTED_PLATFORMS=journal1
start_gateway
/usr/bin/python3 "$GW_SOURCE_DIR/tests/e2e/soap_answers.py" "$BASE" "$GW_SOURCE_DIR" \
    >"$dir/answers.log" 2>&1 || { cat "$dir/answers.log"; fail "SOAP answers"; }
grep -q '^0 failure(s)$' "$dir/answers.log" || { cat "$dir/answers.log"; fail "SOAP answers"; }
curl -sf "$BASE/healthz" >/dev/null || fail "gateway died"
# The original consumer behind the platform is in the audit log, and in
# nothing the gateway decided on.
kill "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
/usr/bin/python3 - "$KLASGW_STORE_PATH" <<'PY' || fail "the original consumer is not audited"
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute(
    "SELECT detail FROM audit WHERE action = 'soap-consumer'").fetchall()
refused = sqlite3.connect(sys.argv[1]).execute(
    "SELECT count(*) FROM audit WHERE action = 'soap-consumer-refused'").fetchone()[0]
sys.exit(0 if refused > 0 and any(
    "original-consumer=SE2321000016-ORIG platform=journal1" in (d or "")
    for (d,) in rows) else 1)
PY
"$KLASGW" -c "$CONF" audit verify >/dev/null || fail "the audit chain does not verify"
echo "ok: every SOAP answer validates"
