#!/usr/bin/env bash
# The independent FHIR R4 checker (tests/fhircheck) over everything the
# project publishes and the gateway writes: the conformance resources in
# fhir-profiles/, every valid example in JSON and XML, an OperationOutcome
# from `klasgw validate` and the codec's canonical output.
set -euo pipefail
: "${KLASGW:?}" "${GW_SOURCE_DIR:?}" "${GW_BUILD_DIR:?}"
check="$GW_SOURCE_DIR/tests/fhircheck/check.js"
[ -d "$GW_SOURCE_DIR/tests/fhircheck/node_modules" ] || {
    echo "FAIL: tests/fhircheck has no node_modules: run scripts/install-deps.sh" >&2
    exit 1; }
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT
ex="$GW_SOURCE_DIR/fhir-profiles/examples"

set +e
"$KLASGW" validate --format json "$ex/invalid/missing-indication.json" >"$out/outcome.json"
"$KLASGW" validate --format xml "$ex/invalid/missing-indication.json" >"$out/outcome.xml"
set -e
for f in "$GW_SOURCE_DIR"/tests/fixtures/fhir/*.json; do
    "$GW_BUILD_DIR/tests/fhirconv" --to xml "$f" >"$out/$(basename "${f%.json}").xml"
done
files=("$ex"/valid/*.json "$ex"/valid/*.xml "$out"/*)
for f in "$GW_SOURCE_DIR"/fhir-profiles/*.json; do
    [ -e "$f" ] && files+=("$f")
done
node "$check" --quiet "${files[@]}" >"$out/report" || { cat "$out/report"; exit 1; }
tail -1 "$out/report"
grep -q " 0 failed" "$out/report"
