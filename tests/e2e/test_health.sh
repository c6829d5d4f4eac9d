#!/usr/bin/env bash
# Health tells the truth.
#  1. HSA down (nothing listens at hsa.url): a motivation gets 503 that
#     names HSA, in Swedish and English, with Retry-After; nothing stored;
#     the gateway stays ready (a peer being down is not the gateway's
#     health).
#  2. The store on a small tmpfs that a filler file fills: a submission
#     gets 507 and an OperationOutcome saying the storage is full (not
#     500 "storage error"), with Retry-After; /healthz/ready and /healthz
#     fail, /healthz/live does not; a read gets 507 too (its audit record
#     cannot be stored, audit.durable_reads). When the filler is
#     removed, ready comes back without a restart, the resubmission is
#     stored, and every case acknowledged before (and after) is there,
#     also after a restart, with an intact audit chain.
# Part 2 needs `mount -t tmpfs` (root); without it the test says so and
# exits 77 (ctest: skipped) after part 1.
source "$(dirname "$0")/lib.sh"

PM='/fhir/$process-message'
health() {
    : >"$B"
    ST=$(curl -s -o "$B" -D "$H" -w '%{http_code}' "$GW_URL$1")
}

# --- 1. HSA unavailable ----------------------------------------------------
dead=$(any_free_port)
gw_start 18240 KLASGW_HSA_URL="http://127.0.0.1:$dead/hsa" KLASGW_HSA_TIMEOUT_MS=2000
msg "$EX/valid/motivation-enskild-searched.json" >"$T/m0.json"
post ehr "$PM" "$T/m0.json"
want_outcome 503 "a motivation while HSA is down"
chk "issues[0]['code'] == 'transient' and 'HSA' in issues[0]['details']['text'] and 'HSA' in issues[0]['details']['coding'][0]['display']" \
    "the 503 names HSA in Swedish and English"
