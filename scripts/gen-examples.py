#!/usr/bin/env python3
"""Derive klasgw's example messages from the base enskild motivation.

    scripts/gen-examples.py

Reads fhir-profiles/examples/valid/motivation-enskild-searched.json and
writes variant valid examples to fhir-profiles/examples/valid/ and invalid
ones, each breaking one rule, to fhir-profiles/examples/invalid/ with
EXPECTED.tsv (file, rule id, FHIRPath) that tests/unit/test_validate.c
checks. All data is synthetic; personnummer are valid by check digit.
"""
import copy
import json
import os

import klas_rows

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EX = os.path.join(TOP, "fhir-profiles", "examples")
BASE = "http://klasgw.org/fhir/StructureDefinition/"

with open(os.path.join(EX, "valid", "motivation-enskild-searched.json"),
          encoding="utf-8") as fh:
    base = json.load(fh)

E_MR, E_PAT, E_ROLE, E_PRACT, E_CLINIC, E_HOSP, E_PHARM = 2, 3, 4, 5, 6, 7, 8


def res(b, i):
    return b["entry"][i]["resource"]


def med(b):
    return res(b, E_MR)["contained"][0]


def ext(r, name):
    for e in r.get("extension", []):
        if e["url"] == BASE + name:
            return e
    return None


def drop_ext(r, name):
    r["extension"] = [e for e in r["extension"] if e["url"] != BASE + name]
    if not r["extension"]:
        del r["extension"]


def motivation(b):
    return ext(res(b, E_MR), "klas-motivation")


def set_kind(b, kind):
    ext(med(b), "klas-product-kind")["valueCode"] = kind


def make_manual(b):
    set_kind(b, "manual")
    m = med(b)
    m["code"] = {"text": "Melatonin 1 mg/ml oral lösning (tysk import)"}
    m["ingredient"] = [{"itemCodeableConcept": {"text": "melatonin"}},
                       {"itemCodeableConcept": {"text": "sorbitol"}}]


def attach(b, n, hidden=True, size=1024):
    for i in range(n):
        doc = {
            "resourceType": "DocumentReference",
            "status": "current",
            "description": "Produktinformation %d" % (i + 1),
            "content": [{"attachment": {"contentType": "application/pdf",
                                        "data": "JVBERi0xLjQK",
                                        "size": size,
                                        "title": "bilaga-%d.pdf" % (i + 1)}}],
        }
        if hidden and i == 0:
            doc["meta"] = {"security": [{
                "system": "http://klasgw.org/fhir/CodeSystem/klas-security",
                "code": "hidden-from-pharmacy", "display": "Dold för apotek"}]}
        b["entry"].append({"fullUrl": "urn:uuid:0b3e7a1c-1d2e-4f50-9a61-%012d"
                                      % (100 + i), "resource": doc})


def make_general(b, level="unit", beredskap=False):
    mr = res(b, E_MR)
    ext(mr, "klas-licence-type")["valueCode"] = "GH"
    mr["extension"].append({"url": BASE + "klas-general-level",
                            "valueCode": level})
    if beredskap:
        mr["extension"].append({"url": BASE + "klas-beredskap",
                                "valueBoolean": True})
    group = {"resourceType": "Group", "type": "person", "actual": False,
             "name": "Patienter vid BUP-kliniken",
             "managingEntity": {"reference": b["entry"][E_CLINIC]["fullUrl"]}}
    b["entry"][E_PAT]["resource"] = group
    del res(b, 1)["for"]


