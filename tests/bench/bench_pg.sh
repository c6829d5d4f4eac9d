#!/usr/bin/env bash
# PostgreSQL next to SQLite, in the same run on the same machine (issue
# #17): durable submissions/s through the HTTP front (wrk, the full enskild
# motivation as JSON, every request a new case) on
#   - SQLite (one node),
#   - PostgreSQL, one node,
#   - PostgreSQL, two nodes on one database (the load split over both);
# p99 at half the one-node PostgreSQL peak (open loop,
# tests/tools/bench_http_paced); PostgreSQL's own single-row commit rate
# on this disk (pgbench, one client, fsync on) as the reference; and per
# acknowledged submission the database's statements (round trips, from
# pg_stat_statements) and commits (pg_stat_database).
# Prints figures; never passes or fails on them.
#   tests/bench/bench_pg.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
build=${1:-build}
seconds=${2:-15}
cd "$(dirname "$0")/../.."
top=$(pwd)
build=$(cd "$build" && pwd)
klasgw=$build/klasgw
conns=32
command -v wrk >/dev/null || { echo "bench_pg: wrk is missing"; exit 1; }
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/klasgw-bench-pg-XXXXXX")
pgt=$(mktemp -d "${TMPDIR:-/tmp}/klasgw-bench-pgdata-XXXXXX")
rmdir "$pgt"
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
    "$top/tests/tools/pg_fixture.sh" stop "$pgt"
    rm -rf "$dir"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

