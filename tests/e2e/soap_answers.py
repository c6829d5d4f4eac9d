"""Every SOAP answer of the gateway validates against its contract.

Posts one request per answer kind to a running gateway (OK answers, and
every kind of refusal: a missing LogicalAddress, a wrong Body element, a
request breaking its schema, a role that may not call, a case not found,
a prescriber HSA does not authorise, a broken envelope, no client
identity, an unknown interaction) and checks what comes back:

  - a result answer: its Body element validates against the interaction's
    Responder XSD in wsdl/ (lxml), result shaped as RIV-TA's ResultType;
  - a fault: a SOAP Fault of the request's SOAP version, with the
    version's content type, never a FHIR OperationOutcome.

Usage: soap_answers.py BASE_URL SOURCE_DIR
"""
import glob
import os
import re
import sys

import lxml.etree as ET
import requests

BASE, SRC = sys.argv[1], sys.argv[2]
WSDL = os.path.join(SRC, "wsdl")
EX = os.path.join(SRC, "fhir-profiles", "examples", "valid")
S11 = "http://schemas.xmlsoap.org/soap/envelope/"
S12 = "http://www.w3.org/2003/05/soap-envelope"
CORE = "urn:riv:klas:1"
EHR, APO = "serial:SE2321000016-EHR1", "serial:SE7350000000-APO1"
failures = []
schemas = {}


def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        failures.append(what)


def schema(name):
    if name not in schemas:
        path = sorted(glob.glob(os.path.join(
            WSDL, "schemas", "interactions", f"{name}Interaction",
            f"{name}Responder_*.xsd")))
        schemas[name] = ET.XMLSchema(ET.parse(path[-1])) if path else None
    return schemas[name]


def ns_of(name):
    if name == "PingForConfiguration":
        return "urn:riv:itintegration:monitoring:PingForConfigurationResponder:1"
    return f"urn:riv:klas:{name}Responder:1"


def envelope(name, inner, v12=False, header=True, element=None):
    env = S12 if v12 else S11
    hdr = ("<s:Header><itr:LogicalAddress>SE2321000016-KLAS"
           "</itr:LogicalAddress></s:Header>") if header else ""
    el = element or name
    return (f'<s:Envelope xmlns:s="{env}" '
            f'xmlns:itr="urn:riv:itintegration:registry:1" '
            f'xmlns:r="{ns_of(name)}">{hdr}<s:Body><r:{el}>{inner}</r:{el}>'
            f"</s:Body></s:Envelope>").encode()


def post(name, body, who=EHR, user=None, v12=False, via=None):
    h = {"Content-Type": "application/soap+xml; charset=utf-8" if v12
         else "text/xml; charset=utf-8"}
    if via:
        h["x-rivta-original-serviceconsumer-hsaid"] = via
    if who:
        h["X-Klasgw-Client"] = who
    if user:
        h["X-Klasgw-User"] = user
    return requests.post(f"{BASE}/soap/{name}", data=body, headers=h)


def answer(what, name, resp, v12=False, want=None):
    """want: 'OK', an errorCode, or 'FAULT'."""
    env_ns = S12 if v12 else S11
    ctype = resp.headers.get("Content-Type", "")
    try:
        doc = ET.fromstring(resp.content)
    except ET.XMLSyntaxError as e:
        check(False, f"{what}: not XML ({e}): {resp.content[:200]!r}")
        return None
    body = doc.find(f"{{{env_ns}}}Body")
    check(doc.tag == f"{{{env_ns}}}Envelope" and body is not None
          and len(body) == 1,
          f"{what}: a SOAP 1.{2 if v12 else 1} envelope with one Body element"
          f" (got {doc.tag})")
    if body is None or len(body) != 1:
        return None
    el = body[0]
    check(ctype.startswith("application/soap+xml" if v12 else "text/xml"),
          f"{what}: content type {ctype}")
    if el.tag == f"{{{env_ns}}}Fault":
        if v12:
            shaped = (el.find(f"{{{S12}}}Code/{{{S12}}}Value") is not None
                      and el.find(f"{{{S12}}}Reason/{{{S12}}}Text")
                      is not None)
        else:
            shaped = (el.find("faultcode") is not None
                      and el.find("faultstring") is not None)
        check(shaped, f"{what}: a well-formed SOAP Fault")
        check(want == "FAULT", f"{what}: answered a fault (HTTP "
              f"{resp.status_code}), expected {want}")
        return el
    xsd = schema(name)
    ok = xsd is not None and xsd.validate(ET.ElementTree(el))
    check(ok, f"{what}: {ET.QName(el).localname} validates against "
          f"{name}Responder: "
          + ("" if ok or xsd is None else str(xsd.error_log.last_error)))
    check(resp.status_code == 200, f"{what}: HTTP {resp.status_code}")
    res = el.find(f"{{{ns_of(name)}}}result")
    got = None
    if res is not None:
        code = res.findtext(f"{{{CORE}}}resultCode")
        got = (res.findtext(f"{{{CORE}}}errorCode") if code == "ERROR"
               else code)
        check(res.findtext(f"{{{CORE}}}logId") not in (None, ""),
              f"{what}: logId names the request")
    elif name == "PingForConfiguration":
        got = "OK"
    check(want == got, f"{what}: expected {want}, got {got}")
    return el