VALID = {
    "motivation-enskild-manual-approved": lambda b: make_manual(b) or attach(b, 1),
    "motivation-enskild-manual-not-approved": lambda b: (
        make_manual(b), drop_ext(med(b), "klas-approval"),
        med(b)["extension"].append({"url": BASE + "klas-not-approved",
                                    "valueString": "Extemporeberedning"}),
        attach(b, 1)),
    "motivation-enskild-food-child": lambda b: (
        set_kind(b, "food"),
        med(b).update({"code": {"text": "Specialnäring X"},
                       "ingredient": [{"itemCodeableConcept": {"text": "livsmedel"}}],
                       "form": {"text": "Pulver"}}),
        # A child born 2024: under 16 (no food warning) until 2040, so the
        # example does not change meaning with today's date.
        res(b, E_PAT)["identifier"][0].update({"value": "202406301230"}),
        attach(b, 1)),
    "motivation-enskild-samordningsnummer": lambda b: res(b, E_PAT)["identifier"][0].update(
        {"system": "http://electronichealth.se/identifier/samordningsnummer",
         "value": "191212721219"}),
    "motivation-enskild-date-of-birth": lambda b: res(b, E_PAT).update(
        {"identifier": [{"system": "http://klasgw.org/fhir/NamingSystem/fodelsedatum",
                         "value": "20100630"}], "birthDate": "2010-06-30"}),
    "motivation-enskild-protected-identity": lambda b: res(b, E_PAT).update(
        {"meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                                "code": "R", "display": "restricted"}]},
         "name": [{"text": "skyddad identitet"}]}),
    "motivation-enskild-attachments": lambda b: attach(b, 2),
    "motivation-enskild-without-pharmacy": lambda b: (
        res(b, 1).pop("owner"), b["entry"].pop(E_PHARM)),
    "motivation-enskild-annat": lambda b: motivation(b)["extension"][0].update(
        {"valueCoding": {"system": "http://klasgw.org/fhir/CodeSystem/klas-motivation-reason",
                         "code": "annat", "display": "Annat"}}),
    "motivation-generell-unit": lambda b: make_general(b),
    "motivation-generell-administration": lambda b: make_general(b, "administration"),
    "motivation-generell-region": lambda b: make_general(b, "region"),
    "motivation-beredskap": lambda b: (
        make_general(b, "unit", True),
        res(b, E_CLINIC)["identifier"][0].update({"value": "SE2021006545-SMIT"})),
}

