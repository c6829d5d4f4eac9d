"""cap_walk.py - walks the CapabilityStatement the gateway serves and calls
every interaction, search parameter and operation it declares, as the
EHR (and, for Subscription, as the pharmacy). A declared entry must be
served: never 404 "no such endpoint" or 405, never an unknown search
parameter. Used by tests/e2e/test_fhir_rest.sh.

    python3 cap_walk.py BASE_URL REFNR
"""
import json
import sys
import urllib.error
import urllib.request

base, refnr = sys.argv[1], sys.argv[2]
EHR = {"X-Klasgw-Client": "SE2321000016-EHR1", "X-Klasgw-User": "SE2321000016-DOC1"}
APO = {"X-Klasgw-Client": "SE7350000000-APO1"}
VALUE = {"token": "x", "string": "abc", "date": "ge2020-01-01", "reference": None}


def call(method, path, headers, body=None, ctype=None):
    h = dict(headers)
    h["Accept"] = "application/fhir+json"
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


st, body = call("GET", "/metadata", {})
cs = json.loads(body)
assert cs["resourceType"] == "CapabilityStatement", cs
n = 0
for res in cs["rest"][0]["resource"]:
    t = res["type"]
    who = APO if t == "Subscription" else EHR
    rid = refnr if t == "Task" else "%s-3" % refnr
    for it in res.get("interaction", []):
        code = it["code"]
        if code == "read":
            st, b = call("GET", "/%s/%s" % (t, rid), who)
        elif code == "vread":
            st, b = call("GET", "/%s/%s/_history/1" % (t, rid), who)
        elif code == "history-instance":
            st, b = call("GET", "/%s/%s/_history" % (t, rid), who)
        elif code == "search-type":
            st, b = call("GET", "/%s?%s" % (t, "_count=1" if t == "Task" else "name=abc"), who)
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
        name, v = sp["name"], VALUE[sp["type"]]
        if v is None:  # a reference: chained on identifier, as documented
            name, v = name + ".identifier", "191212121212"
        st, b = call("GET", "/%s?%s=%s" % (t, name, v), EHR)
        served("%s?%s" % (t, name), st, b)
        n += 1
for op in cs["rest"][0].get("operation", []):
    name = op["name"]
    assert op.get("definition"), op
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
print("all %d declared entries are served" % n)
