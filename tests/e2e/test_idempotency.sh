#!/usr/bin/env bash
# Idempotency that retry libraries can use, and values kept whole or
# refused (issue 12 §4-§5), from the outside:
#  - one motivation (one Bundle.identifier) sent compact JSON, pretty JSON,
#    XML, over SOAP (SubmitLicenseMotivation) and with a regenerated
#    Bundle.id and timestamp is ONE case: every answer names the same
#    referensnummer, in the caller's format;
#  - a second message sent first over SOAP and then over REST replays the
#    SOAP receipt as a FHIR receipt;
#  - the same id with other content is 409, naming the first case and
#    when it was received, in Swedish and English;
#  - two 250-byte message ids that share their first 200 bytes are two
#    cases (they were one when ids were cut to 127 bytes);
#  - a 300-byte drug name is refused naming the element and its limit,
#    and nothing is stored; a drug name at the limit is kept whole.
source "$(dirname "$0")/lib.sh"

PM='/fhir/$process-message'
gw_start 18240
MOT=$EX/valid/motivation-enskild-searched
ID=$(python3 -c 'import uuid; print(uuid.uuid4())')
# The case a receipt is about (MessageHeader.focus Task/{refnr}); grep,
# not python, to keep the test fast.
refnr_json() { grep -o 'Task/[0-9]\{10\}' "$B" | head -1 | cut -d/ -f2; }
refnr_xml() { refnr_json; }
cases() { call ehr GET '/fhir/Task?_count=120'; $FJ get "$B" "d.get('total', len(d.get('entry', [])))"; }

# SOAP 1.1 SubmitLicenseMotivation around an XML Bundle file.
soap_submit() { # OUT BUNDLE-FILE MSGID
    local b
    b=$(sed -e 's/<?xml[^>]*?>//' "$2")
    printf '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:itr="urn:riv:itintegration:registry:1" xmlns:r="urn:riv:klas:SubmitLicenseMotivationResponder:1"><soapenv:Header><itr:LogicalAddress>SE2321000016-KLAS</itr:LogicalAddress></soapenv:Header><soapenv:Body><r:SubmitLicenseMotivation><r:messageId>%s</r:messageId><r:licenseMotivation>%s</r:licenseMotivation></r:SubmitLicenseMotivation></soapenv:Body></soapenv:Envelope>' \
        "$3" "$b" >"$1"
}
soap_post() { # FILE
    call ehr POST /soap/SubmitLicenseMotivation \
        -H 'Content-Type: text/xml; charset=utf-8' --data-binary "@$1"
}
soap_refnr() { grep -o 'referenceNumber>[0-9]*<' "$B" | head -1 | tr -dc '0-9'; }

# --- one message, every serialisation and transport ---------------------
msg "$MOT.json" --id "$ID" >"$T/compact.json"
python3 -c 'import json,sys; json.dump(json.load(open(sys.argv[1])), open(sys.argv[2],"w"), indent=4, ensure_ascii=False)' \
    "$T/compact.json" "$T/pretty.json"
msg "$MOT.xml" --id "$ID" >"$T/m.xml"
msg "$MOT.json" --id "$ID" \
    --set "d['id'] = 'retry-regenerated'; d['timestamp'] = '2030-01-01T00:00:00Z'" >"$T/regen.json"

post ehr "$PM" "$T/compact.json"
want 200 "compact JSON"
R=$(refnr_json)
[[ "$R" =~ ^[0-9]{10}$ ]] || fail "no referensnummer in the first receipt"

post ehr "$PM" "$T/pretty.json"
want 200 "the same message pretty-printed"
[ "$(refnr_json)" = "$R" ] || fail "pretty JSON: $(refnr_json), wanted the replay of $R"

post ehr "$PM" "$T/m.xml" application/fhir+xml
want 200 "the same message as XML"
hdr Content-Type | grep -q '^application/fhir+xml' || fail "XML in: XML out"
[ "$(refnr_xml)" = "$R" ] || fail "XML: $(refnr_xml), wanted the replay of $R"

post ehr "$PM" "$T/regen.json"
want 200 "the same message with a new Bundle.id and timestamp"
[ "$(refnr_json)" = "$R" ] || fail "regenerated id/timestamp: $(refnr_json), wanted $R"

soap_submit "$T/soap.xml" "$T/m.xml" "urn:uuid:$ID"
soap_post "$T/soap.xml"
want 200 "the same message over SOAP"
grep -q 'resultCode[^>]*>OK<' "$B" || fail "SOAP replay: $(head -c 600 "$B")"
[ "$(soap_refnr)" = "$R" ] || fail "SOAP: '$(soap_refnr)', wanted the replay of $R"

# --- first over SOAP, then over REST ------------------------------------
ID2=$(python3 -c 'import uuid; print(uuid.uuid4())')
msg "$MOT.xml" --id "$ID2" >"$T/m2.xml"
soap_submit "$T/soap2.xml" "$T/m2.xml" "urn:uuid:$ID2"
soap_post "$T/soap2.xml"
want 200 "a new message over SOAP"
R2=$(soap_refnr)
[[ "$R2" =~ ^[0-9]{10}$ ]] && [ "$R2" != "$R" ] || fail "SOAP submit: '$R2'"
msg "$MOT.json" --id "$ID2" >"$T/m2.json"
post ehr "$PM" "$T/m2.json"
want 200 "the SOAP message again over REST"
$FJ check "$B" "rt == 'Bundle' and entries[0]['resourceType'] == 'MessageHeader' and entries[0]['response']['code'] == 'ok'" \
    "the replayed SOAP receipt is a FHIR receipt"
