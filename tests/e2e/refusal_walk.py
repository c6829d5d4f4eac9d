"""refusal_walk.py - every refusal goes one way (issue #13 §1): walks the
CapabilityStatement the gateway serves (its types, interactions, search
parameters and operations, not a list of ours) and sends each route
requests that must be refused: a method the route does not take, an
unknown id, a bad body or parameter value, a caller without rights (a
pharmacy, an EHR, a client no [clients] line names). For every answer of
400 or more:
  - the console's refusal counts (/console/cases, as the operator) grew;
  - for a caller the gateway knows, on a route that is not public, an
    audit record of the refusal (outcome not "ok") reached the database,
    and no new audit record quotes the request (each request carries a
    sentinel).
Used by tests/e2e/test_fhir_rest.sh.

    python3 refusal_walk.py BASE_URL DB REFNR
"""
import json
import re
import sqlite3
import sys
import time
import urllib.error
import urllib.request

base, db, refnr = sys.argv[1], sys.argv[2], sys.argv[3]
WHO = {
    "ehr": {"X-Klasgw-Client": "SE2321000016-EHR1",
            "X-Klasgw-User": "SE2321000016-DOC1"},
    "apo1": {"X-Klasgw-Client": "SE7350000000-APO1"},
    "ops": {"X-Klasgw-Client": "SE2321000016-OPS1"},
    "unknown": {"X-Klasgw-Client": "SE2321000016-NOPE"},
    "none": {},
}
KNOWN = ("ehr", "apo1", "ops")
SENTINEL = "SENTINEL-refusal-7f3a"
BAD_ID = "no-such-" + SENTINEL


def call(who, method, path, body=None, ctype=None):
    h = dict(WHO[who])
    h["Accept"] = "application/fhir+json"
    if ctype:
        h["Content-Type"] = ctype
    req = urllib.request.Request(base + path, data=body, headers=h,
                                 method=method)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


ROW = re.compile(r'<tr data-rule="[^"]*"><th scope="row"><code>[^<]*</code>'
                 r'</th><td class="num">(\d+)</td>')


def counted():
    """The sum of the console's refusal counts."""
    st, body = call("ops", "GET", "/console/cases")
    if st != 200:
        sys.exit("FAIL: /console/cases answered %d" % st)
    return sum(int(n) for n in ROW.findall(body.decode("utf-8", "replace")))


con = sqlite3.connect("file:%s?mode=ro" % db, uri=True, timeout=10)


def audit_seq():
    return con.execute("SELECT coalesce(max(seq), 0) FROM audit").fetchone()[0]


def refused_since(seq):
    return con.execute(
        "SELECT action, outcome, coalesce(detail, ''), coalesce(refnr, '') "
        "FROM audit WHERE seq > ? AND outcome <> 'ok'", (seq,)).fetchall()


failures = []
seen = {"refused": 0, "audited": 0, "public": 0}


ops_reached = set()  # "/fhir/Type/$op" or "/fhir/$op" as probed


def probe(what, who, method, path, body=None, ctype=None, must=True):
    m = re.match(r"/fhir/(?:([A-Z][A-Za-z]*)/(?:[^/?]+/)?)?\$([a-z-]+)", path)
    if m:
        ops_reached.add("/fhir/%s$%s" % (m.group(1) + "/" if m.group(1) else "",
                                         m.group(2)))
    n0, s0 = counted(), audit_seq()
    st, _ = call(who, method, path, body, ctype)
    label = "%s: %s %s as %s" % (what, method, path, who)
    if st < 400:
        if must:
            failures.append("%s answered %d, not a refusal" % (label, st))
        return
    seen["refused"] += 1
    if counted() <= n0:
        failures.append("%s answered %d but the refusal was not counted"
                        % (label, st))
    if who not in KNOWN:
        return
    # A public route (the conformance resources: anyone may GET them)
    # authenticates no one, so there is no caller to audit.
    if method in ("GET", "HEAD") and call("none", method, path)[0] != 401:
        seen["public"] += 1
        return
    rows = []
    for _ in range(60):  # the audit writer commits in batches: 3 s at most
        rows = refused_since(s0)
        if rows:
            break
        time.sleep(0.05)
    if not rows:
        failures.append("%s answered %d but was not audited" % (label, st))
        return
    seen["audited"] += 1
    for r in rows:
        if any(SENTINEL in str(v) for v in r):
            failures.append("%s: its audit record quotes the request: %r"
                            % (label, r))


st, cap = call("ehr", "GET", "/fhir/metadata")
if st != 200:
    sys.exit("FAIL: /fhir/metadata answered %d" % st)
rest = json.loads(cap)["rest"][0]
bad_json = json.dumps({"resourceType": "Bundle", "id": SENTINEL,
                       "type": SENTINEL}).encode()

