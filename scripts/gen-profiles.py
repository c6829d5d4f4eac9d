#!/usr/bin/env python3
"""Write the KLAS conformance resources into fhir-profiles/.

    scripts/gen-profiles.py

One table here holds every code, extension and profile of the KLAS FHIR
shape (canonical base http://klasgw.org/fhir); this script writes them as
FHIR R4 JSON: CodeSystems and their ValueSets, NamingSystems, extension
StructureDefinitions and profile StructureDefinitions (differentials).
fhir-profiles/README.md maps every field of the domain onto them; the
validator (src/validate/rules.c) enforces the business rules they state.
"""
import json
import os

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(TOP, "fhir-profiles")
BASE = "http://klasgw.org/fhir"
DATE = "2026-11-22"
PUB = {"publisher": "klasgw", "date": DATE, "status": "active",
       "version": "0.1.0", "experimental": False}

CODESYSTEMS = {
    "klas-event": ("KLAS message events", [
        ("motivation-submit", "Licensmotivering", "A prescriber submits a motivation"),
        ("motivation-supplement", "Komplettering", "A prescriber or pharmacy supplements a case"),
        ("application-create", "Licensansökan", "A pharmacy applies on a motivation"),
        ("application-reapply", "Förnyad ansökan", "A pharmacy applies again on a granted licence"),
        ("application-registered", "Registrerad", "LV has registered the application (A to H)"),
        ("supplement-request", "Begäran om komplettering", "LV asks for more information (KB)"),
        ("decision", "Beslut", "LV decides: Bev, Avs or Avi"),
    ]),
    "klas-case-status": ("Statuses of a licence case", [
        ("M", "Motiverad", "Motivation submitted; no application yet"),
        ("A", "Ansökt", "A pharmacy applied; not yet registered by LV"),
        ("H", "Handläggs", "LV registered the application and handles it"),
        ("KB", "Komplettering begärd", "LV asked for more information"),
        ("K", "Kompletterad", "Supplement sent to LV"),
        ("Bev", "Beviljad", "Granted"),
        ("Avs", "Avslag", "Rejected on the merits"),
        ("Avi", "Avvisad", "Dismissed without trial"),
    ]),
    "klas-motivation-reason": ("Reasons for a licence motivation", [
        ("godkanda-lakemedel-saknas", "Godkända läkemedel saknas", "No approved drug exists"),
        ("otillracklig-effekt", "Otillräcklig effekt av godkända läkemedel", "Insufficient effect of approved drugs"),
        ("oacceptabla-biverkningar", "Oacceptabla biverkningar av godkända läkemedel", "Unacceptable side effects of approved drugs"),
        ("annat", "Annat", "Other: the reason is stated in the motivation text"),
    ]),
    "klas-licence-type": ("Licence types", [
        ("EH", "Enskild human", "One named patient, one product"),
        ("GH", "Generell human", "Care units that need the drug before patients are known"),
    ]),
    "klas-general-level": ("Levels of a general licence", [
        ("unit", "Vårdenhet", "One or more care units (clinics)"),
        ("administration", "Förvaltning", "A whole administration"),
        ("region", "Region", "A whole region (not private providers under contract)"),
    ]),
    "klas-product-kind": ("How the product was given", [
        ("searched", "Sökt produkt", "Chosen among products on granted licences; locked specification"),
        ("manual", "Manuellt inmatad", "Entered by hand when search finds nothing"),
        ("food", "Livsmedel", "Food, on humanitarian grounds, for children under 16"),
    ]),
    "klas-security": ("Security labels of KLAS", [
        ("hidden-from-pharmacy", "Dold för apotek", "Never shown to pharmacies; LV only"),
    ]),
    "klas-audit-action": ("Audited actions", [
        ("create", "Skapa", "A case was created"),
        ("read", "Läsa", "A case was read"),
        ("search", "Söka", "Cases were searched"),
        ("update", "Ändra", "A case was changed"),
        ("purge", "Gallra", "Personal data was removed under the retention rules"),
    ]),
}

NAMINGSYSTEMS = {
    "referensnummer": ("Referensnummer", "identifier",
                       "KLAS case reference number: 10 digits, the year then 6 random digits; follows the case for life",
                       "[0-9]{10}"),
    "fodelsedatum": ("Fodelsedatum", "identifier",
                     "Date of birth YYYYMMDD, for a person without a full personnummer or samordningsnummer",
                     "[0-9]{8}"),
}