MR = "Bundle.entry[2].resource"
PAT = "Bundle.entry[3].resource"
MED = MR + ".contained[0]"
INVALID = [
    ("missing-indication", "klas-indication", MR + ".reasonCode",
     lambda b: res(b, E_MR).pop("reasonCode")),
    ("missing-motivation-text", "klas-motivation-text", MR + ".extension",
     lambda b: motivation(b)["extension"].pop(1)),
    ("missing-reasons", "klas-reasons", MR + ".extension",
     lambda b: motivation(b)["extension"].pop(0)),
    ("annat-without-text", "klas-annat-text", MR + ".extension",
     lambda b: (motivation(b)["extension"][0]["valueCoding"].update({"code": "annat"}),
                motivation(b)["extension"].pop(1))),
    ("missing-dosage", "klas-dosage", MR + ".dosageInstruction",
     lambda b: res(b, E_MR).pop("dosageInstruction")),
    ("missing-total-amount", "klas-total-amount", MR + ".dispenseRequest.quantity",
     lambda b: res(b, E_MR).pop("dispenseRequest")),
    ("missing-licence-type", "klas-licence-type", MR + ".extension",
     lambda b: drop_ext(res(b, E_MR), "klas-licence-type")),
    ("unknown-licence-type", "klas-licence-type", MR + ".extension",
     lambda b: ext(res(b, E_MR), "klas-licence-type").update({"valueCode": "EX"})),
    ("beredskap-enskild", "klas-beredskap-generell", MR + ".extension",
     lambda b: res(b, E_MR)["extension"].append({"url": BASE + "klas-beredskap",
                                                "valueBoolean": True})),
    ("pnr-wrong-check-digit", "klas-pnr", PAT + ".identifier[0].value",
     lambda b: res(b, E_PAT)["identifier"][0].update({"value": "201006301112"})),
    ("pnr-not-a-date", "klas-pnr", PAT + ".identifier[0].value",
     lambda b: res(b, E_PAT)["identifier"][0].update({"value": "201002301111"})),
    ("pnr-ten-digits", "klas-pnr", PAT + ".identifier[0].value",
     lambda b: res(b, E_PAT)["identifier"][0].update({"value": "1006301111"})),
    ("pnr-with-separator", "klas-pnr", PAT + ".identifier[0].value",
     lambda b: res(b, E_PAT)["identifier"][0].update({"value": "20100630-1111"})),
    ("samordningsnummer-day-92", "klas-pnr", PAT + ".identifier[0].value",
     lambda b: res(b, E_PAT)["identifier"][0].update({
         "system": "http://electronichealth.se/identifier/samordningsnummer",
         "value": "199001921234"})),
    ("date-of-birth-where-full-number-exists", "klas-pnr-full-number",
     PAT + ".identifier[1]",
     lambda b: res(b, E_PAT)["identifier"].append({
         "system": "http://klasgw.org/fhir/NamingSystem/fodelsedatum",
         "value": "20100630"})),
    ("date-of-birth-invalid", "klas-pnr", PAT + ".identifier[0].value",
     lambda b: res(b, E_PAT).update({"identifier": [{
         "system": "http://klasgw.org/fhir/NamingSystem/fodelsedatum",
         "value": "20100631"}]})),
    ("missing-patient-id", "klas-patient-id", PAT + ".identifier",
     lambda b: res(b, E_PAT).pop("identifier")),
    ("missing-patient-name", "klas-patient-name", PAT + ".name[0].family",
     lambda b: res(b, E_PAT)["name"][0].pop("family")),
    ("missing-patient", "klas-patient", MR + ".subject",
     lambda b: res(b, E_MR)["subject"].update({"reference": "urn:uuid:00000000-0000-4000-8000-000000000000"})),
    ("approved-and-not-approved", "klas-approval-exclusive", MED + ".extension",
     lambda b: med(b)["extension"].append({"url": BASE + "klas-not-approved",
                                           "valueString": "Ej godkänd"})),
    ("food-wrong-substance", "klas-food-substance", MED + ".ingredient",
     lambda b: (set_kind(b, "food"), med(b)["code"]["coding"].pop(0),
                med(b).update({"ingredient": [{"itemCodeableConcept": {"text": "melatonin"}}]}))),
    ("food-with-nplid", "klas-food-manual", MED + ".code.coding",
     lambda b: (set_kind(b, "food"),
                med(b).update({"ingredient": [{"itemCodeableConcept": {"text": "livsmedel"}}]}))),
    ("searched-without-nplid", "klas-nplid", MED + ".code.coding",
     lambda b: med(b)["code"]["coding"].pop(0)),
    ("nplid-13-digits", "klas-nplid", MED + ".code.coding",
     lambda b: med(b)["code"]["coding"][0].update({"code": "2013060301593"})),
    ("bad-atc", "klas-atc", MED + ".code.coding",
     lambda b: med(b)["code"]["coding"][1].update({"code": "N05CH1"})),
    ("missing-product-name", "klas-product-name", MED + ".code.text",
     lambda b: med(b)["code"].pop("text")),
    ("missing-substance", "klas-substance", MED + ".ingredient",
     lambda b: med(b).pop("ingredient")),
    ("manual-without-form", "klas-form", MED + ".form",
     lambda b: (make_manual(b), med(b).pop("form"))),
    ("missing-product-kind", "klas-product-kind", MED + ".extension",
     lambda b: drop_ext(med(b), "klas-product-kind")),
    ("too-many-attachments", "klas-attachments-max", "Bundle.entry[14].resource",
     lambda b: attach(b, 6)),
    ("attachment-over-5mb", "klas-attachment-size",
     "Bundle.entry[9].resource.content[0].attachment",
     lambda b: attach(b, 1, size=6 * 1024 * 1024)),
    ("missing-prescriber-phone", "klas-prescriber-phone",
     "Bundle.entry[4].resource.telecom",
     lambda b: res(b, E_ROLE).update({"telecom": [{"system": "email", "value": "a@example.org"}]})),
    ("missing-prescriber-name", "klas-prescriber-name",
     "Bundle.entry[5].resource.name[0].family",
     lambda b: res(b, E_PRACT)["name"][0].pop("family")),
    ("bad-prescriber-hsaid", "klas-prescriber-hsaid",
     "Bundle.entry[5].resource.identifier[0].value",
     lambda b: res(b, E_PRACT)["identifier"][0].update({"value": "SE232100001-DOC1"})),
    ("missing-postal-code", "klas-clinic-address",
     "Bundle.entry[6].resource.address[0].postalCode",
     lambda b: res(b, E_CLINIC)["address"][0].pop("postalCode")),
    ("missing-city", "klas-clinic-address",
     "Bundle.entry[6].resource.address[0].city",
     lambda b: res(b, E_CLINIC)["address"][0].pop("city")),
    ("missing-hospital", "klas-hospital", "Bundle.entry[6].resource.partOf",
     lambda b: res(b, E_CLINIC).pop("partOf")),
    ("bad-pharmacy-gln", "klas-pharmacy-gln", "Bundle.entry[8].resource.identifier",
     lambda b: res(b, E_PHARM)["identifier"][0].update({"value": "7350000000017"})),
    # The handbook's own test pharmacy: its check digit should be 3.
    ("pharmacy-gln-handbook-check-digit", "klas-pharmacy-gln",
     "Bundle.entry[8].resource.identifier",
     lambda b: res(b, E_PHARM)["identifier"][0].update({"value": "7350045511002"})),
    ("general-without-care-unit", "klas-general-care-unit",
     PAT + ".managingEntity",
     lambda b: (make_general(b), res(b, E_PAT).pop("managingEntity"))),
    ("general-care-unit-without-hospital", "klas-general-care-unit",
     "Bundle.entry[9].resource.partOf",
     lambda b: (make_general(b), b["entry"].append({
         "fullUrl": "urn:uuid:0b3e7a1c-1d2e-4f50-9a61-000000000998",
         "resource": {"resourceType": "Organization", "name": "Avdelning 5"}}),
         res(b, E_PAT).update({"managingEntity": {
             "reference": "urn:uuid:0b3e7a1c-1d2e-4f50-9a61-000000000998"}}))),
    ("protected-identity-date-of-birth", "klas-protected-full-number",
     PAT + ".identifier[0]",
     lambda b: res(b, E_PAT).update(
         {"meta": {"security": [{"system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality",
                                 "code": "R", "display": "restricted"}]},
          "name": [{"text": "skyddad identitet"}],
          "identifier": [{"system": "http://klasgw.org/fhir/NamingSystem/fodelsedatum",
                          "value": "20100630"}], "birthDate": "2010-06-30"})),
    # Characters of base64 (the parser checks those), data after the padding.
    ("attachment-bad-base64", "klas-attachment-base64",
     "Bundle.entry[9].resource.content[0].attachment.data",
     lambda b: (attach(b, 1),
                b["entry"][9]["resource"]["content"][0]["attachment"].update(
                    {"data": "JVBERi0xLjQ=K"}))),
    ("wrong-event", "klas-message-event", "Bundle.entry[0].resource.eventCoding",
     lambda b: res(b, 0)["eventCoding"].update({"code": "motivation-delete"})),
    ("not-a-message", "klas-message-bundle", "Bundle.type",
     lambda b: b.update({"type": "collection"})),
    ("header-not-first", "klas-message-header", "Bundle.entry[0]",
     lambda b: b["entry"].insert(0, b["entry"].pop(1))),
    ("focus-not-a-task", "klas-message-focus", "Bundle.entry[0].resource.focus",
     lambda b: res(b, 0)["focus"][0].update({"reference": b["entry"][E_PAT]["fullUrl"]})),
    ("general-with-patient", "klas-general-subject", MR + ".subject",
     lambda b: ext(res(b, E_MR), "klas-licence-type").update({"valueCode": "GH"})),
    # What a KLAS message has no use for, and a pharmacy must never see.
    ("task-note", "klas-task-free-text", "Bundle.entry[1].resource.note[0]",
     lambda b: res(b, 1).update({"note": [{"text": "Fritext"}]})),
    ("task-description", "klas-task-free-text", "Bundle.entry[1].resource.description",
     lambda b: res(b, 1).update({"description": "Fritext"})),
    ("task-reason-code", "klas-task-free-text", "Bundle.entry[1].resource.reasonCode",
     lambda b: res(b, 1).update({"reasonCode": {"text": "Fritext"}})),
    ("task-input", "klas-task-free-text", "Bundle.entry[1].resource.input[0]",
     lambda b: res(b, 1).update({"input": [{"type": {"text": "x"},
                                            "valueString": "Fritext"}]})),
    ("binary-entry", "klas-binary", "Bundle.entry[9].resource",
     lambda b: b["entry"].append({
         "fullUrl": "urn:uuid:0b3e7a1c-1d2e-4f50-9a61-000000000999",
         "resource": {"resourceType": "Binary", "contentType": "application/pdf",
                      "data": "JVBERi0xLjQK"}})),
    ("unknown-extension", "klas-extension", MR + ".extension[2]",
     lambda b: res(b, E_MR)["extension"].append({
         "url": "http://example.org/fritext", "valueString": "Fritext"})),
    ("modifier-extension", "klas-extension", MR + ".modifierExtension[0]",
     lambda b: res(b, E_MR).update({"modifierExtension": [{
         "url": "http://example.org/fritext", "valueString": "Fritext"}]})),
]


