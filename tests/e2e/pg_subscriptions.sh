#!/usr/bin/env bash
# pg_subscriptions.sh - tests/e2e/test_subscriptions_backport.sh on
# the PostgreSQL store (store.backend = postgresql, a real server from
# tests/tools/pg_fixture.sh): subscriptions, event numbers and $events
# (src/store/shared_reads.c). Skipped (77) where PostgreSQL's server is
# not installed. Not registered with ctest (a server of its own takes ~60 s
# on a loaded machine; test_store_pg runs test_subscription on PostgreSQL
# instead): run it by hand, e.g. in build/:
#   KLASGW=$PWD/klasgw GW_SOURCE_DIR=.. GW_BUILD_DIR=$PWD \
#       bash ../tests/e2e/pg_subscriptions.sh
set -euo pipefail
: "${GW_SOURCE_DIR:?}"
. "$(dirname "$0")/pg_lib.sh"
pg_start
pg_gateway
"$(dirname "$0")/test_subscriptions_backport.sh"
