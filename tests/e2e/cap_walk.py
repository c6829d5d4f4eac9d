"""cap_walk.py - walks the CapabilityStatement the gateway serves and calls
every interaction, search parameter and operation it declares, as the
EHR (and, for Subscription, as the pharmacy). A declared entry must be
served: never 404 "no such endpoint" or 405, never an unknown search
parameter. Every definition it refers to under the gateway's own canonical
base (http://klasgw.org/fhir/: OperationDefinitions, SearchParameters,
MessageDefinitions) must be served, found by its url and by its id, and
match the entry (operation name, parameter name, type and resource, event
code); with OUT_DIR each served definition is written there (JSON and
XML) for the R4 checker. Used by tests/e2e/test_fhir_rest.sh.

    python3 cap_walk.py BASE_URL REFNR [OUT_DIR]
"""
import os
import urllib.parse
import json
import sys
import urllib.error
import urllib.request

base, refnr = sys.argv[1], sys.argv[2]
out_dir = sys.argv[3] if len(sys.argv) > 3 else None
OWN = "http://klasgw.org/fhir/"
EHR = {"X-Klasgw-Client": "SE2321000016-EHR1", "X-Klasgw-User": "SE2321000016-DOC1"}
APO = {"X-Klasgw-Client": "SE7350000000-APO1"}
VALUE = {"token": "x", "string": "abc", "date": "ge2020-01-01", "reference": None,
         "uri": OWN + "SearchParameter/none"}


