#!/usr/bin/env bash
# A message waiting for its group commit holds no server thread: its
# connection is suspended while the write is queued and resumed by the
# writer's completion (gw_http_submit). While another process holds the
# database's write lock, so that the writer cannot commit:
#  - with one server thread, messages waiting for their commit do not keep
#    other requests out (before, the waiting message held its thread), over
#    REST and over SOAP alike;
#  - clients that give up while their message waits lose only the answer:
#    the message is stored once, and its resend is answered from the inbox;
#  - a stop with messages waiting exits 0, and every message answered 200
#    is on disk;
#  - when the writer gives up on the lock, a waiting message is answered
#    503 and nothing of it is stored.
# (The waits below bound the test; nothing asserts a time.)
source "$(dirname "$0")/lib.sh"

PM='/fhir/$process-message'
command -v sqlite3 >/dev/null || { echo "skip: sqlite3 missing"; exit 77; }
DB=$T/db/klasgw.db
sql() { sqlite3 -cmd '.timeout 5000' "$DB" "$1"; }
cases() { sql "SELECT count(*) FROM cases"; }
# submit NAME MAX_TIME: posts $T/NAME.json as the prescriber; the status
# in $T/NAME.out, the body in $T/NAME.body.
submit() {
    curl -s -w '%{http_code}\n' --max-time "$2" -o "$T/$1.body" \
        -H 'X-Klasgw-Client: SE2321000016-EHR1' -H 'X-Klasgw-User: SE2321000016-DOC1' \
        -H 'Content-Type: application/fhir+json' --data-binary "@$T/$1.json" \
        "$GW_URL$PM" >"$T/$1.out" 2>/dev/null || echo 000 >"$T/$1.out"
}
# make NAME...: one new motivation (its own message id) for each name.
make_msgs() {
    for n in "$@"; do msg "$EX/valid/motivation-enskild-searched.json" >"$T/$n.json"; done
}
# warm: one message stored, so the prescriber's HSA answer is in the
# cache (a miss writes the cache outside the group commit, and would wait
# for the lock held below on its own).
warm() {
    make_msgs warm
    post ehr "$PM" "$T/warm.json"
    want 200 "the message that fills the HSA cache"
}
# wait_meta SEND NAME...: with the write lock held, SEND (submit or
# soap_submit) each NAME's message and, while they wait, GET
# /fhir/metadata (its status in $META); then the lock goes and every
# answer is in.
wait_meta() {
    local send=$1 p pids=()
    shift
    hold_lock
    for n in "$@"; do "$send" "$n" 60 & pids+=($!); done
    sleep 1 # the messages reach the writer's queue
    META=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$GW_URL/fhir/metadata" || true)
    release_lock
    for p in "${pids[@]}"; do wait "$p" || true; done
}
# stored NAME: 1 when NAME's message (by its Bundle.identifier) is in
# the inbox with a case.
stored() {
    local id
    id=$(python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["identifier"]["value"])' "$T/$1.json")
    sql "SELECT count(*) FROM inbox WHERE message_id LIKE '%:$id' AND refnr IS NOT NULL"
}

# --- one thread: a message waiting for its commit keeps nothing out ------
gw_start 18480 KLASGW_SERVER_THREADS=1
warm
make_msgs w1 w2 w3
wait_meta submit w1 w2 w3
echo "one thread, 3 messages waiting: metadata answered $META; messages $(cat "$T"/w?.out | tr '\n' ' ')"
[ "$META" = 200 ] || fail "a message waiting for its commit held the only server thread (metadata: '$META')"
for n in w1 w2 w3; do
    [ "$(cat "$T/$n.out")" = 200 ] || fail "waiting message $n: status $(cat "$T/$n.out")"
    [ "$(stored "$n")" = 1 ] || fail "message $n answered 200 is not stored"
done

# The same over SOAP: SubmitLicenseMotivation waits, its thread does not.
soap_msg() { # NAME: a SubmitLicenseMotivation of its own messageId in $T/NAME.xml
    local b
    b=$(sed -e 's/<?xml[^>]*?>//' "$EX/valid/motivation-enskild-searched.xml")
    printf '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:itr="urn:riv:itintegration:registry:1" xmlns:r="urn:riv:klas:SubmitLicenseMotivationResponder:1"><soapenv:Header><itr:LogicalAddress>SE2321000016-KLAS</itr:LogicalAddress></soapenv:Header><soapenv:Body><r:SubmitLicenseMotivation><r:messageId>park-%s-%s</r:messageId><r:licenseMotivation>%s</r:licenseMotivation></r:SubmitLicenseMotivation></soapenv:Body></soapenv:Envelope>' \
        "$1" "$RANDOM$RANDOM" "$b" >"$T/$1.xml"
}
soap_submit() { # NAME MAX_TIME: status in $T/NAME.out, body in $T/NAME.body
    curl -s -w '%{http_code}\n' --max-time "$2" -o "$T/$1.body" \
        -H 'X-Klasgw-Client: SE2321000016-EHR1' -H 'X-Klasgw-User: SE2321000016-DOC1' \
        -H 'Content-Type: text/xml; charset=utf-8' --data-binary "@$T/$1.xml" \
        "$GW_URL/soap/SubmitLicenseMotivation" >"$T/$1.out" 2>/dev/null || echo 000 >"$T/$1.out"
}
soap_msg x0
soap_submit x0 30
[ "$(cat "$T/x0.out")" = 200 ] && grep -q '>OK<' "$T/x0.body" ||
    fail "SOAP submission: status $(cat "$T/x0.out"): $(head -c 600 "$T/x0.body")"
