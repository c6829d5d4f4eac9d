#!/usr/bin/env bash
# serve killed with SIGKILL mid-delivery, with a long lease (10 minutes):
# the restarted serve holds the store's lock, so it knows the lease's
# holder is dead and delivers the item again at once, long before the
# lease would have expired (issue #12: R1's outbox drain). LV hangs on the
# first request (read, never answered), so the item is in flight when
# serve dies; the resend is registered at LV exactly once.
set -euo pipefail
. "$(dirname "$0")/soap_lib.sh"
soap_setup 18200
export KLASGW_LV_TIMEOUT_MS=20000
export KLASGW_OUTBOX_LEASE_S=600
EHR=serial:SE2321000016-EHR1
APO=serial:SE7350000000-APO1
DB=$KLASGW_STORE_PATH
q() { sqlite3 -cmd '.timeout 5000' "$DB" "$1"; }
now_ms() { date +%s%3N; }

wait_sql() {   # SQL WANT WHAT [tries of 0.05 s]
    local i
    for i in $(seq 1 "${4:-400}"); do
        [ "$(q "$1")" = "$2" ] && return 0
        sleep 0.05
    done
    grep -v event=request "$dir/gw.log" | tail -20 >&2
    fail "$3: $(q "$1"), wanted $2"
}

start_hsa
start_lv --fail timeout --fail-count 1 --hang-ms 60000 --then ""
start_gateway

submit_file "$dir/s.xml" SE2321000016-DOC1 reclaim-1
ref=$(soap_call SubmitLicenseMotivation $EHR SE2321000016-DOC1 "$dir/s.xml" | refnr_of)
[ ${#ref} -eq 10 ] || fail "submit: $(cat "$dir/out")"
b=$(example application-enskild.xml "$ref")
envelope CreateLicenseApplication "<r:messageId>app-reclaim</r:messageId><r:referenceNumber>$ref</r:referenceNumber><r:application>$b</r:application>" >"$dir/a.xml"
soap_call CreateLicenseApplication $APO "" "$dir/a.xml" >"$dir/r"
grep -q '<caseStatus>A</caseStatus>' "$dir/r" || fail "apply: $(cat "$dir/r")"

# In flight at LV, which holds the request without answering: kill serve.
wait_sql "SELECT count(*) FROM outbox WHERE peer='lv' AND state='inflight'" 1 "the item in flight"
# The claim is committed before the request reaches LV: wait until LV
# holds it (a slow, sanitized build may take a while to send it).
for _ in $(seq 1 400); do
    grep -q 'event=sim_received peer=lv .*answered=timeout' "$dir/lv.log" && break
    sleep 0.05
done
kill -9 "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
id=$(q "SELECT id FROM outbox WHERE peer='lv' AND state='inflight'")
[ -n "$id" ] || fail "the item was not in flight when serve was killed"
left=$(( $(q "SELECT claimed_until FROM outbox WHERE id=$id") - $(now_ms) ))
[ "$left" -gt 300000 ] || fail "the lease has only $left ms left: the test needs a long one"
grep -q 'event=sim_received peer=lv .*answered=timeout' "$dir/lv.log" \
    || fail "LV did not get the first request: $(tail -3 "$dir/lv.log")"

# Restart: delivered within 20 s (the old serve waited out the 600 s lease).
start_gateway
t0=$(now_ms)
wait_sql "SELECT state FROM outbox WHERE id=$id" done "the killed delivery, reclaimed at start-up" 400
echo "after SIGKILL and restart: delivered $(( $(now_ms) - t0 )) ms after the restart (lease left: $left ms)"
grep -q "event=outbox_reclaimed items=1" "$dir/gw.log" || fail "serve did not log the reclaim"
[ "$(q "SELECT attempts FROM outbox WHERE id=$id")" = 0 ] || fail "the cut delivery counted as an attempt"
[ "$(grep -c "sim_lv_application refnr=$ref .*duplicate=0" "$dir/lv.log")" -eq 1 ] \
    || fail "LV registered $ref $(grep -c "sim_lv_application refnr=$ref .*duplicate=0" "$dir/lv.log") times, wanted 1"
! grep -qE 'Sanitizer|runtime error:' "$dir"/*.log || fail "a sanitizer spoke: $(grep -hE -m3 'Sanitizer|runtime error:' "$dir"/*.log)"
echo "ok: outbox reclaimed at start-up"
