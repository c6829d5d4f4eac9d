"""Contract test of the gateway's SOAP interactions with python3-zeep.

zeep loads each served WSDL (GET /soap/<Interaction>?wsdl, schemas fetched
from the gateway as the WSDL imports them) and calls every operation the
gateway serves, once valid and once invalid; invalid requests must get
result ERROR / INVALID_REQUEST with message naming the field. zeep
parses every answer against the same WSDL, so a reply that breaks the
contract fails here too.

Over mutual TLS (PKI_DIR given, BASE_URL https): every session presents
the certificate of its actor (PKI_DIR/<serialNumber>.pem, .key: the
[clients] match) and trusts PKI_DIR/ca.pem only; then the same call
without a client certificate, and with one from another CA
(PKI_DIR/rogue.pem), must get no answer. Without PKI_DIR the actor is
named in X-Klasgw-Client (plain HTTP, demo mode).

Prints "served: <Operation>" for each operation of each WSDL the gateway
hands out (GET /soap/<Name>?wsdl for every interaction in wsdl/; 404: a
consumer-side contract), and "called: <Operation>" for each operation that
got an answer zeep parsed, for the caller to compare.

With HSA_URL (and PKI_DIR): HSA's contract, as the gateway uses it. zeep,
over mutual TLS with the gateway's client certificate (PKI_DIR/gwclient),
calls GetCredentialsForPersonIncludingProtectedPerson v2 through the
consumer-side WSDL in wsdl/ for every person of the simulator's fixture and
one it does not know; each answer must validate against the Responder XSD.

Usage: soap_contract.py BASE_URL SOURCE_DIR [PKI_DIR [HSA_URL]]
"""
import datetime
import os
import re
import sys

import lxml.etree as ET
import requests
from zeep import Client, Plugin, Settings, xsd
from zeep.exceptions import Fault
from zeep.transports import Transport

BASE, SRC = sys.argv[1], sys.argv[2]
PKI = sys.argv[3] if len(sys.argv) > 3 else None
HSA = sys.argv[4] if len(sys.argv) > 4 else None
EX = SRC + "/fhir-profiles/examples/valid/"
HDR = {"LogicalAddress": "SE2321000016-KLAS"}
EHR, APO, LV = ("serial:SE2321000016-EHR1", "serial:SE7350000000-APO1",
                "serial:SE2021004078-LISY")
failures = []


def check(cond, what):
    if not cond:
        failures.append(what)
        print("FAIL:", what)
    else:
        print("ok:", what)


called = set()


def session(who, cert=None):
    """A requests session acting as who ("serial:<id>"): over mutual TLS
    with cert (default: who's own; False: none), else named in a header."""
    s = requests.Session()
    # Loopback only: no proxy, and no REQUESTS_CA_BUNDLE from the
    # environment, which requests would prefer to s.verify.
    s.trust_env = False
    if PKI:
        s.verify = f"{PKI}/ca.pem"
        if cert is None:
            cert = who.split(":", 1)[1]
        if cert:
            s.cert = (f"{PKI}/{cert}.pem", f"{PKI}/{cert}.key")
    else:
        s.headers["X-Klasgw-Client"] = who
    return s


class Recorder:
    """The service's operations, each noted in `called` once it answered."""

    def __init__(self, svc):
        self._svc = svc

    def __getattr__(self, op):
        f = getattr(self._svc, op)

        def call(*a, **kw):
            r = f(*a, **kw)
            called.add(op)
            return r
        return call


def zeep_client(name, who, user=None):
    s = session(who)
    if user:
        s.headers["X-Klasgw-User"] = user
    return Client(f"{BASE}/soap/{name}?wsdl", transport=Transport(session=s),
                  settings=Settings(strict=True))


def client(name, who, user=None, soap12=False):
    c = zeep_client(name, who, user)
    if soap12:
        return Recorder(c.bind(f"{name}ResponderService",
                               f"{name}ResponderSoap12Port"))
    return Recorder(c.service)


def fhir(name, refnr=None, replace=()):
    text = open(EX + name, encoding="utf-8").read()
    text = re.sub(r"<\?xml[^>]*\?>", "", text)
    if refnr:
        text = text.replace("2026658327", refnr)
    for a, b in replace:
        text = text.replace(a, b)
    return {"_value_1": ET.fromstring(text.encode())}


