#!/usr/bin/env bash
# The REST/FHIR front against a running `klasgw serve` (plain HTTP): every
# route, JSON and XML in and out (Content-Type, Accept, _format), every
# client role, and every refusal with its exact status and an
# OperationOutcome body; a whole enskild case M>A>H>KB>K>H>Bev and a
# general licence M>A>H>Avs, the status checked through GET Task after
# each step; replays, conflicts, conditional requests, history,
# subscriptions, metrics; then that the audit chain verifies and that the
# refused messages stored nothing.
source "$(dirname "$0")/lib.sh"

PM='/fhir/$process-message'
gw_start 18210 KLASGW_SERVER_MAX_BODY_BYTES=65536

# status REFNR CODE VERSION: GET Task as the prescriber shows them.
status_is() {
    call ehr GET "/fhir/Task/$1"
    want 200 "GET Task/$1"
    chk "d['businessStatus']['coding'][0]['code'] == '$2' and d['meta']['versionId'] == '$3' and d['id'] == '$1'" \
        "Task/$1 should be $2 version $3"
    [ "$(hdr ETag)" = "W/\"$3\"" ] || fail "Task/$1: ETag $(hdr ETag), wanted W/\"$3\""
}
# receipt CODE: the answer is a response message about the case in CODE.
receipt() {
    chk "rt == 'Bundle' and d['type'] == 'message' and entries[0]['resourceType'] == 'MessageHeader' and entries[0]['response']['code'] == 'ok' and entries[1]['resourceType'] == 'Task' and entries[1]['businessStatus']['coding'][0]['code'] == '$1'" \
        "a receipt with status $1"
}
refnr_of() { get "entries[1]['identifier'][0]['value']"; }

# --- healthz, metadata, formats ----------------------------------------
call none GET /healthz
want 200 healthz
chk "d['status'] == 'ok'" "healthz says ok"

call none GET /fhir/metadata
want 200 "metadata without a client"
chk "rt == 'CapabilityStatement' and d['fhirVersion'] == '4.0.1'" "metadata is a CapabilityStatement"
hdr Content-Type | grep -q '^application/fhir+json' || fail "metadata: JSON by default"
call none GET '/fhir/metadata?_format=xml'
want 200 "metadata _format=xml"
chk "rt == 'CapabilityStatement'" "metadata in XML"
hdr Content-Type | grep -q '^application/fhir+xml' || fail "_format=xml: Content-Type $(hdr Content-Type)"
call none GET /fhir/metadata -H 'Accept: application/fhir+xml'
chk "rt == 'CapabilityStatement' and xv('f:fhirVersion') == '4.0.1'" "Accept: application/fhir+xml"
call none GET /fhir/metadata -H 'Accept: text/html, application/xml;q=0.9'
chk "rt == 'CapabilityStatement' and text.lstrip().startswith('<')" "Accept: ..., application/xml"
call none GET /fhir/metadata -H 'Accept: */*'
chk "rt == 'CapabilityStatement' and text.lstrip().startswith('{')" "Accept: */* gives JSON"
call none GET /fhir/metadata -H 'Accept: text/html'
want_outcome 406 "Accept: text/html"
call none GET '/fhir/metadata?_format=html'
want_outcome 406 "_format=html"

# --- who is calling ------------------------------------------------------
call none GET /fhir/Task
want_outcome 401 "no client"
call unknown GET /fhir/Task
want_outcome 401 "unknown client"
call ehr0 GET /fhir/Task -H 'X-Klasgw-User: not an hsa id'
want_outcome 400 "X-Klasgw-User that is not an HSA-id"
call ehr0 GET /fhir/Task
want_outcome 401 "EHR search without its user"
call ops GET /fhir/Task
want_outcome 403 "operator searches cases"
call none GET '/fhir/Task?_format=xml'
want_outcome 401 "no client, _format=xml"
chk "text.lstrip().startswith('<')" "a 401 in XML when _format=xml"
call unknown GET /fhir/Task -H 'Accept: application/fhir+xml'
want_outcome 401 "unknown client, Accept XML"
chk "text.lstrip().startswith('<')" "a 401 in XML when Accept asks for it"
hdr Content-Type | grep -q '^application/fhir+xml' || fail "401 in XML: Content-Type $(hdr Content-Type)"
call none GET /metrics
want_outcome 401 "metrics without a client"
call apo1 GET /metrics
want_outcome 403 "metrics for a pharmacy"

# --- submitting a motivation (JSON) -------------------------------------
msg "$EX/valid/motivation-enskild-searched.json" >"$T/m1.json"
post ehr "$PM" "$T/m1.json"
want 200 "EHR submits a motivation"
receipt M
chk "entries[0]['response']['identifier'] == '0b3e7a1c-1d2e-4f50-9a61-000000000001'" \
    "response.identifier names the request's MessageHeader (its fullUrl uuid)"
R=$(refnr_of)
[[ "$R" =~ ^[0-9]{10}$ ]] || fail "referensnummer '$R'"
[ "$(hdr ETag)" = 'W/"1"' ] || fail "receipt ETag $(hdr ETag)"
hdr Content-Location | grep -q "/fhir/Task/$R/_history/1$" || fail "Content-Location $(hdr Content-Location)"
cp "$B" "$T/receipt1"
status_is "$R" M 1

