# pg_lib.sh - a throw-away PostgreSQL for an end-to-end script (sourced,
# not a test itself: ctest runs test_*.sh only), from
# tests/tools/pg_fixture.sh.
#
#   pg_start [CLEANUP]   starts a server in a new folder $PGT, stopped
#                        (and CLEANUP, a command, run) when the script
#                        exits; exports KLASGW_TEST_PG_DSN, _BIN, _DIR.
#                        Exits 77 (skipped) where PostgreSQL's server is
#                        not installed.
#   pg_gateway           points the gateway's commands at it
#                        (KLASGW_STORE_BACKEND, KLASGW_STORE_DSN).
: "${GW_SOURCE_DIR:?}"

pg_start() {
    local out
    PGT=$(mktemp -d "${TMPDIR:-/tmp}/klasgw-pg-XXXXXX")
    rmdir "$PGT" # the fixture makes it: the server runs as nobody
    # shellcheck disable=SC2064 # $PGT and the cleanup are fixed now
    trap "\"$GW_SOURCE_DIR/tests/tools/pg_fixture.sh\" stop \"$PGT\"; ${1:-}" EXIT
    out=$("$GW_SOURCE_DIR/tests/tools/pg_fixture.sh" start "$PGT") || exit $?
    eval "$out"
}

pg_gateway() {
    export KLASGW_STORE_BACKEND=postgresql
    export KLASGW_STORE_DSN="$KLASGW_TEST_PG_DSN"
}