def ok(r):
    return r.result.resultCode == "OK"


def refused(r, field, error_id="INVALID_REQUEST"):
    return (r.result.resultCode == "ERROR" and r.result.errorCode == error_id
            and field in (r.result.message or ""))


def text(r):
    return f"{r.result.resultCode} {r.result.errorCode} {r.result.message}"


# What the gateway serves.
W = "{http://schemas.xmlsoap.org/wsdl/}"
IDIR = SRC + "/wsdl/schemas/interactions/"
lister = session(EHR)
for d in sorted(os.listdir(IDIR)):
    name = d[:-len("Interaction")]
    resp = lister.get(f"{BASE}/soap/{name}?wsdl")
    if resp.status_code == 404:
        continue
    check(resp.status_code == 200, f"GET /soap/{name}?wsdl: "
          f"HTTP {resp.status_code}")
    if resp.status_code == 200:
        for o in ET.fromstring(resp.content).iterfind(
                f"{W}portType/{W}operation"):
            print("served:", o.get("name"))

# PingForConfiguration, SOAP 1.1 and 1.2.
for v12 in (False, True):
    p = client("PingForConfiguration", EHR, soap12=v12)
    r = p.PingForConfiguration(logicalAddress="SE2321000016-KLAS",
                               _soapheaders=HDR)
    check(r.version and r.pingDateTime, f"Ping (SOAP 1.{2 if v12 else 1})")

# SubmitLicenseMotivation.
sub = client("SubmitLicenseMotivation", EHR, "SE2321000016-DOC1")
r = sub.SubmitLicenseMotivation(
    messageId="zeep-submit-1",
    licenseMotivation=fhir("motivation-enskild-searched.xml"),
    _soapheaders=HDR)
check(ok(r) and r.caseStatus == "M" and len(r.referenceNumber) == 10,
      "Submit valid: " + text(r))
ref = r.referenceNumber
r = sub.SubmitLicenseMotivation(
    messageId="zeep-submit-1",
    licenseMotivation=fhir("motivation-enskild-searched.xml"),
    _soapheaders=HDR)
check(ok(r) and r.referenceNumber == ref, "Submit resend: same receipt")
r = sub.SubmitLicenseMotivation(
    messageId="has a space",
    licenseMotivation=fhir("motivation-enskild-searched.xml"),
    _soapheaders=HDR)
check(refused(r, "messageId"), "Submit invalid messageId: " + text(r))
r = sub.SubmitLicenseMotivation(
    messageId="zeep-submit-2",
    licenseMotivation=fhir("motivation-enskild-searched.xml",
                           replace=[("201006301111", "201006301112")]),
    _soapheaders=HDR)
check(refused(r, "Bundle.entry[3].resource.identifier[0].value"),
      "Submit invalid personnummer names the FHIRPath: " + text(r))
r = sub.SubmitLicenseMotivation(
    messageId="zeep-submit-3", licenseMotivation=fhir("decision-bev.xml"),
    _soapheaders=HDR)
check(refused(r, "eventCoding"), "Submit with another event: " + text(r))
r = sub.SubmitLicenseMotivation(
    messageId="zeep-submit-4",
    licenseMotivation=fhir("motivation-enskild-searched.xml"))
check(refused(r, "LogicalAddress"), "Submit without LogicalAddress: " + text(r))
sub12 = client("SubmitLicenseMotivation", EHR, "SE2321000016-DOC1", True)
r = sub12.SubmitLicenseMotivation(
    messageId="zeep-submit-12",
    licenseMotivation=fhir("motivation-enskild-searched.xml"),
    _soapheaders=HDR)
check(ok(r), "Submit over SOAP 1.2: " + text(r))

# GetLicenseCases (EHR, own cases).
cases = client("GetLicenseCases", EHR, "SE2321000016-DOC1")
r = cases.GetLicenseCases(referenceNumber=ref, caseStatus=["M"], maxHits=10,
                          _soapheaders=HDR)
check(ok(r) and len(r.licenseCase) == 1
      and r.licenseCase[0].referenceNumber == ref
      and r.licenseCase[0].caseStatus == "M", "GetLicenseCases valid")
