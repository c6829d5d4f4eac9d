#!/usr/bin/env bash
# Hostile-input benchmark (issue 11): CPU seconds and peak memory that
# `klasgw validate` spends before refusing each input, so that limits are
# seen to bite before the expensive work. Prints figures only; give a
# second binary (an older build) to print its figures beside.
#   tests/bench/bench_limits.sh [BUILD_DIR] [OTHER_KLASGW]
set -euo pipefail
build=${1:-build}
other=${2:-}
cd "$(dirname "$0")/../.."
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
python3 - "$T" <<'PY'
import sys
d = sys.argv[1]
def w(name, *parts):
    with open(d + "/" + name, "w") as f:
        for p in parts:
            f.write(p)
w("attrs50k.xml", '<Bundle xmlns="http://hl7.org/fhir"><type ',
  " ".join('a%d="1"' % i for i in range(50000)), ' value="message"/></Bundle>')
w("elements2m.xml", '<Bundle xmlns="http://hl7.org/fhir">', "<a/>" * 2000000,
  "</Bundle>")
w("values3m.json", '{"resourceType":"Bundle","type":"message","x":[',
  '"a",' * 3000000, '"a"]}')
w("value40m.xml", '<Bundle xmlns="http://hl7.org/fhir"><type value="',
  "x" * (40 * 1024 * 1024 - 100), '"/></Bundle>')
PY
run() { # run BINARY FILE: CPU seconds (user + system), peak RSS in MB
    local out
    /usr/bin/time -f '%U %S %M' -o "$T/time" "$1" validate "$2" >/dev/null 2>&1 || true
    out=$(tail -1 "$T/time")
    awk -v o="$out" 'BEGIN { split(o, a, " "); printf "%6.2f s CPU %7.1f MB", a[1] + a[2], a[3] / 1024 }'
}
printf '%-16s %10s  %-26s %s\n' input size "this build" "${other:+other build}"
for f in attrs50k.xml elements2m.xml values3m.json value40m.xml; do
    printf '%-16s %8s  %-26s %s\n' "$f" "$(du -h "$T/$f" | cut -f1)" \
        "$(run "$build/klasgw" "$T/$f")" "$( [ -n "$other" ] && run "$other" "$T/$f" || true)"
done
