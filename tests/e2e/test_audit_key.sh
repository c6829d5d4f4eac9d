#!/usr/bin/env bash
# The keyed audit chain from the command line (issue 11 §5): serve writes a
# chain keyed with audit.key_file; `klasgw audit checkpoint` signs its head;
# then the two forgeries someone who can write the database would try:
#  1. edit a record and recompute every later hash and the head (plain
#     SHA-256, or HMAC with a key of their own) -> verify exits 1;
#  2. cut the tail and fix the head -> the chain alone verifies, verify
#     against the earlier checkpoint exits 1.
# Also: an edited checkpoint is refused, serve will not extend a keyed
# chain without the key, and the key never shows in logs or outputs.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
PM='/fhir/$process-message'
PY=/usr/bin/python3

KEY=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
(umask 077 && printf '%s\n' "$KEY" >"$T/audit.key")
gw_conf "$T/conf" "
[audit]
key_file = $T/audit.key"
db() { sqlite3 -cmd '.timeout 5000' "$T/db/klasgw.db" "$1"; }
submit() {
    $PY "$GW_SOURCE_DIR/tests/e2e/fj.py" msg "$EX/valid/motivation-enskild-searched.json" >"$T/m.json"
    post ehr "$PM" "$T/m.json"
    want 200 "a motivation"
}
# expect STATUS WHAT CMD...: run a klasgw command, keep its output in $OUT.
expect() {
    local want=$1 what=$2 rc=0
    shift 2
    OUT=$(k "$@" 2>&1) || rc=$?
    printf '%s\n' "$OUT" >>"$T/cli.log"
    [ "$rc" = "$want" ] || fail "$what: exit $rc, wanted $want: $OUT"
}
# forge FROM MODE: edit record FROM, recompute it and every later hash and
# the head; MODE sha256 (no mark), or hmac (k1: mark, a key of our own).
forge() {
    $PY - "$T/db/klasgw.db" "$1" "$2" <<'EOF'
import hashlib, hmac, sqlite3, sys
db, start, mode = sys.argv[1], int(sys.argv[2]), sys.argv[3]
con = sqlite3.connect(db)
rows = con.execute("SELECT seq, at_ms, system, user_id, action, refnr, outcome,"
                   " detail, prev_hash FROM audit ORDER BY seq").fetchall()
prev = None
for seq, at, system, user, action, refnr, outcome, detail, p in rows:
    if seq < start:
        continue
    if seq == start:
        detail, prev = "forged", p
    text = "|".join([prev, str(seq), str(at), system or "", user or "",
                     action or "", refnr or "", outcome or "", detail or ""])
    if mode == "sha256":
        h = hashlib.sha256(text.encode()).hexdigest()
    else:
        h = "k1:" + hmac.new(b"0" * 32, text.encode(), hashlib.sha256).hexdigest()
    con.execute("UPDATE audit SET detail = ?, prev_hash = ?, hash = ? WHERE seq = ?",
                (detail, prev, h, seq))
    prev = h
con.execute("UPDATE audit_head SET hash = ?", (prev,))
con.commit()
EOF
}
# gw_stop, and the HSA simulator gw_start started beside it (a second
# gw_start starts another).
gw_stop_all() {
    gw_stop
    if [ -n "${HSA_PID:-}" ]; then
        kill "$HSA_PID" 2>/dev/null || true
        wait "$HSA_PID" 2>/dev/null || true
        HSA_PID=
    fi
}
save() { cp "$T/db/klasgw.db" "$T/$1.db"; }
restore() { rm -f "$T/db/klasgw.db-wal" "$T/db/klasgw.db-shm"; cp "$T/$1.db" "$T/db/klasgw.db"; }

# --- an honest keyed chain, a checkpoint, more records ----------------------
gw_start 0
submit
submit
gw_stop_all
expect 0 "verify the keyed chain" audit verify
grep -q 'keyed from record 1' <<<"$OUT" || fail "verify: $OUT"
expect 0 "checkpoint" audit checkpoint --out "$T/cp1"
grep -q '^hmac-sha256 [0-9a-f]\{64\}$' "$T/cp1" || fail "checkpoint file: $(cat "$T/cp1")"
CP_SEQ=$(awk '$1 == "seq" {print $2}' "$T/cp1")
[ "$CP_SEQ" -ge 2 ] || fail "checkpoint seq $CP_SEQ"
expect 1 "a checkpoint is never overwritten" audit checkpoint --out "$T/cp1"
gw_start 0
submit
gw_stop_all
expect 0 "verify against the checkpoint" audit verify --checkpoint "$T/cp1"
grep -q '1 checkpoint matched' <<<"$OUT" || fail "verify: $OUT"
save honest

# --- forgery 1: an edit with every later hash and the head recomputed -------
forge 2 sha256
expect 1 "a plain SHA-256 rewrite from record 2" audit verify
grep -q 'AUDIT LOG BROKEN' <<<"$OUT" || fail "verify: $OUT"
restore honest
forge 1 sha256
expect 1 "a plain SHA-256 rewrite of the whole chain" audit verify
restore honest
forge 2 hmac
expect 1 "a rewrite with another key" audit verify
grep -q 'record 2 was changed' <<<"$OUT" || fail "verify: $OUT"

# --- forgery 2: the tail cut, the head fixed ---------------------------------
restore honest
CUT=$((CP_SEQ - 1))
db "DELETE FROM audit WHERE seq > $CUT; UPDATE audit_head SET seq = $CUT, hash = (SELECT hash FROM audit WHERE seq = $CUT)"
expect 0 "the cut chain alone still links" audit verify
expect 1 "the cut chain against the earlier checkpoint" audit verify --checkpoint "$T/cp1"
grep -q 'cut off the end' <<<"$OUT" || fail "verify: $OUT"

# --- an edited checkpoint; serve without the key ------------------------------
restore honest
sed "s/^seq .*/seq 1/" "$T/cp1" >"$T/cp-edited"
expect 1 "an edited checkpoint" audit verify --checkpoint "$T/cp-edited"
grep -q 'REFUSED' <<<"$OUT" || fail "verify: $OUT"
KLASGW_AUDIT_KEY_FILE= "$KLASGW" -c "$T/conf" serve >>"$T/nokey.log" 2>&1 &&
    fail "serve extended a keyed chain without the key"
grep -q 'audit_key_missing' "$T/nokey.log" || fail "serve without key: $(tail -3 "$T/nokey.log")"
KLASGW_AUDIT_KEY_FILE= "$KLASGW" -c "$T/conf" audit verify >"$T/nokey-verify.log" 2>&1 &&
    fail "verify without the key passed a keyed chain"

# --- the key is nowhere to be read -------------------------------------------
for f in "$T/serve.log" "$T/cli.log" "$T/nokey.log" "$T/cp1"; do
    ! grep -qF "$KEY" "$f" || fail "the audit key appears in $f"
done
echo "ok: keyed audit chain and checkpoints"