# The row names the licence type and the drug the motivation gave.
F = "{http://hl7.org/fhir}"
sent = fhir("motivation-enskild-searched.xml")["_value_1"]
mr = sent.find(f".//{F}MedicationRequest")
want_lt = mr.find(f"{F}extension[@url='http://klasgw.org/fhir/"
                  f"StructureDefinition/klas-licence-type']/{F}valueCode")
want_drug = mr.find(f".//{F}Medication/{F}code/{F}text")
check(ok(r) and len(r.licenseCase) == 1
      and r.licenseCase[0].licenceType == want_lt.get("value")
      and r.licenseCase[0].drug == want_drug.get("value"),
      "GetLicenseCases names licence type and drug: "
      + (f"{r.licenseCase[0].licenceType} {r.licenseCase[0].drug}"
         if r.licenseCase else "-"))
r = cases.GetLicenseCases(maxHits=500, _soapheaders=HDR)
check(refused(r, "maxHits"), "GetLicenseCases invalid maxHits: " + text(r))
# The filters reach the search, each by its own name: a day range
# around today finds the case, one in the future or the past does not,
# nor does a drug the motivation did not name.
today = datetime.date.today()
for label, kw, want in (
        ("today", {"changedFrom": today - datetime.timedelta(days=1),
                   "changedTo": today + datetime.timedelta(days=1)}, 1),
        ("from the future", {"changedFrom": datetime.date(2099, 1, 1)}, 0),
        ("to the past", {"changedTo": datetime.date(2000, 1, 1)}, 0),
        ("another drug", {"drug": "no such drug " + ref}, 0),
        ("its drug", {"drug": want_drug.get("value")}, 1)):
    r = cases.GetLicenseCases(referenceNumber=ref, _soapheaders=HDR, **kw)
    check(ok(r) and len(r.licenseCase or []) == want,
          "GetLicenseCases %s: %d case(s), want %d"
          % (label, len(r.licenseCase or []) if ok(r) else -1, want))
r = cases.GetLicenseCases(referenceNumber="12ab", _soapheaders=HDR)
check(refused(r, "referenceNumber"), "GetLicenseCases invalid refnr")

# CreateLicenseApplication (pharmacy).
cre = client("CreateLicenseApplication", APO)
r = cre.CreateLicenseApplication(
    messageId="zeep-app-1", referenceNumber="12",
    application=fhir("application-enskild.xml", ref), _soapheaders=HDR)
check(refused(r, "referenceNumber"), "Create invalid refnr: " + text(r))
r = cre.CreateLicenseApplication(
    messageId="zeep-app-1", referenceNumber="2026000001",
    application=fhir("application-enskild.xml", ref), _soapheaders=HDR)
check(refused(r, "referenceNumber"), "Create refnr differs from the Bundle")
r = cre.CreateLicenseApplication(
    messageId="zeep-app-1", referenceNumber=ref,
    application=fhir("application-enskild.xml", ref), _soapheaders=HDR)
check(ok(r) and r.caseStatus == "A", "Create valid: " + text(r))
r = client("CreateLicenseApplication", EHR, "SE2321000016-DOC1") \
    .CreateLicenseApplication(
        messageId="zeep-app-2", referenceNumber=ref,
        application=fhir("application-enskild.xml", ref), _soapheaders=HDR)
check(refused(r, "", "APPLICATION_ERROR"), "Create by an EHR is refused")

# GetLicenseMotivation (pharmacy, redacted).
glm = client("GetLicenseMotivation", APO)
r = glm.GetLicenseMotivation(referenceNumber=ref, patientId="201006301111",
                             _soapheaders=HDR)
check(ok(r) and r.referenceNumber == ref and r.licenseCase is not None,
      "GetLicenseMotivation valid: " + text(r))
if r.licenseCase is not None:
    xml = ET.tostring(r.licenseCase._value_1, encoding="unicode")
    check("Sömnstörning" not in xml and "Godkända alternativ" not in xml
          and "Melatonin" in xml,
          "GetLicenseMotivation is the pharmacy view (no indication/text)")
r = glm.GetLicenseMotivation(referenceNumber=ref, patientId="abc",
                             _soapheaders=HDR)
check(refused(r, "patientId"), "GetLicenseMotivation invalid patientId")
r = glm.GetLicenseMotivation(referenceNumber=ref, patientId="201006301129",
                             _soapheaders=HDR)
