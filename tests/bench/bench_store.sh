#!/usr/bin/env bash
# Store benchmark: durable acknowledged writes/s with 1, 8 and 32 writers
# next to the disk's single-commit rate (same run, same disk), and outbox
# deliveries/s to a loopback HTTP peer. Prints figures; never fails on them.
#   tests/bench/bench_store.sh [BUILD_DIR] [SECONDS] [MODE...]
# The outbox figure says the backlog it drained from. MODE is passed on to
# bench_store (tests/tools/bench_store.c): e.g. claim cost and
# deliveries/s against backlog size:
#   tests/bench/bench_store.sh build 3 outbox 100 10000 100000
set -euo pipefail
build=${1:-build}
seconds=${2:-5}
dir=$(mktemp -d "${TMPDIR:-/var/tmp}/klasgw-bench-XXXXXX")
trap 'rm -rf "$dir"' EXIT
echo "# klasgw store benchmark: $(nproc) cores, database in $dir ($(df -h "$dir" | awk 'NR==2 {print $1}'))"
"$build/tests/bench_store" "$dir" "$seconds" "${@:3}"
