"""withdrawn.py - the worked example's event through the real gateway.

LV withdraws a granted licence (decision "Åter", Återkallad; the patch
licence-withdrawn.patch adds it). Run by tests/e2e/test_lifecycle.sh of
the patched tree (LIFECYCLE_RUNNER; run.sh sets it), which starts the
gateway, the HSA simulator and the pharmacy's rest-hook receiver:
  - a case goes M -> A -> H -> Bev over REST, the pharmacy that applied
    (apotek1) subscribed to its cases' notices, and $check-licence finds
    the licence in force;
  - LV sends the withdrawal over the interface it uses today, SOAP
    ReportDecision, carrying the generated example decision-ater (made by
    scripts/gen-examples.py from the event row) as FHIR XML: the answer
    is OK, status Åter, and valid against the Responder schema;
  - the case reads Åter; $check-licence no longer finds a licence in force,
    a dispensing on it is refused; the case's pharmacy is notified; a
    second withdrawal, and a withdrawal by a pharmacy, are refused;
  - the printable copy carries the decision line of Åter (its row);
  - LV's simulator withdraws a second granted case on command
    (klasgw sim lv --call Åter: the outcome comes from the row);
  - the JSON answers are valid R4 (tests/fhircheck), when its
    node_modules are there.

    KLASGW=... FHIRCONV=... CHECKJS=... python3 withdrawn.py run PORT HOOKPORT HOOKLOG DB SRCDIR
"""
import html
import json
import os
import re
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                "..", "e2e"))
from lifecycle import (APO1, APO2, DOC1, LV, PNR, Examples, Gateway,  # noqa
                       check, outcome_code, receipt, res, subscribe,
                       validity, wait_hooks)

port, hookport, hooklog, db, srcdir = sys.argv[2:7]
fhirxml, checkjs = os.environ["FHIRCONV"], os.environ["CHECKJS"]
gw = Gateway(int(port))
ex = Examples(srcdir)
answers = []  # JSON answers for the R4 checker


def keep(doc):
    if isinstance(doc, dict):
        answers.append(doc)
    return doc


# The pharmacy that will apply subscribes to its cases' notices.
subscribe(gw, APO1, int(hookport))


def granted_case(which):
    """A new case taken M -> A -> H -> Bev over REST; its referensnummer."""
    s, d = gw.message(DOC1, ex.get("motivation-enskild-searched"))
    ref, st = receipt(s, d, "submit")
    for who, example, event, status, edits in (
            (APO1, "application-enskild", "apply", "A", {}),
            (LV, "application-registered", "register", "H", {}),
            (LV, "decision-bev", "grant", "Bev", {"v": validity})):
        s, d = gw.message(who, ex.get(example, ref, **edits))
        check(receipt(s, keep(d), event)[1] == status,
              "%s case: %s -> %s" % (which, event, status))
    return ref


ref = granted_case("the first")

npl = "20130603015935"
check_q = "/$check-licence?product=%s&patient=%s" % (npl, PNR)
s, p = gw.call("GET", check_q, APO2)
prm = {x["name"]: x for x in keep(p)["parameter"]}
check(s == 200 and prm["covered"]["valueBoolean"] is True and
      prm["licence"]["valueReference"]["reference"] == "Task/" + ref,
      "before: the licence is in force")
before = len(wait_hooks(hooklog, 3))
check(before >= 3, "apotek1 was told of the case (%d notices)" % before)

# A pharmacy may not withdraw; the generated example is the message.
withdrawal = ex.get("decision-ater", ref)
check(res(withdrawal, "Task")[0]["businessStatus"]["coding"][0]["code"] ==
      "Åter", "gen-examples wrote decision-ater from the row")
s, d = gw.message(APO1, withdrawal)
check(s == 403 and outcome_code(d) == "EFORBIDDEN",
      "a pharmacy withdraws -> %d %s" % (s, outcome_code(d)))

# LV withdraws over SOAP ReportDecision (FHIR XML inside; messageId is
# the Bundle's identifier).
with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False,
                                 encoding="utf-8") as fh:
    json.dump(withdrawal, fh, ensure_ascii=False)
bundle = subprocess.run([fhirxml, "--to", "xml", fh.name], check=True,
                        capture_output=True).stdout.decode("utf-8")
os.unlink(fh.name)
bundle = re.sub(r"^<\?xml[^>]*\?>\s*", "", bundle)
NS = "urn:riv:klas:ReportDecisionResponder:1"
env = ('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/'
       'envelope/" xmlns:itr="urn:riv:itintegration:registry:1" '
       'xmlns:r="%s"><soapenv:Header><itr:LogicalAddress>SE2321000016-KLAS'
       '</itr:LogicalAddress></soapenv:Header><soapenv:Body><r:ReportDecision>'
       '<r:messageId>%s</r:messageId><r:referenceNumber>%s'
       '</r:referenceNumber><r:decision>%s</r:decision></r:ReportDecision>'
       '</soapenv:Body></soapenv:Envelope>'
       % (NS, withdrawal["identifier"]["value"], ref, bundle))
req = urllib.request.Request(
    "http://127.0.0.1:%s/soap/ReportDecision" % port, data=env.encode(),
    headers={"Content-Type": "text/xml; charset=utf-8",
             "X-Klasgw-Client": LV["X-Klasgw-Client"]}, method="POST")
try:
    with urllib.request.urlopen(req, timeout=30) as r:
        status, body = r.status, r.read()
