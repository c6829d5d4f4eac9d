#!/usr/bin/env python3
"""Write the KLAS conformance resources into fhir-profiles/.

    scripts/gen-profiles.py

One table here holds every code, extension and profile of the KLAS FHIR
shape (canonical base http://klasgw.org/fhir); this script writes them as
FHIR R4 JSON: CodeSystems and their ValueSets, NamingSystems, extension
StructureDefinitions and profile StructureDefinitions (differentials), and
the SOAP contract's CaseStatusType (wsdl/, from the same status rows).
fhir-profiles/README.md maps every field of the domain onto them; the
validator (src/validate/rules.c) enforces the business rules they state.
"""
import json
import os

import klas_rows

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(TOP, "fhir-profiles")
BASE = "http://klasgw.org/fhir"
DATE = "2026-11-22"
PUB = {"publisher": "klasgw", "date": DATE, "status": "active",
       "version": "0.1.0", "experimental": False}

# The outcomes of LV's decisions, from the event rows (code "decision").
DECISIONS = [e["outcome"] for e in klas_rows.events()
             if e["code"] == "decision" and e["outcome"]]
# The outcomes that carry a validity period (GW_FX_VALIDITY).
WITH_VALIDITY = [e["outcome"] for e in klas_rows.events()
                 if e["outcome"] and "VALIDITY" in e["effects"]]


def joined(items):
    """"a, b or c"."""
    return ", ".join(items[:-1]) + " or " + items[-1] if len(items) > 1 else "".join(items)