# --- the follow-up events -------------------------------------------------

REFNR_SYS = "http://klasgw.org/fhir/NamingSystem/referensnummer"
STATUS_SYS = "http://klasgw.org/fhir/CodeSystem/klas-case-status"


def uuid(n):
    return "urn:uuid:0b3e7a1c-1d2e-4f50-9a61-%012d" % (500 + n)


def followup(event, status, fhir_status="in-progress", patient=True):
    task = {"resourceType": "Task",
            "identifier": [{"system": REFNR_SYS, "value": "2026658327"}],
            "status": fhir_status,
            "businessStatus": {"coding": [{"system": STATUS_SYS, "code": status}]},
            "intent": "proposal",
            "authoredOn": "2026-02-02T10:00:00+01:00"}
    b = {"resourceType": "Bundle", "type": "message",
         "timestamp": "2026-02-02T10:00:00+01:00",
         "entry": [
             {"fullUrl": uuid(0), "resource": {
                 "resourceType": "MessageHeader",
                 "eventCoding": {"system": "http://klasgw.org/fhir/CodeSystem/klas-event",
                                 "code": event},
                 "source": {"name": "klasgw example", "endpoint": "urn:oid:1.2.752.29.4.19"},
                 "focus": [{"reference": uuid(1)}]}},
             {"fullUrl": uuid(1), "resource": task}]}
    if patient:
        task["for"] = {"reference": uuid(2)}
        b["entry"].append({"fullUrl": uuid(2), "resource": {
            "resourceType": "Patient",
            "identifier": [{"system": "http://electronichealth.se/identifier/personnummer",
                            "value": "201006301111"}]}})
    return b