check(refused(r, "referenceNumber", "APPLICATION_ERROR"),
      "GetLicenseMotivation with another patient finds nothing: " + text(r))

# LV: ReportCaseRegistered, RequestSupplement, then the prescriber's
# supplement, registered again, ReportDecision.
rcr = client("ReportCaseRegistered", LV)
r = rcr.ReportCaseRegistered(
    messageId="zeep-reg-1", referenceNumber="20260000",
    registration=fhir("application-registered.xml", ref), _soapheaders=HDR)
check(refused(r, "referenceNumber"), "Registered invalid refnr")
r = rcr.ReportCaseRegistered(
    messageId="zeep-reg-1", referenceNumber=ref,
    registration=fhir("application-registered.xml", ref), _soapheaders=HDR)
check(ok(r) and r.caseStatus == "H", "Registered valid: " + text(r))

rsu = client("RequestSupplement", LV)
r = rsu.RequestSupplement(
    messageId="zeep-rsu-1", referenceNumber=ref,
    supplementRequest=fhir("decision-bev.xml", ref), _soapheaders=HDR)
check(refused(r, "eventCoding"), "RequestSupplement with a decision Bundle")
r = rsu.RequestSupplement(
    messageId="zeep-rsu-1", referenceNumber=ref,
    supplementRequest=fhir("supplement-request-to-prescriber.xml", ref),
    _soapheaders=HDR)
check(ok(r) and r.caseStatus == "KB", "RequestSupplement valid: " + text(r))

sup = client("SupplementLicenseMotivation", EHR, "SE2321000016-DOC2")
r = sup.SupplementLicenseMotivation(
    messageId="zeep-sup-1", referenceNumber="x",
    supplement=fhir("supplement-by-prescriber.xml", ref), _soapheaders=HDR)
check(refused(r, "referenceNumber"), "Supplement invalid refnr")
r = sup.SupplementLicenseMotivation(
    messageId="zeep-sup-1", referenceNumber=ref,
    supplement=fhir("supplement-by-prescriber.xml", ref), _soapheaders=HDR)
check(ok(r) and r.caseStatus == "K", "Supplement valid: " + text(r))

r = rcr.ReportCaseRegistered(
    messageId="zeep-reg-2", referenceNumber=ref,
    registration=fhir("application-registered.xml", ref), _soapheaders=HDR)
rde = client("ReportDecision", LV)
r = rde.ReportDecision(
    messageId="zeep dec 1", referenceNumber=ref,
    decision=fhir("decision-bev.xml", ref), _soapheaders=HDR)
check(refused(r, "messageId"), "ReportDecision invalid messageId: " + text(r))
r = rde.ReportDecision(
    messageId="zeep-dec-2", referenceNumber=ref,
    decision=fhir("decision-bev.xml", ref), _soapheaders=HDR)
check(ok(r) and r.caseStatus == "Bev", "ReportDecision valid: " + text(r))
r = client("ReportDecision", APO).ReportDecision(
    messageId="zeep-dec-3", referenceNumber=ref,
    decision=fhir("decision-avs.xml", ref), _soapheaders=HDR)
check(refused(r, "", "APPLICATION_ERROR"), "ReportDecision by a pharmacy")

# CheckLicense and RecordDispensing (pharmacy) on the granted licence
# (decision-bev: 300 ml, valid 2026-02-10..2027-02-09).
NPL, PNR = "20130603015935", "201006301111"
chk = client("CheckLicense", APO)
r = chk.CheckLicense(productId=NPL, patientId=PNR, _soapheaders=HDR)
check(ok(r) and r.covered is True and r.referenceNumber == ref
      and r.licenceType == "EH" and r.grantedAmount == 300
      and r.remainingAmount == 300 and r.unit == "ml"
      and str(r.validFrom) == "2026-02-10" and str(r.validTo) == "2027-02-09"
      and r.reason is None, "CheckLicense covers the patient: " + text(r))
r = chk.CheckLicense(productId=NPL, patientId="201006302226",
                     date="2026-11-24", _soapheaders=HDR)
check(ok(r) and r.covered is False and r.referenceNumber is None
      and r.reason, "CheckLicense: not another patient")
