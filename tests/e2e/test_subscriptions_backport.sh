#!/usr/bin/env bash
# Notifications as the FHIR R4 Subscriptions Backport IG (1.1.0) has them,
# with the real gateway and the pharmacy simulator as the IG's client
# (src/sim/subs.c checks each notification: a history Bundle, the
# SubscriptionStatus Parameters first, its subscription, event numbers in
# order, the channel.header it asked for, id-only focus entries):
#  1. refusals at create: a filter naming another pharmacy's GLN (403), an
#     unknown topic, content other than id-only, a header with CR/LF or
#     one the gateway sets, a heartbeat shorter than allowed (422 each);
#  2. the simulator subscribes: handshake -> status active, a heartbeat
#     (heartbeat_min_s=1 here), then event notifications 1 and 2 with the
#     Authorization header it asked for;
#  3. the simulator is stopped, three events happen, it is started again
#     and $events from its last event gives exactly 3, 4 and 5;
#  4. $status says 5 events; every notification, the $status and the
#     $events answer pass the R4 checker (tests/fhircheck); no personnummer
#     anywhere (id-only);
#  5. a subscription whose endpoint nobody answers goes into error at its
#     handshake; an event then still counts for it (the IG: a server SHALL
#     increment eventsSinceSubscriptionStart in error): its $status says
#     error and 1 event, its $events names the case, its item is a dead
#     letter.
# With KLASGW_STORE_BACKEND=postgresql (pg_subscriptions.sh, by hand) the same
# on the PostgreSQL store.
set -euo pipefail
. "$(dirname "$0")/soap_lib.sh"
soap_setup
export KLASGW_WEBHOOKS_HEARTBEAT_MIN_S=1
export KLASGW_WEBHOOKS_BASE_URL="$BASE/fhir"
export KLASGW_OUTBOX_SUBSCRIPTION_MAX_FAILURES=1000   # down a while: no error
check="$GW_SOURCE_DIR/tests/fhircheck/check.js"
[ -d "$GW_SOURCE_DIR/tests/fhircheck/node_modules" ] \
    || fail "tests/fhircheck has no node_modules: run scripts/install-deps.sh"
APO=serial:SE7350000000-APO1
GLN=7350000000016
EHR=serial:SE2321000016-EHR1
TOPIC=http://klasgw.org/fhir/SubscriptionTopic/case-for-pharmacy
SD=http://hl7.org/fhir/uv/subscriptions-backport/StructureDefinition
PNR=201006301111
read -r PH_PORT DEAD_PORT _ < <(free_ports)
sql() {
    if [ "${KLASGW_STORE_BACKEND:-sqlite}" = postgresql ]; then
        psql "$KLASGW_STORE_DSN" -Atc "$1"
    else
        sqlite3 -cmd ".timeout 5000" "$KLASGW_STORE_PATH" "$1"
    fi
}
PH="$dir/ph"
mkdir -p "$PH"

start_hsa
start_gateway

# --- 1. refusals ---------------------------------------------------------
sub_json() {   # CRITERIA FILTER CONTENT HEADER-JSON HEARTBEAT
    printf '{"resourceType":"Subscription","status":"requested","reason":"t",'
    printf '"criteria":"%s","_criteria":{"extension":[{"url":"%s/backport-filter-criteria","valueString":"%s"}]},' "$1" "$SD" "$2"
    printf '"channel":{"extension":[{"url":"%s/backport-heartbeat-period","valueUnsignedInt":%s}],' "$SD" "$5"
    printf '"type":"rest-hook","endpoint":"http://127.0.0.1:%s/hook","payload":"application/fhir+json",' "$PH_PORT"
    printf '"_payload":{"extension":[{"url":"%s/backport-payload-content","valueCode":"%s"}]},"header":[%s]}}' "$SD" "$3" "$4"
}
post_sub() {   # expected-status what body...
    local want=$1 what=$2
    shift 2
    sub_json "$@" >"$dir/sub-in.json"
    curl -s -o "$dir/sub-out.json" -w '%{http_code}' -H "X-Klasgw-Client: $APO" \
        -H 'Content-Type: application/fhir+json' --data-binary @"$dir/sub-in.json" \
        "$BASE/fhir/Subscription" >"$dir/status"
    [ "$(cat "$dir/status")" = "$want" ] \
        || fail "$what: HTTP $(cat "$dir/status") (wanted $want): $(cat "$dir/sub-out.json")"
}
OK_H='"Authorization: Bearer t"'
post_sub 403 "a filter naming another GLN" "$TOPIC" "Task?owner.identifier=7350000000023" id-only "$OK_H" 1
grep -q 'own cases' "$dir/sub-out.json" || fail "403 does not say why: $(cat "$dir/sub-out.json")"
post_sub 422 "an unknown topic" "${TOPIC}x" "Task?owner.identifier=$GLN" id-only "$OK_H" 1
post_sub 422 "full-resource content" "$TOPIC" "Task?owner.identifier=$GLN" full-resource "$OK_H" 1
post_sub 422 "a header with CR/LF" "$TOPIC" "Task?owner.identifier=$GLN" id-only '"Authorization: x\r\nX-Evil: 1"' 1
grep -q 'channel.header' "$dir/sub-out.json" || fail "the header refusal does not name the field"
post_sub 422 "a header the gateway sets" "$TOPIC" "Task?owner.identifier=$GLN" id-only '"X-Message-Id: 1"' 1
post_sub 422 "a header longer than 256 bytes" "$TOPIC" "Task?owner.identifier=$GLN" id-only "\"Authorization: $(printf 'a%.0s' $(seq 1 300))\"" 1
post_sub 422 "two headers" "$TOPIC" "Task?owner.identifier=$GLN" id-only "$OK_H,$OK_H" 1
[ "$(sql 'SELECT count(*) FROM subscriptions')" = 0 ] \
    || fail "a refused Subscription was stored"

