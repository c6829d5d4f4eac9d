#!/usr/bin/env bash
# The operator commands on a real database: migrate, outbox list/show/
# retry/dead, audit verify (and catching a tampered row), audit export,
# purge with a dry run and a pretended date.
set -euo pipefail
: "${KLASGW:?}" "${GW_SOURCE_DIR:?}" "${GW_BUILD_DIR:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
dir=$(mktemp -d); trap 'rm -rf "$dir"' EXIT
export KLASGW_STORE_PATH="$dir/var/klasgw.db"
k() { "$KLASGW" -c "$GW_SOURCE_DIR/adapter/klasgw.conf.example" "$@"; }

k migrate | grep -q "schema version 7 (latest 7), up to date" || fail migrate
[ -f "$KLASGW_STORE_PATH" ] || fail "migrate did not create the database"
"$GW_BUILD_DIR/tests/store_seed" "$KLASGW_STORE_PATH" 5 >"$dir/refnrs"
[ "$(wc -l <"$dir/refnrs")" -eq 5 ] || fail "seeding"

k outbox list >"$dir/list"
grep -q "(5 items)" "$dir/list" || fail "outbox list: $(cat "$dir/list")"
[ "$(grep -c ' pending ' "$dir/list")" -eq 5 ] || fail "items not pending"
k outbox list --state dead | grep -q "(0 items)" || fail "dead letters listed"
k outbox dead | grep -q "(0 items)" || fail "outbox dead"
k outbox show 1 >"$dir/show"
grep -q "^message id: ob-seed-0$" "$dir/show" || fail "outbox show"
grep -q "^payload: 4 bytes$" "$dir/show" || fail "outbox show payload"
set +e
k outbox show 99 2>/dev/null; rc=$?
k outbox retry nope 2>/dev/null; rc2=$?
k outbox list --state weird 2>/dev/null; rc3=$?
set -e
[ $rc -eq 1 ] && [ $rc2 -eq 2 ] && [ $rc3 -eq 2 ] || fail "outbox refusals ($rc $rc2 $rc3)"
# Mark one dead by hand, as a peer's permanent failure would, and retry it.
sqlite3 "$KLASGW_STORE_PATH" "UPDATE outbox SET state='dead', attempts=12 WHERE id=2"
k outbox dead | grep -q "(1 item)" || fail "dead letter not listed"
k outbox retry 2 | grep -q "item 2 is pending again" || fail "retry"
k outbox dead | grep -q "(0 items)" || fail "retry left it dead"

k audit verify | grep -q "audit log intact: 5 records" || fail "audit verify"
k audit export >"$dir/audit.json"
[ "$(grep -o '"resourceType":"AuditEvent"' "$dir/audit.json" | wc -l)" -eq 5 ] \
    || fail "audit export count"
k audit export --case "$(head -1 "$dir/refnrs")" | grep -c '"AuditEvent"' \
    | grep -qx 1 || fail "audit export --case"
if grep -q 191212121212 "$dir/audit.json"; then fail "patient id in audit"; fi

sqlite3 "$KLASGW_STORE_PATH" "UPDATE audit SET outcome='EFORBIDDEN' WHERE seq=3"
set +e
k audit verify >"$dir/verify"; rc=$?
set -e
[ $rc -eq 1 ] || fail "tampered audit log verified (exit $rc)"
grep -q "record 3 was changed" "$dir/verify" || fail "verify does not name the row"

k purge --dry-run --now 2099-01-01 | grep -q "would purge 5 motivation" \
    || fail "purge dry run"
k purge --now 2099-01-01 | grep -q "purged 5 motivation" || fail "purge"
k purge --now 2099-01-01 | grep -q "purged 0 motivation" || fail "purge twice"
[ "$(sqlite3 "$KLASGW_STORE_PATH" "SELECT count(*) FROM cases WHERE patient_id IS NOT NULL")" -eq 0 ] \
    || fail "personal data left after purge"
[ "$(sqlite3 "$KLASGW_STORE_PATH" "SELECT count(*) FROM cases")" -eq 5 ] \
    || fail "tombstones not kept"
set +e
k purge --now yesterday 2>/dev/null; rc=$?
set -e
[ $rc -eq 2 ] || fail "purge --now with a bad date exits $rc"
echo "store cli: ok"