r = chk.CheckLicense(productId=NPL, patientId=PNR, date="2027-03-01",
                     _soapheaders=HDR)
check(ok(r) and r.covered is False, "CheckLicense after the validity")
r = chk.CheckLicense(productId=NPL, careUnitHsaId="SE2321000016-KLIN",
                     _soapheaders=HDR)
check(ok(r) and r.covered is False,
      "CheckLicense: an enskild licence covers no requisition: " + text(r))
r = chk.CheckLicense(productId=NPL, patientId="abc", _soapheaders=HDR)
check(refused(r, "patientId"), "CheckLicense invalid patientId: " + text(r))
r = chk.CheckLicense(productId=NPL, patientId="201006301112",
                     _soapheaders=HDR)
check(refused(r, "patientId"),
      "CheckLicense invalid personnummer (check digit): " + text(r))
r = chk.CheckLicense(productId=NPL, careUnitHsaId="SE2321000016-KLIN",
                     date="2026-13-01", _soapheaders=HDR)
check(refused(r, "date"), "CheckLicense invalid date: " + text(r))
r = client("CheckLicense", EHR, "SE2321000016-DOC1").CheckLicense(
    productId=NPL, patientId=PNR, _soapheaders=HDR)
check(refused(r, "pharmacies", "APPLICATION_ERROR"),
      "CheckLicense by an EHR is refused: " + text(r))

rdp = client("RecordDispensing", APO)


def dispense(ident, amount, **kw):
    kw.setdefault("patientId", PNR)
    kw.setdefault("kind", "prescription")
    return rdp.RecordDispensing(dispensingId=ident, referenceNumber=ref,
                                amount=amount, _soapheaders=HDR, **kw)


r = dispense("zeep-disp-1", "100")
check(ok(r) and r.recorded is True and r.referenceNumber == ref
      and r.dispensedAmount == 100 and r.remainingAmount == 200,
      "RecordDispensing 100 of 300 ml: " + text(r))
r = dispense("zeep-disp-1", "100")
check(ok(r) and r.recorded is True and r.remainingAmount == 200,
      "RecordDispensing resent with the same dispensingId counts once")
r = dispense("zeep-disp-2", "250")
check(refused(r, "amount", "APPLICATION_ERROR")
      and "200" in (r.result.message or ""),
      "RecordDispensing beyond the granted amount: " + text(r))
r = dispense("zeep-disp-3", xsd.SkipValue)
check(refused(r, "amount"), "RecordDispensing without amount: " + text(r))
r = dispense("zeep-disp-4", "-5")
check(refused(r, "amount"), "RecordDispensing negative amount: " + text(r))
r = dispense("zeep-disp-5", "1", patientId="201006302226")
check(refused(r, "patientId", "APPLICATION_ERROR"),
      "RecordDispensing for another patient: " + text(r))
r = dispense("zeep-disp-6", "1", kind="requisition")
check(refused(r, "patientId"),
      "RecordDispensing requisition naming a patient: " + text(r))
r = dispense("zeep-disp-7", "1", dispensedOn="2099-01-01")
check(refused(r, "dispensedOn"),
      "RecordDispensing dated in the future: " + text(r))
r = dispense("zeep disp 8", "1")
check(refused(r, "dispensingId"),
      "RecordDispensing invalid dispensingId: " + text(r))
r = chk.CheckLicense(productId=NPL, patientId=PNR, _soapheaders=HDR)
check(ok(r) and r.covered is True and r.remainingAmount == 200,
      "refusals recorded nothing: " + text(r))
r = client("RecordDispensing", EHR, "SE2321000016-DOC1").RecordDispensing(
    dispensingId="zeep-disp-9", referenceNumber=ref, amount="1",
    kind="prescription", patientId=PNR, _soapheaders=HDR)
check(refused(r, "pharmacies", "APPLICATION_ERROR"),
      "RecordDispensing by an EHR is refused: " + text(r))

# The interactions the gateway calls on others are documentation only:
# neither their WSDL nor an endpoint is served.
for name in ("RegisterLicenseApplication", "RegisterLicenseSupplement",
             "GetCredentialsForPersonIncludingProtectedPerson"):
    s = session(EHR)
    w = s.get(f"{BASE}/soap/{name}?wsdl")
    resp = s.post(f"{BASE}/soap/{name}", data=b"<x/>",
                  headers={"Content-Type": "text/xml"})
    check(w.status_code == 404 and resp.status_code == 404,
          f"{name}: consumer-side contract, not served here")