# Extensions: id -> (context type, value type or None for complex,
# description, sub-extensions [(url, type, min, max)])
EXTENSIONS = {
    "klas-licence-type": ("MedicationRequest", "code", "Licence type: EH or GH (klas-licence-type)", []),
    "klas-beredskap": ("MedicationRequest", "boolean", "Beredskapslicens: always general; only for prescribers at Folkhälsomyndigheten, LV Giftinformationscentralen or Socialstyrelsen", []),
    "klas-general-level": ("MedicationRequest", "code", "Level of a general licence: unit, administration or region", []),
    "klas-motivation": ("MedicationRequest", None, "The motivation: reasons (at least one) and the motivation text. Special-category data: LV only, never shown to pharmacies",
                        [("reason", "Coding", 1, "*"), ("text", "string", 0, "1")]),
    "klas-product-kind": ("Medication", "code", "How the product was given: searched, manual or food", []),
    "klas-approval": ("Medication", None, "Approved in another country: which country, with its approval number",
                      [("country", "string", 1, "1"), ("number", "string", 0, "1")]),
    "klas-not-approved": ("Medication", "string", "Not approved in any country: comment", []),
    "klas-strength": ("Medication", "string", "Strength as written on the product (e.g. 1 mg/ml)", []),
    "klas-area-of-responsibility": ("PractitionerRole", "string", "The prescriber's area of responsibility (general licences for large organisations)", []),
}