except urllib.error.HTTPError as e:
    status, body = e.code, e.read()
text = body.decode("utf-8", "replace")
check(status == 200 and re.search(r"<(\w+:)?resultCode[^>]*>OK<", text) and
      "<caseStatus>Åter</caseStatus>" in text,
      "LV withdraws over SOAP -> %d %s" % (status, text[:3000]))

# The answer is valid against the contract (the Responder schema).
try:
    from lxml import etree
except ImportError:
    etree = None
if etree is not None:
    xsd = os.path.join(srcdir, "wsdl", "schemas", "interactions",
                       "ReportDecisionInteraction",
                       "ReportDecisionResponder_1.0.xsd")
    schema = etree.XMLSchema(etree.parse(xsd))
    tree = etree.fromstring(body)
    resp = tree.find(".//{%s}ReportDecisionResponse" % NS)
    check(resp is not None and schema.validate(etree.ElementTree(resp)),
          "the SOAP answer is valid against its schema: %s"
          % (schema.error_log if resp is not None else text[:300]))

# The case is withdrawn; the licence no longer counts.
check(gw.task(DOC1, ref) == "Åter", "the prescriber reads Åter")
s, t = gw.call("GET", "/Task/" + ref, DOC1)
check(keep(t)["status"] == "completed", "Task.status from the status row")
s, p = gw.call("GET", check_q, APO2)
prm = {x["name"]: x for x in keep(p)["parameter"]}
check(s == 200 and prm["covered"]["valueBoolean"] is False and
      "licence" not in prm, "after: $check-licence finds no licence in force")
s, d = gw.call("POST", "/$record-dispensing", APO2, {
    "resourceType": "Parameters", "parameter": [
        {"name": "identifier", "valueString": "w-1"},
        {"name": "licence", "valueString": ref},
        {"name": "amount", "valueDecimal": 10},
        {"name": "kind", "valueCode": "prescription"},
        {"name": "patient", "valueString": PNR}]})
check(s >= 400, "a dispensing on the withdrawn licence is refused -> %d %s"
      % (s, outcome_code(d)))

# The case's pharmacy is told, at its own hook, about this case.
hooks = wait_hooks(hooklog, before + 1)
check(len(hooks) == before + 1, "one more notice: %d" % len(hooks))
note = json.dumps(hooks[-1], ensure_ascii=False)
check(hooks[-1]["path"] == "/hook" and ref in note and PNR not in note,
      "the notice names the case, and no patient: %s" % note[:400])

# Withdrawn once is withdrawn: the row fits Bev only.
s, d = gw.message(LV, ex.get("decision-ater", ref))
check(s == 409 and outcome_code(d) == "ESTATE",
      "a second withdrawal -> %d %s" % (s, outcome_code(d)))

# The printable copy carries the decision line of the new status, from
# its row (as the CodeSystem generated from the rows has it: the Swedish
# display, then the English definition with a lower-case initial), and no
# validity (the licence is not in force).
with open(os.path.join(srcdir, "fhir-profiles",
                       "CodeSystem-klas-case-status.json"),
          encoding="utf-8") as fh:
    row = [c for c in json.load(fh)["concept"] if c["code"] == "Åter"][0]
line = "%s / %s%s" % (row["display"], row["definition"][0].lower(),
                      row["definition"][1:])
s, page = gw.call("GET", "/Task/%s/$print" % ref, DOC1, accept="text/html")
page = html.unescape(page.decode("utf-8") if isinstance(page, bytes)
                     else str(page))
decision = page.split("<h2>Beslut", 1)[1] if "<h2>Beslut" in page else ""
check(s == 200 and line in decision and "Giltig" not in page,
      "the printable copy has the decision line %r: %s"
      % (line, decision[:600] or page[-1500:]))

# LV's simulator calls the new decision by its outcome, on a second
# granted case (klasgw sim lv --call Åter, the way test_soap_lv calls Avi).
ref2 = granted_case("a second")
r = subprocess.run([os.environ["KLASGW"], "-c",
                    os.path.join(os.path.dirname(db), "gw.conf"), "sim", "lv",
                    "--call", "Åter", "--refnr", ref2, "--patient", PNR,
                    "--gateway", "http://127.0.0.1:%s" % port],
                   capture_output=True, text=True, timeout=60)
check(r.returncode == 0 and gw.task(DOC1, ref2) == "Åter",
      "sim lv --call Åter withdraws the second case -> %d %s"
      % (r.returncode, (r.stderr + r.stdout)[-800:]))

# The JSON answers are R4 (the independent checker), when it is installed.
if os.path.isdir(os.path.join(os.path.dirname(checkjs), "node_modules")):
    files = []
    tmp = tempfile.mkdtemp()
    for i, doc in enumerate(answers):
        path = os.path.join(tmp, "answer-%d.json" % i)
        with open(path, "w", encoding="utf-8") as fh:
            json.dump(doc, fh, ensure_ascii=False)
        files.append(path)
    r = subprocess.run(["node", checkjs, "--quiet"] + files,
                       capture_output=True, text=True)
    check(r.returncode == 0 and " 0 failed" in r.stdout,
          "the answers are valid R4: %s" % r.stdout[-600:])
    print("fhircheck: " + r.stdout.strip().splitlines()[-1])
else:
    print("fhircheck: skipped (no node_modules)")
print("worked example: licence withdrawn, ok")
