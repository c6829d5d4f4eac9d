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
command -v jq >/dev/null || { echo "demo: no jq (scripts/install-deps.sh installs it)" >&2; exit 1; }
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
# The JSON and XML here are read with jq and bash's own regular
# expressions, not a Python start per call: the status polls below made
# the demo (and e2e_test_actors, which runs it) CPU-bound on a busy machine.
# send WHO-ARRAY-NAME EXAMPLE REFNR: posts an example message with a fresh
# message id and the case's referensnummer; prints the status.
send() {
    local -n who=$1
    local example=$2 ref=${3:-} uuid today end id code display
    read -r uuid </proc/sys/kernel/random/uuid
    today=$(date +%F)
    end=$(date -d "$today + 364 days" +%F)
    sed "s/2026658327/${ref:-2026658327}/g" "$ex/$example.json" |
        jq -c --arg id "urn:uuid:$uuid" --arg from "$today" --arg to "$end" '
            .identifier = {system: "urn:ietf:rfc:3986", value: $id}
            | .entry |= map(if .resource.resourceType == "MedicationRequest"
                    and (.resource.dispenseRequest // {} | has("validityPeriod"))
                then .resource.dispenseRequest.validityPeriod = {"start": $from, "end": $to}
                else . end)' >"$tmp/msg.json"
    curl -s "${who[@]}" -H 'Content-Type: application/fhir+json' \
        --data-binary @"$tmp/msg.json" "$url/fhir/\$process-message" >"$tmp/ans.json"
    if [ "$(jq -r .resourceType "$tmp/ans.json")" = OperationOutcome ]; then
        jq -r '.issue[] | "   refused: \(.details.text) / \(.details.coding[0].display)"' "$tmp/ans.json"
        return 1
    fi
    read -r id code display < <(jq -r '[.entry[].resource | select(.resourceType == "Task")][0]
        | "\(.id) \(.businessStatus.coding[0].code) \(.businessStatus.coding[0].display)"' "$tmp/ans.json")
    printf '   %s  %-4s %s\n' "$id" "$code" "$display"
    printf '%s' "$id" >"$tmp/ans.json.ref"
}

# wait_status REFNR CODE: until the case has the status (LV's system works
# on its own time), printing it.
wait_status() {
    local st=""
    for _ in $(seq 100); do
        st=$(curl -s "${ehr[@]}" "$url/fhir/Task/$1" |
            jq -r '.businessStatus.coding[0] // empty | "\(.code) \(.display)"' 2>/dev/null) || st=""
        [ "${st%% *}" = "$2" ] && { echo "   $1  $(printf '%-4s' "${st%% *}") ${st#* }"; return 0; }
        sleep 0.2
    done
    echo "   $1  still ${st:-unknown}, not $2: is the LV simulator running (make run)?" >&2
    exit 1
}
# xml_text FILE NAME...: the text of the first element NAME (any namespace
# prefix) in FILE for each NAME, "-" for one that is not there.
xml_text() {
    local x out=() t re
    x=$(<"$1")
    shift
    for t in "$@"; do
        re="<([A-Za-z0-9_]+:)?$t([[:space:]][^>]*)?>([^<]*)<"
        if [[ $x =~ $re ]]; then out+=("${BASH_REMATCH[3]}"); else out+=(-); fi
    done
    echo "${out[*]}"
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
    local msg ref status
    if [ "$(xml_text "$tmp/soap.xml" resultCode)" != OK ]; then
        msg=$(xml_text "$tmp/soap.xml" message)
        [ "$msg" != - ] || msg=$(xml_text "$tmp/soap.xml" faultstring)
        echo "   refused: $(xml_text "$tmp/soap.xml" errorCode) $msg"
        return 1
    fi
    read -r ref status <<<"$(xml_text "$tmp/soap.xml" referenceNumber caseStatus)"
    printf '   %s  %-4s (over SOAP)\n' "$ref" "$status"
    printf '%s' "$ref" >"$tmp/soap.xml.ref"
}
# envelope NAME FILE [REFNR]: wraps an example FHIR XML message in NAME.
envelope() {
    local name=$1 ref=${3:-} body wrap refel="" uuid
    body=$(<"$ex/$2.xml")
    body="<Bundle${body#*<Bundle}"
    [ -z "$ref" ] || body=${body//2026658327/$ref}
    case $name in
    SubmitLicenseMotivation) wrap=licenseMotivation ;;
    CreateLicenseApplication) wrap=application ;;
    SupplementLicenseMotivation)
        wrap=supplement
        refel="<r:referenceNumber>$ref</r:referenceNumber>"
        ;;
    esac
    read -r uuid </proc/sys/kernel/random/uuid
    printf '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:itr="urn:riv:itintegration:registry:1" xmlns:r="urn:riv:klas:%sResponder:1"><soapenv:Header><itr:LogicalAddress>SE2321000016-KLAS</itr:LogicalAddress></soapenv:Header><soapenv:Body><r:%s><r:messageId>demo-%s</r:messageId>%s<r:%s>%s</r:%s></r:%s></soapenv:Body></soapenv:Envelope>\n' \
        "$name" "$name" "$uuid" "$refel" "$wrap" "$body" "$wrap" "$name"
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
field() { xml_text "$tmp/flat.xml" "$@"; }
# dispense_rest REFNR AMOUNT ID: $record-dispensing for the patient; prints
# what is left (also in $tmp/left), or the refusal (exit status 1).
dispense_rest() {
    printf '{"resourceType": "Parameters", "parameter": [{"name": "identifier", "valueString": "%s"}, {"name": "licence", "valueString": "%s"}, {"name": "amount", "valueDecimal": %s}, {"name": "kind", "valueCode": "prescription"}, {"name": "patient", "valueString": "201006301111"}]}' \
        "$3" "$1" "$2" >"$tmp/disp-req.json"
    curl -s "${apo[@]}" -H 'Content-Type: application/fhir+json' \
        --data-binary @"$tmp/disp-req.json" "$url/fhir/\$record-dispensing" >"$tmp/disp.json"
    if [ "$(jq -r .resourceType "$tmp/disp.json")" = OperationOutcome ]; then
        jq -r --arg a "$2" '.issue[0] | "   \($a): refused: \(.details.coding[0].display) / \(.details.text)"' "$tmp/disp.json"
        return 1
    fi
    jq -r '.parameter[] | select(.name == "remaining-amount") | .valueDecimal' "$tmp/disp.json" >"$tmp/left"
    echo "   $2: recorded, $(cat "$tmp/left") left"
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
    jq -r '"   \(.total) hit(s); indication shown to the pharmacy: \(tostring | contains("reasonCode"))"'
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
    jq -r 'INDEX(.parameter[]; .name) as $p | "   covered: \($p.covered.valueBoolean), valid to \($p["valid-to"].valueDate), remaining \($p["remaining-amount"].valueDecimal) \($p.unit.valueString)"'

echo " The pharmacy dispenses until the licence is used up (\$record-dispensing):"
curl -s "${apo[@]}" "$url/fhir/\$check-licence?product=20130603015935&patient=201006301111" |
    jq -r '.parameter[] | select(.name == "remaining-amount") | .valueDecimal' >"$tmp/left"
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
    jq -r '.entry // [] | .[].resource | [.id, .businessStatus.coding[0].code, .businessStatus.coding[0].display] | @tsv' |
    while IFS=$'\t' read -r id code display; do printf '   %s  %-4s %s\n' "$id" "$code" "$display"; done
echo
printf "Printable copy (HTML; add ?_format=pdf for PDF):\n  curl -H 'X-Klasgw-Client: serial:SE2321000016-EHR1' -H 'X-Klasgw-User: SE2321000016-DOC1' '%s/fhir/Task/%s/\$print'\n" "$url" "$ref"