def add(b, n, resource):
    b["entry"].append({"fullUrl": uuid(n), "resource": resource})
    return uuid(n)


def pharmacy(b, n=3, gln="7350000000016"):
    return add(b, n, {"resourceType": "Organization",
                      "identifier": [{"system": "urn:oid:2.51.1.3", "value": gln}],
                      "name": "Apotek Test"})


def prescriber(b):
    pract = add(b, 4, {"resourceType": "Practitioner",
                       "identifier": [{"system": "urn:oid:1.2.752.29.4.19",
                                       "value": "SE2321000016-DOC2"}],
                       "name": [{"family": "Kollegasson", "given": ["Karin"]}]})
    clinic = add(b, 5, {"resourceType": "Organization",
                        "identifier": [{"system": "urn:oid:1.2.752.29.4.19",
                                        "value": "SE2321000016-KLIN"}],
                        "name": "BUP-kliniken"})
    return add(b, 6, {"resourceType": "PractitionerRole",
                      "practitioner": {"reference": pract},
                      "organization": {"reference": clinic},
                      "telecom": [{"system": "phone", "value": "08-0000001"}]})


def supplement(by):
    b = followup("motivation-supplement", "KB")
    sender = prescriber(b) if by == "prescriber" else pharmacy(b)
    add(b, 7, {"resourceType": "Communication", "status": "completed",
               "basedOn": [{"reference": uuid(1)}],
               "sent": "2026-02-02T10:00:00+01:00",
               "sender": {"reference": sender},
               "payload": [{"contentString": "Tidigare behandling: melatonin "
                                             "tabletter 3 mg i sex månader."}]})
    return b