def fhir(file, replace=()):
    text = open(os.path.join(EX, file), encoding="utf-8").read()
    text = re.sub(r"<\?xml[^>]*\?>", "", text)
    for a, b in replace:
        text = text.replace(a, b)
    return text


# PingForConfiguration: OK in both versions; its response has no result,
# so every refusal must be a fault (an ERROR body breaks its schema).
PING = "<r:logicalAddress>SE2321000016-KLAS</r:logicalAddress>"
for v12 in (False, True):
    answer(f"Ping (SOAP 1.{2 if v12 else 1})", "PingForConfiguration",
           post("PingForConfiguration", envelope("PingForConfiguration",
                                                 PING, v12), v12=v12),
           v12, "OK")
answer("Ping without LogicalAddress", "PingForConfiguration",
       post("PingForConfiguration",
            envelope("PingForConfiguration", PING, header=False)),
       want="FAULT")
answer("Ping breaking its schema", "PingForConfiguration",
       post("PingForConfiguration", envelope("PingForConfiguration", "")),
       want="FAULT")
answer("Ping with another Body element", "PingForConfiguration",
       post("PingForConfiguration",
            envelope("PingForConfiguration", PING, element="Pong")),
       want="FAULT")

# GetLicenseCases: OK, and each refusal before the pipeline.
answer("GetLicenseCases", "GetLicenseCases",
       post("GetLicenseCases", envelope("GetLicenseCases", ""), EHR,
            "SE2321000016-DOC1"), want="OK")
answer("GetLicenseCases (SOAP 1.2)", "GetLicenseCases",
       post("GetLicenseCases", envelope("GetLicenseCases", "", True), EHR,
            "SE2321000016-DOC1", v12=True), True, "OK")
answer("GetLicenseCases without LogicalAddress", "GetLicenseCases",
       post("GetLicenseCases", envelope("GetLicenseCases", "", header=False),
            EHR, "SE2321000016-DOC1"), want="INVALID_REQUEST")
answer("GetLicenseCases breaking its schema", "GetLicenseCases",
       post("GetLicenseCases",
            envelope("GetLicenseCases", "<r:maxHits>0</r:maxHits>"), EHR,
            "SE2321000016-DOC1"), want="INVALID_REQUEST")
answer("GetLicenseCases with another Body element", "GetLicenseCases",
       post("GetLicenseCases",
            envelope("GetLicenseCases", "", element="GetLicenseCasez"), EHR,
            "SE2321000016-DOC1"), want="INVALID_REQUEST")
answer("GetLicenseCases by a pharmacy", "GetLicenseCases",
       post("GetLicenseCases", envelope("GetLicenseCases", ""), APO),
       want="APPLICATION_ERROR")

# SubmitLicenseMotivation: a receipt, a message breaking the profiles, a
# prescriber HSA does not authorise, a Bundle of another event.
SUB = "<r:messageId>{id}</r:messageId><r:licenseMotivation>{b}" \
      "</r:licenseMotivation>"
answer("SubmitLicenseMotivation", "SubmitLicenseMotivation",
       post("SubmitLicenseMotivation", envelope(
           "SubmitLicenseMotivation",
           SUB.format(id="ans-1", b=fhir("motivation-enskild-searched.xml"))),
           EHR, "SE2321000016-DOC1"), want="OK")