# Replay: the same message again is the same answer and no new case.
post ehr "$PM" "$T/m1.json"
want 200 "replay"
cmp -s "$B" "$T/receipt1" || fail "a replay answered differently"
call ehr GET '/fhir/Task?business-status=M'
chk "d['total'] == 1 and len(entries) == 1 and entries[0]['id'] == '$R'" "one case after a replay"

# The same message id with other content.
id1=$($FJ get "$T/m1.json" "d['identifier']['value'][9:]")
msg "$EX/valid/motivation-enskild-searched.json" --id "$id1" \
    --set "d['entry'][2]['resource']['dosageInstruction'][0]['text'] = '2 ml'" >"$T/m1b.json"
post ehr "$PM" "$T/m1b.json"
want_outcome 409 "same Bundle.identifier, other content"
chk "issues[0]['code'] == 'duplicate'" "duplicate issue code"

# HSA (the simulator): a nurse without licence may not motivate.
msg "$EX/valid/motivation-enskild-searched.json" \
    --set "d['entry'][5]['resource']['identifier'][0]['value'] = 'SE2321000016-NOLIC'" >"$T/m-nolic.json"
call ehr0 POST "$PM" -H 'Content-Type: application/fhir+json' --data-binary "@$T/m-nolic.json" \
    -H 'X-Klasgw-User: SE2321000016-NOLIC'
want_outcome 403 "a prescriber HSA lists without licence"
chk "issues[0]['details']['coding'][0]['code'] == 'ENOTAUTHORISED'" "refused by the HSA check"

# A prescriber submits only as themself.
msg "$EX/valid/motivation-enskild-searched.json" >"$T/m-doc2.json"
post ehr2 "$PM" "$T/m-doc2.json"
want_outcome 403 "DOC2 submits DOC1's motivation"

# --- XML in and out ------------------------------------------------------
msg "$EX/valid/motivation-enskild-searched.xml" >"$T/m2.xml"
post ehr "$PM" "$T/m2.xml" application/fhir+xml
want 200 "XML motivation"
hdr Content-Type | grep -q '^application/fhir+xml' || fail "XML in: XML out ($(hdr Content-Type))"
chk "rt == 'Bundle' and entries == ['MessageHeader', 'Task'] and xv('f:entry/f:resource/f:MessageHeader/f:response/f:code') == 'ok'" "XML receipt"
R2=$(get "xv('f:entry/f:resource/f:Task/f:id')")
[[ "$R2" =~ ^[0-9]{10}$ ]] && [ "$R2" != "$R" ] || fail "XML motivation refnr '$R2'"
msg "$EX/valid/motivation-enskild-searched.xml" >"$T/m3.xml"
post ehr "$PM" "$T/m3.xml" 'text/xml; charset=utf-8' -H 'Accept: application/fhir+json'
want 200 "XML motivation, JSON answer"
receipt M
R3=$(refnr_of)
call ehr GET "/fhir/Task/$R2?_format=xml"
want 200 "GET Task _format=xml"
chk "rt == 'Task' and xv('f:businessStatus/f:coding/f:code') == 'M' and xv('f:identifier/f:value') == '$R2'" "Task in XML"
call ehr GET "/fhir/Task/$R2" -H 'Accept: application/xml'
chk "rt == 'Task' and text.lstrip().startswith('<')" "Task with Accept: application/xml"
call ehr GET "/fhir/Task/$R2?_format=json" -H 'Accept: application/fhir+xml'
chk "rt == 'Task' and text.lstrip().startswith('{')" "_format wins over Accept"
call ehr2 GET "/fhir/Task/$R2?_format=xml"
want_outcome 404 "refusal in XML (not DOC2's case: as if unknown)"
chk "rt == 'OperationOutcome' and len(issues) == 1" "XML OperationOutcome"

# --- refused input -------------------------------------------------------
call ehr POST "$PM" -H 'Content-Type: text/plain' --data-binary "@$T/m1.json"
want_outcome 415 "text/plain body"
call ehr POST "$PM" --data-binary "@$T/m1.json" -H 'Content-Type:'
want_outcome 415 "no Content-Type"
printf '{"resourceType": "Bundle", "type": ' >"$T/bad.json"
post ehr "$PM" "$T/bad.json"
want_outcome 400 "truncated JSON"
printf '<Bundle xmlns="http://hl7.org/fhir"><type value="message"/>' >"$T/bad.xml"
post ehr "$PM" "$T/bad.xml" application/fhir+xml
want_outcome 400 "truncated XML"
post ehr "$PM" "$T/m1.json" application/fhir+xml
want_outcome 400 "JSON sent as XML"
printf '{"resourceType":"Bundle","type":"message","type":"batch"}' >"$T/dupkey.json"
post ehr "$PM" "$T/dupkey.json"
want_outcome 400 "duplicate JSON key"
cat >"$T/dtd.xml" <<'EOF'
<?xml version="1.0"?>
<!DOCTYPE Bundle [<!ENTITY x "boom">]>
<Bundle xmlns="http://hl7.org/fhir"><type value="&x;"/></Bundle>
EOF
post ehr "$PM" "$T/dtd.xml" application/fhir+xml
want_outcome 400 "XML with a DTD"
call ehr POST "$PM" -H 'Content-Type: application/fhir+json'
want_outcome 400 "no body"
head -c 70000 /dev/zero | tr '\0' ' ' >"$T/big.json"
post ehr "$PM" "$T/big.json"
want_outcome 413 "body over max_body_bytes"
post ehr "$PM" "$T/big.json" application/fhir+json -H 'Transfer-Encoding: chunked'
want_outcome 413 "chunked body over max_body_bytes"
post ehr "$PM" "$T/big.json" application/fhir+xml
want_outcome 413 "XML body over max_body_bytes"
chk "text.lstrip().startswith('<')" "a 413 for an XML body is XML"
msg "$EX/invalid/missing-indication.json" >"$T/inv.json"
post ehr "$PM" "$T/inv.json"
want_outcome 422 "motivation without indication"
chk "any(i.get('details', {}).get('coding', [{}])[0].get('code') == 'klas-indication' and any('reasonCode' in e for e in i.get('expression', [])) for i in issues)" \
    "422 names the rule klas-indication and the field reasonCode"