# Profiles: id -> (base type, title, description, differential [(path, props)])
PROFILES = {
    "klas-message-header": ("MessageHeader", "KLAS message header", "First entry of every KLAS message Bundle; names the event and points at the case", [
        ("MessageHeader.event[x]", {"type": [{"code": "Coding"}], "binding": {"strength": "required", "valueSet": BASE + "/ValueSet/klas-event"}}),
        ("MessageHeader.focus", {"min": 1, "type": [{"code": "Reference", "targetProfile": [BASE + "/StructureDefinition/klas-task"]}]}),
    ]),
    "klas-task": ("Task", "KLAS licence case", "The licence case: referensnummer, status, the motivation, the patient, the prescriber and the chosen pharmacy", [
        ("Task.identifier", {"max": "1", "short": "Referensnummer (assigned by the gateway)"}),
        ("Task.businessStatus", {"binding": {"strength": "required", "valueSet": BASE + "/ValueSet/klas-case-status"}}),
        ("Task.intent", {"fixedCode": "proposal"}),
        ("Task.focus", {"short": "The motivation: required in motivation-submit (the gateway's rules), absent in later messages about the case", "type": [{"code": "Reference", "targetProfile": [BASE + "/StructureDefinition/klas-motivation"]}]}),
        ("Task.owner", {"short": "The chosen pharmacy (optional)", "type": [{"code": "Reference", "targetProfile": [BASE + "/StructureDefinition/klas-pharmacy"]}]}),
    ]),
    "klas-motivation": ("MedicationRequest", "KLAS licence motivation", "Licensmotivering: product, licence type, reasons, indication, motivation text, dosage, total amount", [
        ("MedicationRequest.extension", {"slicing": {"discriminator": [{"type": "value", "path": "url"}], "rules": "open"}}),
        ("MedicationRequest.extension:licenceType", {"sliceName": "licenceType", "min": 1, "max": "1", "type": [{"code": "Extension", "profile": [BASE + "/StructureDefinition/klas-licence-type"]}]}),
        ("MedicationRequest.extension:motivation", {"sliceName": "motivation", "min": 1, "max": "1", "type": [{"code": "Extension", "profile": [BASE + "/StructureDefinition/klas-motivation"]}]}),
        ("MedicationRequest.intent", {"fixedCode": "proposal"}),
        ("MedicationRequest.medication[x]", {"type": [{"code": "Reference", "targetProfile": [BASE + "/StructureDefinition/klas-medication"]}]}),
        ("MedicationRequest.reasonCode", {"max": "1", "short": "Behandlingsindikation (text); required in motivation-submit (rule klas-indication)"}),
        ("MedicationRequest.dosageInstruction", {"short": "Dosering (text); required in motivation-submit, absent in LV's decision"}),
        ("MedicationRequest.dispenseRequest", {"min": 1}),
        ("MedicationRequest.dispenseRequest.quantity", {"min": 1, "short": "Totalmängd"}),
    ]),
    "klas-medication": ("Medication", "KLAS product", "The product: searched (NPL id), manual or food", [
        ("Medication.extension", {"slicing": {"discriminator": [{"type": "value", "path": "url"}], "rules": "open"}}),
        ("Medication.extension:kind", {"sliceName": "kind", "min": 1, "max": "1", "type": [{"code": "Extension", "profile": [BASE + "/StructureDefinition/klas-product-kind"]}]}),
        ("Medication.code", {"min": 1, "short": "text = product name; coding = NPL id and ATC for searched products"}),
        ("Medication.ingredient", {"min": 1, "short": "Active substance(s), as itemCodeableConcept.text; \"livsmedel\" for food"}),
    ]),
    "klas-patient": ("Patient", "KLAS patient", "The patient of an enskild licence", [
        ("Patient.identifier", {"min": 1, "short": "Personnummer, samordningsnummer, or date of birth (NamingSystem fodelsedatum) when no full number exists"}),
        ("Patient.name", {"short": "Name; \"skyddad identitet\" with meta.security R for protected identity; required in motivation-submit (rule klas-patient-name), absent in a supplement"}),
    ]),
    "klas-practitioner": ("Practitioner", "KLAS prescriber", "The prescriber: HSA-id, name, licence and förskrivarkod", [
        ("Practitioner.identifier", {"min": 1, "short": "HSA-id (urn:oid:1.2.752.29.4.19)"}),
        ("Practitioner.name", {"min": 1}),
    ]),
    "klas-practitioner-role": ("PractitionerRole", "KLAS prescriber role", "The prescriber at the clinic: position, specialty, phone, e-mail", [
        ("PractitionerRole.practitioner", {"min": 1}),
        ("PractitionerRole.organization", {"min": 1, "short": "The clinic", "type": [{"code": "Reference", "targetProfile": [BASE + "/StructureDefinition/klas-care-unit"]}]}),
        ("PractitionerRole.telecom", {"min": 1, "short": "Phone required; e-mail should be given"}),
    ]),
    "klas-care-unit": ("Organization", "KLAS care unit", "A clinic (with partOf the hospital) or a hospital, by HSA-id", [
        ("Organization.name", {"min": 1}),
    ]),
    "klas-pharmacy": ("Organization", "KLAS pharmacy", "A pharmacy by GLN (urn:oid:2.51.1.3: no Swedish URI exists for GLN)", [
        ("Organization.identifier", {"min": 1, "short": "GLN, 13 digits, GS1 check digit"}),
    ]),
    "klas-general-group": ("Group", "KLAS general-licence units", "The care units a general licence is for", [
        ("Group.managingEntity", {"min": 1, "short": "The clinic"}),
    ]),
    "klas-attachment": ("DocumentReference", "KLAS attachment", "An attachment: at most five per motivation, each at most 5 MB; meta.security hidden-from-pharmacy keeps it from pharmacies", [
        ("DocumentReference.content", {"max": "1"}),
    ]),
    "klas-supplement-request": ("CommunicationRequest", "KLAS supplement request", "LV asks for a supplement (KB), addressed to the prescriber or the pharmacy", [
        ("CommunicationRequest.basedOn", {"min": 1, "short": "The case (Task)"}),
        ("CommunicationRequest.recipient", {"min": 1}),
    ]),
    "klas-supplement": ("Communication", "KLAS supplement", "A supplement (komplettering) answering a request", [
        ("Communication.inResponseTo", {"short": "The supplement request"}),
        ("Communication.payload", {"min": 1}),
    ]),
}


PNR = "http://electronichealth.se/identifier/personnummer"
SAMORD = "http://electronichealth.se/identifier/samordningsnummer"
FODD = BASE + "/NamingSystem/fodelsedatum"


def digit(v, i):
    return "%s.substring(%d,1).toInteger()" % (v, i)