before=$(cases)
soap_msg x1
soap_msg x2
wait_meta soap_submit x1 x2
echo "one thread, 2 SOAP messages waiting: metadata answered $META; messages $(cat "$T"/x?.out | tr '\n' ' ')"
[ "$META" = 200 ] || fail "a SOAP message waiting for its commit held the only server thread (metadata: '$META')"
for n in x1 x2; do
    [ "$(cat "$T/$n.out")" = 200 ] && grep -q '>OK<' "$T/$n.body" ||
        fail "waiting SOAP message $n: status $(cat "$T/$n.out"): $(head -c 600 "$T/$n.body")"
    grep -q '<[a-z:]*referenceNumber>[0-9]\{10\}<' "$T/$n.body" || fail "SOAP message $n: no reference number in the answer"
done
[ "$(cases)" = $((before + 2)) ] || fail "2 SOAP messages, $(( $(cases) - before )) cases"
gw_down

# --- clients gone while their message waits; a stop while waiting --------
gw_start 18480 KLASGW_SERVER_THREADS=2
gone=() waiting=()
for i in $(seq 1 20); do gone+=("g$i"); done
for i in $(seq 1 5); do waiting+=("k$i"); done
warm
make_msgs "${gone[@]}" "${waiting[@]}"
soap_gone=(sg1 sg2 sg3 sg4 sg5)
for n in "${soap_gone[@]}"; do soap_msg "$n"; done
before=$(cases)
hold_lock
pids=()
for n in "${gone[@]}"; do submit "$n" 1 & pids+=($!); done
for n in "${soap_gone[@]}"; do soap_submit "$n" 1 & pids+=($!); done
for n in "${waiting[@]}"; do submit "$n" 60 & pids+=($!); done
for p in "${pids[@]:0:25}"; do wait "$p" || true; done
kill -0 "$GW_PID" 2>/dev/null || fail "serve died with clients gone while their message waited"
release_lock
for p in "${pids[@]:25}"; do wait "$p" || true; done
for n in "${waiting[@]}"; do
    [ "$(cat "$T/$n.out")" = 200 ] || fail "waiting message $n: status $(cat "$T/$n.out")"
done
# Every message once, whether its client waited or not (over REST and
# SOAP); a resend of a message whose answer was lost gets the stored
# answer.
for _ in $(seq 1 100); do [ "$(cases)" -ge $((before + 30)) ] && break; sleep 0.1; done
[ "$(cases)" = $((before + 30)) ] || fail "30 messages, $(( $(cases) - before )) cases"
for n in "${soap_gone[@]}"; do
    [ "$(cat "$T/$n.out")" = 000 ] || fail "SOAP client $n did not give up: status $(cat "$T/$n.out")"
done
for n in "${gone[@]}"; do
    [ "$(stored "$n")" = 1 ] || fail "message $n (client gone) is not stored"
done
post ehr "$PM" "$T/g1.json"
want 200 "the resend of a message whose client was gone"
[ "$(cases)" = $((before + 30)) ] || fail "the resend made a case"

# The stop: messages waiting for their commit when SIGTERM comes.
make_msgs s1 s2 s3 s4 s5 s6 s7 s8
hold_lock
pids=()
for n in s1 s2 s3 s4 s5 s6 s7 s8; do submit "$n" 60 & pids+=($!); done
sleep 1 # the messages reach the writer's queue
kill -TERM "$GW_PID"
sleep 1
release_lock
for p in "${pids[@]}"; do wait "$p" || true; done
gw_down
echo "stop while waiting: statuses $(cat "$T"/s?.out | sort | uniq -c | tr -s ' \n' ' ')"
for n in s1 s2 s3 s4 s5 s6 s7 s8; do
    st=$(cat "$T/$n.out")
    [ "$st" != 200 ] || [ "$(stored "$n")" = 1 ] || fail "message $n answered 200 is not stored"
done
grep -qx 200 "$T"/s?.out || fail "no waiting message was answered after the stop began"

# --- the writer gives up: 503, nothing stored -----------------------------
gw_start 18480 KLASGW_STORE_BUSY_TIMEOUT_MS=200
warm
make_msgs r1 r2 r3 r4 r5
before=$(cases)
hold_lock
pids=()
for n in r1 r2 r3 r4 r5; do submit "$n" 60 & pids+=($!); done
for p in "${pids[@]}"; do wait "$p" || true; done
release_lock
echo "writer refusing: statuses $(cat "$T"/r?.out | sort | uniq -c | tr -s ' \n' ' ')"
for n in r1 r2 r3 r4 r5; do
    [ "$(cat "$T/$n.out")" = 503 ] || fail "message $n with the writer refusing: status $(cat "$T/$n.out")"
    [ "$(stored "$n")" = 0 ] || fail "message $n refused 503 is stored"
done
[ "$(cases)" = "$before" ] || fail "refused messages made cases"
post ehr "$PM" "$T/r1.json"
want 200 "a refused message sent again once the lock is gone"
gw_down
echo "ok"
