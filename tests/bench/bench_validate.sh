#!/usr/bin/env bash
# Validation benchmark: messages/s through the whole validate path (JSON
# and XML, full enskild motivation, one thread) next to libxml2's raw
# parse + XSD rate of the same XML in the same run. Prints figures only.
#   tests/bench/bench_validate.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
build=${1:-build}
cd "$(dirname "$0")/../.."
"$build/tests/bench_validate" "$(pwd)" "${2:-3}"