msg "$EX/invalid/missing-indication.json" >"$T/inv.json"
post ehr "$PM" "$T/inv.json" application/fhir+json -H 'Accept: application/fhir+xml'
want 422 "invalid, answer in XML"
chk "rt == 'OperationOutcome' and 'klas-indication' in xall('f:issue/f:details/f:coding/f:code')" "XML 422 names the rule"

# $validate: nothing is stored either way.
post ehr /fhir/Bundle/\$validate "$EX/valid/motivation-enskild-searched.json"
want_outcome 200 "\$validate of a valid message"
chk "all(i['severity'] in ('information', 'warning') for i in issues)" "valid: no errors"
post ehr /fhir/Bundle/\$validate "$EX/invalid/missing-patient-name.json"
want_outcome 200 "\$validate of an invalid message: the outcome is the result"
chk "any(i['severity'] == 'error' for i in issues)" "invalid: an error issue"
post ehr /fhir/\$validate "$EX/invalid/missing-patient-name.json"
want_outcome 200 "\$validate at the base"
post ehr /fhir/Bundle/\$validate "$EX/valid/motivation-enskild-searched.xml" application/fhir+xml
want 200 "\$validate XML"
chk "rt == 'OperationOutcome'" "\$validate XML answer"

# --- search --------------------------------------------------------------
call ehr GET '/fhir/Task?business-status=M&licence-type=EH&drug=Melatonin&_lastUpdated=ge2020-01-01&_count=120'
want 200 "Mina ärenden with every filter"
chk "rt == 'Bundle' and d['type'] == 'searchset' and d['total'] == 3 and sorted(e['id'] for e in entries) == sorted(['$R', '$R2', '$R3']) and all(e['resourceType'] == 'Task' for e in entries)" \
    "DOC1 finds the three motivations, Tasks only"
call ehr GET "/fhir/Task?identifier=http://klasgw.org/fhir/NamingSystem/referensnummer|$R"
chk "d['total'] == 1 and entries[0]['id'] == '$R'" "search by system|referensnummer"
call ehr GET '/fhir/Task?business-status=A,H'
chk "d['total'] == 0" "no case in A or H yet"
call ehr GET '/fhir/Task?licence-type=GH'
chk "d['total'] == 0" "no general licence yet"
call ehr GET '/fhir/Task?_lastUpdated=le2020-01-01'
chk "d['total'] == 0" "nothing changed before 2020"
call ehr GET '/fhir/Task?_count=1'
chk "len(entries) == 1" "_count=1"
call ehr GET '/fhir/Task?_include=*'
chk "d['total'] == 3 and len(entries) > 3 and 'MedicationRequest' in [e['resourceType'] for e in entries]" "_include brings the case's resources"
call ehr2 GET /fhir/Task
chk "d['total'] == 0" "DOC2 sees none of DOC1's cases"
call ehr GET '/fhir/Task?foo=bar'
want_outcome 400 "unknown search parameter"
chk "'foo' in json.dumps(d)" "400 names the parameter"
call ehr GET '/fhir/Task?business-status=X'
want_outcome 400 "unknown status"
call ehr GET '/fhir/Task?licence-type=XX'
want_outcome 400 "unknown licence type"
call ehr GET '/fhir/Task?drug=ab'
want_outcome 400 "drug with 2 characters"
call ehr GET '/fhir/Task?_lastUpdated=2026'
want_outcome 400 "_lastUpdated without prefix"
call ehr GET '/fhir/Task?_count=0'
want_outcome 400 "_count=0"
call lv GET /fhir/Task
chk "d['total'] == 0" "LV sees no motivation without application"