def application(general=False):
    b = followup("application-create", "A", "requested", patient=not general)
    b["entry"][1]["resource"]["owner"] = {"reference": pharmacy(b)}
    return b


def reapply():
    b = followup("application-reapply", "A", "requested")
    t = b["entry"][1]["resource"]
    del t["identifier"]
    t["basedOn"] = [{"identifier": {"system": REFNR_SYS, "value": "2025112233"}}]
    t["owner"] = {"reference": pharmacy(b)}
    return b


def request(to):
    b = followup("supplement-request", "KB", patient=False)
    rec = prescriber(b) if to == "prescriber" else pharmacy(b)
    add(b, 7, {"resourceType": "CommunicationRequest", "status": "active",
               "basedOn": [{"reference": uuid(1)}],
               "recipient": [{"reference": rec}],
               "payload": [{"contentString": "Ange tidigare prövade "
                                             "behandlingar och deras effekt."}],
               "authoredOn": "2026-02-02T10:00:00+01:00"})
    return b


# The decisions' outcomes and what they carry, from the event rows
# (src/klas/events.tsv; klas_rows.py).
DECISIONS = [e for e in klas_rows.events() if e["code"] == "decision" and e["outcome"]]
WITH_VALIDITY = [e["outcome"] for e in DECISIONS if "VALIDITY" in e["effects"]]


def decision(code, start="2026-02-10", end="2027-02-09"):
    b = followup("decision", code, "completed")
    t = b["entry"][1]["resource"]
    if code in WITH_VALIDITY:
        mr = add(b, 3, {"resourceType": "MedicationRequest", "status": "active",
                        "intent": "proposal",
                        "medicationCodeableConcept": {"text": "Melatonin AGB 1 mg/ml oral lösning"},
                        "subject": {"reference": uuid(2)},
                        "dispenseRequest": {"validityPeriod": {"start": start,
                                                               "end": end}}})
        t["focus"] = {"reference": mr}
        letter = add(b, 4, {"resourceType": "DocumentReference", "status": "current",
                            "description": "Beslut",
                            "content": [{"attachment": {"contentType": "application/pdf",
                                                        "data": "JVBERi0xLjQK",
                                                        "title": "beslut.pdf"}}]})
        t["output"] = [{"type": {"text": "beslut"}, "valueReference": {"reference": letter}}]
    return b


EVENTS_VALID = {
    "supplement-by-prescriber": lambda: supplement("prescriber"),
    "supplement-by-pharmacy": lambda: supplement("pharmacy"),
    "application-enskild": lambda: application(),
    "application-generell": lambda: application(True),
    "application-reapply": reapply,
    "application-registered": lambda: followup("application-registered", "H"),
    "supplement-request-to-prescriber": lambda: request("prescriber"),
    "supplement-request-to-pharmacy": lambda: request("pharmacy"),
}
# One valid example per decision row: decision-bev, decision-avs, ...
EVENTS_VALID.update({"decision-" + klas_rows.ascii_name(e["outcome"]):
                     (lambda o: lambda: decision(o))(e["outcome"])
                     for e in DECISIONS})