def luhn(v):
    """FHIRPath: the Luhn check over the 10 digits of a 12-digit number."""
    terms = []
    for k in range(10):
        d = digit(v, 2 + k)
        terms.append("iif(%s*2>9, %s*2-9, %s*2)" % (d, d, d) if k % 2 == 0 else d)
    return "((%s) mod 10) = 0" % " + ".join(terms)


def gs1(v):
    """FHIRPath: the GS1 check digit of a 13-digit GLN."""
    terms = ["%s*%d" % (digit(v, k), 1 if k % 2 == 0 else 3) for k in range(12)]
    return "((10 - ((%s) mod 10)) mod 10) = %s" % (" + ".join(terms), digit(v, 12))


# Month and day, calendar-aware (29 February in any year); off is 60 for
# a samordningsnummer's day.
def month_day(off):
    def days(lo, hi):
        out = []
        for tens in range((lo + off) // 10, (hi + off) // 10 + 1):
            a = max(lo + off, tens * 10) % 10
            b = min(hi + off, tens * 10 + 9) % 10
            out.append("%d[%d-%d]" % (tens, a, b) if a != b else "%d%d" % (tens, a))
        return "(" + "|".join(out) + ")"
    return "((0[13578]|1[02])%s|(0[469]|11)%s|02%s)" % (days(1, 31), days(1, 30), days(1, 29))


# The KLAS rules a profile can carry as FHIRPath on one resource, the same
# in every message (rules that depend on the event, on other resources or
# on the whole Bundle stay with the gateway): profile id -> [(key, human,
# expression)]. A key is the gateway's rule id where the constraint is the
# whole rule, the rule id and a suffix where it is a part (a pharmacy's GLN
# is checked here; that an application names one, by the gateway). Every
# profile also refuses modifierExtension (part of klas-extension).
CONSTRAINTS = {
    "klas-task": [
        ("klas-task-free-text", "No free text on the case: write it in the motivation or a supplement",
         "note.empty() and description.empty() and reasonCode.empty() and input.empty()"),
    ],
    "klas-patient": [
        ("klas-pnr", "A personnummer or samordningsnummer is 12 digits (YYYYMMDDNNNC; day + 60 for a samordningsnummer) with the Luhn check digit",
         "identifier.where(system='%s').all(value.matches('^[0-9]{4}%s[0-9]{4}$') and %s) and identifier.where(system='%s').all(value.matches('^[0-9]{4}%s[0-9]{4}$') and %s)"
         % (PNR, month_day(0), luhn("value"), SAMORD, month_day(60), luhn("value"))),
        ("klas-pnr-date", "A date of birth is 8 digits, YYYYMMDD, a day of the calendar",
         "identifier.where(system='%s').all(value.matches('^[0-9]{4}%s$'))" % (FODD, month_day(0))),
        ("klas-pnr-full-number", "Never a full number and a date of birth in one message",
         "identifier.where(system='%s' or system='%s').empty() or identifier.where(system='%s').empty()"
         % (PNR, SAMORD, FODD)),
    ],
    "klas-practitioner": [
        ("klas-prescriber-hsaid", "An HSA-id is SE, the 10-digit organisation number, '-' and the local part",
         "identifier.where(system='urn:oid:1.2.752.29.4.19').all(value.matches('^SE[0-9]{10}-[A-Za-z0-9]+$'))"),
    ],
    "klas-pharmacy": [
        ("klas-pharmacy-gln-check", "A GLN is 13 digits with the GS1 check digit",
         "identifier.where(system='urn:oid:2.51.1.3').exists() and identifier.where(system='urn:oid:2.51.1.3').all(value.matches('^[0-9]{13}$') and %s)"
         % gs1("value")),
    ],
}
NO_MODIFIERS = ("klas-extension-modifier", "No modifierExtension: the KLAS profiles define none",
                "modifierExtension.empty()")


def write(name, doc):
    with open(os.path.join(OUT, name + ".json"), "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, indent=2)
        fh.write("\n")


def pascal(s):
    return "".join(p[:1].upper() + p[1:] for p in s.replace("_", "-").split("-"))


def main():
    for cid, (title, concepts) in CODESYSTEMS.items():
        cs = {"resourceType": "CodeSystem", "id": cid,
              "url": BASE + "/CodeSystem/" + cid, "name": pascal(cid),
              "title": title, **PUB, "caseSensitive": True,
              "content": "complete", "count": len(concepts),
              "concept": [{"code": c, "display": d, "definition": df}
                          for c, d, df in concepts]}
        write("CodeSystem-" + cid, cs)
        vs = {"resourceType": "ValueSet", "id": cid,
              "url": BASE + "/ValueSet/" + cid, "name": pascal(cid),
              "title": title, **PUB,
              "compose": {"include": [{"system": BASE + "/CodeSystem/" + cid}]}}
        write("ValueSet-" + cid, vs)
    for nid, (name, kind, desc, pattern) in NAMINGSYSTEMS.items():
        ns = {"resourceType": "NamingSystem", "id": nid, "name": name,
              "status": "active", "kind": kind, "date": DATE,
              "publisher": "klasgw", "description": desc + " (pattern " + pattern + ")",
              "jurisdiction": [{"coding": [{"system": "urn:iso:std:iso:3166", "code": "SE"}]}],
              "uniqueId": [{"type": "uri", "value": BASE + "/NamingSystem/" + nid,
                            "preferred": True}]}
        write("NamingSystem-" + nid, ns)
    for eid, (ctx, vtype, desc, subs) in EXTENSIONS.items():
        url = BASE + "/StructureDefinition/" + eid
        diff = [{"id": "Extension", "path": "Extension", "short": desc,
                 "definition": desc}]
        if subs:
            diff.append({"id": "Extension.extension", "path": "Extension.extension",
                         "slicing": {"discriminator": [{"type": "value", "path": "url"}],
                                     "rules": "closed"}})
            for sub, stype, smin, smax in subs:
                sid = "Extension.extension:" + sub
                diff += [
                    {"id": sid, "path": "Extension.extension", "sliceName": sub,
                     "min": smin, "max": smax},
                    {"id": sid + ".url", "path": "Extension.extension.url",
                     "fixedUri": sub},
                    {"id": sid + ".value[x]", "path": "Extension.extension.value[x]",
                     "min": 1, "type": [{"code": stype}]},
                ]
            diff += [{"id": "Extension.url", "path": "Extension.url", "fixedUri": url},
                     {"id": "Extension.value[x]", "path": "Extension.value[x]", "max": "0"}]
        else:
            diff += [{"id": "Extension.extension", "path": "Extension.extension", "max": "0"},
                     {"id": "Extension.url", "path": "Extension.url", "fixedUri": url},
                     {"id": "Extension.value[x]", "path": "Extension.value[x]", "min": 1,
                      "type": [{"code": vtype}]}]
        sd = {"resourceType": "StructureDefinition", "id": eid, "url": url,
              "name": pascal(eid), "title": eid, **PUB, "description": desc,
              "fhirVersion": "4.0.1", "kind": "complex-type", "abstract": False,
              "context": [{"type": "element", "expression": ctx}],
              "type": "Extension",
              "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Extension",
              "derivation": "constraint", "differential": {"element": diff}}
        write("StructureDefinition-" + eid, sd)
    for pid, (base, title, desc, elems) in PROFILES.items():
        diff = [{"id": base, "path": base, "short": title, "definition": desc,
                 "constraint": [
                     {"key": key, "severity": "error", "human": human,
                      "expression": expr,
                      "source": BASE + "/StructureDefinition/" + pid}
                     for key, human, expr in CONSTRAINTS.get(pid, []) + [NO_MODIFIERS]]}]
        for path, props in elems:
            diff.append({"id": path, "path": path.split(":")[0], **props})
        sd = {"resourceType": "StructureDefinition", "id": pid,
              "url": BASE + "/StructureDefinition/" + pid, "name": pascal(pid),
              "title": title, **PUB, "description": desc, "fhirVersion": "4.0.1",
              "kind": "resource", "abstract": False, "type": base,
              "baseDefinition": "http://hl7.org/fhir/StructureDefinition/" + base,
              "derivation": "constraint", "differential": {"element": diff}}
        write("StructureDefinition-" + pid, sd)
    print("%d code systems, %d naming systems, %d extensions, %d profiles" % (
        len(CODESYSTEMS), len(NAMINGSYSTEMS), len(EXTENSIONS), len(PROFILES)))


if __name__ == "__main__":
    main()
