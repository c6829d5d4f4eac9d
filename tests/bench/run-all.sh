#!/usr/bin/env bash
# Runs every benchmark under tests/bench/ (bench_*.sh) with the given build.
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
for b in tests/bench/bench_*.sh; do
    echo "== $b"
    bash "$b" "$build"
done