# The pharmacy look-up: referensnummer + personnummer.
call apo2 GET "/fhir/Task?identifier=$R&patient.identifier=$PNR"
want 200 "pharmacy look-up"
chk "d['total'] == 1 and entries[0]['id'] == '$R' and 'MedicationRequest' in [e['resourceType'] for e in entries]" "look-up finds the case with its resources"
chk "all('reasonCode' not in e for e in entries if e['resourceType'] == 'MedicationRequest')" "look-up is redacted"
call apo2 GET "/fhir/Task?identifier=$R&patient.identifier=http://electronichealth.se/identifier/personnummer|$PNR"
chk "d['total'] == 1" "look-up with system|personnummer"
call apo2 GET "/fhir/Task?identifier=$R&patient.identifier=191212121212"
want 200 "look-up with another personnummer"
chk "d['total'] == 0 and len(entries) == 0" "no hit with the wrong personnummer"
call apo2 GET "/fhir/Task?identifier=$R"
chk "d['total'] == 0" "an enskild case is not found by referensnummer alone"
call apo2 GET /fhir/Task
chk "d['total'] == 0" "apotek2 lists nothing of its own"
call apo1 GET /fhir/Task
chk "d['total'] == 3" "apotek1 (the chosen pharmacy) lists its three cases"
# The page limit counts the cases the caller may see, not all cases: a
# newer case of nobody's pharmacy must not push apotek1's out of _count=1.
msg "$EX/valid/motivation-enskild-without-pharmacy.json" >"$T/m-nopharm.json"
post ehr "$PM" "$T/m-nopharm.json"
want 200 "a motivation without chosen pharmacy"
RN=$(refnr_of)
call apo1 GET '/fhir/Task?_count=1'
chk "len(entries) == 1 and d['total'] >= 1 and entries[0]['id'] in ('$R', '$R2', '$R3')" "apotek1's newest case with _count=1"
call ehr GET '/fhir/Task?_count=1'
chk "len(entries) == 1 and d['total'] > 1 and entries[0]['id'] == '$RN'" "DOC1's newest case with _count=1, total counts them all"

# Samordningsnummer, date of birth, protected identity.
for v in samordningsnummer:191212721219 date-of-birth:20100630 protected-identity:$PNR; do
    msg "$EX/valid/motivation-enskild-${v%%:*}.json" >"$T/m-${v%%:*}.json"
    post ehr "$PM" "$T/m-${v%%:*}.json"
    want 200 "motivation with ${v%%:*}"
    RX=$(refnr_of)
    call apo2 GET "/fhir/Task?identifier=$RX&patient.identifier=${v#*:}&_include=*"
    chk "d['total'] == 1 and entries[0]['id'] == '$RX'" "look-up by ${v%%:*}"
    call apo2 GET "/fhir/Task?identifier=$RX&patient.identifier=201006301112"
    chk "d['total'] == 0" "look-up of the ${v%%:*} case with another number"
done
call apo2 GET "/fhir/Task?identifier=$RX&patient.identifier=$PNR&_include=*"
chk "[p['name'][0]['text'] for p in entries if p['resourceType'] == 'Patient'] == ['skyddad identitet'] and [s['code'] for p in entries if p['resourceType'] == 'Patient' for s in p['meta']['security']] == ['R']" \
    "a protected identity reaches the pharmacy as such, labelled restricted"

# --- reads ---------------------------------------------------------------
call ehr2 GET "/fhir/Task/$R"
want_outcome 404 "DOC2 reads DOC1's case (as if unknown)"
call ehr3 GET "/fhir/Task/$R"
want_outcome 404 "DOC3 reads DOC1's case (as if unknown)"
call ehr0 GET "/fhir/Task/$R"
want_outcome 401 "EHR reads without its user"
call apo2 GET "/fhir/Task/$R"
want_outcome 404 "another pharmacy reads the case directly (as if unknown)"
call lv GET "/fhir/Task/$R"
want_outcome 404 "LV reads a motivation without application (as if unknown)"
call ops GET "/fhir/Task/$R"
want_outcome 403 "operator reads a case"
call ehr GET /fhir/Task/2026000000
want_outcome 404 "unknown referensnummer"
call ehr GET /fhir/Task/12
want_outcome 404 "not a referensnummer"
call ehr GET "/fhir/MedicationRequest/$R-3"
want 200 "prescriber reads the MedicationRequest"
chk "rt == 'MedicationRequest' and d['id'] == '$R-3' and 'reasonCode' in d" "prescriber sees the indication"
call apo1 GET "/fhir/MedicationRequest/$R-3"
want 200 "pharmacy reads the MedicationRequest"
chk "rt == 'MedicationRequest' and 'reasonCode' not in d and not any(x['url'].endswith('klas-motivation') for x in d.get('extension', [])) and any(s['code'] == 'REDACTED' for s in d['meta']['security'])" \
    "the pharmacy's MedicationRequest is redacted and says so"
call apo1 GET "/fhir/Patient/$R-4"
chk "rt == 'Patient' and d['identifier'][0]['value'] == '$PNR'" "pharmacy reads the Patient"
call ehr GET "/fhir/Patient/$R-99"
want_outcome 404 "no such resource in the case"
call ehr GET "/fhir/Patient/$R"
want_outcome 404 "a Patient id without position"
call ehr GET "/fhir/Task/$R-2"
want_outcome 404 "a Task id with a position"

# Hidden attachment.
msg "$EX/valid/motivation-enskild-attachments.json" >"$T/m4.json"
post ehr "$PM" "$T/m4.json"
want 200 "motivation with attachments"
RA=$(refnr_of)
call ehr GET "/fhir/DocumentReference/$RA-10"
want 200 "prescriber reads the hidden attachment"
chk "d['description'] == 'Produktinformation 1'" "the hidden attachment"
call apo1 GET "/fhir/DocumentReference/$RA-10"
want_outcome 403 "pharmacy reads the hidden attachment"
call apo1 GET "/fhir/DocumentReference/$RA-11"
want 200 "pharmacy reads the visible attachment"
call apo1 GET "/fhir/DocumentReference/$RA-10/_history/1"
want_outcome 403 "pharmacy vreads the hidden attachment"
call apo1 GET "/fhir/Task?identifier=$RA&patient.identifier=$PNR&_include=*"
chk "d['total'] == 1 and not any(e['resourceType'] == 'DocumentReference' and e['id'] == '$RA-10' for e in entries) and any(e['id'] == '$RA-11' for e in entries)" \
    "the look-up leaves the hidden attachment out"

