#!/usr/bin/env bash
# test_pg_subscriptions.sh - tests/e2e/test_subscriptions_backport.sh on
# the PostgreSQL store (store.backend = postgresql, a real server from
# tests/tools/pg_fixture.sh): subscriptions, event numbers and $events of
# src/store/pg_subscription.c. Skipped (77) where PostgreSQL's server is
# not installed.
set -euo pipefail
: "${GW_SOURCE_DIR:?}"
PGT=$(mktemp -d "${TMPDIR:-/tmp}/klasgw-pg-XXXXXX")
rmdir "$PGT"
trap '"$GW_SOURCE_DIR/tests/tools/pg_fixture.sh" stop "$PGT"' EXIT
out=$("$GW_SOURCE_DIR/tests/tools/pg_fixture.sh" start "$PGT") || exit $?
eval "$out"
export KLASGW_STORE_BACKEND=postgresql
export KLASGW_STORE_DSN="$KLASGW_TEST_PG_DSN"
"$(dirname "$0")/test_subscriptions_backport.sh"