# --- 2. subscribe, handshake, heartbeat, events ---------------------------
start_ph() {
    "$KLASGW" -c "$CONF" sim pharmacy --port "$PH_PORT" --gateway "$BASE" \
        --client "$APO" --save "$PH" "$@" >>"$dir/ph.log" 2>&1 &
    PH_PID=$!; PIDS+=("$PH_PID"); wait_port "$PH_PORT"
}
wait_log() {   # PATTERN COUNT WHAT (up to 30 s: a loaded machine)
    local i
    for i in $(seq 1 600); do
        [ "$(grep -c -- "$1" "$dir/ph.log" || true)" -ge "$2" ] && return 0
        sleep 0.05
    done
    tail -20 "$dir/ph.log" >&2
    grep -v event=request "$dir/gw.log" | tail -10 >&2
    fail "$3"
}
new_case() {   # tag: a motivation naming apotek1 (its GLN): one event
    submit_file "$dir/s-$1.xml" SE2321000016-DOC1 "bp-$1"
    echo "$(soap_call SubmitLicenseMotivation $EHR SE2321000016-DOC1 "$dir/s-$1.xml" | refnr_of)" >>"$dir/refs"
    [ "$(cat "$dir/status")" = 200 ] || fail "submit $1: $(cat "$dir/out")"
}
start_ph --subscribe "$TOPIC" --header "Authorization: Bearer sim-secret" --heartbeat 1
wait_log 'event=sim_subscribed status=201' 1 "the simulator did not subscribe"
SUB=$(cat "$PH/subscription")
wait_log 'type=handshake .*ok=1' 1 "no handshake"
# The simulator logs the handshake when it answers; the gateway stores
# "active" once it has read that answer: a moment later, longer on a
# loaded machine.
for i in $(seq 1 600); do
    curl -s -H "X-Klasgw-Client: $APO" "$BASE/fhir/Subscription/$SUB" >"$dir/sub.json"
    grep -q '"status": *"active"' "$dir/sub.json" && break
    sleep 0.05
done
grep -q '"status": *"active"' "$dir/sub.json" || fail "not active after the handshake: $(cat "$dir/sub.json")"
grep -q 'Bearer sim-secret' "$dir/sub.json" && fail "the read shows the header's secret"
wait_log 'type=heartbeat .*ok=1' 1 "no heartbeat"
new_case 1
new_case 2
wait_log 'type=event-notification .*numbers=2 repeat=0 ok=1' 1 "events 1 and 2 did not come"
grep -q 'type=event-notification .*numbers=1 repeat=0 ok=1' "$dir/ph.log" || fail "event 1 did not come"

# --- 3. down while events happen, then catch up ---------------------------
kill "$PH_PID"; wait "$PH_PID" 2>/dev/null || true
for t in 3 4 5; do new_case "$t"; done
for i in $(seq 1 600); do
    [ "$(sql "SELECT count(*) FROM subscription_events WHERE sub_id='$SUB'")" = 5 ] && break
    sleep 0.05
done
[ "$(sql "SELECT count(*) FROM subscription_events WHERE sub_id='$SUB'")" = 5 ] \
    || fail "events 3 to 5 were not recorded"
[ "$(cat "$PH/last")" = 2 ] || fail "the simulator saw up to $(cat "$PH/last") before going down"
start_ph
grep -q 'event=sim_backport_caught_up status=200 from=3 events=3 numbers=3,4,5 ok=1' "$dir/ph.log" \
    || fail "catch-up: $(grep caught_up "$dir/ph.log")"
