#!/usr/bin/env bash
# A read of a case is audited before its answer leaves (audit.durable_reads,
# the default): while another process holds the database's write lock, so
# that the writer cannot commit, GET Task/{id} does not answer with the case
# until its audit record ("read", the referensnummer) is on disk. The audit
# table is looked at from a separate connection the moment the answer has
# arrived, while the lock is still held if the answer came first. With the
# record only queued (the code before), the answer came at once and the
# record was not there. Then, with audit.durable_reads = false, the answer
# is 200 and the record reaches the disk once the lock is gone. (The waits
# below bound the test; nothing asserts a time.)
source "$(dirname "$0")/lib.sh"

PM='/fhir/$process-message'
command -v sqlite3 >/dev/null || { echo "skip: sqlite3 missing"; exit 77; }
DB=$T/db/klasgw.db
reads() { sqlite3 -cmd '.timeout 5000' "$DB" "SELECT count(*) FROM audit WHERE action = 'read' AND refnr = '$R' AND outcome = 'ok'"; }
# fetch NAME MAX_TIME: GET Task/$R as the prescriber; the status in
# $T/NAME.out, the body in $T/NAME.body.
fetch() {
    curl -s -w '%{http_code}\n' --max-time "$2" -o "$T/$1.body" \
        -H 'X-Klasgw-Client: SE2321000016-EHR1' -H 'X-Klasgw-User: SE2321000016-DOC1' \
        "$GW_URL/fhir/Task/$R" >"$T/$1.out" 2>/dev/null || true
}

# read_then_count: GET Task/$R, then (at once) the read records on disk;
# sets $ST (the answer's status) and $N (the count when it arrived).
read_then_count() {
    (
        t0=$(date +%s.%N)
        st=$(curl -s -o "$T/read.body" -w '%{http_code}' --max-time 60 \
            -H 'X-Klasgw-Client: SE2321000016-EHR1' -H 'X-Klasgw-User: SE2321000016-DOC1' \
            "$GW_URL/fhir/Task/$R")
        echo "$st $(reads) $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.2f", b - a}')" >"$T/read.out"
    ) &
    local sub=$!
    # the answer, or 3 s: then let the writer commit (the durable read
    # waits for that; a read answered at once has been counted already)
    for _ in $(seq 1 30); do [ -s "$T/read.out" ] && break; sleep 0.1; done
    touch "$T/release"
    wait "$sub"
    wait "$LOCK_PID" || true
    read -r ST N SECS <"$T/read.out"
}

gw_start 18470
msg "$EX/valid/motivation-enskild-searched.json" >"$T/m.json"
post ehr "$PM" "$T/m.json"
want 200 "the motivation"
R=$(get "entries[1]['identifier'][0]['value']")
[ -n "$R" ] || fail "no referensnummer in the receipt"

hold_lock
read_then_count
echo "durable: answer $ST with $N read record(s) on disk when it arrived, after ${SECS}s"
[ "$ST" = 200 ] || [ "$ST" = 503 ] || fail "durable read under a held lock: status $ST"
if [ "$ST" = 200 ]; then
    [ "$N" -ge 1 ] || fail "the case was answered before its read was audited on disk"
    grep -q "$R" "$T/read.body" || fail "the 200 does not hold the case"
fi
# After the lock: read at once, audited.
before=$(reads)
call ehr GET "/fhir/Task/$R"
want 200 "a read with the lock gone"
[ "$(reads)" -gt "$before" ] || fail "the read after the lock is not audited on disk"
gw_down

# --- a read waiting for its record holds no server thread ----------------
# One server thread, the writer unable to commit: reads waiting for their
# records do not keep other requests out, /fhir/metadata is answered while
# they wait; once the lock is gone each read answers 200 with its record on
# disk (or 503 if the writer gave up). (Before, a waiting read held its
# thread until the commit: with one thread nothing else was answered.)
gw_start 18470 KLASGW_SERVER_THREADS=1
hold_lock
before=$(reads)
pids=()
for i in 1 2 3; do fetch "wait$i" 60 & pids+=($!); done
sleep 1 # the reads reach the writer's queue
meta=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 "$GW_URL/fhir/metadata" || true)
touch "$T/release"
for p in "${pids[@]}"; do wait "$p" || true; done
wait "$LOCK_PID" || true
echo "one thread, 3 reads waiting: metadata answered $meta; reads $(cat "$T"/wait?.out | tr '\n' ' ')"
[ "$meta" = 200 ] || fail "a read waiting for its audit record held the only server thread (metadata: '$meta')"
ok=0
for i in 1 2 3; do
    st=$(cat "$T/wait$i.out")
    [ "$st" = 200 ] || [ "$st" = 503 ] || fail "waiting read $i: status $st"
    [ "$st" = 200 ] && ok=$((ok + 1))