out=$(KLASGW_PG_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements" \
    "$top/tests/tools/pg_fixture.sh" start "$pgt")
eval "$out"
dsn=$KLASGW_TEST_PG_DSN
psql "$dsn" -qc 'CREATE EXTENSION pg_stat_statements' >/dev/null

hsa=$(free_port)
"$klasgw" -c "$top/adapter/klasgw.conf.example" sim hsa --port "$hsa" \
    --fixture "$top/tests/fixtures/hsa/prescribers.tsv" >"$dir/hsa.log" 2>&1 &
pids+=($!)

conf() {   # FILE BACKEND
    cat >"$1" <<EOC
[server]
listen = 127.0.0.1
plain_http = true
[store]
path = $dir/db/klasgw.db
backend = $2
dsn = $dsn
[log]
level = warn
[hsa]
url = http://127.0.0.1:$hsa/hsa
[lv]
url =
[clients]
journal1 = ehr serial:SE2321000016-EHR1
EOC
}
conf "$dir/sqlite.conf" sqlite
conf "$dir/pg.conf" postgresql

start() {   # CONF -> prints the URL; the pid goes to $last
    local port
    port=$(free_port)
    KLASGW_SERVER_PORT=$port "$klasgw" -c "$1" serve 2>>"$dir/serve.log" &
    last=$!
    pids+=("$last")
    for _ in $(seq 1 200); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/healthz/ready" && break
        sleep 0.1
    done
    url="http://127.0.0.1:$port"
}
stop() { kill "$1"; wait "$1" 2>/dev/null || true; }
# CPU time (clock ticks, user + system) of a process, and of this
# PostgreSQL (its postmaster and the backends it forked).
ticks() { awk '{print $14 + $15}' "/proc/$1/stat" 2>/dev/null || echo 0; }
pg_ticks() {
    local pm t=0 p
    pm=$(head -1 "$pgt/data/postmaster.pid")
    for p in "$pm" $(pgrep -P "$pm"); do t=$((t + $(ticks "$p"))); done
    echo "$t"
}

ex=$top/fhir-profiles/examples/valid/motivation-enskild-searched.json
wrk_run() {   # URL CONNS OUT
    wrk -t2 -c"$2" -d"${seconds}s" --timeout 10s -s "$top/tests/bench/bench_http.lua" \
        "$1" -- submit "$ex" "$(printf '%08x' $((RANDOM * 32768 + RANDOM)))" >"$3" 2>&1
}
rate_of() {   # wrk output -> acknowledged/s
    local line requests non2xx duration_us
    line=$(grep '^RESULT ' "$1") || { cat "$1" >&2; echo 0; return; }
    eval "${line#RESULT }"
    awk -v n="$((requests - non2xx))" -v us="$duration_us" 'BEGIN {printf "%.0f", n / (us / 1e6)}'
}
p99_of() {
    local line p99_us
    line=$(grep '^RESULT ' "$1") || { echo 0; return; }
    eval "${line#RESULT }"
    awk -v v="$p99_us" 'BEGIN {printf "%.1f", v / 1000}'
}

echo "# klasgw PostgreSQL benchmark: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), PostgreSQL $(psql "$dsn" -Atc 'SHOW server_version') (fsync on, synchronous_commit on), wrk -c$conns ${seconds}s per run; gateway, database and load generator share the machine"

start "$dir/sqlite.conf"
q0=$(ticks "$last")
wrk_run "$url" $conns "$dir/sqlite.out"
q1=$(ticks "$last")
stop "$last"
sq=$(rate_of "$dir/sqlite.out")
printf 'SQLite, one node:            %6s acknowledged submissions/s  p99 %s ms  gateway CPU %.2f ms per submission\n' "$sq" "$(p99_of "$dir/sqlite.out")" \
    "$(awk -v t="$((q1 - q0))" -v hz="$(getconf CLK_TCK)" -v r="$sq" -v s="$seconds" 'BEGIN {print (r > 0 ? t * 1000 / hz / (r * s) : 0)}')"

start "$dir/pg.conf"
psql "$dsn" -qAtc 'SELECT pg_stat_statements_reset()' >/dev/null
c0=$(psql "$dsn" -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = 'klasgw'")
s0=$(psql "$dsn" -Atc "SELECT wal_sync FROM pg_stat_wal")
g0=$(ticks "$last"); d0=$(pg_ticks)
wrk_run "$url" $conns "$dir/pg1.out"
g1=$(ticks "$last"); d1=$(pg_ticks)
s1=$(psql "$dsn" -Atc "SELECT wal_sync FROM pg_stat_wal")
c1=$(psql "$dsn" -Atc "SELECT xact_commit FROM pg_stat_database WHERE datname = 'klasgw'")
calls=$(psql "$dsn" -Atc "SELECT sum(calls) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'klasgw') AND query NOT LIKE '%pg_stat%'")
writer_calls=$(psql "$dsn" -Atc "SELECT coalesce(sum(calls),0) FROM pg_stat_statements WHERE query ~* '^(BEGIN|COMMIT|SAVEPOINT|RELEASE|INSERT|UPDATE audit_head|SELECT seq, hash FROM audit_head|NOTIFY|SELECT content_hash|SELECT 1 FROM cases)'")
pg1=$(rate_of "$dir/pg1.out")
acked=$(grep '^RESULT ' "$dir/pg1.out" | sed 's/.*requests=\([0-9]*\).*non2xx=\([0-9]*\).*/\1 \2/' | awk '{print $1 - $2}')
printf 'PostgreSQL, one node:        %6s acknowledged submissions/s  p99 %s ms  = %.2f x SQLite\n' \
    "$pg1" "$(p99_of "$dir/pg1.out")" "$(awk -v a="$pg1" -v b="$sq" 'BEGIN {print (b > 0 ? a / b : 0)}')"
printf '  per acknowledged submission: %.1f statements (round trips) in all, %.1f of them the write; %.3f commits (group commit: %s commits for %s submissions)\n' \
    "$(awk -v a="$calls" -v n="$acked" 'BEGIN {print (n > 0 ? a / n : 0)}')" \
    "$(awk -v a="$writer_calls" -v n="$acked" 'BEGIN {print (n > 0 ? a / n : 0)}')" \
    "$(awk -v a="$((c1 - c0))" -v n="$acked" 'BEGIN {print (n > 0 ? a / n : 0)}')" "$((c1 - c0))" "$acked"

# xact_commit counts every read outside a transaction too; the writes'
# commits are the writer's COMMITs, and the WAL flushes what they cost.
wcommits=$(psql "$dsn" -Atc "SELECT coalesce(sum(calls),0) FROM pg_stat_statements WHERE query = 'COMMIT'")
printf '  per acknowledged submission: %.3f write commits (COMMIT: %s for %s submissions), %.3f WAL flushes (pg_stat_wal.wal_sync)\n' \
    "$(awk -v a="$wcommits" -v n="$acked" 'BEGIN {print (n > 0 ? a / n : 0)}')" "$wcommits" "$acked" \
    "$(awk -v a="$((s1 - s0))" -v n="$acked" 'BEGIN {print (n > 0 ? a / n : 0)}')"
hz=$(getconf CLK_TCK)
printf '  CPU per acknowledged submission: gateway %.2f ms, PostgreSQL %.2f ms (the rest of the machine: wrk and other work)\n' \
    "$(awk -v t="$((g1 - g0))" -v hz="$hz" -v n="$acked" 'BEGIN {print (n > 0 ? t * 1000 / hz / n : 0)}')" \
    "$(awk -v t="$((d1 - d0))" -v hz="$hz" -v n="$acked" 'BEGIN {print (n > 0 ? t * 1000 / hz / n : 0)}')"
echo '  statements per acknowledged submission, most frequent first:'
psql "$dsn" -At -F ' ' -c "SELECT round(calls::numeric / greatest($acked, 1), 2), left(regexp_replace(query, '\s+', ' ', 'g'), 90) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = 'klasgw') ORDER BY calls DESC LIMIT 12" | sed 's/^/    /'
half=$((pg1 / 2))
if [ "$half" -gt 0 ]; then
    sleep 2
    "$build/tests/bench_http_paced" "$url" "$ex" "$half" "$seconds" "$conns" >"$dir/paced.out" 2>&1 || true
    line=$(grep '^RESULT ' "$dir/paced.out" || true)
    if [ -n "$line" ]; then
        eval "${line#RESULT }"
        printf 'PostgreSQL, one node, half the peak (%d/s due, open loop): %d of %d answered 200  p50 %.1f ms  p99 %.1f ms\n' \
            "$half" "$ok" "$sent" "$(awk -v v="$p50_us" 'BEGIN {print v / 1000}')" "$(awk -v v="$p99_us" 'BEGIN {print v / 1000}')"
    fi
fi
first=$last
url1=$url
start "$dir/pg.conf"
wrk_run "$url1" $((conns / 2)) "$dir/pg2a.out" &
w=$!
wrk_run "$url" $((conns / 2)) "$dir/pg2b.out"
wait $w
a=$(rate_of "$dir/pg2a.out")
b=$(rate_of "$dir/pg2b.out")
printf 'PostgreSQL, two nodes:       %6s acknowledged submissions/s (%s + %s)  = %.2f x one node\n' \
    "$((a + b))" "$a" "$b" "$(awk -v a="$((a + b))" -v b="$pg1" 'BEGIN {print (b > 0 ? a / b : 0)}')"
stop "$last"
stop "$first"

echo 'CREATE TABLE IF NOT EXISTS bench_commit (id bigserial PRIMARY KEY, v text);' | psql "$dsn" -q
echo "INSERT INTO bench_commit (v) VALUES ('x');" >"$dir/one.sql"
pgbench -n -c1 -T5 -f "$dir/one.sql" "$dsn" >"$dir/pgbench.out" 2>&1 || cat "$dir/pgbench.out"
single=$(sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$dir/pgbench.out" | head -1)
printf 'PostgreSQL single-row commit rate (pgbench, 1 client, fsync on): %s commits/s\n' "${single%.*}"
printf 'cases stored: %s\n' "$(psql "$dsn" -Atc 'SELECT count(*) FROM cases')"
