#!/usr/bin/env bash
# Delivery exactly once under real operations, with the real gateway, LV
# simulator and two pharmacy webhook simulators (one answering 401):
#  1. `klasgw outbox list` in a loop while LV is slow: no message id
#     reaches LV or the working webhook twice, and an item in flight is
#     listed as such;
#  2. the failing webhook's Subscription goes to status error after its
#     refusal and is called no more (each event still makes its item, a
#     dead letter); the working one gets every event once;
#  3. a second serve on the same store refuses to start, naming the PID;
#  4. serve killed with SIGKILL mid-delivery: after a restart the item is
#     delivered once its lease has expired;
#  5. LV down, then back: every waiting item is delivered (the recovery
#     time is printed, not asserted).
set -euo pipefail
. "$(dirname "$0")/soap_lib.sh"
soap_setup 18160
# Ports the kernel picks (nobody else's test meets them).
read -r HOOK1_PORT HOOK2_PORT GW2_PORT < <(/usr/bin/python3 -c '
import socket
s = [socket.socket() for _ in range(3)]
for x in s: x.bind(("127.0.0.1", 0))
print(*[x.getsockname()[1] for x in s])')
export KLASGW_LV_TIMEOUT_MS=2000
export KLASGW_OUTBOX_LEASE_S=1            # raised to 2 x the LV timeout: 4 s
export KLASGW_OUTBOX_PROBE_INTERVAL_MS=500
export KLASGW_OUTBOX_BACKOFF_BASE_MS=1000
export KLASGW_OUTBOX_BACKOFF_CAP_MS=60000
EHR=serial:SE2321000016-EHR1
APO=serial:SE7350000000-APO1
DB=$KLASGW_STORE_PATH
k() { "$KLASGW" -c "$CONF" "$@"; }
q() { sqlite3 -cmd '.timeout 5000' "$DB" "$1"; }
now_ms() { date +%s%3N; }

start_hook() {   # PORT LOG [args]
    local port=$1 log=$2
    shift 2
    "$KLASGW" -c "$CONF" sim pharmacy --port "$port" "$@" >"$log" 2>&1 &
    PIDS+=("$!"); wait_port "$port"
}

subscribe() {   # PORT -> subscription id
    curl -s -o "$dir/sub.json" -w '%{http_code}' -H "X-Klasgw-Client: $APO" \
        -H 'Content-Type: application/fhir+json' \
        --data-binary "{\"resourceType\":\"Subscription\",\"status\":\"requested\",\"reason\":\"KLAS\",\"criteria\":\"Task\",\"channel\":{\"type\":\"rest-hook\",\"endpoint\":\"http://127.0.0.1:$1/hook\"}}" \
        "$BASE/fhir/Subscription" >"$dir/status"
    [ "$(cat "$dir/status")" = 201 ] || fail "subscribe: $(cat "$dir/status") $(cat "$dir/sub.json")"
    sed -n 's/^ *"id": *"\([0-9a-f-]*\)".*/\1/p' "$dir/sub.json" | head -1
}

# One case: submit (notifies the chosen pharmacy), then apply (goes to LV).
new_case() {   # tag -> refnr
    local ref b
    submit_file "$dir/s-$1.xml" SE2321000016-DOC1 "ops-$1"
    ref=$(soap_call SubmitLicenseMotivation $EHR SE2321000016-DOC1 "$dir/s-$1.xml" | refnr_of)
    [ ${#ref} -eq 10 ] || fail "$1: submit: $(cat "$dir/out")"
    b=$(example application-enskild.xml "$ref")
    envelope CreateLicenseApplication "<r:messageId>app-$1</r:messageId><r:referenceNumber>$ref</r:referenceNumber><r:application>$b</r:application>" >"$dir/a-$1.xml"
    soap_call CreateLicenseApplication $APO "" "$dir/a-$1.xml" >"$dir/r-$1"
    grep -q '<caseStatus>A</caseStatus>' "$dir/r-$1" || fail "$1: apply: $(cat "$dir/r-$1")"
    echo "$ref"
}

wait_sql() {   # SQL WANT WHAT [tries of 0.05 s]
    local i
    for i in $(seq 1 "${4:-400}"); do
        [ "$(q "$1")" = "$2" ] && return 0
        sleep 0.05
    done
    grep -v event=request "$dir/gw.log" | tail -20 >&2
    # What the outbox holds, for a flake seen once under load (4 webhook
    # notifications not done after 20 s: late, in flight or dead?).
    q "SELECT id, peer, state, attempts, next_attempt_ms - $(now_ms),
              coalesce(claimed_until, 0) - $(now_ms), last_error
       FROM outbox WHERE state != 'done'" >&2 || true
    fail "$3: $(q "$1"), wanted $2"
}

dups() { grep -c 'duplicate=1' "$1" || true; }

start_hsa
start_lv --fail slow --slow-ms 1500 --then ""
start_hook "$HOOK1_PORT" "$dir/hook1.log"
start_hook "$HOOK2_PORT" "$dir/hook2.log" --fail unauthorized
start_gateway
SUB1=$(subscribe "$HOOK1_PORT")
SUB2=$(subscribe "$HOOK2_PORT")

# --- 1 and 2: the CLI in a loop during slow deliveries -------------------
: >"$dir/inflight-seen"
( while [ ! -f "$dir/stop-loop" ]; do
      k outbox list >/dev/null 2>>"$dir/cli.err" || echo "list failed" >>"$dir/cli.err"
      k outbox list --state inflight 2>>"$dir/cli.err" | grep ' inflight ' >>"$dir/inflight-seen" || true
      sleep 0.05
      sleep 0.1
  done ) &
LOOP_PID=$!; PIDS+=("$LOOP_PID")
for i in 1 2 3 4; do new_case "a$i" >/dev/null; done
wait_sql "SELECT count(*) FROM outbox WHERE peer='lv' AND state='done'" 4 "LV deliveries"
wait_sql "SELECT count(*) FROM outbox WHERE peer='pharmacy' AND target='$SUB1' AND state='done'" 4 "notifications"
touch "$dir/stop-loop"; wait "$LOOP_PID" 2>/dev/null || true
[ ! -s "$dir/cli.err" ] || fail "outbox list failed: $(head -3 "$dir/cli.err")"
[ "$(grep -c 'sim_lv_application .*duplicate=0' "$dir/lv.log")" -eq 4 ] \
    || fail "LV registered $(grep -c 'duplicate=0' "$dir/lv.log") applications, wanted 4"
[ "$(dups "$dir/lv.log")" -eq 0 ] || fail "LV got $(dups "$dir/lv.log") duplicates: $(grep duplicate=1 "$dir/lv.log" | head -3)"
# How often the loop caught one in flight depends on the machine: printed.
lists=$(grep -c . "$dir/inflight-seen" || true)
echo "outbox list --state inflight showed $lists in-flight rows during delivery"
[ "$(grep -c 'accepted=1' "$dir/hook1.log")" -eq 4 ] || fail "hook1: $(grep -c 'accepted=1' "$dir/hook1.log") notifications, wanted 4"
[ "$(dups "$dir/hook1.log")" -eq 0 ] || fail "hook1 got duplicates"
# The 401 endpoint refused: its Subscription is in error, every item of it
# a dead letter, none retried (at most one call per event, fewer when the
# error came first); the working endpoint was not affected.
n2=$(grep -c 'sim_pharmacy_notification' "$dir/hook2.log" || true)
[ "$n2" -ge 1 ] && [ "$n2" -le 4 ] || fail "hook2 was called $n2 times, wanted 1..4"
curl -s -H "X-Klasgw-Client: $APO" "$BASE/fhir/Subscription/$SUB2" >"$dir/sub2.json"
jf() { sed -n "s/^  \"$2\": *\"\\([^\"]*\\)\".*/\\1/p" "$1" | head -1; }
[ "$(jf "$dir/sub2.json" status)" = error ] || fail "subscription 2: $(cat "$dir/sub2.json")"
[ "$(jf "$dir/sub2.json" error)" = "peer answered HTTP 401" ] || fail "subscription 2 does not say why: $(cat "$dir/sub2.json")"
curl -s -H "X-Klasgw-Client: $APO" "$BASE/fhir/Subscription/$SUB1" >"$dir/sub1.json"
[ "$(jf "$dir/sub1.json" status)" = active ] || fail "subscription 1 is not active"
# Every event made its item for it, each a dead letter, called or not:
# an event for a subscription in error is not dropped unsaid.
wait_sql "SELECT count(*) FROM outbox WHERE target='$SUB2' AND state='dead'" 4 \
    "subscription 2's 4 items are not all dead letters (calls: $n2)"
items2=$(q "SELECT count(*) FROM outbox WHERE target='$SUB2'")
[ "$items2" -eq 4 ] || fail "subscription 2 has $items2 items, wanted 4"

# --- 3: a second serve on the same store ---------------------------------
set +e
KLASGW_SERVER_PORT=$GW2_PORT timeout 20 "$KLASGW" -c "$CONF" serve >"$dir/gw2.log" 2>&1
rc=$?
set -e
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "a second serve started (exit $rc)"
grep -q "in use by another klasgw serve (pid $GW_PID" "$dir/gw2.log" \
    || fail "second serve: $(cat "$dir/gw2.log")"

# --- 4: SIGKILL mid-delivery, restart, delivered after the lease ---------
# LV takes 1.5 s: on a loaded machine (load 16) the look-up that saw the
# item in flight and the kill were once further apart than that, and the
# delivery had ended. Then the next case is tried: the kill must find one
# in flight.
id=
for try in 1 2 3; do
    ref=$(new_case "kill$try")
    wait_sql "SELECT count(*) FROM outbox WHERE peer='lv' AND state='inflight'" 1 "the item in flight"
    kill -9 "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
    id=$(q "SELECT id FROM outbox WHERE peer='lv' AND state='inflight'")
    [ -z "$id" ] || break
    echo "the delivery of $ref ended before the kill (try $try): once more"
    start_gateway
done
[ -n "$id" ] || fail "the item was not in flight when serve was killed (3 tries)"
# Listed as in flight (old klasgw: every open made it pending again).
k outbox list --state inflight | grep -q "^$id *inflight  lv " || fail "outbox list does not show it in flight"
[ "$(q "SELECT state FROM outbox WHERE id=$id")" = inflight ] || fail "listing changed the item"
k outbox show "$id" | grep -q '^claimed by: ' || fail "outbox show names no holder"
start_gateway
t0=$(now_ms)
wait_sql "SELECT state FROM outbox WHERE id=$id" done "the killed delivery" 300
echo "after SIGKILL and restart: delivered $(( $(now_ms) - t0 )) ms after the restart (lease 4 s)"
grep -q "sim_lv_application refnr=$ref .*duplicate=0" "$dir/lv.log" || fail "LV never registered $ref"
[ "$(q "SELECT count(*) FROM outbox WHERE target='$SUB2' AND state IN ('done', 'inflight')")" -eq 0 ] \
    || fail "an item of a subscription in error was delivered or is in flight"
[ "$(grep -c 'sim_pharmacy_notification' "$dir/hook2.log")" -eq "$n2" ] \
    || fail "a subscription in error was called again"

# --- 5: LV down, then back -------------------------------------------------
kill "$LV_PID"; wait "$LV_PID" 2>/dev/null || true
for i in 1 2 3 4; do new_case "d$i" >/dev/null; done
for i in $(seq 1 200); do grep -q 'event=peer_down peer=lv' "$dir/gw.log" && break; sleep 0.05; done
grep -q 'event=peer_down peer=lv' "$dir/gw.log" || fail "LV down was not noticed"
sleep 4 # an outage: the items' backoff grows past the probe interval
start_lv --then ""
t0=$(now_ms)
wait_sql "SELECT count(*) FROM outbox WHERE peer='lv' AND state!='done'" 0 "delivery after LV came back" 600
echo "LV back: all 4 waiting items delivered $(( $(now_ms) - t0 )) ms after it answered again (target < 10000)"
[ "$(dups "$dir/lv.log")" -eq 0 ] || fail "duplicates at LV after the outage"
grep -q 'event=peer_up peer=lv' "$dir/gw.log" || fail "the peer never came up"
[ "$(q "SELECT count(*) FROM outbox WHERE state='dead' AND peer='lv'")" -eq 0 ] || fail "dead letters for LV"
! grep -q '201006301111\|Testsson' "$dir/gw.log" "$dir"/hook*.log || fail "personal data logged"
! grep -qE 'Sanitizer|runtime error:' "$dir"/*.log || fail "a sanitizer spoke: $(grep -hE -m3 'Sanitizer|runtime error:' "$dir"/*.log)"
echo "ok: outbox operations"
