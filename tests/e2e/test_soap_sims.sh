#!/usr/bin/env bash
# The simulators themselves: the pharmacy webhook logs what it receives and
# can be told to fail; bad usage is refused; HSA and LV answer Ping.
set -euo pipefail
. "$(dirname "$0")/soap_lib.sh"
soap_setup 18180
PH_PORT=$(free_port 18195)

set +e
"$KLASGW" -c "$CONF" sim nope >/dev/null 2>&1; rc1=$?
"$KLASGW" -c "$CONF" sim hsa --fail sometimes >/dev/null 2>&1; rc2=$?
"$KLASGW" -c "$CONF" sim hsa --port "$HSA_PORT" --fixture /nonexistent >/dev/null 2>&1; rc3=$?
set -e
[ $rc1 -eq 2 ] && [ $rc2 -eq 2 ] && [ $rc3 -eq 1 ] || fail "usage errors ($rc1 $rc2 $rc3)"

"$KLASGW" -c "$CONF" sim pharmacy --port "$PH_PORT" --fail fault --fail-count 1 \
    >"$dir/ph.log" 2>&1 &
PIDS+=($!); wait_port "$PH_PORT"
post() { curl -s -o /dev/null -w '%{http_code}' -H "X-Message-Id: $1" \
    -H 'Content-Type: application/json' --data '{"gln":"7350000000016","event":"decision"}' \
    "http://127.0.0.1:$PH_PORT/hook"; }
[ "$(post n-1)" = 500 ] || fail "pharmacy: the first request should fail"
[ "$(post n-2)" = 204 ] || fail "pharmacy: the second request should pass"
grep -q 'event=sim_pharmacy_notification message_id="n-2"' "$dir/ph.log" \
    || fail "pharmacy: notification not logged: $(cat "$dir/ph.log")"

start_hsa
start_lv --then none
ping='<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:p="urn:riv:itintegration:monitoring:PingForConfigurationResponder:1"><soapenv:Body><p:PingForConfiguration><p:logicalAddress>x</p:logicalAddress></p:PingForConfiguration></soapenv:Body></soapenv:Envelope>'
for port in "$HSA_PORT" "$LV_PORT"; do
    curl -s -H 'Content-Type: text/xml' --data "$ping" "http://127.0.0.1:$port/" \
        | grep -q 'version>[^<]*-sim</' || fail "Ping on $port"
done
echo "ok: simulators"
