#!/usr/bin/env bash
# The worked example's event through a real gateway (withdrawn.py says
# what is checked): the patched klasgw serves on a free port with the
# HSA simulator beside it and a rest-hook receiver for the pharmacy.
#   KLASGW=... FHIRCONV=... GW_SOURCE_DIR=<patched tree> CHECKJS=... withdrawn.sh
set -euo pipefail
: "${KLASGW:?}" "${FHIRCONV:?}" "${GW_SOURCE_DIR:?}" "${CHECKJS:?}"
here=$(cd "$(dirname "$0")" && pwd)
work=$(mktemp -d)
free() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
port=$(free); hook=$(free); hsa=$(free)
cat >"$work/gw.conf" <<CONF
[server]
port = $port
plain_http = true
threads = 2
[store]
path = $work/klasgw.db
[hsa]
url = http://127.0.0.1:$hsa/hsa
[lv]
url =
[webhooks]
allowed_hosts = 7350000000016=127.0.0.1 7350000000023=127.0.0.1
allow_private = 127.0.0.0/8
allow_http = true
[clients]
journal1 = ehr serial:SE2321000016-EHR1
apotek1 = pharmacy serial:SE7350000000-APO1 7350000000016
apotek2 = pharmacy serial:SE7350000000-APO2 7350000000023
lisy = lv serial:SE2021004078-LISY
CONF
cleanup() {
    [ -n "${gw:-}" ] && kill "$gw" 2>/dev/null && wait "$gw" 2>/dev/null
    [ -n "${rx:-}" ] && kill "$rx" 2>/dev/null
    [ -n "${hs:-}" ] && kill "$hs" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT
/usr/bin/python3 "$GW_SOURCE_DIR/tests/e2e/lifecycle.py" receive "$hook" "$work/hook.log" &
rx=$!
"$KLASGW" -c "$work/gw.conf" sim hsa --port "$hsa" \
    --fixture "$GW_SOURCE_DIR/tests/fixtures/hsa/prescribers.tsv" 2>"$work/hsa.log" &
hs=$!
"$KLASGW" -c "$work/gw.conf" serve 2>"$work/gw.log" &
gw=$!
for _ in $(seq 100); do
    curl -sf "http://127.0.0.1:$port/healthz" >/dev/null && break
    sleep 0.1
done
if ! /usr/bin/python3 "$here/withdrawn.py" "$port" "$hook" "$work/hook.log" \
        "$work/klasgw.db" "$GW_SOURCE_DIR" "$FHIRCONV" "$CHECKJS"; then
    echo "--- gateway log" >&2; grep -v "event=request" "$work/gw.log" | tail -30 >&2
    exit 1
fi
"$KLASGW" -c "$work/gw.conf" audit verify >/dev/null \
    || { echo "FAIL: audit chain broken" >&2; exit 1; }
