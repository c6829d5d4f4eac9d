#!/usr/bin/env bash
# make demo: one enskild and one general licence case, from the
# prescriber's motivation through LV's supplement request and grant to the
# pharmacy's dispensings until the licence is used up, against the gateway
# and simulators that `make run` started (another terminal). It stops at
# the first step that fails. KLASGW_URL (the gateway, default
# http://127.0.0.1:8080), CONFIG and BUILD as in the Makefile. The EHR
# (journal1) and the pharmacy (apotek1) are played here with curl, on REST
# for the first case and SOAP for the second; LV is the LV simulator,
# which registers applications by itself and asks and decides when told.
# Every status change is printed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
url=${KLASGW_URL:-http://127.0.0.1:8080}
ex="$top/fhir-profiles/examples/valid"
# BUILD and CONFIG: absolute, or relative to the current directory (make
# demo runs in the source folder); the defaults are the source folder's.
bin=${BUILD:+$BUILD/klasgw}
bin=${bin:-$top/build/klasgw}
config=${CONFIG:-$top/adapter/klasgw.conf.example}
for f in "$bin" "$config"; do
    [ -e "$f" ] || { echo "demo: $f does not exist (BUILD, CONFIG)" >&2; exit 1; }
done
ehr=(-H "X-Klasgw-Client: serial:SE2321000016-EHR1" -H "X-Klasgw-User: SE2321000016-DOC1")
ehr2=(-H "X-Klasgw-Client: serial:SE2321000016-EHR1" -H "X-Klasgw-User: SE2321000016-DOC2")
apo=(-H "X-Klasgw-Client: serial:SE7350000000-APO1")
lv=(-H "X-Klasgw-Client: serial:SE2021004078-LISY")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

if ! curl -sf "$url/healthz" >/dev/null; then
    echo "No gateway at $url: start it with 'make run' in another terminal." >&2
    exit 1
fi

bold() { printf '\033[1m%s\033[0m\n' "$*"; }
# send WHO-ARRAY-NAME EXAMPLE REFNR [python edit]: posts an example message
# with a fresh message id and the case's referensnummer; prints the status.
send() {
    local -n who=$1
    local example=$2 ref=${3:-} edit=${4:-}
    python3 - "$ex/$example.json" "$ref" "$edit" >"$tmp/msg.json" <<'PY'
import datetime, json, sys, uuid
text = open(sys.argv[1], encoding="utf-8").read()
if sys.argv[2]:
    text = text.replace("2026658327", sys.argv[2])
m = json.loads(text)
m["identifier"] = {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:%s" % uuid.uuid4()}
today = datetime.date.today()
for e in m["entry"]:
    r = e["resource"]
    if r["resourceType"] == "MedicationRequest" and "validityPeriod" in r.get("dispenseRequest", {}):
        r["dispenseRequest"]["validityPeriod"] = {"start": today.isoformat(),
            "end": (today + datetime.timedelta(days=364)).isoformat()}
print(json.dumps(m))
PY
    curl -s "${who[@]}" -H 'Content-Type: application/fhir+json' \
        --data-binary @"$tmp/msg.json" "$url/fhir/\$process-message" >"$tmp/ans.json"
    python3 - "$tmp/ans.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if d["resourceType"] == "OperationOutcome":
    for i in d["issue"]:
        print("   refused:", i["details"].get("text"), "/", i["details"]["coding"][0]["display"])
    sys.exit(1)
t = [e["resource"] for e in d["entry"] if e["resource"]["resourceType"] == "Task"][0]
c = t["businessStatus"]["coding"][0]
print("   %s  %-4s %s" % (t["id"], c["code"], c["display"]))
open(sys.argv[1] + ".ref", "w").write(t["id"])
PY
}

# wait_status REFNR CODE: until the case has the status (LV's system works
# on its own time), printing it.
wait_status() {
    local st=""
    for _ in $(seq 100); do
        st=$(curl -s "${ehr[@]}" "$url/fhir/Task/$1" |
            python3 -c 'import json,sys; c=json.load(sys.stdin)["businessStatus"]["coding"][0]; print(c["code"], c["display"])' 2>/dev/null)
        [ "${st%% *}" = "$2" ] && { echo "   $1  $(printf '%-4s' "${st%% *}") ${st#* }"; return 0; }
        sleep 0.2
    done
    echo "   $1  still ${st:-unknown}, not $2: is the LV simulator running (make run)?" >&2
    exit 1
}
# lv_says REFNR WHAT: the LV simulator calls the gateway over SOAP: this
# gateway ($url), whatever the configuration's own address says.
lv_says() {
    "$bin" -c "$config" sim lv --call "$2" --refnr "$1" --gateway "$url" \
        >"$tmp/lv.log" 2>&1 || { cat "$tmp/lv.log" >&2; exit 1; }
}
# soap NAME BODY-FILE CLIENT [USER]: a SOAP 1.1 call; prints the receipt.
soap() {
    local user=()
    [ -n "${4:-}" ] && user=(-H "X-Klasgw-User: $4")
    curl -s -H 'Content-Type: text/xml; charset=utf-8' -H "X-Klasgw-Client: $3" \
        "${user[@]}" --data-binary @"$2" "$url/soap/$1" >"$tmp/soap.xml"
    python3 - "$tmp/soap.xml" <<'PY'
import re, sys
x = open(sys.argv[1], encoding="utf-8").read()
get = lambda t: (re.search(r"<(?:\w+:)?%s(?:\s[^>]*)?>([^<]*)<" % t, x) or [None, ""])[1]
if get("resultCode") != "OK":
    print("   refused:", get("errorCode"), get("message") or get("faultstring"))
    sys.exit(1)
print("   %s  %-4s (over SOAP)" % (get("referenceNumber"), get("caseStatus")))
open(sys.argv[1] + ".ref", "w").write(get("referenceNumber"))
PY
}
# envelope NAME FILE [REFNR]: wraps an example FHIR XML message in NAME.
envelope() {
    python3 - "$1" "$ex/$2.xml" "${3:-}" <<'PY'
import sys, uuid
name, path, ref = sys.argv[1], sys.argv[2], sys.argv[3]
body = open(path, encoding="utf-8").read()
body = body[body.index("<Bundle"):]
if ref:
    body = body.replace("2026658327", ref)
wrap = {"SubmitLicenseMotivation": "licenseMotivation",
        "CreateLicenseApplication": "application",
        "SupplementLicenseMotivation": "supplement"}[name]
refel = ("<r:referenceNumber>%s</r:referenceNumber>" % ref
         if name == "SupplementLicenseMotivation" else "")
print('<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
      'xmlns:itr="urn:riv:itintegration:registry:1" xmlns:r="urn:riv:klas:%sResponder:1">'
      '<soapenv:Header><itr:LogicalAddress>SE2321000016-KLAS</itr:LogicalAddress></soapenv:Header>'
      '<soapenv:Body><r:%s><r:messageId>demo-%s</r:messageId>%s<r:%s>%s</r:%s></r:%s></soapenv:Body>'
      '</soapenv:Envelope>' % (name, name, uuid.uuid4(), refel, wrap, body, wrap, name))
PY
}
# flat NAME FIELDS: a SOAP 1.1 request NAME whose body holds FIELDS
# (<r:x>..</r:x> elements in the order of the Responder XSD).
flat() {
    printf '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:itr="urn:riv:itintegration:registry:1" xmlns:r="urn:riv:klas:%sResponder:1"><soapenv:Header><itr:LogicalAddress>SE2321000016-KLAS</itr:LogicalAddress></soapenv:Header><soapenv:Body><r:%s>%s</r:%s></soapenv:Body></soapenv:Envelope>' "$1" "$1" "$2" "$1"
}
# soap_flat NAME FIELDS: calls NAME as the pharmacy; the answer in $tmp/flat.xml.
soap_flat() {
    flat "$1" "$2" >"$tmp/flat-req.xml"
    curl -s -H 'Content-Type: text/xml; charset=utf-8' "${apo[@]}" \
        --data-binary @"$tmp/flat-req.xml" "$url/soap/$1" >"$tmp/flat.xml"
}
# field NAME...: the text of each element NAME in $tmp/flat.xml ("-" if none).
field() {
    python3 - "$tmp/flat.xml" "$@" <<'PY'
import re, sys
x = open(sys.argv[1], encoding="utf-8").read()
print(" ".join((re.search(r"<(?:\w+:)?%s(?:\s[^>]*)?>([^<]*)<" % t, x) or [None, "-"])[1]
               for t in sys.argv[2:]))
PY
}
# dispense_rest REFNR AMOUNT ID: $record-dispensing for the patient; prints
# what is left (also in $tmp/left), or the refusal (exit status 1).
dispense_rest() {
    printf '{"resourceType": "Parameters", "parameter": [{"name": "identifier", "valueString": "%s"}, {"name": "licence", "valueString": "%s"}, {"name": "amount", "valueDecimal": %s}, {"name": "kind", "valueCode": "prescription"}, {"name": "patient", "valueString": "201006301111"}]}' \
        "$3" "$1" "$2" >"$tmp/disp-req.json"
    curl -s "${apo[@]}" -H 'Content-Type: application/fhir+json' \
        --data-binary @"$tmp/disp-req.json" "$url/fhir/\$record-dispensing" >"$tmp/disp.json"
    python3 - "$tmp/disp.json" "$2" "$tmp/left" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if d["resourceType"] == "OperationOutcome":
    i = d["issue"][0]
    print("   %s: refused: %s / %s" % (sys.argv[2], i["details"]["coding"][0]["display"],
                                      i["details"].get("text")))
    sys.exit(1)
p = {x["name"]: x for x in d["parameter"]}
left = p["remaining-amount"]["valueDecimal"]
print("   %s: recorded, %s left" % (sys.argv[2], left))
open(sys.argv[3], "w").write(str(left))
PY
}
# positive X: exit status 0 if the number X is above 0.
positive() { awk -v x="$1" 'BEGIN { exit !(x + 0 > 0) }'; }
# part X: what one dispensing takes of X left (at most 100).
part() { awk -v x="$1" 'BEGIN { print (x + 0 > 100 ? 100 : x + 0) }'; }

bold "1. Enskild licence (one named patient), the EHR and pharmacy on REST"
echo " EHR submits the motivation (licensmotivering); HSA confirms the prescriber:"
send ehr motivation-enskild-searched
ref=$(cat "$tmp/ans.json.ref")
echo " The pharmacy finds it by referensnummer + personnummer (redacted view):"
curl -s "${apo[@]}" "$url/fhir/Task?identifier=$ref&patient.identifier=201006301111" |
    python3 -c 'import json,sys; b=json.load(sys.stdin); t=json.dumps(b); print("   %d hit(s); indication shown to the pharmacy: %s" % (b["total"], "reasonCode" in t))'
echo " The pharmacy applies (licensansökan); the motivation is now locked:"
send apo application-enskild "$ref"
echo " The application goes to LV over SOAP; LV's system registers it:"
wait_status "$ref" H
echo " LV asks the prescriber for more (komplettering), over SOAP:"
lv_says "$ref" supplement
wait_status "$ref" KB
echo " A colleague at the same clinic supplements (HSA confirms her too):"
send ehr2 supplement-by-prescriber "$ref"
echo " The supplement goes to LV over SOAP; LV's system registers it:"
wait_status "$ref" H
echo " LV grants the licence (Beviljad, 12 months from today):"
lv_says "$ref" Bev
wait_status "$ref" Bev
echo " At the counter, the pharmacy checks the licence for the patient:"
curl -s "${apo[@]}" "$url/fhir/\$check-licence?product=20130603015935&patient=201006301111" |
    python3 -c 'import json,sys; p={x["name"]:x for x in json.load(sys.stdin)["parameter"]}; print("   covered: %s, valid to %s, remaining %s %s" % (p["covered"]["valueBoolean"], p["valid-to"]["valueDate"], p["remaining-amount"]["valueDecimal"], p["unit"]["valueString"]))'

echo " The pharmacy dispenses until the licence is used up (\$record-dispensing):"
curl -s "${apo[@]}" "$url/fhir/\$check-licence?product=20130603015935&patient=201006301111" |
    python3 -c 'import json,sys; p={x["name"]:x for x in json.load(sys.stdin)["parameter"]}; print(p["remaining-amount"]["valueDecimal"])' >"$tmp/left"
n=0
while positive "$(cat "$tmp/left")"; do
    n=$((n + 1))
    dispense_rest "$ref" "$(part "$(cat "$tmp/left")")" "demo-$ref-$n"
done
if dispense_rest "$ref" 1 "demo-$ref-over"; then
    echo "   a dispensing beyond the granted amount was recorded" >&2
    exit 1
fi

bold "2. Generell licence (care units), every actor on SOAP"
echo " EHR: SubmitLicenseMotivation:"
envelope SubmitLicenseMotivation motivation-generell-administration >"$tmp/s.xml"
soap SubmitLicenseMotivation "$tmp/s.xml" serial:SE2321000016-EHR1 SE2321000016-DOC1
gref=$(cat "$tmp/soap.xml.ref")
echo " Pharmacy: CreateLicenseApplication:"
envelope CreateLicenseApplication application-generell "$gref" >"$tmp/a.xml"
soap CreateLicenseApplication "$tmp/a.xml" serial:SE7350000000-APO1
echo " LV registers it, then asks the prescriber for more (RequestSupplement):"
wait_status "$gref" H
lv_says "$gref" supplement
wait_status "$gref" KB
echo " EHR: SupplementLicenseMotivation (a colleague); LV's system registers it:"
envelope SupplementLicenseMotivation supplement-by-prescriber "$gref" >"$tmp/k.xml"
soap SupplementLicenseMotivation "$tmp/k.xml" serial:SE2321000016-EHR1 SE2321000016-DOC2
wait_status "$gref" H
echo " LV grants it (ReportDecision, Beviljad, 12 months from today):"
lv_says "$gref" Bev
wait_status "$gref" Bev
echo " Pharmacy: CheckLicense for a requisition to the ward (care unit):"
soap_flat CheckLicense "<r:productId>20130603015935</r:productId><r:careUnitHsaId>SE2321000016-KLIN</r:careUnitHsaId>"
read -r covered gleft unit validto <<<"$(field covered remainingAmount unit validTo)"
echo "   covered: $covered, valid to $validto, remaining $gleft $unit"
if [ "$covered" != true ]; then
    echo "   the granted general licence does not cover the ward" >&2
    exit 1
fi
echo " Pharmacy: RecordDispensing until the licence is used up:"
n=0
while positive "$gleft"; do
    n=$((n + 1))
    amount=$(part "$gleft")
    soap_flat RecordDispensing "<r:dispensingId>demo-$gref-$n</r:dispensingId><r:referenceNumber>$gref</r:referenceNumber><r:amount>$amount</r:amount><r:kind>requisition</r:kind><r:careUnitHsaId>SE2321000016-KLIN</r:careUnitHsaId>"
    read -r code gleft <<<"$(field resultCode remainingAmount)"
    echo "   $amount: $code, $gleft left"
    if [ "$code" != OK ]; then
        echo "   refused: $(field errorCode message)" >&2
        exit 1
    fi
done
soap_flat RecordDispensing "<r:dispensingId>demo-$gref-over</r:dispensingId><r:referenceNumber>$gref</r:referenceNumber><r:amount>1</r:amount><r:kind>requisition</r:kind><r:careUnitHsaId>SE2321000016-KLIN</r:careUnitHsaId>"
echo "   1: $(field resultCode errorCode message)"
if [ "$(field resultCode)" != ERROR ]; then
    echo "   a dispensing beyond the granted amount was recorded" >&2
    exit 1
fi

bold "3. The prescriber's cases (Mina ärenden)"
curl -s "${ehr[@]}" "$url/fhir/Task?_count=5" |
    python3 -c 'import json,sys
for e in json.load(sys.stdin).get("entry", []):
    t = e["resource"]; c = t["businessStatus"]["coding"][0]
    print("   %s  %-4s %s" % (t["id"], c["code"], c["display"]))'
echo
printf "Printable copy (HTML; add ?_format=pdf for PDF):\n  curl -H 'X-Klasgw-Client: serial:SE2321000016-EHR1' -H 'X-Klasgw-User: SE2321000016-DOC1' '%s/fhir/Task/%s/\$print'\n" "$url" "$ref"