# --- refusals of case messages: nothing may be stored --------------------
count_outbox() { k outbox list | sed -n 's/^(\([0-9]*\) items\{0,1\})$/\1/p'; }
count_cases() { call "$1" GET "/fhir/Task${2:-}"; get "d['total']"; }
snapshot() {
    echo "outbox=$(count_outbox) ehr=$(count_cases ehr) apo1=$(count_cases apo1) lv=$(count_cases lv) version=$(call ehr GET "/fhir/Task/$R"; get "d['meta']['versionId']")"
}
before=$(snapshot)

post apo1 "$PM" "$T/m-doc2.json"
want_outcome 403 "pharmacy submits a motivation"
post ops "$PM" "$T/m-doc2.json"
want_outcome 403 "operator submits a motivation"
post lv "$PM" "$T/m-doc2.json"
want_outcome 403 "LV submits a motivation"
msg "$EX/valid/decision-bev.json" --refnr "$R" >"$T/bev.json"
post ehr "$PM" "$T/bev.json"
want_outcome 409 "EHR decides (not its event, and not in M)"
post lv "$PM" "$T/bev.json"
want_outcome 409 "LV decides a case in M"
chk "issues[0]['code'] == 'business-rule'" "409 is a business rule"
msg "$EX/valid/application-enskild.json" --refnr "$R" >"$T/app-lv.json"
post lv "$PM" "$T/app-lv.json"
want_outcome 403 "LV applies"
post ehr "$PM" "$T/app-lv.json"
want_outcome 403 "EHR applies"
post ops "$PM" "$T/app-lv.json"
want_outcome 403 "operator applies"
post apo2 "$PM" "$T/app-lv.json"
want_outcome 403 "apotek2 applies in apotek1's name (GLN)"
msg "$EX/valid/application-enskild.json" --refnr "$R" --patient 191212121212 >"$T/app-pnr.json"
post apo1 "$PM" "$T/app-pnr.json"
want_outcome 404 "application naming another patient"
msg "$EX/valid/application-enskild.json" --refnr 2026000000 >"$T/app-none.json"
post apo1 "$PM" "$T/app-none.json"
want_outcome 404 "application for no case"
msg "$EX/valid/application-registered.json" --refnr "$R" >"$T/reg-early.json"
post lv "$PM" "$T/reg-early.json"
want_outcome 409 "LV registers a motivation without application"
msg "$EX/valid/supplement-by-prescriber.json" --refnr "$R" >"$T/supp-early.json"
post ehr2 "$PM" "$T/supp-early.json"
want_outcome 409 "supplement before LV asked for one"
call ehr PUT "/fhir/Task/$R" -H 'Content-Type: application/fhir+json' --data-binary "@$T/m1.json"
want_outcome 405 "PUT Task"
call ehr DELETE "/fhir/Task/$R"
want_outcome 405 "DELETE Task"
call ehr GET "$PM"
want_outcome 405 "GET \$process-message"
call ehr GET /fhir/Nothing
want_outcome 404 "unknown endpoint"
call ehr GET /elsewhere
want_outcome 404 "outside /fhir"

after=$(snapshot)
[ "$before" = "$after" ] || fail "refused messages changed the store: before $before, after $after"

# --- the whole enskild case ----------------------------------------------
msg "$EX/valid/application-enskild.xml" --refnr "$R" >"$T/app.xml"
post apo1 "$PM" "$T/app.xml" application/fhir+xml
want 200 "apotek1 applies (XML)"
chk "rt == 'Bundle' and xv('f:entry/f:resource/f:Task/f:businessStatus/f:coding/f:code') == 'A'" "application receipt in XML"
status_is "$R" A 2
cp "$T/app.xml" "$T/app-replay.xml"
post apo1 "$PM" "$T/app-replay.xml" application/fhir+xml
want 200 "replayed application"
status_is "$R" A 2
msg "$EX/valid/application-enskild.json" --refnr "$R" >"$T/app2.json"
post apo1 "$PM" "$T/app2.json"
want_outcome 409 "a second application on the motivation"
msg "$EX/valid/application-enskild.json" --refnr "$R" --gln "$GLN2" >"$T/app3.json"
post apo2 "$PM" "$T/app3.json"
want_outcome 409 "another pharmacy applies on a locked motivation"
call lv GET "/fhir/Task/$R"
want 200 "LV reads the applied case"
chk "d['businessStatus']['coding'][0]['code'] == 'A'" "LV sees A"
call lv GET "/fhir/MedicationRequest/$R-3"
chk "'reasonCode' in d" "LV sees the indication"

