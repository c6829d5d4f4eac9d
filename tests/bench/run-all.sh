#!/usr/bin/env bash
# Runs every benchmark under tests/bench/ (bench_*.sh) with the given build,
# then prints each target of issue #13 §5 with the figure measured, its
# ratio to the target and PASS or GAP. The figures are for an idle
# machine; on a shared one compare the ratios measured in the same run.
#   tests/bench/run-all.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
build=${1:-build}
seconds=${2:-}
cd "$(dirname "$0")/../.."
out=$(mktemp "${TMPDIR:-/tmp}/klasgw-bench-all-XXXXXX")
trap 'rm -f "$out"' EXIT
for b in tests/bench/bench_*.sh; do
    echo "== $b"
    case $b in
    */bench_limits.sh) bash "$b" "$build" ;; # its second argument is a binary
    *) bash "$b" "$build" ${seconds:+"$seconds"} ;;
    esac | tee -a "$out"
done

# target NAME VALUE OP LIMIT UNIT: one line of the summary.
target() {
    local name=$1 v=$2 op=$3 lim=$4 unit=$5
    if [ -z "$v" ]; then
        printf '%-58s %12s  %-14s %s\n' "$name" "-" "$op $lim $unit" "NOT MEASURED"
        return
    fi
    awk -v n="$name" -v v="$v" -v op="$op" -v l="$lim" -v u="$unit" 'BEGIN {
        ok = (op == ">=") ? (v >= l) : (v <= l)
        r = (op == ">=") ? v / l : (v > 0 ? l / v : 0)
        printf "%-58s %12s  %-14s %5.2f x target  %s\n", n, v " " u, op " " l, r, ok ? "PASS" : "GAP"
    }'
}
json=$(sed -n 's/^submit json .*bytes): *\([0-9]*\) acknowledged.*/\1/p' "$out" | head -1)
xml=$(sed -n 's/^submit xml .*bytes): *\([0-9]*\) acknowledged.*/\1/p' "$out" | head -1)
json_x=$(sed -n 's/.*submit json .* = \([0-9.]*\) x the single-commit.*/\1/p' "$out" | head -1)
xml_x=$(sed -n 's/.*submit xml .* = \([0-9.]*\) x the single-commit.*/\1/p' "$out" | head -1)
half_p99=$(sed -n 's/.*half the peak, open loop.* p99 \([0-9.]*\) ms  max.*/\1/p' "$out" | head -1)
reads=$(sed -n 's/^read GET [^,]*: \([0-9]*\) reads\/s.*/\1/p' "$out" | head -1)
reads_q=$(sed -n 's/^read GET .*durable_reads=false: \([0-9]*\) reads\/s.*/\1/p' "$out" | head -1)
rss_kb=$(sed -n 's/.*peak RSS (VmHWM): \([0-9]*\) kB.*/\1/p' "$out" | head -1)
rss=${rss_kb:+$(awk -v k="$rss_kb" 'BEGIN {printf "%.1f", k / 1024}')}
val_json=$(sed -n 's/.*whole path, JSON .*(\([0-9.]*\) x raw).*/\1/p' "$out" | head -1)
val_xml=$(sed -n 's/.*whole path, XML: .*(\([0-9.]*\) x raw).*/\1/p' "$out" | head -1)
gc32=$(sed -n 's/.*group commit, 32 writers: .*(\([0-9.]*\) x single commit[,)].*/\1/p' "$out" | head -1)

echo
echo "== targets (issue #13 §5)"
target "ingest JSON, acknowledged submissions/s" "$json" ">=" 3000 "/s"
target "ingest JSON / the disk's single-commit rate" "$json_x" ">=" 1 "x"
target "ingest XML, acknowledged submissions/s" "$xml" ">=" 3000 "/s"
target "ingest XML / the disk's single-commit rate" "$xml_x" ">=" 1 "x"
target "p99 at half the JSON peak, open loop" "$half_p99" "<=" 25 "ms"
target "reads GET Task/{id} (audit record durable first)" "$reads" ">=" 15000 "/s"
target "reads GET Task/{id} (audit.durable_reads=false)" "$reads_q" ">=" 15000 "/s"
target "validate JSON / raw libxml2 parse + XSD" "$val_json" ">=" 0.5 "x"
target "group commit, 32 writers / single commit" "$gc32" ">=" 3 "x"
target "gateway peak RSS (VmHWM)" "$rss" "<=" 64 "MiB"
echo "(no target) validate XML / raw libxml2 parse + XSD: ${val_xml:--} x"