ra=$(hdr Retry-After)
[[ "$ra" =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ] || fail "HSA down: no Retry-After in seconds: '$ra'"
call ehr GET /fhir/Task
want 200 "Mina ärenden"
chk "d.get('total', 0) == 0" "nothing stored while HSA is down"
health /healthz/ready
want 200 "ready while HSA is down"
gw_stop
kill "$HSA_PID" 2>/dev/null || true
wait "$HSA_PID" 2>/dev/null || true
HSA_PID=

# --- 2. the disk full --------------------------------------------------------
D=$T/disk
mkdir -p "$D"
if ! mount -t tmpfs -o size=3m klasgw-test "$D" 2>"$T/mount.err"; then
    echo "skip: cannot mount a tmpfs for the full disk ($(head -c 200 "$T/mount.err")); HSA part passed"
    exit 77
fi
cleanup_disk() {
    local rc=$?
    gw_stop || rc=1
    umount -l "$D" 2>/dev/null || true
    set +e # (exit 1) under set -e would end the trap before lib_cleanup
    (exit $rc)
    lib_cleanup
}
trap cleanup_disk EXIT
gw_conf "$T/conf"
sed -i "s#^path = .*#path = $D/db/klasgw.db#" "$T/conf"
gw_start 18241 KLASGW_HSA_URL=
health /healthz/live
want 200 "live"
health /healthz/ready
want 200 "ready"
chk "d['status'] == 'ok'" "ready says ok"

refs=()
for i in 1 2; do
    msg "$EX/valid/motivation-enskild-searched.json" >"$T/m$i.json"
    post ehr "$PM" "$T/m$i.json"
    want 200 "motivation $i before the disk is full"
    refs+=("$(get "entries[1]['identifier'][0]['value']")")
done

# Fill what is left of the tmpfs.
dd if=/dev/zero of="$D/filler" bs=64k 2>/dev/null || true
[ "$(df --output=avail -B1 "$D" | tail -1)" -lt 65536 ] || fail "the tmpfs is not full"

# SQLite reuses the frames of its write-ahead log after a checkpoint, so
# a submission may still fit on the full disk: then it is stored (durably,
# the commit succeeded) and acknowledged. Submit until one does not fit:
# it must get 507, and every 200 must still be there after a restart.
full=
for i in $(seq 3 40); do
    msg "$EX/valid/motivation-enskild-searched.json" >"$T/m$i.json"
    post ehr "$PM" "$T/m$i.json"
    if [ "$ST" = 200 ]; then
        refs+=("$(get "entries[1]['identifier'][0]['value']")")
        continue
    fi
    full=$i
    break
done
[ -n "$full" ] || fail "38 motivations acknowledged on a full 3 MB disk"
want_outcome 507 "a motivation while the disk is full"
chk "issues[0]['code'] == 'transient' and 'lagringsutrymme' in issues[0]['details']['text'] and 'storage is full' in issues[0]['details']['coding'][0]['display'] and 'storage error: storage error' not in text" \
    "507 says the gateway's storage is full, in Swedish and English"
ra=$(hdr Retry-After)
[[ "$ra" =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ] || fail "507 without Retry-After: '$ra'"
health /healthz/ready
want 503 "ready while the disk is full"
chk "d['status'] == 'storage full'" "ready says the storage is full"
[ -n "$(hdr Retry-After)" ] || fail "not ready without Retry-After"
health /healthz
want 503 "/healthz (= ready) while the disk is full"
health /healthz/live
want 200 "live while the disk is full"
# A read's audit record cannot be stored either (audit.durable_reads, the
# default): the case is not sent without it. As with the submissions above, a
# small record may still fit in reused log frames; then it is on disk and the
# read may answer 200 (counted here, and looked for in the audit log after the
# restart). Read until one does not fit: it must get 507 without the case.
reads_ok=0
for how in "/fhir/Task/${refs[0]}" "/fhir/Task?identifier=${refs[0]}"; do
    for _ in $(seq 1 60); do
        call ehr GET "$how"
        [ "$ST" = 200 ] || break
        if [ "${how#*\?}" = "$how" ]; then reads_ok=$((reads_ok + 1)); fi
    done
    want 507 "GET $how while the disk is full (its audit record cannot be stored)"
    ! grep -q '"resourceType" *: *"Task"' "$B" || fail "the 507 to GET $how carries the case"
done

# Space comes back: ready again without a restart.
rm -f "$D/filler"
for _ in $(seq 1 100); do
    health /healthz/ready
    [ "$ST" = 200 ] && break
    sleep 0.2
done
want 200 "ready after space came back"
post ehr "$PM" "$T/m$full.json"
want 200 "the refused motivation, sent again"
refs+=("$(get "entries[1]['identifier'][0]['value']")")
gw_stop
kill "$HSA_PID" 2>/dev/null || true
wait "$HSA_PID" 2>/dev/null || true
HSA_PID=
gw_start 18242 KLASGW_HSA_URL=
call ehr GET /fhir/Task
want 200 "Mina ärenden after a restart"
for r in "${refs[@]}"; do
    chk "'$r' in [e['identifier'][0]['value'] for e in entries if e['resourceType'] == 'Task']" \
        "case $r is there after the restart"
done
chk "d['total'] == ${#refs[@]}" "exactly the ${#refs[@]} acknowledged cases"
gw_stop
k audit verify >/dev/null || fail "the audit chain does not verify"
k audit export --case "${refs[0]}" >"$T/audit.json" || fail "audit export"
B=$T/audit.json
chk "sum(1 for e in d.get('entry', []) if e['resource']['subtype'][0]['code'] == 'read' and e['resource']['outcome'] == '0') >= $reads_ok" \
    "each of the $reads_ok reads answered 200 on the full disk has its audit record"
grep -q "event=sqlite" "$T/serve.log" || fail "the failed commit is not logged"
echo "ok: HSA down -> 503 naming HSA (Retry-After $ra); disk full -> 507, not ready, live; ready again without restart; ${#refs[@]} acknowledged cases kept"