post lv "$PM" "$T/bev.json"
want_outcome 409 "decision before registration"
msg "$EX/valid/application-registered.json" --refnr "$R" >"$T/reg.json"
post apo1 "$PM" "$T/reg.json"
want_outcome 403 "pharmacy registers the application"
post ehr "$PM" "$T/reg.json"
want_outcome 403 "EHR registers the application"
status_is "$R" A 2
post lv "$PM" "$T/reg.json" application/fhir+json -H 'Prefer: return=minimal'
want 200 "LV registers, Prefer: return=minimal"
[ ! -s "$B" ] || fail "return=minimal sent a body: $(head -c 200 "$B")"
[ "$(hdr ETag)" = 'W/"3"' ] || fail "return=minimal: ETag $(hdr ETag)"
status_is "$R" H 3
# In H a decision fits the status: only the role is wrong now.
msg "$EX/valid/decision-bev.json" --refnr "$R" >"$T/bev-h.json"
post ehr "$PM" "$T/bev-h.json"
want_outcome 403 "EHR decides a case in H"
post apo1 "$PM" "$T/bev-h.json"
want_outcome 403 "pharmacy decides a case in H"
post ops "$PM" "$T/bev-h.json"
want_outcome 403 "operator decides a case in H"
msg "$EX/valid/supplement-request-to-prescriber.json" --refnr "$R" >"$T/kb-ehr.json"
post ehr "$PM" "$T/kb-ehr.json"
want_outcome 403 "EHR asks for a supplement"
post apo1 "$PM" "$T/kb-ehr.json"
want_outcome 403 "pharmacy asks for a supplement"
status_is "$R" H 3

msg "$EX/valid/supplement-request-to-prescriber.json" --refnr "$R" >"$T/kb.json"
post lv "$PM" "$T/kb.json" application/fhir+json -H 'If-Match: W/"2"'
want_outcome 412 "If-Match with a stale version"
status_is "$R" H 3
post lv "$PM" "$T/kb.json" application/fhir+json -H 'If-Match: banana'
want_outcome 400 "If-Match that is no version"
post lv "$PM" "$T/kb.json" application/fhir+json -H 'If-Match: W/"3"'
want 200 "supplement request with the current version"
receipt KB
status_is "$R" KB 4

msg "$EX/valid/supplement-by-prescriber.json" --refnr "$R" \
    --set "d['entry'][3]['resource']['identifier'][0]['value'] = 'SE2321000016-DOC3'; d['entry'][4]['resource']['identifier'][0]['value'] = 'SE2321000016-KLI2'" >"$T/k-other.json"
post ehr3 "$PM" "$T/k-other.json"
want_outcome 403 "a prescriber of another clinic supplements"
status_is "$R" KB 4
msg "$EX/valid/supplement-by-prescriber.json" --refnr "$R" >"$T/k-doc2.json"
post ehr3 "$PM" "$T/k-doc2.json"
want_outcome 403 "the EHR names DOC3, the supplement is signed by DOC2"
chk "'EHR names' in json.dumps(d)" "403 says the user the EHR names is not the sender"
post ehr "$PM" "$T/k-doc2.json"
want_outcome 403 "the EHR names DOC1, the supplement is signed by DOC2"
status_is "$R" KB 4
msg "$EX/valid/supplement-by-prescriber.xml" --refnr "$R" >"$T/k.xml"
post ehr2 "$PM" "$T/k.xml" application/fhir+xml
want 200 "a colleague of the same clinic supplements (XML)"
status_is "$R" K 5
msg "$EX/valid/application-registered.json" --refnr "$R" >"$T/reg2.json"
post lv "$PM" "$T/reg2.json"
want 200 "LV has the supplement"
receipt H
status_is "$R" H 6
msg "$EX/valid/decision-bev.json" --refnr "$R" >"$T/bev2.json"
post lv "$PM" "$T/bev2.json"
want 200 "LV grants"
receipt Bev
status_is "$R" Bev 7
chk "d['status'] == 'completed'" "a granted case is a completed Task"
post lv "$PM" "$T/bev2.json"
want 200 "replayed decision"
status_is "$R" Bev 7
msg "$EX/valid/decision-avs.json" --refnr "$R" >"$T/avs-late.json"
post lv "$PM" "$T/avs-late.json"
want_outcome 409 "a second decision"

# Re-application on the granted licence: a new case, without motivation.
sed "s/2025112233/$R/" "$EX/valid/application-reapply.json" >"$T/reapply-src.json"
msg "$T/reapply-src.json" --patient 191212121212 >"$T/reapply-pnr.json"
post apo1 "$PM" "$T/reapply-pnr.json"
want_outcome 404 "re-application naming another patient"
msg "$T/reapply-src.json" >"$T/reapply.json"
post ehr "$PM" "$T/reapply.json"
want_outcome 403 "EHR re-applies"
post apo1 "$PM" "$T/reapply.json"
want 200 "apotek1 re-applies on the granted licence"
receipt A
RE=$(refnr_of)
[ "$RE" != "$R" ] || fail "a re-application is a new case"
status_is "$R" Bev 7
call ehr GET "/fhir/Task/$RE"
want 200 "the prescriber reads the re-application"
chk "d['businessStatus']['coding'][0]['code'] == 'A' and d['meta']['versionId'] == '1'" "the re-application's case is A, version 1"

# ETag / If-None-Match.
call ehr GET "/fhir/Task/$R" -H 'If-None-Match: W/"7"'
want 304 "If-None-Match with the current version"
[ ! -s "$B" ] || fail "304 with a body: $(head -c 300 "$B")"
call ehr GET "/fhir/Task/$R" -H 'If-None-Match: W/"6"'
want 200 "If-None-Match with an old version"

