#!/usr/bin/env bash
# Contract test: python3-zeep loads every WSDL the gateway serves and calls
# every operation, valid and invalid (tests/e2e/soap_contract.py); then the
# gSOAP-generated C client (tests/tools/soapclient.c) does the same; then
# hostile envelopes get SOAP faults and nothing breaks.
set -euo pipefail
. "$(dirname "$0")/soap_lib.sh"
soap_setup 18160
start_hsa
export KLASGW_LV_URL=   # no LV here: items wait in the outbox
start_gateway

PY=/usr/bin/python3
"$PY" -c 'import zeep' 2>/dev/null || PY=python3
"$PY" "$GW_SOURCE_DIR/tests/e2e/soap_contract.py" "$BASE" "$GW_SOURCE_DIR" \
    >"$dir/zeep.log" 2>&1 || { cat "$dir/zeep.log"; fail "zeep contract test"; }
grep -q '^0 failure(s)$' "$dir/zeep.log" || { cat "$dir/zeep.log"; fail zeep; }

"$GW_BUILD_DIR/tests/soapclient" "$BASE" "$GW_SOURCE_DIR" >"$dir/c.log" 2>&1 \
    || { cat "$dir/c.log"; fail "gSOAP C client contract test"; }

# Hostile or broken envelopes: faults (HTTP 500), never a crash.
post() { curl -s -o "$dir/out" -w '%{http_code}' -H 'Content-Type: text/xml' \
    -H 'X-Klasgw-Client: serial:SE2321000016-EHR1' --data-binary "$1" \
    "$BASE/soap/SubmitLicenseMotivation"; }
[ "$(post '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')" = 500 ] \
    || fail "DOCTYPE not refused"
[ "$(post '<a/>')" = 500 ] && grep -q 'SOAP 1.1 or 1.2' "$dir/out" || fail "not an envelope"
[ "$(post '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>')" = 500 ] \
    || fail "empty Body"
[ "$(post 'not xml at all')" = 500 ] || fail "garbage"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/soap/Nope?wsdl")" = 404 ] || fail "unknown WSDL"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$BASE/soap/..%2Fsrc%2Fmain.c")" = 404 ] || fail "path escape"
# Many long faulty values (UTF-8): still one INVALID_REQUEST answer with
# the fields named, however long the text gets.
long=$(printf 'Å%.0s' $(seq 1 300))
many=""; for i in 1 2 3 4 5 6 7 8; do many="$many<r:caseStatus>$long$i</r:caseStatus>"; done
envelope GetLicenseCases "$many<r:drug>$long</r:drug><r:maxHits>0</r:maxHits>" >"$dir/long.xml"
soap_call GetLicenseCases serial:SE2321000016-EHR1 SE2321000016-DOC1 "$dir/long.xml" >"$dir/r"
[ "$(cat "$dir/status")" = 200 ] || fail "long errors: HTTP $(cat "$dir/status")"
grep -q 'INVALID_REQUEST' "$dir/r" && grep -q "caseStatus" "$dir/r" || fail "long errors: $(head -c 600 "$dir/r")"
/usr/bin/python3 -c 'import sys; open(sys.argv[1], encoding="utf-8").read()' "$dir/r" \
    || fail "long errors: the answer is not UTF-8"
# RecordDispensing with padded values (leading zeros, spaces): refused
# naming the field (by the XSD or as too long), never cut to another value.
APO=serial:SE7350000000-APO1
zeros=$(printf '0%.0s' $(seq 1 80))
envelope RecordDispensing "<r:dispensingId>sh-disp-1</r:dispensingId><r:referenceNumber>2026000001</r:referenceNumber><r:amount>${zeros}12</r:amount><r:kind>prescription</r:kind><r:patientId>201006301111</r:patientId>" >"$dir/rdp.xml"
soap_call RecordDispensing "$APO" "" "$dir/rdp.xml" >"$dir/r"
grep -q '>INVALID_REQUEST</core:errorCode>' "$dir/r" && grep -q 'amount' "$dir/r" \
    || fail "RecordDispensing, padded amount: $(head -c 600 "$dir/r")"
envelope RecordDispensing "<r:dispensingId>sh-disp-2</r:dispensingId><r:referenceNumber>2026000001</r:referenceNumber><r:amount>1</r:amount><r:kind>prescription</r:kind><r:patientId>201006301111</r:patientId><r:dispensedOn>$(printf ' %.0s' $(seq 1 80))2026-11-24</r:dispensedOn>" >"$dir/rdp.xml"
soap_call RecordDispensing "$APO" "" "$dir/rdp.xml" >"$dir/r"
grep -q '>INVALID_REQUEST</core:errorCode>' "$dir/r" && grep -q 'dispensedOn' "$dir/r" \
    || fail "RecordDispensing, padded date: $(head -c 600 "$dir/r")"
curl -sf "$BASE/healthz" >/dev/null || fail "gateway died"
echo "ok: SOAP contracts (zeep and gSOAP)"