for res in rest.get("resource", []):
    t = res["type"]
    one = "/fhir/%s/%s" % (t, BAD_ID)
    for who in ("ehr", "apo1", "unknown"):
        probe(t + " wrong method", who, "PATCH", one)
        probe(t + " wrong method", who, "PUT", "/fhir/" + t, bad_json,
              "application/fhir+json")
    for ia in res.get("interaction", []):
        code = ia["code"]
        what = "%s %s" % (t, code)
        if code == "read":
            for who in ("ehr", "apo1"):
                probe(what, who, "GET", one)
        elif code == "vread":
            # an unknown version of a known case, and of an unknown id
            known = refnr if t == "Task" else BAD_ID
            probe(what, "ehr", "GET", "/fhir/%s/%s/_history/999" % (t, known))
            probe(what, "apo1", "GET", one + "/_history/1")
        elif code == "history-instance":
            probe(what, "ehr", "GET", one + "/_history")
        elif code == "search-type":
            probe(what, "ehr", "GET",
                  "/fhir/%s?no-such-%s=1" % (t, SENTINEL))
            for sp in res.get("searchParam", []):
                # a value no type allows; some parameters take any text
                probe("%s %s" % (what, sp["name"]), "ehr", "GET",
                      "/fhir/%s?%s=!!%s" % (t, sp["name"], SENTINEL),
                      must=False)
        elif code == "create":
            for who in ("ehr", "apo1"):
                probe(what, who, "POST", "/fhir/" + t, bad_json,
                      "application/fhir+json")
        elif code == "delete":
            for who in ("ehr", "apo1"):
                probe(what, who, "DELETE", one)
        else:
            failures.append("%s: no refusal probe for interaction %s"
                            % (t, code))
    for op in res.get("operation", []):
        path = "%s/$%s" % (one, op["name"])
        what = "%s $%s" % (t, op["name"])
        for who in ("ehr", "apo1"):
            probe(what, who, "GET", path)
        probe(what, "ehr", "PATCH", path)
        probe(what + " wrong method", "unknown", "DELETE", path)
        for who in ("ehr", "apo1", "ops"):
            probe(what, who, "POST", path + "?" + SENTINEL + "=1", bad_json,
                  "application/fhir+json", must=False)
            probe(what, who, "GET", path + "?" + SENTINEL + "=1", must=False)

OWN_OD = "http://klasgw.org/fhir/OperationDefinition/"


def op_paths(op):
    """Where the operation is served, from its OperationDefinition (the
    gateway's own; the base specification's: at the system level)."""
    name, canon = op["name"], op.get("definition", "")
    paths = ["/fhir/$" + name]
    if not canon.startswith(OWN_OD):
        return paths
    st, body = call("ehr", "GET", "/fhir/OperationDefinition/" +
                    canon[len(OWN_OD):])
    if st != 200:
        failures.append("$%s: its definition answered %d" % (name, st))
        return paths
    d = json.loads(body)
    on = {k: d.get(k) in (True, "true") for k in ("system", "type", "instance")}
    if not on["system"]:
        paths = []
    for t in d.get("resource", []):
        if on["type"]:
            paths.append("/fhir/%s/$%s" % (t, name))
        if on["instance"]:
            paths.append("/fhir/%s/%s/$%s" % (t, BAD_ID, name))
    return paths


for op, path in [(op, p) for op in rest.get("operation", [])
                 for p in op_paths(op)]:
    what = "$" + op["name"]
    probe(what + " wrong method", "ehr", "PATCH", path)
    probe(what + " wrong method", "unknown", "DELETE", path)
    for who in ("ehr", "apo1", "ops"):
        probe(what, who, "POST", path + "?" + SENTINEL + "=1", bad_json,
              "application/fhir+json", must=False)
        probe(what, who, "GET", path + "?" + SENTINEL + "=1", must=False)

# The SOAP front's fallback row (/soap/*): an interaction it does not have.
probe("SOAP", "ehr", "POST", "/soap/NoSuch" + SENTINEL.replace("-", ""),
      b"<x/>", "text/xml")

# Each operation was probed where the statement says it is served: a
# resource's operations on that type's instances.
for res in rest.get("resource", []):
    for op in res.get("operation", []):
        if "/fhir/%s/$%s" % (res["type"], op["name"]) not in ops_reached:
            failures.append("%s $%s: never probed on %s" % (
                res["type"], op["name"], res["type"]))
print("refusal walk: %d refusals, each counted; %d audited, %d on public "
      "routes; operations reached: %s" % (
          seen["refused"], seen["audited"], seen["public"],
          " ".join(sorted(ops_reached))))
if failures:
    for f in failures:
        print("FAIL: " + f)
    sys.exit(1)
if seen["refused"] < 20:
    sys.exit("FAIL: only %d refusals walked" % seen["refused"])