done
[ "$(reads)" -ge $((before + ok)) ] || fail "$ok reads answered 200, fewer records on disk"
gw_down

# --- hostile clients: gone while suspended, and a stop while suspended ---
# The writer cannot commit; 40 reads are sent by clients that give up after
# a second, so their connections close while suspended; 10 more wait. Then
# 20 reads are left suspended and serve is told to stop before the lock
# goes. serve must survive both and exit 0, and every read answered 200
# must have its record on disk. (The writer's completion once resumed a
# connection and then read the request, which libmicrohttpd may have freed
# already; closed clients free theirs at once.)
gw_start 18470 KLASGW_SERVER_THREADS=2
hold_lock
before=$(reads)
gone=() waiting=()
for i in $(seq 1 40); do fetch "h-gone$i" 1 & gone+=($!); done
for i in $(seq 1 10); do fetch "h-wait$i" 60 & waiting+=($!); done
for p in "${gone[@]}"; do wait "$p"; done
kill -0 "$GW_PID" 2>/dev/null || fail "serve died with clients gone while suspended"
touch "$T/release"
for p in "${waiting[@]}"; do wait "$p"; done
wait "$LOCK_PID" || true
# The stop: reads suspended behind the lock when SIGTERM comes.
hold_lock
stopped=()
for i in $(seq 1 20); do fetch "h-stop$i" 60 & stopped+=($!); done
# and one client reading on and on over one connection: its later reads
# come while serve stops (they wait on their thread, never suspended)
ka=()
for i in $(seq 1 8); do ka+=(-o /dev/null "$GW_URL/fhir/Task/$R"); done
curl -s -w '%{http_code}\n' --max-time 60 \
    -H 'X-Klasgw-Client: SE2321000016-EHR1' -H 'X-Klasgw-User: SE2321000016-DOC1' \
    "${ka[@]}" >"$T/h-keepalive.out" 2>/dev/null &
stopped+=($!)
sleep 1 # the reads reach the writer's queue
kill -TERM "$GW_PID"
sleep 1
touch "$T/release"
for p in "${stopped[@]}"; do wait "$p" || true; done
wait "$LOCK_PID" || true
gw_down
ok=$(cat "$T"/h-*.out | grep -c '^200$' || true)
echo "hostile: statuses $(cat "$T"/h-*.out | sort | uniq -c | tr -s ' \n' ' ')"
[ "$(grep -c '^200$' "$T"/h-wait*.out | awk -F: '{s += $2} END {print s}')" -ge 1 ] ||
    fail "no waiting read was answered 200 after the lock"
[ "$(reads)" -ge $((before + ok)) ] || fail "$ok reads answered 200, fewer records on disk"

# --- the writer refuses: a suspended read gets the refusal, not the case --
# With a short busy timeout the writer gives up on the held lock: each
# suspended read is resumed with 503 (no case in it) and serve goes on.
gw_start 18470 KLASGW_STORE_BUSY_TIMEOUT_MS=200
hold_lock
refused=()
for i in $(seq 1 10); do fetch "ref$i" 60 & refused+=($!); done
for p in "${refused[@]}"; do wait "$p" || true; done
touch "$T/release"
wait "$LOCK_PID" || true
echo "writer refusing: statuses $(cat "$T"/ref*.out | sort | uniq -c | tr -s ' \n' ' ')"
for i in $(seq 1 10); do
    st=$(cat "$T/ref$i.out")
    [ "$st" = 503 ] || [ "$st" = 200 ] || fail "read $i with the writer refusing: status $st"
    [ "$st" = 200 ] || ! grep -q "$R" "$T/ref$i.body" || fail "the $st of read $i holds the case"
done
grep -qx 503 "$T"/ref*.out || fail "no read was refused while the writer could not commit"
call ehr GET "/fhir/Task/$R"
want 200 "a read once the lock is gone"
gw_down

# --- audit.durable_reads = false: the window, as documented --------------
gw_start 18470 KLASGW_AUDIT_DURABLE_READS=false
hold_lock
before=$(reads)
read_then_count
echo "queued: answer $ST after ${SECS}s"
want 200 "a queued read under a held lock"
for _ in $(seq 1 100); do [ "$(reads)" -gt "$before" ] && break; sleep 0.1; done
[ "$(reads)" -gt "$before" ] || fail "the queued read record never reached the disk"
gw_stop
echo "ok"