T = "Bundle.entry[1].resource"
EVENTS_INVALID = [
    ("supplement-without-content", "klas-supplement-content",
     "Bundle.entry[4].resource.payload",
     lambda: (lambda b: (b["entry"][-1]["resource"].update(
         {"payload": [{"contentString": "x"}]}),
         b["entry"][-1]["resource"].pop("payload"), b)[-1])(supplement("pharmacy"))),
    ("supplement-without-refnr", "klas-refnr", T + ".identifier",
     lambda: (lambda b: (b["entry"][1]["resource"].pop("identifier"), b)[-1])(
         supplement("prescriber"))),
    ("supplement-bad-refnr", "klas-refnr", T + ".identifier[0].value",
     lambda: (lambda b: (b["entry"][1]["resource"]["identifier"][0].update(
         {"value": "26658327"}), b)[-1])(supplement("prescriber"))),
    ("supplement-without-sender", "klas-supplement-sender",
     "Bundle.entry[4].resource.sender",
     lambda: (lambda b: (b["entry"][-1]["resource"].pop("sender"), b)[-1])(
         supplement("pharmacy"))),
    ("supplement-bad-patient-number", "klas-pnr",
     "Bundle.entry[2].resource.identifier[0].value",
     lambda: (lambda b: (b["entry"][2]["resource"]["identifier"][0].update(
         {"value": "201006301112"}), b)[-1])(supplement("pharmacy"))),
    ("application-without-pharmacy", "klas-pharmacy-gln", T + ".owner",
     lambda: (lambda b: (b["entry"][1]["resource"].pop("owner"), b)[-1])(
         application())),
    ("application-bad-gln", "klas-pharmacy-gln",
     "Bundle.entry[3].resource.identifier",
     lambda: (lambda b: (b["entry"][3]["resource"]["identifier"][0].update(
         {"value": "7350000000017"}), b)[-1])(application())),
    ("reapply-without-basis", "klas-reapply-basis", T + ".basedOn",
     lambda: (lambda b: (b["entry"][1]["resource"]["basedOn"][0]["identifier"].update(
         {"value": "123"}), b)[-1])(reapply())),
    ("registered-wrong-status", "klas-status-code", T + ".businessStatus",
     lambda: followup("application-registered", "KB")),
    ("request-without-recipient", "klas-request-recipient",
     "Bundle.entry[5].resource.recipient",
     lambda: (lambda b: (b["entry"][-1]["resource"].pop("recipient"), b)[-1])(
         request("prescriber"))),
    ("request-without-content", "klas-request-content",
     "Bundle.entry[3].resource.payload",
     lambda: (lambda b: (b["entry"][-1]["resource"].pop("payload"), b)[-1])(
         request("pharmacy"))),
    ("decision-without-validity", "klas-validity",
     "Bundle.entry[3].resource.dispenseRequest.validityPeriod",
     lambda: (lambda b: (b["entry"][3]["resource"]["dispenseRequest"]["validityPeriod"].pop("end"), b)[-1])(
         decision("Bev"))),
    ("decision-validity-13-months", "klas-validity",
     "Bundle.entry[3].resource.dispenseRequest.validityPeriod",
     lambda: decision("Bev", "2026-02-10", "2027-03-10")),
    ("decision-wrong-status", "klas-status-code", T + ".businessStatus",
     lambda: followup("decision", "H", "completed")),
]


def write(path, doc):
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, indent=2)
        fh.write("\n")


def main():
    for name, fn in VALID.items():
        b = copy.deepcopy(base)
        b["id"] = name
        fn(b)
        write(os.path.join(EX, "valid", name + ".json"), b)
    for name, fn in EVENTS_VALID.items():
        b = fn()
        b["id"] = name
        write(os.path.join(EX, "valid", name + ".json"), b)
    rows = ["# file\trule\texpression"]
    for name, rule, expr, fn in EVENTS_INVALID:
        b = fn()
        b["id"] = name
        write(os.path.join(EX, "invalid", name + ".json"), b)
        rows.append("%s.json\t%s\t%s" % (name, rule, expr))
    for name, rule, expr, fn in INVALID:
        b = copy.deepcopy(base)
        b["id"] = name
        fn(b)
        write(os.path.join(EX, "invalid", name + ".json"), b)
        rows.append("%s.json\t%s\t%s" % (name, rule, expr))
    with open(os.path.join(EX, "invalid", "EXPECTED.tsv"), "w",
              encoding="utf-8") as fh:
        fh.write("\n".join(rows) + "\n")
    print("%d valid, %d invalid" % (len(VALID) + len(EVENTS_VALID),
                                    len(INVALID) + len(EVENTS_INVALID)))


if __name__ == "__main__":
    main()
