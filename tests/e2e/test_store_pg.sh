#!/usr/bin/env bash
# test_store_pg.sh - the store's unit tests again, on PostgreSQL: a real
# server started for the run (tests/tools/pg_fixture.sh: initdb + pg_ctl in
# a temporary folder, a free loopback port), the same cmocka programs with
# KLASGW_TEST_PG_DSN set, so the tests of the store interface run against
# both backends. Skipped (77) where PostgreSQL's server is not installed.
set -euo pipefail
: "${GW_SOURCE_DIR:?}" "${GW_BUILD_DIR:?}"

. "$(dirname "$0")/pg_lib.sh"
pg_start

rc=0
for t in test_store test_outbox test_audit test_console test_subscription; do
    echo "== $t on PostgreSQL"
    if ! CMOCKA_MESSAGE_OUTPUT=stdout "$GW_BUILD_DIR/tests/$t" \
        >"$PGT.$t.log" 2>&1; then
        grep -E 'FAILED|ERROR|error' "$PGT.$t.log" | head -40 >&2
        echo "FAIL: $t on PostgreSQL" >&2
        rc=1
    else
        grep -E 'PASSED|SKIPPED' "$PGT.$t.log" | head -5
    fi
    rm -f "$PGT.$t.log"
done

# klasgw store copy --to DSN: an SQLite store (5 motivations with their
# outbox items and audit records) into a new, empty PostgreSQL database.
: "${KLASGW:?}"
echo "== store copy into PostgreSQL"
conf="$GW_SOURCE_DIR/adapter/klasgw.conf.example"
"$KLASGW_TEST_PG_BIN/createdb" -h 127.0.0.1 -p "$(cat "$PGT/port")" -U klasgw klasgw_copy
copy_dsn="${KLASGW_TEST_PG_DSN/dbname=klasgw/dbname=klasgw_copy}"
"$GW_BUILD_DIR/tests/store_seed" "$PGT.sqlite.db" 5 >"$PGT.refnrs"
export KLASGW_STORE_PATH="$PGT.sqlite.db"
"$KLASGW" -c "$conf" store copy --to "$copy_dsn" >"$PGT.copy.log" 2>&1 \
    || { cat "$PGT.copy.log" >&2; echo "FAIL: store copy" >&2; rc=1; }
q() { psql "$copy_dsn" -Atc "$1"; }
[ "$(q 'SELECT count(*) FROM cases')" = 5 ] || { echo "FAIL: copy: cases $(q 'SELECT count(*) FROM cases')" >&2; rc=1; }
[ "$(q 'SELECT count(*) FROM outbox')" = 5 ] || { echo "FAIL: copy: outbox" >&2; rc=1; }
for ref in $(cat "$PGT.refnrs"); do
    [ "$(q "SELECT count(*) FROM cases WHERE refnr = '$ref'")" = 1 ] \
        || { echo "FAIL: copy: case $ref missing" >&2; rc=1; }
done
KLASGW_STORE_BACKEND=postgresql KLASGW_STORE_DSN="$copy_dsn" \
    "$KLASGW" -c "$conf" audit verify >"$PGT.verify.log" 2>&1 \
    || { cat "$PGT.verify.log" >&2; echo "FAIL: copy: audit verify" >&2; rc=1; }
# New rows get ids after the copied ones; a second copy is refused.
q "INSERT INTO cases (refnr, status, licence_type, created_ms, updated_ms) VALUES ('2099000001', 'M', 'EH', 1, 1)" >/dev/null \
    || { echo "FAIL: copy: the identity sequence did not move" >&2; rc=1; }
if "$KLASGW" -c "$conf" store copy --to "$copy_dsn" >"$PGT.copy2.log" 2>&1; then
    echo "FAIL: a copy into a database with cases was not refused" >&2
    rc=1
fi
grep -q 'copy into an empty one' "$PGT.copy2.log" || { cat "$PGT.copy2.log" >&2; rc=1; }
rm -f "$PGT".sqlite.db* "$PGT".refnrs "$PGT".*.log
[ $rc -eq 0 ] && echo "ok: store copy"
exit $rc