[ "$(cat "$PH/last")" = 5 ] || fail "after catching up the last event is $(cat "$PH/last")"
# The focus of each caught-up event is its case, in order.
/usr/bin/python3 - "$PH/events-3.json" "$dir/refs" <<'PY' || fail "the caught-up events name other cases"
import json, sys
b = json.load(open(sys.argv[1]))
refs = open(sys.argv[2]).read().split()[2:]
focus = [e["fullUrl"].rsplit("/", 1)[1] for e in b["entry"][1:]]
assert focus == refs, (focus, refs)
assert all("resource" not in e for e in b["entry"][1:])
PY

# --- 4. $status, the checker, id-only -------------------------------------
curl -s -H "X-Klasgw-Client: $APO" -H 'Accept: application/fhir+json' \
    "$BASE/fhir/Subscription/$SUB/\$status" >"$PH/status.json"
/usr/bin/python3 - "$PH/status.json" <<'PY' || fail "\$status: $(cat "$PH/status.json")"
import json, sys
b = json.load(open(sys.argv[1]))
p = {x["name"]: x for x in b["entry"][0]["resource"]["parameter"]}
assert p["type"]["valueCode"] == "query-status"
assert p["status"]["valueCode"] == "active"
assert p["events-since-subscription-start"]["valueString"] == "5"
PY
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Klasgw-Client: $APO" \
    "$BASE/fhir/Subscription/$SUB/\$events?eventsSinceNumber=x")
[ "$code" = 400 ] || fail "\$events with a bad number: $code"
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Klasgw-Client: $EHR" \
    "$BASE/fhir/Subscription/$SUB/\$events")
[ "$code" = 403 ] || fail "an EHR read the events: $code"
grep -q 'ok=0' "$dir/ph.log" && fail "the simulator found a bad notification: $(grep ok=0 "$dir/ph.log" | head -3)"
kill "$PH_PID"; wait "$PH_PID" 2>/dev/null || true
# One of each kind (later heartbeats are the same but for their time).
files=("$PH"/n-*-handshake.json "$PH"/n-*-event-notification.json
       "$PH/status.json" "$PH/events-3.json")
files+=("$(ls "$PH"/n-*-heartbeat.json | head -1)")
node "$check" --quiet "${files[@]}" >"$dir/check.out" 2>&1 \
    || fail "the R4 checker: $(head -20 "$dir/check.out")"
grep -l "$PNR" "$PH"/*.json && fail "a personnummer in a notification"

# --- 5. an event for a subscription in error still counts -----------------
PH_PORT=$DEAD_PORT post_sub 201 "a subscription nobody answers" "$TOPIC" "Task?owner.identifier=$GLN" id-only "$OK_H" 0
SUB2=$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["id"])' "$dir/sub-out.json")
for i in $(seq 1 600); do
    [ "$(sql "SELECT status FROM subscriptions WHERE id='$SUB2'")" = error ] && break
    sleep 0.05
done
[ "$(sql "SELECT status FROM subscriptions WHERE id='$SUB2'")" = error ] \
    || fail "a subscription nobody answers is not in error"
new_case 6
for i in $(seq 1 600); do
    [ "$(sql "SELECT count(*) FROM outbox WHERE target='$SUB2' AND state='dead'")" = 1 ] && break
    sleep 0.05
done
[ "$(sql "SELECT count(*) FROM outbox WHERE target='$SUB2' AND state='dead'")" = 1 ] \
    || fail "the event for the subscription in error is not a dead letter: $(sql "SELECT state, last_error FROM outbox WHERE target='$SUB2'")"
curl -s -H "X-Klasgw-Client: $APO" -H 'Accept: application/fhir+json' \
    "$BASE/fhir/Subscription/$SUB2/\$status" >"$dir/status2.json"
curl -s -H "X-Klasgw-Client: $APO" -H 'Accept: application/fhir+json' \
    "$BASE/fhir/Subscription/$SUB2/\$events?eventsSinceNumber=1" >"$dir/events2.json"
/usr/bin/python3 - "$dir/status2.json" "$dir/events2.json" "$(tail -1 "$dir/refs")" <<'PY' || fail "the subscription in error lost its event: $(cat "$dir/status2.json" "$dir/events2.json")"
import json, sys
st = json.load(open(sys.argv[1]))
p = {x["name"]: x for x in st["entry"][0]["resource"]["parameter"]}
assert p["status"]["valueCode"] == "error", p["status"]
assert p["events-since-subscription-start"]["valueString"] == "1", p["events-since-subscription-start"]
ev = json.load(open(sys.argv[2]))
focus = [e["fullUrl"].rsplit("/", 1)[1] for e in ev["entry"][1:]]
assert focus == [sys.argv[3]], focus
PY
node "$check" --quiet "$dir/status2.json" "$dir/events2.json" >"$dir/check2.out" 2>&1 \
    || fail "the R4 checker (subscription in error): $(head -20 "$dir/check2.out")"
echo "notifications checked: $(ls "$PH"/n-*.json | wc -l), caught up: 3, counted in error: 1"