# Mutual TLS: no answer without a client certificate, nor with one from
# another CA (the EHR's serialNumber, so only the issuer is wrong). The
# handshake may fail (TLS) or the gateway refuse with a SOAP Fault (401);
# either way no answer body.
if PKI:
    for cert, what in ((False, "no client certificate"),
                       ("rogue", "a certificate of another CA")):
        c = zeep_client("SubmitLicenseMotivation", EHR, "SE2321000016-DOC1")
        c.transport.session = session(EHR, cert)
        c.transport.session.headers["X-Klasgw-User"] = "SE2321000016-DOC1"
        try:
            r = c.service.SubmitLicenseMotivation(
                messageId="zeep-tls-refused",
                licenseMotivation=fhir("motivation-enskild-searched.xml"),
                _soapheaders=HDR)
            check(False, f"{what}: answered {text(r)}")
        except Fault as e:
            check("certificate" in (e.message or ""),
                  f"{what}: refused with a SOAP Fault ({e.message})")
        except requests.exceptions.RequestException as e:
            check(True, f"{what}: the TLS handshake is refused "
                  f"({type(e).__name__})")

# HSA's contract: the simulator answers as Inera's v2 (TKB 2.4.4).
if HSA:
    HI = IDIR + "GetCredentialsForPersonIncludingProtectedPersonInteraction/"
    HNS = ("urn:riv:infrastructure:directory:authorizationmanagement:"
           "GetCredentialsForPersonIncludingProtectedPerson:2:rivtabp21")
    schema = ET.XMLSchema(ET.parse(
        HI + "GetCredentialsForPersonIncludingProtectedPersonResponder_2.0.xsd"))

    class Keep(Plugin):
        def ingress(self, envelope, http_headers, operation):
            self.body = envelope.find(
                "{http://schemas.xmlsoap.org/soap/envelope/}Body")[0]
            return envelope, http_headers

    keep = Keep()
    hc = Client(HI + "GetCredentialsForPersonIncludingProtectedPerson"
                "Interaction_2.0_RIVTABP21.wsdl",
                transport=Transport(session=session("", "gwclient")),
                settings=Settings(strict=True), plugins=[keep])
    hsa = hc.create_service(
        f"{{{HNS}}}GetCredentialsForPersonIncludingProtectedPersonResponder"
        "Binding", HSA)
    people = [line.split("\t")[1] for line in open(
        SRC + "/tests/fixtures/hsa/prescribers.tsv", encoding="utf-8")
        if line.startswith("P\t")]
    for who in people + ["SE2321000016-NOBODY"]:
        try:
            r = hsa.GetCredentialsForPersonIncludingProtectedPerson(
                personHsaId=who,
                _soapheaders={"LogicalAddress": "SE2321000016-KLAS"})
        except Exception as e:  # zeep's parse error names the element
            check(False, f"HSA {who}: {type(e).__name__}: {e}")
            continue
        valid = schema.validate(keep.body)
        check(valid, f"HSA {who}: the answer validates against the "
              "Responder XSD" + ("" if valid else
                                 f": {schema.error_log.last_error}"))
        found = [ci for ci in r.credentialInformation if ci.personHsaId == who]
        check((who in people) == (len(found) == 1),
              f"HSA {who}: {len(found)} credentialInformation")
        if who != "SE2321000016-DOC1" or not found:
            continue
        k = [k for k in found[0].commission
             if k.healthCareUnitHsaId == "SE2321000016-KLIN"]
        check(k and k[0].commissionPurpose == "Vård och behandling"
              and k[0].healthCareProviderHsaId == "SE2321000016-0001"
              and k[0].healthCareProviderOrgNo == "2321000016"
              and k[0].commissionHsaId and k[0].commissionName
              and "LK" in found[0].healthCareProfessionalLicenceCode,
              "HSA: DOC1 is a physician with a care commission at "
              "SE2321000016-KLIN")

for op in sorted(called):
    print("called:", op)
print(f"{len(failures)} failure(s)")
sys.exit(1 if failures else 0)