# History and versions.
call ehr GET "/fhir/Task/$R/_history"
want 200 "history"
chk "rt == 'Bundle' and d['type'] == 'history' and d['total'] == 7 and [e['meta']['versionId'] for e in entries] == ['7','6','5','4','3','2','1'] and [e['businessStatus']['coding'][0]['code'] for e in entries] == ['Bev','H','K','KB','H','A','M']" \
    "history: seven versions, newest first, M A H KB H K H Bev"
call ehr GET "/fhir/Task/$R/_history?_format=xml"
chk "rt == 'Bundle' and xall('f:entry/f:resource/f:Task/f:meta/f:versionId') == ['7','6','5','4','3','2','1']" "history in XML"
for v in 1:M 2:A 4:KB 5:K 7:Bev; do
    call ehr GET "/fhir/Task/$R/_history/${v%%:*}"
    want 200 "vread ${v%%:*}"
    chk "d['meta']['versionId'] == '${v%%:*}' and d['businessStatus']['coding'][0]['code'] == '${v#*:}'" "vread $v"
done
call ehr GET "/fhir/Task/$R/_history/8"
want_outcome 404 "vread of a version to come"
call ehr GET "/fhir/Task/$R/_history/0"
want_outcome 404 "vread 0"
call apo1 GET "/fhir/Task/$R/_history"
want 200 "pharmacy reads the history"
call ehr2 GET "/fhir/Task/$R/_history"
want_outcome 404 "DOC2 reads DOC1's history (as if unknown)"
call apo2 GET "/fhir/Task/$R/_history/1"
want_outcome 404 "another pharmacy vreads (as if unknown)"

# --- a general licence: found by referensnummer alone --------------------
msg "$EX/valid/motivation-generell-unit.json" >"$T/g.json"
post ehr "$PM" "$T/g.json"
want 200 "general licence motivation"
G=$(refnr_of)
status_is "$G" M 1
call apo2 GET "/fhir/Task?identifier=$G"
want 200 "general licence look-up by referensnummer"
chk "d['total'] == 1 and entries[0]['id'] == '$G'" "apotek2 finds the general licence"
call apo2 GET "/fhir/Task?identifier=$G&patient.identifier=$PNR"
chk "d['total'] == 1" "a personnummer does not hide a general licence"
msg "$EX/valid/application-generell.json" --refnr "$G" --gln "$GLN2" >"$T/ga.json"
post apo2 "$PM" "$T/ga.json"
want 200 "apotek2 applies for the general licence"
status_is "$G" A 2
call apo2 GET "/fhir/Task/$G"
want 200 "the applying pharmacy reads the case directly"
msg "$EX/valid/application-registered.json" --refnr "$G" \
    --set "del d['entry'][2]; del d['entry'][1]['resource']['for']" >"$T/greg.json"
post lv "$PM" "$T/greg.json"
want 200 "LV registers the general application"
status_is "$G" H 3
msg "$EX/valid/decision-avs.json" --refnr "$G" \
    --set "del d['entry'][2]; del d['entry'][1]['resource']['for']" >"$T/gavs.json"
post lv "$PM" "$T/gavs.json"
want 200 "LV rejects the general licence"
status_is "$G" Avs 4
call ehr GET '/fhir/Task?licence-type=GH'
chk "d['total'] == 1 and entries[0]['id'] == '$G'" "search by licence type GH"
call ehr GET '/fhir/Task?business-status=Bev,Avs'
chk "sorted(e['id'] for e in entries) == sorted(['$R', '$G'])" "search by two statuses"
msg "$EX/valid/motivation-enskild-without-pharmacy.json" >"$T/m-new.json"
post ehr "$PM" "$T/m-new.json"
want 200 "a newer motivation"
call lv GET '/fhir/Task?_count=1'
chk "len(entries) == 1 and d['total'] >= 1 and entries[0]['id'] == '$G'" "LV's newest visible case with _count=1, past a newer motivation"
call lv GET '/fhir/Task?business-status=M'
chk "d['total'] == 0" "LV asks for motivations: none"
call lv GET '/fhir/Task?business-status=M,Bev'
chk "d['total'] == 1 and entries[0]['id'] == '$R'" "LV asks for M or Bev: the granted case only"

# --- subscriptions -------------------------------------------------------
cat >"$T/sub.json" <<'EOF'
{"resourceType": "Subscription", "status": "requested", "reason": "KLAS",
 "criteria": "Task", "channel": {"type": "rest-hook",
 "endpoint": "https://apotek.example.org/klas-hook"}}