answer("SubmitLicenseMotivation breaking the profiles",
       "SubmitLicenseMotivation",
       post("SubmitLicenseMotivation", envelope(
           "SubmitLicenseMotivation",
           SUB.format(id="ans-2", b=fhir("motivation-enskild-searched.xml", (
               ("201006301111", "20100630111"),))) ),
           EHR, "SE2321000016-DOC1"), want="INVALID_REQUEST")
answer("SubmitLicenseMotivation by a prescriber HSA does not know",
       "SubmitLicenseMotivation",
       post("SubmitLicenseMotivation", envelope(
           "SubmitLicenseMotivation",
           SUB.format(id="ans-3", b=fhir("motivation-enskild-searched.xml", (
               ("SE2321000016-DOC1", "SE2321000016-NOBODY"),)))),
           EHR, "SE2321000016-NOBODY"), want="APPLICATION_ERROR")

# GetLicenseMotivation: a case that is not there.
answer("GetLicenseMotivation, no such case", "GetLicenseMotivation",
       post("GetLicenseMotivation", envelope(
           "GetLicenseMotivation",
           "<r:referenceNumber>2026000009</r:referenceNumber>"
           "<r:patientId>201006301111</r:patientId>"), APO),
       want="APPLICATION_ERROR")

# CheckLicense and RecordDispensing: answered, and refused.
answer("CheckLicense", "CheckLicense",
       post("CheckLicense", envelope(
           "CheckLicense", "<r:productId>20100101000017</r:productId>"
           "<r:patientId>201006301111</r:patientId>"), APO), want="OK")
answer("CheckLicense by an EHR", "CheckLicense",
       post("CheckLicense", envelope(
           "CheckLicense", "<r:productId>20100101000017</r:productId>"
           "<r:patientId>201006301111</r:patientId>"), EHR,
           "SE2321000016-DOC1"), want="APPLICATION_ERROR")
answer("RecordDispensing on a licence not granted", "RecordDispensing",
       post("RecordDispensing", envelope(
           "RecordDispensing", "<r:dispensingId>ans-d1</r:dispensingId>"
           "<r:referenceNumber>2026000009</r:referenceNumber>"
           "<r:amount>1</r:amount><r:kind>prescription</r:kind>"
           "<r:patientId>201006301111</r:patientId>"), APO),
       want="APPLICATION_ERROR")

# Refused before the SOAP front: faults, never OperationOutcomes.
answer("no client identity (401)", "GetLicenseCases",
       post("GetLicenseCases", envelope("GetLicenseCases", ""), None),
       want="FAULT")
answer("no client identity (401, SOAP 1.2)", "GetLicenseCases",
       post("GetLicenseCases", envelope("GetLicenseCases", "", True), None,
            v12=True), True, "FAULT")
answer("an unknown client (401)", "GetLicenseCases",
       post("GetLicenseCases", envelope("GetLicenseCases", ""),
            "serial:SE0000000000-NOPE"), want="FAULT")
answer("a broken envelope", "GetLicenseCases",
       post("GetLicenseCases", b"<a/>"), want="FAULT")
answer("an unknown interaction", "Nope",
       post("Nope", envelope("GetLicenseCases", "")), want="FAULT")

# Through a service platform: the original consumer is read (a malformed
# one is refused naming the header) and audited (test_soap_answers.sh).
answer("via a platform", "GetLicenseCases",
       post("GetLicenseCases", envelope("GetLicenseCases", ""), EHR,
            "SE2321000016-DOC1", via="SE2321000016-ORIG"), want="OK")
r = post("GetLicenseCases", envelope("GetLicenseCases", ""), EHR,
         "SE2321000016-DOC1", via="not an hsa-id")
answer("a malformed original consumer", "GetLicenseCases", r, want="FAULT")
check(b"x-rivta-original-serviceconsumer-hsaid" in r.content,
      "the malformed header is named")
# From a client that is no platform of server.trusted_platforms (the
# pharmacy), the header is refused: 403, a fault naming the key.
r = post("GetLicenseCases", envelope("GetLicenseCases", ""), APO,
         via="SE2321000016-ORIG")
answer("an original consumer from a client that is no platform",
       "GetLicenseCases", r, want="FAULT")
check(r.status_code == 403 and b"server.trusted_platforms" in r.content,
      f"no platform: 403 naming server.trusted_platforms (got {r.status_code})")

print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