CODESYSTEMS = {
    "klas-event": ("KLAS message events", [
        ("motivation-submit", "Licensmotivering", "A prescriber submits a motivation"),
        ("motivation-supplement", "Komplettering", "A prescriber or pharmacy supplements a case"),
        ("application-create", "Licensansökan", "A pharmacy applies on a motivation"),
        ("application-reapply", "Förnyad ansökan", "A pharmacy applies again on a granted licence"),
        ("application-registered", "Registrerad", "LV has registered the application (A to H)"),
        ("supplement-request", "Begäran om komplettering", "LV asks for more information (KB)"),
        ("decision", "Beslut", "LV decides: " + joined(DECISIONS)),
    ]),
    # The statuses are the rows of src/klas/state.h (klas_rows.py).
    "klas-case-status": ("Statuses of a licence case", [
        (st["code"], st["sv"], st["en"]) for st in klas_rows.statuses()]),
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

# --- the messages: one Bundle profile per event ------------------------
#
# A KLAS message is a Bundle whose rules span its resources (the case the
# header points at, the motivation the case points at, ...): each event
# gets a Bundle profile, klas-message-<event>, whose constraints are the
# gateway's rules for that event (src/validate/rules.c, rule ids as keys)
# in FHIRPath from the Bundle, references followed by fullUrl inside it
# (%resource is the Bundle). The events are klas-event's codes; the case
# statuses an event may set come from the event table (src/klas/events.tsv,
# the code and to columns of its rows).

REFNR = BASE + "/NamingSystem/referensnummer"
GLN = "urn:oid:2.51.1.3"
HSA = "urn:oid:1.2.752.29.4.19"
NPL = "http://electronichealth.se/identifier/nplid"
ATC = "http://www.whocc.no/atc"
EXT_URL = BASE + "/StructureDefinition/"


def event_table():
    """{event code: [case status codes it may set]} from src/klas/events.tsv
    (the rows' .code and .to, klas_rows.py)."""
    out = {}
    for e in klas_rows.events():
        if e["code"] and e["to"]:
            out.setdefault(e["code"], []).append(e["to"])
    known = [c for c, _, _ in CODESYSTEMS["klas-event"][1]]
    for code in out:
        if code not in known:
            raise SystemExit("events.tsv: %s is not a klas-event code" % code)
    return out


def res(refs):
    """The entries the references refs (a FHIRPath) point at."""
    return "%%resource.entry.where(fullUrl in (%s)).resource" % refs


def ext(of, name):
    return "%s.extension.where(url='%s')" % (of, EXT_URL + name)


def either(*codes):
    return "(" + " or ".join("$this='%s'" % c for c in codes) + ")"


# Each resource is found in one step from the Bundle: by its type where a
# message has one of it (the case, the motivation, the prescriber role),
# else by a reference from such a one. FHIRPath has no variables, and a
# reference followed from a resource itself found by a reference is
# evaluated again for every entry (n^depth): a validator took 13 s of CPU
# on a motivation of 15 entries. That the references point where they
# should is a rule of its own (klas-message-focus, klas-motivation, ...).
HDR = "%resource.entry.first().resource.ofType(MessageHeader)"


def of_type(t):
    return "%%resource.entry.resource.ofType(%s)" % t


def urls_of(cond):
    """The fullUrls of the entries whose resource meets cond."""
    return "%%resource.entry.where(%s).fullUrl" % cond


TASK = of_type("Task")
MR = of_type("MedicationRequest")
PROLE = "(" + res(MR + ".requester.reference") + ".ofType(PractitionerRole))"
PRACT = "(" + res(of_type("PractitionerRole") + ".practitioner.reference") + ".ofType(Practitioner))"
CLINIC = "(" + res(of_type("PractitionerRole") + ".organization.reference") + ".ofType(Organization))"
NAMED_ORGS = urls_of("resource.ofType(Organization).name.exists()")
SUBJECT = res(MR + ".subject.reference")
PATIENT = "(" + SUBJECT + ".ofType(Patient))"
GROUP = "(" + SUBJECT + ".ofType(Group))"
UNIT = "(" + res(of_type("Group") + ".managingEntity.reference") + ".ofType(Organization))"
# The product: contained in the motivation ('#id') or an entry.
MED = ("(%s.contained.ofType(Medication).where(('#' + id) in %s.medication.reference) | %s.ofType(Medication))"
       % (MR, MR, res(MR + ".medication.reference")))
PHARMACY = "(" + res(TASK + ".owner.reference") + ".ofType(Organization))"
FOLLOWUP_PATIENT = "(" + res(TASK + ".for.reference") + ".ofType(Patient))"
COM = "%resource.entry.resource.ofType(Communication)"
SENDER = res(COM + ".sender.reference")
REQ = "%resource.entry.resource.ofType(CommunicationRequest)"
DOCS = "%resource.entry.resource.ofType(DocumentReference)"
LICENCE = ext(MR, "klas-licence-type") + ".value"
KIND = "%s.extension.where(url='%s').value" % ("$this", EXT_URL + "klas-product-kind")
PROTECTED = "meta.security.where(code='R' or code='V').exists()"
MAX_ATTACHMENTS = 5
MAX_ATTACHMENT_BYTES = 5 * 1024 * 1024


def constraint_of(pid, key):
    for k, _, expr in CONSTRAINTS[pid]:
        if k == key:
            return expr
    raise KeyError(key)


def gln_ok():
    return ("identifier.where(system='%s').exists() and %s" %
            (GLN, constraint_of("klas-pharmacy", "klas-pharmacy-gln-check")))


def refnr_ok(of):
    return ("%s.where(system='%s').value.where(matches('^[0-9]{10}$') and substring(0,4).toInteger() >= 2000).exists()"
            % (of, REFNR))


def patient_id():
    return ("identifier.where(system='%s' or system='%s' or system='%s').exists()"
            % (PNR, SAMORD, FODD))


def patient_number_ok():
    """A patient's numbers, each valid for its kind."""
    return "%s and %s" % (constraint_of("klas-patient", "klas-pnr"),
                          constraint_of("klas-patient", "klas-pnr-date"))


def extensions_known():
    """Extensions only where fhir-profiles/ defines them (EXTENSIONS), on
    the resources of the message and those they contain, and their
    sub-extensions; never a modifierExtension."""
    by_type = {}
    for eid, (ctx, _, _, subs) in EXTENSIONS.items():
        by_type.setdefault(ctx, []).append((eid, subs))
    parts = []
    every = "(%resource.entry.resource | %resource.entry.resource.contained)"
    for t, exts in sorted(by_type.items()):
        urls = " or ".join("url='%s'" % (EXT_URL + e) for e, _ in exts)
        parts.append("%s.ofType(%s).extension.all(%s)" % (every, t, urls))
        for e, subs in exts:
            names = " or ".join("url='%s'" % s for s, _, _, _ in subs)
            parts.append("%s.ofType(%s).extension.where(url='%s').extension.all(%s)"
                         % (every, t, EXT_URL + e, names or "false"))
    parts.append("%s.where(%s).extension.empty()"
                 % (every, " and ".join("($this is %s).not()" % t for t in sorted(by_type))))
    parts.append("%s.modifierExtension.empty()" % every)
    return " and ".join(parts)


def validity_ok():
    vp = MR + ".dispenseRequest.validityPeriod"
    start = vp + ".start.toString().substring(0,10)"
    end = vp + ".end.toString().substring(0,10)"
    # At most 12 months: the end no later than the same day a year on (as
    # text: 29 February + 1 year sorts after 28 February, before 1 March).
    year_on = "((%s.substring(0,4).toInteger() + 1).toString() + %s.substring(4))" % (start, start)
    granted = " or ".join("code='%s'" % c for c in WITH_VALIDITY)
    return ("%s.businessStatus.coding.where(%s).empty() or (%s.exists() and %s.exists() and %s >= %s and %s <= %s)"
            % (TASK, granted, start, end, end, start, end, year_on))


REASONS = [c for c, _, _ in CODESYSTEMS["klas-motivation-reason"][1]]
MOT = ext(MR, "klas-motivation")
MOT_TEXT = MOT + ".extension.where(url='text').value"
ANNAT = MOT + ".extension.where(url='reason').value.where(code='annat')"


def message_rules(ev):
    """(key, human, expression) of the gateway's rules for event ev: what
    rules.c runs for it (rule_message and rule_shape for every event)."""
    statuses = event_table()
    common = [
        ("klas-message-bundle", "A KLAS message is a Bundle of type message", "type = 'message'"),
        ("klas-message-header", "The message begins with a MessageHeader", "entry.first().resource is MessageHeader"),
        ("klas-message-event", "MessageHeader.eventCoding is the event " + ev,
         "%s.event.where(system='%s' and code='%s').exists()" % (HDR, BASE + "/CodeSystem/klas-event", ev)),
        ("klas-message-focus", "MessageHeader.focus points at the case (Task)",
         "%s.focus.first().reference in %s" % (HDR, urls_of("resource is Task"))),
        ("klas-binary", "No Binary: an attachment travels in DocumentReference.content.attachment.data",
         "entry.resource.ofType(Binary).empty()"),
        ("klas-extension", "Extensions only where the KLAS profiles define them; no modifierExtension",
         extensions_known()),
        ("klas-task-free-text", "No free text on the case",
         "%s.all(%s)" % (TASK, constraint_of("klas-task", "klas-task-free-text"))),
    ]
    refnr = [("klas-refnr", "The case's referensnummer: 10 digits, the year first", refnr_ok(TASK + ".identifier"))]
    followup = [("klas-patient-id", "A patient named in a follow-up carries a personnummer, samordningsnummer or date of birth",
                 "%s.all(%s)" % (FOLLOWUP_PATIENT, patient_id())),
                ("klas-pnr", "The follow-up's patient number is valid",
                 "%s.all(%s)" % (FOLLOWUP_PATIENT, patient_number_ok()))]
    status = [("klas-status-code", "The case status fits the event: " + " or ".join(statuses.get(ev, [])),
               "%s.businessStatus.coding.where(system='%s').code.where(%s).exists()"
               % (TASK, BASE + "/CodeSystem/klas-case-status", either(*statuses.get(ev, ["-"]))))]
    rules = {
        "motivation-submit": [
            ("klas-motivation", "The case's focus is the motivation (MedicationRequest)",
             TASK + ".focus.exists() and " + TASK + ".all(focus.reference in %s)" % urls_of("resource is MedicationRequest")),
            ("klas-prescriber", "The prescriber: MedicationRequest.requester a PractitionerRole, its practitioner a Practitioner",
             PROLE + ".exists() and " + PROLE + ".all(practitioner.reference in %s)" % urls_of("resource is Practitioner")),
            ("klas-prescriber-name", "The prescriber's first and last name",
             PRACT + ".all(name.first().family.exists() and name.first().given.exists())"),
            ("klas-prescriber-hsaid", "The prescriber's HSA-id",
             PRACT + ".all(identifier.where(system='%s').exists() and %s)"
             % (HSA, constraint_of("klas-practitioner", "klas-prescriber-hsaid"))),
            ("klas-prescriber-phone", "The prescriber's phone number",
             PROLE + ".all(telecom.where(system='phone').value.exists())"),
            ("klas-clinic", "The clinic (PractitionerRole.organization) with its name",
             CLINIC + ".name.exists()"),
            ("klas-clinic-address", "The clinic's street address, postal code and city",
             CLINIC + ".all(address.first().line.exists() and address.first().postalCode.exists() and address.first().city.exists())"),
            ("klas-hospital", "The clinic's hospital (partOf) with its name",
             CLINIC + ".all(partOf.reference in %s)" % NAMED_ORGS),
            ("klas-licence-type", "The licence type, EH or GH", LICENCE + ".where(%s).exists()" % either("EH", "GH")),
            ("klas-beredskap-generell", "A beredskap licence is always general",
             ext(MR, "klas-beredskap") + ".value.where($this = true).empty() or " + LICENCE + " = 'GH'"),
            ("klas-general-subject", "A general licence is for care units (a Group), not a patient",
             LICENCE + " != 'GH' or " + GROUP + ".exists()"),
            ("klas-general-care-unit", "A general licence names the clinic (Group.managingEntity) and its hospital, each with a name",
             LICENCE + " != 'GH' or (" + UNIT + ".name.exists() and " + UNIT + ".all(partOf.reference in %s))" % NAMED_ORGS),
            ("klas-patient", "An enskild licence names the patient", LICENCE + " != 'EH' or " + PATIENT + ".exists()"),
            ("klas-patient-name", "The patient's first and last name (replaced under protected identity)",
             PATIENT + ".all(%s or (name.first().family.exists() and name.first().given.exists()))" % PROTECTED),
            ("klas-patient-id", "The patient's personnummer, samordningsnummer or date of birth",
             PATIENT + ".all(%s)" % patient_id()),
            ("klas-pnr", "The patient's number is valid", PATIENT + ".all(%s)" % patient_number_ok()),
            ("klas-protected-full-number", "A patient with protected identity needs the full personnummer",
             PATIENT + ".all(%s.not() or identifier.where(system='%s' or system='%s').exists())" % (PROTECTED, PNR, SAMORD)),
            ("klas-pnr-full-number", "A full personnummer is used when one exists",
             PATIENT + ".all(%s)" % constraint_of("klas-patient", "klas-pnr-full-number")),
            ("klas-product", "The product (Medication)", MED + ".exists()"),
            ("klas-product-kind", "Searched, manual or food",
             MED + ".all(%s.where(%s).exists())" % (KIND, either("searched", "manual", "food"))),
            ("klas-product-name", "The product name", MED + ".all(code.text.exists())"),
            ("klas-nplid", "A searched product's NPL id, 14 digits",
             MED + ".all(%s != 'searched' or (code.coding.where(system='%s').code.exists() and code.coding.where(system='%s').code.all(matches('^[0-9]{14}$'))))"
             % (KIND, NPL, NPL)),
            ("klas-food-manual", "Food is entered by hand, without an NPL id",
             MED + ".all(%s != 'food' or code.coding.where(system='%s').empty())" % (KIND, NPL)),
            ("klas-atc", "An ATC code of any level (A, A01, A01A, A01AB, A01AB01)",
             MED + ".all(code.coding.where(system='%s').code.all(matches('^[ABCDGHJLMNPRSV]([0-9]{2}([A-Z]([A-Z]([0-9]{2})?)?)?)?$')))" % ATC),
            ("klas-substance", "At least one active substance",
             MED + ".all(ingredient.item.ofType(CodeableConcept).text.exists())"),
            ("klas-food-substance", "For food the substance is \"livsmedel\"",
             MED + ".all(%s != 'food' or (ingredient.item.ofType(CodeableConcept).text.count() = 1 and ingredient.first().item.ofType(CodeableConcept).text = 'livsmedel'))" % KIND),
            ("klas-form", "The pharmaceutical form of a manual product or food",
             MED + ".all(%s = 'searched' or form.text.exists())" % KIND),
            ("klas-approval-exclusive", "Either the approval country or the not-approved comment, not both",
             MED + ".all(extension.where(url='%s').empty() or extension.where(url='%s').empty())"
             % (EXT_URL + "klas-approval", EXT_URL + "klas-not-approved")),
            ("klas-reasons", "At least one reason",
             MOT + ".extension.where(url='reason').value.where(%s).exists()"
             % " or ".join("code='%s'" % c for c in REASONS)),
            ("klas-indication", "The treatment indication", MR + ".reasonCode.first().text.exists()"),
            ("klas-annat-text", "With 'annat', the reason in the motivation text",
             ANNAT + ".empty() or " + MOT_TEXT + ".exists()"),
            ("klas-motivation-text", "The motivation text",
             ANNAT + ".exists() or " + MOT_TEXT + ".exists()"),
            ("klas-dosage", "The dosage", MR + ".dosageInstruction.first().text.exists()"),
            ("klas-total-amount", "The total amount", MR + ".dispenseRequest.quantity.value.exists()"),
            ("klas-attachments-max", "At most %d attachments" % MAX_ATTACHMENTS,
             "%s.count() <= %d" % (DOCS, MAX_ATTACHMENTS)),
            ("klas-attachment-size", "An attachment is at most 5 MB (%d bytes)" % MAX_ATTACHMENT_BYTES,
             DOCS + ".content.first().attachment.all((size.empty() or size <= %d) and (data.empty() or "
             "(data.toString().length() div 4 * 3 - iif(data.toString().endsWith('=='), 2, iif(data.toString().endsWith('='), 1, 0))) <= %d))"
             % (MAX_ATTACHMENT_BYTES, MAX_ATTACHMENT_BYTES)),
            ("klas-pharmacy-gln", "The chosen pharmacy (optional) by a valid GLN", PHARMACY + ".all(%s)" % gln_ok()),
        ],
        "motivation-supplement": refnr + followup + [
            ("klas-supplement-content", "The supplement (Communication) with content",
             COM + ".exists() and " + COM + ".all(payload.exists())"),
            ("klas-supplement-sender", "The sender: the prescriber (PractitionerRole) or the pharmacy (Organization)",
             SENDER + ".where($this is PractitionerRole or $this is Organization).exists()"),
            ("klas-prescriber-phone", "A prescriber sending gives a phone number",
             SENDER + ".ofType(PractitionerRole).all(telecom.where(system='phone').value.exists())"),
            ("klas-prescriber", "A prescriber sending names the practitioner",
             SENDER + ".ofType(PractitionerRole).all(practitioner.reference in %s)" % urls_of("resource is Practitioner")),
            ("klas-pharmacy-gln", "A pharmacy sending, by a valid GLN", SENDER + ".ofType(Organization).all(%s)" % gln_ok()),
        ],
        "application-create": refnr + followup + [
            ("klas-pharmacy-gln", "The applying pharmacy (Task.owner) by a valid GLN",
             PHARMACY + ".exists() and " + PHARMACY + ".all(%s)" % gln_ok()),
        ],
        "application-reapply": [
            ("klas-reapply-basis", "Task.basedOn: the referensnummer of the granted licence", refnr_ok(TASK + ".basedOn.identifier")),
        ] + followup + [
            ("klas-pharmacy-gln", "The applying pharmacy (Task.owner) by a valid GLN",
             PHARMACY + ".exists() and " + PHARMACY + ".all(%s)" % gln_ok()),
        ],
        "application-registered": status,
        "supplement-request": refnr + [
            ("klas-request-content", "The supplement request (CommunicationRequest) with content",
             REQ + ".exists() and " + REQ + ".all(payload.exists())"),
            ("klas-request-recipient", "The recipient: prescriber or pharmacy",
             REQ + ".all(recipient.first().reference in %s)"
             % urls_of("resource is PractitionerRole or resource is Practitioner or resource is Organization")),
        ],
        "decision": refnr + status + [
            ("klas-validity", "A granted licence has a validity period of at most 12 months", validity_ok()),
        ],
    }
    return common + rules[ev]


NO_MODIFIERS = ("klas-extension-modifier", "No modifierExtension: the KLAS profiles define none",
                "modifierExtension.empty()")


def write(name, doc):
    with open(os.path.join(OUT, name + ".json"), "w", encoding="utf-8") as fh:
        json.dump(doc, fh, ensure_ascii=False, indent=2)
        fh.write("\n")


def contract_statuses():
    """The SOAP contract's CaseStatusType (wsdl/, klas_core) lists the
    same status rows: its enumeration is rewritten in place."""
    import re
    path = os.path.join(TOP, "wsdl", "schemas", "core_components", "klas_core_1.0.xsd")
    with open(path, encoding="utf-8") as fh:
        xsd = fh.read()
    enum = "".join('      <xs:enumeration value="%s"/>\n' % st["code"]
                   for st in klas_rows.statuses())
    new, n = re.subn(r'(<xs:simpleType name="CaseStatusType">\s*<xs:restriction base="xs:string">\n)'
                     r'(?:\s*<xs:enumeration value="[^"]*"/>\n)+', lambda m: m.group(1) + enum, xsd)
    if n != 1:
        raise SystemExit("klas_core_1.0.xsd: no CaseStatusType enumeration")
    if new != xsd:
        with open(path, "w", encoding="utf-8") as fh:
            fh.write(new)


def pascal(s):
    return "".join(p[:1].upper() + p[1:] for p in s.replace("_", "-").split("-"))


def main():
    contract_statuses()
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
    events = CODESYSTEMS["klas-event"][1]
    for ev, display, definition in events:
        pid = "klas-message-" + ev
        title = "KLAS message: %s (%s)" % (ev, display)
        desc = ("%s. The gateway's rules for the event (rule ids as constraint "
                "keys), across the resources of the message" % definition)
        diff = [{"id": "Bundle", "path": "Bundle", "short": title, "definition": desc,
                 "constraint": [
                     {"key": key, "severity": "error", "human": human,
                      "expression": expr, "source": BASE + "/StructureDefinition/" + pid}
                     for key, human, expr in message_rules(ev)]},
                {"id": "Bundle.type", "path": "Bundle.type", "fixedCode": "message"},
                {"id": "Bundle.entry", "path": "Bundle.entry", "min": 2}]
        sd = {"resourceType": "StructureDefinition", "id": pid,
              "url": BASE + "/StructureDefinition/" + pid, "name": pascal(pid),
              "title": title, **PUB, "description": desc, "fhirVersion": "4.0.1",
              "kind": "resource", "abstract": False, "type": "Bundle",
              "baseDefinition": "http://hl7.org/fhir/StructureDefinition/Bundle",
              "derivation": "constraint", "differential": {"element": diff}}
        write("StructureDefinition-" + pid, sd)
    print("%d code systems, %d naming systems, %d extensions, %d profiles, %d message profiles" % (
        len(CODESYSTEMS), len(NAMINGSYSTEMS), len(EXTENSIONS), len(PROFILES), len(events)))


if __name__ == "__main__":
    main()