def call(method, path, headers, body=None, ctype=None, accept="application/fhir+json"):
    h = dict(headers)
    h["Accept"] = accept
    if ctype:
        h["Content-Type"] = ctype
    req = urllib.request.Request(base + path, data=body, headers=h, method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def served(what, status, body):
    text = body.decode("utf-8", "replace")
    if status in (404, 405) and ("no such endpoint" in text or status == 405):
        sys.exit("FAIL: %s is declared but not served (%d)" % (what, status))
    if status == 400 and "unknown search parameter" in text:
        sys.exit("FAIL: %s is declared but refused as unknown" % what)
    print("ok: %s (%d)" % (what, status))


checked = {}


def definition(canon, rtype, what):
    """The definition canon refers to, served by url and by id; None for
    the base specification's."""
    if not canon.startswith(OWN):
        return None
    kind, rid = canon[len(OWN):].split("/", 1)
    if kind != rtype:
        sys.exit("FAIL: %s: %s is not a %s" % (what, canon, rtype))
    if canon in checked:
        return checked[canon]
    st, b = call("GET", "/%s?url=%s" % (kind, urllib.parse.quote(canon, safe="")), {})
    if st != 200:
        sys.exit("FAIL: %s: search by url %s answers %d" % (what, canon, st))
    bundle = json.loads(b)
    hits = [e["resource"] for e in bundle.get("entry", [])]
    if bundle.get("total") != 1 or len(hits) != 1 or hits[0].get("url") != canon:
        sys.exit("FAIL: %s: the search by url finds %r, not %s" % (what, bundle.get("total"), canon))
    st, b = call("GET", "/%s/%s" % (kind, rid), {})
    if st != 200:
        sys.exit("FAIL: %s: %s is declared but not served (%d)" % (what, canon, st))
    res = json.loads(b)
    if res != hits[0]:
        sys.exit("FAIL: %s: read and search serve different %s" % (what, canon))
    if res.get("resourceType") != rtype or res.get("id") != rid or res.get("url") != canon:
        sys.exit("FAIL: %s: %s serves %s/%s url %s" % (what, canon, res.get("resourceType"),
                                                        res.get("id"), res.get("url")))
    if out_dir:
        with open(os.path.join(out_dir, "%s-%s.json" % (kind, rid)), "wb") as fh:
            fh.write(b)
        st, x = call("GET", "/%s/%s" % (kind, rid), {}, accept="application/fhir+xml")
        if st != 200:
            sys.exit("FAIL: %s: %s in XML answers %d" % (what, canon, st))
        with open(os.path.join(out_dir, "%s-%s.xml" % (kind, rid)), "wb") as fh:
            fh.write(x)
    print("ok: %s: %s served and found by url" % (what, canon))
    checked[canon] = res
    return res


st, body = call("GET", "/metadata", {})
cs = json.loads(body)
assert cs["resourceType"] == "CapabilityStatement", cs
n = 0
for res in cs["rest"][0]["resource"]:
    t = res["type"]
    who = APO if t == "Subscription" else EHR
    rid = refnr if t == "Task" else "%s-3" % refnr
    if t in ("OperationDefinition", "SearchParameter", "MessageDefinition"):
        st, b = call("GET", "/" + t, {})  # published: read the first one
        rid = json.loads(b)["entry"][0]["resource"]["id"]
    sps = res.get("searchParam", [])
    first = "%s=%s" % (sps[0]["name"], urllib.parse.quote(VALUE[sps[0]["type"]] or "x")) \
        if sps else "name=abc"
    for it in res.get("interaction", []):
        code = it["code"]
        if code == "read":
            st, b = call("GET", "/%s/%s" % (t, rid), who)
        elif code == "vread":
            st, b = call("GET", "/%s/%s/_history/1" % (t, rid), who)
        elif code == "history-instance":
            st, b = call("GET", "/%s/%s/_history" % (t, rid), who)
        elif code == "search-type":
            st, b = call("GET", "/%s?%s" % (t, "_count=1" if t == "Task" else first), who)
        elif code == "create":
            st, b = call("POST", "/%s" % t, who, b"{}", "application/fhir+json")
        elif code == "delete":
            st, b = call("DELETE", "/%s/x1" % t, who)
        else:
            sys.exit("FAIL: %s %s: the walker does not know this interaction" % (t, code))
        served("%s %s" % (t, code), st, b)
        n += 1
    for sp in res.get("searchParam", []):
        assert sp.get("definition"), sp
        d = definition(sp["definition"], "SearchParameter", "%s?%s" % (t, sp["name"]))
        if d is not None and (d["code"] != sp["name"] or t not in d["base"] or
                              d["type"] != sp["type"]):
            sys.exit("FAIL: %s?%s: its SearchParameter says %s %s on %s" % (
                t, sp["name"], d["type"], d["code"], d["base"]))
        name, v = sp["name"], VALUE[sp["type"]]
        if v is None:  # a reference: chained on identifier, as documented
            name, v = name + ".identifier", "191212121212"
        st, b = call("GET", "/%s?%s=%s" % (t, name, v), EHR)
        served("%s?%s" % (t, name), st, b)
        n += 1
# System operations, and each resource's own (instance) operations.
for op in cs["rest"][0].get("operation", []) + [
        o for r in cs["rest"][0].get("resource", []) for o in r.get("operation", [])]:
    name = op["name"]
    assert op.get("definition"), op
    d = definition(op["definition"], "OperationDefinition", "$" + name)
    if d is not None and d["code"] != name:
        sys.exit("FAIL: $%s: its OperationDefinition has code %s" % (name, d["code"]))
    paths = {"print": "/Task/%s/$print" % refnr, "copy": "/Task/%s/$copy" % refnr,
             "validate": "/Bundle/$validate",
             "status": "/Subscription/x1/$status",
             "events": "/Subscription/x1/$events"}
    path = paths.get(name, "/$" + name)
    st, b = call("GET", path, EHR)
    if st == 405:  # the operation takes POST
        st, b = call("POST", path, EHR, b"{}", "application/fhir+json")
    served("$" + name, st, b)
    n += 1
msgs = cs.get("messaging", [{}])[0].get("supportedMessage", [])
if not msgs:
    sys.exit("FAIL: the statement declares no messages")
for m in msgs:
    d = definition(m["definition"], "MessageDefinition", "message")
    code = m["definition"].rsplit("/", 1)[1]
    if d is None or d["eventCoding"]["code"] != code or not d.get("focus"):
        sys.exit("FAIL: message %s: its MessageDefinition does not match" % code)
    n += 1
# Every event the KLAS CodeSystem defines has its MessageDefinition.
cs_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..",
                       "fhir-profiles", "CodeSystem-klas-event.json")
with open(cs_path, encoding="utf-8") as fh:
    events = [c["code"] for c in json.load(fh)["concept"]]
declared = {m["definition"].rsplit("/", 1)[1] for m in msgs}
missing = [e for e in events if e not in declared]
if missing:
    sys.exit("FAIL: no MessageDefinition for the KLAS events %s" % missing)
print("all %d declared entries are served, %d definitions" % (n, len(checked)))
