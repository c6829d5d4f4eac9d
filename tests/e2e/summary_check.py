"""summary_check.py - checks a _summary answer against the R4
definitions (not the gateway's own model table).

true: every element of each resource (at every level of backbone
elements) is one R4 marks isSummary or mandatory, or id / meta (or
contained, whole, while a kept element refers to it), so whatever else
the full answer had is left out.
text: each resource keeps only id, meta, text and the elements R4 makes
mandatory at its top level, each as the full answer has it.
data: each resource is the full answer's but for its text, which is gone.
Each resource is tagged SUBSETTED.

    python3 summary_check.py R4_PROFILES_RESOURCES_JSON SUMMARY.json FULL.json [true|text|data]
    python3 summary_check.py R4_PROFILES_RESOURCES_JSON --list LIST.tsv

With --list, each line of LIST.tsv is WHAT<TAB>SUMMARY.json<TAB>FULL.json<TAB>MODE,
all checked in one start (the definitions take ~1.5 s to load), a failure
named by its WHAT.
"""
import json
import sys

defs_path = sys.argv[1]
mode = "true"  # of the answer being checked (check_answer())
with open(defs_path, encoding="utf-8") as fh:
    sds = {e["resource"]["id"]: e["resource"] for e in json.load(fh)["entry"]
           if e["resource"]["resourceType"] == "StructureDefinition"}


# What a subset keeps beyond R4's rule because an R4 invariant of the
# parent fails without it: cpb-1 (rest, messaging or document) and cpb-2
# (description, software or implementation) for _summary=text, md-1
# (MessageDefinition.focus.max) for _summary=true.
INVARIANT_NEEDS = {("CapabilityStatement", k) for k in (
    "rest", "messaging", "document", "description", "software", "implementation")} | {
    ("MessageDefinition.focus", "max")}


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
        if not el.get("isSummary") and el.get("min", 0) == 0 and \
                (path, key) not in INVARIANT_NEEDS:
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


def tagged(res, where):
    tags = res.get("meta", {}).get("tag", [])
    if not any(t.get("code") == "SUBSETTED" for t in tags):
        sys.exit("FAIL: %s: %s is not tagged SUBSETTED" % (where, res["resourceType"]))


def without_meta(res):
    return {k: v for k, v in res.items() if k != "meta"}


def text_or_data(res, full, where):
    """_summary=text or data on one resource, against the full one."""
    tagged(res, where)
    if res["resourceType"] != full["resourceType"] or res.get("id") != full.get("id"):
        sys.exit("FAIL: %s: not the resource of the full answer" % where)
    if mode == "data":
        if "text" in res:
            sys.exit("FAIL: %s: _summary=data kept the text" % where)
        want = {k: v for k, v in without_meta(full).items() if k != "text"}
        if without_meta(res) != want:
            sys.exit("FAIL: %s: _summary=data changed more than the text" % where)
        return
    top = {el["path"].split(".", 1)[1].replace("[x]", ""): el
           for el in sds[res["resourceType"]]["snapshot"]["element"]
           if el["path"].count(".") == 1}
    for key, v in res.items():
        if key in ("resourceType", "id", "meta", "text") or \
                (res["resourceType"], key) in INVARIANT_NEEDS:
            continue
        if key == "contained":  # kept whole while what is kept refers to it
            if not local_refs(res):
                sys.exit("FAIL: %s: contained kept with no reference to it" % where)
            continue
        el = top.get(key) or next((e for k, e in top.items() if key.startswith(k) and
                                   k + "[x]" in e["path"]), None)
        if el is None or el.get("min", 0) == 0:
            sys.exit("FAIL: %s: _summary=text kept %s.%s (not mandatory)" % (
                where, res["resourceType"], key))
        if full.get(key) != v:
            sys.exit("FAIL: %s: _summary=text changed %s" % (where, key))
    for key in ("id", "text"):
        if key in full and full[key] != res.get(key):
            sys.exit("FAIL: %s: _summary=text left out %s" % (where, key))


def check_answer(summary_path, full_path, answer_mode):
    """One answer against its full one; exits with FAIL: on a fault."""
    global mode
    mode = answer_mode
    with open(summary_path, encoding="utf-8") as fh:
        summ = json.load(fh)
    with open(full_path, encoding="utf-8") as fh:
        full = json.load(fh)
    if mode in ("text", "data"):
        if summ["resourceType"] == "Bundle":
            if not summ.get("entry") or len(summ["entry"]) != len(full.get("entry", [])):
                sys.exit("FAIL: the summarised search has not the full one's entries")
            for e, f in zip(summ["entry"], full["entry"]):
                text_or_data(e["resource"], f["resource"],
                             "search entry " + e["resource"]["resourceType"])
        else:
            text_or_data(summ, full, "read")
        print("ok: _summary=%s as R4 says, tagged SUBSETTED" % mode)
        return
    if summ["resourceType"] == "Bundle":
        if not summ.get("entry"):
            sys.exit("FAIL: the summarised search found nothing")
        for e in summ["entry"]:
            summarised(e["resource"], "search entry " + e["resource"]["resourceType"])
    else:
        summarised(summ, "read")

    print("ok: _summary=true keeps R4's summary elements and tags SUBSETTED")


if sys.argv[2] == "--list":
    with open(sys.argv[3], encoding="utf-8") as fh:
        for line in fh:
            what, summary_path, full_path, answer_mode = line.rstrip("\n").split("\t")
            try:
                check_answer(summary_path, full_path, answer_mode)
            except SystemExit as e:
                sys.exit("%s: %s" % (what, e.code))
else:
    check_answer(sys.argv[2], sys.argv[3], sys.argv[4] if len(sys.argv) > 4 else "true")