EOF
post apo1 /fhir/Subscription "$T/sub.json"
want 201 "apotek1 subscribes"
chk "rt == 'Subscription' and d['status'] == 'active' and d['criteria'].endswith('$GLN1') and d['channel']['endpoint'] == 'https://apotek.example.org/klas-hook'" "the subscription, scoped to the GLN"
S=$(get "d['id']")
hdr Location | grep -q "/fhir/Subscription/$S$" || fail "Subscription Location: $(hdr Location)"
call apo1 GET "/fhir/Subscription/$S"
want 200 "apotek1 reads its subscription"
chk "d['id'] == '$S'" "the same subscription"
call apo1 GET "/fhir/Subscription/$S?_format=xml"
chk "rt == 'Subscription' and xv('f:channel/f:type') == 'rest-hook'" "subscription in XML"
call apo2 GET "/fhir/Subscription/$S"
want_outcome 404 "apotek2 reads apotek1's subscription"
call apo2 DELETE "/fhir/Subscription/$S"
want_outcome 404 "apotek2 deletes apotek1's subscription"
call ehr GET "/fhir/Subscription/$S"
want_outcome 403 "an EHR reads a subscription"
post ehr /fhir/Subscription "$T/sub.json"
want_outcome 403 "an EHR subscribes"
post lv /fhir/Subscription "$T/sub.json"
want_outcome 403 "LV subscribes"
sed 's/rest-hook/websocket/' "$T/sub.json" >"$T/sub-ws.json"
post apo1 /fhir/Subscription "$T/sub-ws.json"
want_outcome 422 "a websocket subscription"
sed 's#https://apotek.example.org/klas-hook#file:///etc/passwd#' "$T/sub.json" >"$T/sub-file.json"
post apo1 /fhir/Subscription "$T/sub-file.json"
want_outcome 422 "a file: endpoint"
post apo1 /fhir/Subscription "$T/m1.json"
want_outcome 422 "a Bundle posted as Subscription"
call apo1 DELETE "/fhir/Subscription/$S"
want 204 "apotek1 deletes its subscription"
call apo1 GET "/fhir/Subscription/$S"
want_outcome 404 "the deleted subscription"
call apo1 PUT "/fhir/Subscription/$S" -H 'Content-Type: application/fhir+json' --data-binary "@$T/sub.json"
want_outcome 405 "PUT Subscription"

# --- concurrency: the same message at once, applications racing ----------
msg "$EX/valid/motivation-enskild-searched.json" >"$T/race.json"
pids=()
for i in $(seq 1 12); do
    curl -s -o "$T/race-$i" -w '%{http_code}' -H 'X-Klasgw-Client: SE2321000016-EHR1' \
        -H 'X-Klasgw-User: SE2321000016-DOC1' -H 'Content-Type: application/fhir+json' \
        --data-binary "@$T/race.json" "$GW_URL$PM" >"$T/race-$i.st" &
    pids+=($!)
done
wait "${pids[@]}"
[ "$(cat "$T"/race-*.st | tr -d '\n')" = "$(printf '200%.0s' $(seq 1 12))" ] ||
    fail "12 identical submissions at once: $(cat "$T"/race-*.st)"
RR=$($FJ get "$T/race-1" "entries[1]['id']")
for i in $(seq 2 12); do
    cmp -s "$T/race-1" "$T/race-$i" || fail "identical submissions at once answered differently"
done
call ehr GET "/fhir/Task?identifier=$RR"
chk "d['total'] == 1" "one case from 12 identical submissions"
status_is "$RR" M 1
pids=()
for i in $(seq 1 12); do
    msg "$EX/valid/application-enskild.json" --refnr "$RR" >"$T/race-app-$i.json"
done
for i in $(seq 1 12); do
    curl -s -o /dev/null -w '%{http_code}\n' -H 'X-Klasgw-Client: SE7350000000-APO1' \
        -H 'Content-Type: application/fhir+json' --data-binary "@$T/race-app-$i.json" \
        "$GW_URL$PM" >"$T/race-app-$i.st" &
    pids+=($!)
done
wait "${pids[@]}"
[ "$(cat "$T"/race-app-*.st | sort | uniq -c | tr -s ' \n' ' ')" = " 1 200 11 409 " ] ||
    fail "12 applications at once: $(cat "$T"/race-app-*.st | sort | uniq -c)"
status_is "$RR" A 2

# --- metrics -------------------------------------------------------------
call ops GET /metrics
want 200 "operator reads metrics"
for m in 'klasgw_http_requests_total{route="process-message",status="200"}' \
    'klasgw_http_requests_total{route="process-message",status="409"}' \
    'klasgw_outbox_queue_depth{' klasgw_store_commit_batch_size_count \
    'klasgw_store_commit_batch_size_bucket{le=' klasgw_http_request_duration_seconds_bucket \
    'klasgw_view_cache_entries{kind="limit"}'; do
    grep -qF "$m" "$B" || fail "metrics lack $m"
done
n409=$(grep -F 'klasgw_http_requests_total{route="process-message",status="409"}' "$B" | awk '{print $2}')
[ "$n409" -ge 8 ] || fail "metrics count $n409 conflicts on process-message"

# --- afterwards: audit chain, outbox -------------------------------------
gw_stop
k audit verify >"$T/verify" || fail "audit verify: $(cat "$T/verify")"
grep -q "audit log intact" "$T/verify" || fail "audit verify: $(cat "$T/verify")"
k audit export --case "$R" >"$T/audit.json"
grep -q "$PNR" "$T/audit.json" && fail "a personnummer in the audit log"
k outbox list >"$T/outbox"
grep -c " lv " "$T/outbox" | grep -qx 5 || fail "outbox: wanted 5 items to LV (3 applications, 1 re-application, 1 supplement): $(cat "$T/outbox")"
grep " lv " "$T/outbox" | grep -q " application " || fail "outbox: no application to LV"
echo "ok: http api ($(grep -c . "$T/verify") line audit verify: $(cat "$T/verify"))"
