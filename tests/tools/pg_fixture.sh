#!/usr/bin/env bash
# pg_fixture.sh - a throw-away PostgreSQL for the tests, with no manual step.
#
#   eval "$(tests/tools/pg_fixture.sh start DIR)"   initdb + pg_ctl start in
#       DIR (created, must not exist or be empty), as an unprivileged user
#       (`nobody` when run as root, else the caller), on a free loopback
#       port, unix socket in DIR, fsync on; prints the exports:
#       KLASGW_TEST_PG_DSN (libpq conninfo of database "klasgw"),
#       KLASGW_TEST_PG_BIN, KLASGW_TEST_PG_DIR
#   tests/tools/pg_fixture.sh stop DIR                stops it, removes DIR
#   tests/tools/pg_fixture.sh restart DIR             stops and starts it
#                                                     again (same port)
#
# KLASGW_PG_EXTRA_OPTS adds server options (the benchmark loads
# pg_stat_statements with it).
# Exits 77 (ctest: skipped) when the PostgreSQL server binaries are
# missing (Debian's postgresql package: scripts/install-deps.sh).
set -euo pipefail

cmd=${1:?start|stop|restart}
dir=${2:?directory}
bin=${KLASGW_PG_BIN:-}
if [ -z "$bin" ]; then
    for v in 17 16 15 14 13; do
        if [ -x "/usr/lib/postgresql/$v/bin/pg_ctl" ]; then
            bin=/usr/lib/postgresql/$v/bin
            break
        fi
    done
fi
[ -n "$bin" ] && [ -x "$bin/pg_ctl" ] || {
    echo "pg_fixture: no PostgreSQL server binaries (apt install postgresql)" >&2
    exit 77
}

# PostgreSQL refuses to run as root: run it as nobody, in a folder nobody
# owns.
as_user() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u nobody -- "$@"
    else
        "$@"
    fi
}

free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}

pgctl_start() {
    as_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 30 \
        -o "-c listen_addresses=127.0.0.1 -p $(cat "$dir/port") -c unix_socket_directories=$dir -c fsync=on -c synchronous_commit=on -c max_connections=200 -c shared_buffers=32MB ${KLASGW_PG_EXTRA_OPTS:-}" \
        start >/dev/null
}

case "$cmd" in
start)
    mkdir -p "$dir"
    [ "$(id -u)" -eq 0 ] && chown nobody:nogroup "$dir"
    chmod 700 "$dir"
    as_user "$bin/initdb" -D "$dir/data" -U klasgw --auth=trust \
        -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 || {
        cat "$dir/initdb.log" >&2
        exit 1
    }
    free_port >"$dir/port"
    pgctl_start || { cat "$dir/server.log" >&2; exit 1; }
    as_user "$bin/createdb" -h "$dir" -p "$(cat "$dir/port")" -U klasgw klasgw
    echo "export KLASGW_TEST_PG_DSN='host=127.0.0.1 port=$(cat "$dir/port") dbname=klasgw user=klasgw connect_timeout=5 sslmode=disable gssencmode=disable'"
    echo "export KLASGW_TEST_PG_BIN='$bin'"
    echo "export KLASGW_TEST_PG_DIR='$dir'"
    ;;
restart)
    as_user "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null
    pgctl_start
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_user "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop \
            >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "pg_fixture: start|stop|restart DIR" >&2
    exit 2
    ;;
esac
