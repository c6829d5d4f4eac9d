#!/usr/bin/env bash
# The worked example of issue #13 §1: "adding an event touches at most 5
# places". licence-withdrawn.patch adds an LV event that is NOT part of
# the product (the domain sources do not have it): LV withdraws a granted
# licence, the case leaves Bev for Åter (Återkallad), the case's pharmacy
# is told and the licence no longer counts at the counter.
#
# This script copies the source tree (no git needed, nothing read outside
# it) to a scratch folder, applies the patch there (and fails loudly when
# it does not apply), checks that it edits at most 5 files, runs the
# generators as a developer would (profiles, the SOAP contract's status
# list, examples: committed generated files, so they are regenerated here
# rather than carried by the patch), builds klasgw and runs the new event
# through the real gateway (withdrawn.py, run by the lifecycle test: the
# printable copy's decision line and `sim lv --call Åter` among it), and
# the views' unit tests on the new rows (test_view).
#
#   tests/worked-example/run.sh               (make worked-example)
#   tests/worked-example/run.sh --apply-only  (ctest worked_example_applies:
#       copy, apply, count, regenerate; no build)
# KEEP=1 keeps the scratch folder.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
patch="$here/licence-withdrawn.patch"
MAX_FILES=5
fail() { echo "worked example: FAIL: $*" >&2; exit 1; }

tmp=$(mktemp -d)
[ -n "${KEEP:-}" ] || trap 'rm -rf "$tmp"' EXIT
src="$tmp/src"
mkdir -p "$src"
# The tree without builds, VCS data or installed node modules.
tar -C "$top" --exclude=./.git --exclude='./build*' --exclude=./var \
    --exclude=node_modules -cf - . | tar -C "$src" -xf -

# The hand-edited places: the files the patch names.
files=$(grep '^+++ ' "$patch" | awk '{print $2}' | sed 's|^b/||' | sort -u)
n=$(printf '%s\n' "$files" | grep -c .)
echo "worked example: the patch edits $n file(s):"
printf '  %s\n' $files
[ "$n" -le "$MAX_FILES" ] || fail "the patch edits $n files, more than $MAX_FILES"
patch -d "$src" -p1 --dry-run --quiet <"$patch" >/dev/null 2>&1 ||
    { patch -d "$src" -p1 --dry-run <"$patch" >&2 || true;
      fail "licence-withdrawn.patch no longer applies to this tree: update it"; }
patch -d "$src" -p1 --quiet --no-backup-if-mismatch <"$patch"

# What the generators make from the new rows (committed files).
(cd "$src" && /usr/bin/python3 scripts/gen-profiles.py && /usr/bin/python3 scripts/gen-examples.py)
[ -f "$src/fhir-profiles/examples/valid/decision-ater.json" ] ||
    fail "gen-examples wrote no example for the new decision row"
grep -q '"code": "Åter"' "$src/fhir-profiles/CodeSystem-klas-case-status.json" ||
    fail "gen-profiles did not add Åter to klas-case-status"
grep -q 'value="Åter"' "$src/wsdl/schemas/core_components/klas_core_1.0.xsd" ||
    fail "gen-profiles did not add Åter to the SOAP contract"
echo "worked example: generated files changed:"
diff -rq "$top/fhir-profiles" "$src/fhir-profiles" | sed 's/^/  /' || true
diff -rq "$top/wsdl" "$src/wsdl" | sed 's/^/  /' || true
if [ "${1:-}" = --apply-only ]; then
    echo "worked example: applies ($n hand-edited files)"
    exit 0
fi

# Build the gateway (and the FHIR converter the test uses).
cmake -S "$src" -B "$tmp/build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$tmp/cmake.log" 2>&1 ||
    { tail -20 "$tmp/cmake.log" >&2; fail "cmake"; }
nice cmake --build "$tmp/build" -j 2 --target klasgw fhirconv test_view >"$tmp/build.log" 2>&1 ||
    { grep -E "error|warning" "$tmp/build.log" | head -20 >&2; fail "the patched tree does not build"; }
"$tmp/build/klasgw" validate "$src/fhir-profiles/examples/valid/decision-ater.json" >/dev/null ||
    fail "the generated decision-ater example is not valid for the gateway"
# The views' unit tests on the patched rows: among them, the printable
# copy of every decided status (now Åter too) carries its decision line.
GW_SOURCE_DIR="$src" CMOCKA_MESSAGE_OUTPUT=stdout "$tmp/build/tests/test_view" \
    >"$tmp/test_view.log" 2>&1 ||
    { grep -E "FAILED|ERROR|fail" "$tmp/test_view.log" | head -20 >&2;
      fail "test_view on the patched tree"; }
echo "worked example: test_view passes on the patched rows"

# The lifecycle test's gateway, simulators and checks (a clean stop, the
# audit chain, no personal data in the log) around withdrawn.py.
KLASGW="$tmp/build/klasgw" FHIRCONV="$tmp/build/tests/fhirconv" \
    GW_SOURCE_DIR="$src" CHECKJS="$top/tests/fhircheck/check.js" \
    LIFECYCLE_RUNNER="$here/withdrawn.py" \
    bash "$src/tests/e2e/test_lifecycle.sh"
echo "worked example: ok ($n hand-edited files)"
