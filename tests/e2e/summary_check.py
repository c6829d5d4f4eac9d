"""summary_check.py - checks a _summary=true answer against the R4
definitions (not the gateway's own model table): every element of each
resource (at every level of backbone elements) is one R4 marks isSummary
or mandatory, or id / meta (or contained, whole, while a kept element
refers to it); each resource is tagged SUBSETTED; and the
full answer had something the summary left out.

    python3 summary_check.py R4_PROFILES_RESOURCES_JSON SUMMARY.json FULL.json
"""
import json
import sys

defs_path, summary_path, full_path = sys.argv[1:4]
with open(defs_path, encoding="utf-8") as fh:
    sds = {e["resource"]["id"]: e["resource"] for e in json.load(fh)["entry"]
           if e["resource"]["resourceType"] == "StructureDefinition"}


def elements(rtype):
    return {el["path"]: el for el in sds[rtype]["snapshot"]["element"]}


def lookup(els, path, key):
    if path + "." + key in els:
        return els[path + "." + key]
    for p, el in els.items():  # a choice: value[x] as valueString
        if p.startswith(path + ".") and p.endswith("[x]") and \
                key.startswith(p[len(path) + 1:-3]) and "." not in p[len(path) + 1:]:
            return el
    return None


def local_refs(v):
    if isinstance(v, dict):
        return any(local_refs(x) for k, x in v.items() if k != "contained") or \
            (isinstance(v.get("reference"), str) and v["reference"].startswith("#"))
    if isinstance(v, list):
        return any(local_refs(x) for x in v)
    return False


def check(res, rtype, els, path, where):
    for key, v in res.items():
        if key == "resourceType" or key.startswith("_"):
            continue
        if key == "contained":  # kept whole while what is kept refers to it
            if not local_refs(res):
                sys.exit("FAIL: %s: contained kept with no reference to it" % where)
            continue
        if path == rtype and key in ("id", "meta"):
            continue
        el = lookup(els, path, key)
        if el is None:
            sys.exit("FAIL: %s: %s.%s is not R4" % (where, path, key))
        if not el.get("isSummary") and el.get("min", 0) == 0:
            sys.exit("FAIL: %s: %s.%s is not a summary element" % (where, path, key))
        types = [t.get("code") for t in el.get("type", [])]
        for item in v if isinstance(v, list) else [v]:
            if isinstance(item, dict) and "resourceType" in item:
                summarised(item, where)
            elif "BackboneElement" in types and isinstance(item, dict):
                check(item, rtype, els, el["path"], where)


def summarised(res, where):
    tags = res.get("meta", {}).get("tag", [])
    if not any(t.get("code") == "SUBSETTED" for t in tags):
        sys.exit("FAIL: %s: %s is not tagged SUBSETTED" % (where, res["resourceType"]))
    check(res, res["resourceType"], elements(res["resourceType"]), res["resourceType"], where)


def size(v):
    return len(json.dumps(v, sort_keys=True))


with open(summary_path, encoding="utf-8") as fh:
    summ = json.load(fh)
with open(full_path, encoding="utf-8") as fh:
    full = json.load(fh)
if summ["resourceType"] == "Bundle":
    if not summ.get("entry"):
        sys.exit("FAIL: the summarised search found nothing")
    for e in summ["entry"]:
        summarised(e["resource"], "search entry " + e["resource"]["resourceType"])
else:
    summarised(summ, "read")
if size(summ) >= size(full):
    sys.exit("FAIL: the summary left nothing out")
print("ok: _summary=true keeps R4's summary elements and tags SUBSETTED")
