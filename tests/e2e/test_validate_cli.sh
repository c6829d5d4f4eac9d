#!/usr/bin/env bash
# `klasgw validate` as a user runs it: exit 0 valid, 1 invalid, 2 unusable;
# text, JSON and XML output; the OperationOutcome is itself valid input.
set -euo pipefail
: "${KLASGW:?}" "${GW_SOURCE_DIR:?}" "${GW_BUILD_DIR:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }
ex="$GW_SOURCE_DIR/fhir-profiles/examples"
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT

"$KLASGW" validate "$ex/valid/motivation-enskild-searched.json" \
    "$ex/valid/motivation-enskild-searched.xml" >"$out/ok" || fail "valid exits non-zero"
[ "$(grep -c ': valid$' "$out/ok")" -eq 2 ] || fail "valid files not reported valid"

set +e
"$KLASGW" validate "$ex/valid/motivation-generell-unit.json" \
    "$ex/invalid/missing-indication.json" >"$out/bad"; rc=$?
set -e
[ $rc -eq 1 ] || fail "an invalid file exits $rc, not 1"
grep -q "Motiveringen måste innehålla en behandlingsindikation" "$out/bad" \
    || fail "no Swedish message"
grep -q "The motivation must state a treatment indication" "$out/bad" \
    || fail "no English message"
grep -q "Bundle.entry\[2\].resource.reasonCode" "$out/bad" || fail "no FHIRPath"

printf 'not fhir at all' >"$out/junk.txt"
set +e
"$KLASGW" validate "$out/junk.txt" >/dev/null; rc=$?
"$KLASGW" validate "$out/missing-file.json" 2>/dev/null; rc2=$?
"$KLASGW" validate --format yaml "$out/junk.txt" 2>/dev/null; rc3=$?
set -e
[ $rc -eq 2 ] && [ $rc2 -eq 2 ] && [ $rc3 -eq 2 ] || fail "unusable exits $rc $rc2 $rc3"

set +e
"$KLASGW" validate --format json "$ex/invalid/pnr-wrong-check-digit.json" >"$out/oo.json"
"$KLASGW" validate --format xml "$ex/invalid/pnr-wrong-check-digit.json" >"$out/oo.xml"
set -e
grep -q '"resourceType": "OperationOutcome"' "$out/oo.json" || fail "json format"
grep -q '<OperationOutcome xmlns="http://hl7.org/fhir">' "$out/oo.xml" || fail "xml format"
grep -q 'klas-pnr' "$out/oo.json" || fail "rule id missing"
if grep -q 201006301112 "$out/oo.json"; then fail "the personnummer leaked into the outcome"; fi
# What the gateway writes, it reads: both forms parse as FHIR again.
"$GW_BUILD_DIR/tests/fhirconv" --to xml "$out/oo.json" >/dev/null || fail "outcome json unreadable"
"$GW_BUILD_DIR/tests/fhirconv" --to json "$out/oo.xml" >/dev/null || fail "outcome xml unreadable"
cat "$ex/valid/motivation-beredskap.json" | "$KLASGW" validate - | grep -q ": valid$" \
    || fail "standard input"
echo "validate cli: ok"
