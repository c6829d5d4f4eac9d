#!/usr/bin/env bash
# test_store_pg.sh - the store's unit tests again, on PostgreSQL: a real
# server started for the run (tests/tools/pg_fixture.sh: initdb + pg_ctl in
# a temporary folder, a free loopback port), the same cmocka programs with
# KLASGW_TEST_PG_DSN set, so the tests of the store interface run against
# both backends. Skipped (77) where PostgreSQL's server is not installed.
set -euo pipefail
: "${GW_SOURCE_DIR:?}" "${GW_BUILD_DIR:?}"

PGT=$(mktemp -d "${TMPDIR:-/tmp}/klasgw-pg-XXXXXX")
rmdir "$PGT"
trap '"$GW_SOURCE_DIR/tests/tools/pg_fixture.sh" stop "$PGT"' EXIT
out=$("$GW_SOURCE_DIR/tests/tools/pg_fixture.sh" start "$PGT") || exit $?
eval "$out"

rc=0
for t in test_store test_outbox test_audit; do
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
exit $rc