[ "$(refnr_json)" = "$R2" ] || fail "REST after SOAP: $(refnr_json), wanted $R2"

# --- the same id, other content: 409 naming the first case --------------
msg "$MOT.json" --id "$ID" \
    --set "[c for e in d['entry'] for c in e['resource'].get('contained', []) if c['resourceType'] == 'Medication'][0]['code']['text'] = 'Annat preparat'" \
    >"$T/other.json"
post ehr "$PM" "$T/other.json"
want_outcome 409 "the same id with other content"
$FJ check "$B" "issues[0]['code'] == 'duplicate' and '$R' in issues[0]['details']['text'] and '$R' in issues[0]['details']['coding'][0]['display'] and 'mottaget' in issues[0]['details']['text'] and 'received' in issues[0]['details']['coding'][0]['display'] and issues[0]['expression'] == ['Bundle.identifier']" \
    "the 409 names case $R and when it was received, in both languages"

# --- two long message ids with a long common prefix: two cases ----------
P=$(printf 'urn:klasgw:test:%0184d' 0)        # 200 bytes shared
A="${P}$(printf 'A%049d' 0)" B2="${P}$(printf 'B%049d' 0)" # 250 each
[ ${#A} -eq 250 ] && [ ${#B2} -eq 250 ] || fail "test ids are ${#A}/${#B2} bytes"
msg "$MOT.json" --set "d['identifier']['value'] = '$A'" >"$T/la.json"
msg "$MOT.json" --set "d['identifier']['value'] = '$B2'" >"$T/lb.json"
post ehr "$PM" "$T/la.json"
want 200 "a 250-byte message id"
RA=$(refnr_json)
post ehr "$PM" "$T/lb.json"
want 200 "another 250-byte message id with the same first 200 bytes"
RB=$(refnr_json)
[ "$RA" != "$RB" ] || fail "two different 250-byte ids were one message ($RA)"

# --- a drug name past its limit: refused, nothing stored ----------------
before=$(cases)
drug() { # LEN
    msg "$MOT.json" --set "[c for e in d['entry'] for c in e['resource'].get('contained', []) if c['resourceType'] == 'Medication'][0]['code']['text'] = 'D' * $1"
}
drug 300 >"$T/d300.json"
post ehr "$PM" "$T/d300.json"
want_outcome 422 "a 300-byte drug name"
$FJ check "$B" "any(i['code'] == 'too-long' and 'limit' in i['details']['coding'][0]['display'] and i.get('expression', [''])[0].endswith('code.text') for i in issues)" \
    "the refusal names the drug name's element and its limit"
# The limit, from the refusal: a name of exactly that length is whole.
LIM=$($FJ get "$B" "[int(w) for i in issues if i['code'] == 'too-long' for w in i['details']['coding'][0]['display'].replace(',', ' ').split() if w.isdigit()][-1]")
[ "$(cases)" = "$before" ] || fail "a refused message left a case behind"
drug "$LIM" >"$T/dlim.json"
post ehr "$PM" "$T/dlim.json"
want 200 "a drug name of exactly $LIM bytes"
RL=$(refnr_json)
call ehr GET "/fhir/Task?_count=120&drug=$(printf 'D%.0s' $(seq 1 "$LIM"))"
want 200 "search by the whole drug name"
$FJ check "$B" "any(e['resource'].get('id') == '$RL' for e in d.get('entry', []))" \
    "the $LIM-byte drug name was kept whole (found by all of it)"

# --- a SOAP request field at its limit and past it: named with its cap --
cases_soap() { # DRUG-LEN
    printf '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:itr="urn:riv:itintegration:registry:1" xmlns:r="urn:riv:klas:GetLicenseCasesResponder:1"><soapenv:Header><itr:LogicalAddress>SE2321000016-KLAS</itr:LogicalAddress></soapenv:Header><soapenv:Body><r:GetLicenseCases><r:drug>%s</r:drug></r:GetLicenseCases></soapenv:Body></soapenv:Envelope>' \
        "$(printf 'D%.0s' $(seq 1 "$1"))" >"$T/gc.xml"
    call ehr POST /soap/GetLicenseCases -H 'Content-Type: text/xml; charset=utf-8' --data-binary "@$T/gc.xml"
}
cases_soap 300
# The contract (XSD maxLength) or the gateway's buffer, whichever is less.
grep -q 'resultCode[^>]*>ERROR<' "$B" && grep -q "drug.*\(limit of\|maximum length of '\)[0-9]*" "$B" ||
    fail "a 300-byte SOAP drug was not refused naming it: $(head -c 800 "$B")"
SLIM=$(grep -o "\(limit of \|maximum length of '\)[0-9]*" "$B" | head -1 | tr -dc '0-9')
cases_soap "$SLIM"
grep -q 'resultCode[^>]*>OK<' "$B" || fail "a SOAP drug of exactly $SLIM bytes: $(head -c 800 "$B")"
cases_soap $((SLIM + 1))
grep -q 'resultCode[^>]*>ERROR<' "$B" || fail "a SOAP drug of $((SLIM + 1)) bytes was not refused"

echo "ok: idempotency over every serialisation and transport; values whole or refused"
