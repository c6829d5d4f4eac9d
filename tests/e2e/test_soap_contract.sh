#!/usr/bin/env bash
# Contract test over mutual TLS, as the national platform connects: a test
# CA made here (pki.sh), the gateway serves https only and requires client
# certificates, one per actor of [clients] (EHR, pharmacy, LV), and calls
# the HSA simulator over mutual TLS too.
#   - python3-zeep loads every WSDL the gateway serves and calls every
#     operation, valid and invalid (tests/e2e/soap_contract.py), each
#     actor with its own certificate (requests: cert=, verify=CA);
#   - the gSOAP-generated C client (tests/tools/soapclient.c, over gSOAP's
#     curl plugin: libcurl and GnuTLS, as the gateway calls out) does the
#     same;
#   - both: without a client certificate, or with one from another CA, no
#     answer (refused handshake or SOAP Fault 401);
#   - the operations each client got answers from must be every operation
#     of every WSDL the gateway serves (GET /soap/<Name>?wsdl of each
#     interaction in wsdl/): a new interaction nobody calls fails here;
#   - HSA's contract (GetCredentialsForPersonIncludingProtectedPerson v2,
#     the consumer-side WSDL in wsdl/): zeep, as the gateway over mutual
#     TLS, asks the HSA simulator for every person of its fixture and one
#     it does not know; each answer must validate against the Responder
#     XSD (what Inera's TKB 2.4.4 lists, see the core schema) and carry
#     the commission the gateway checks;
#   - hostile envelopes get SOAP faults and nothing breaks.
# Plain-HTTP SOAP (X-Klasgw-Client) is covered by test_soap_answers and
# the other test_soap_* scripts; it adds nothing to the contract here.
set -euo pipefail
. "$(dirname "$0")/soap_lib.sh"
# A TLS handshake with the HSA simulator takes more than soap_lib's 1 s
# under AddressSanitizer on a loaded machine; no test here waits for it.
export KLASGW_HSA_TIMEOUT_MS=${KLASGW_HSA_TIMEOUT_MS:-5000}
soap_setup 18160
soap_tls
start_hsa
export KLASGW_LV_URL=   # no LV here: items wait in the outbox
start_gateway
EHR=serial:SE2321000016-EHR1
who_args "$EHR"

# all_called LOG WHO: every served operation answered WHO's client.
all_called() {
    sed -n 's/^called: //p' "$1" | sort -u >"$dir/called"
    comm -23 "$dir/served" "$dir/called" >"$dir/missing"
    [ ! -s "$dir/missing" ] || fail "$2 did not call (or got no answer from): $(tr '\n' ' ' <"$dir/missing")"
}

# python3-zeep (Debian's package, hence /usr/bin/python3). It also lists
# what the gateway serves ("served: <Operation>"): each interaction of
# wsdl/ whose WSDL GET /soap/<Name>?wsdl hands out (404: consumer side,
# the gateway calls it on others), the operations of that WSDL's
# portType; and it checks HSA's contract on the HSA simulator.
/usr/bin/python3 "$GW_SOURCE_DIR/tests/e2e/soap_contract.py" "$BASE" "$GW_SOURCE_DIR" "$SOAP_PKI" \
    "https://127.0.0.1:$HSA_PORT/hsa" >"$dir/zeep.log" 2>&1 || { cat "$dir/zeep.log"; fail "zeep contract test"; }
grep -q '^0 failure(s)$' "$dir/zeep.log" || { cat "$dir/zeep.log"; fail zeep; }
sed -n 's/^served: //p' "$dir/zeep.log" | sort -u >"$dir/served"
[ -s "$dir/served" ] || fail "the gateway serves no WSDL"
all_called "$dir/zeep.log" zeep

"$GW_BUILD_DIR/tests/soapclient" "$BASE" "$GW_SOURCE_DIR" "$SOAP_PKI" >"$dir/c.log" 2>&1 \
    || { cat "$dir/c.log"; fail "gSOAP C client contract test"; }
all_called "$dir/c.log" "the gSOAP client"
grep -q 'event=sim_hsa_lookup person=SE2321000016-DOC1 found=1' "$dir/hsa.log" ||
    fail "HSA was not asked over mutual TLS: $(tail -3 "$dir/hsa.log")"

# Hostile or broken envelopes: faults (HTTP 500), never a crash.
post() { curl -s -o "$dir/out" -w '%{http_code}' -H 'Content-Type: text/xml' \
    "${WHO[@]}" --data-binary "$1" "$BASE/soap/SubmitLicenseMotivation"; }
[ "$(post '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>')" = 500 ] \
    || fail "DOCTYPE not refused"
[ "$(post '<a/>')" = 500 ] && grep -q 'SOAP 1.1 or 1.2' "$dir/out" || fail "not an envelope"
[ "$(post '<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>')" = 500 ] \
    || fail "empty Body"
[ "$(post 'not xml at all')" = 500 ] || fail "garbage"
[ "$(curl -s -o /dev/null -w '%{http_code}' "${WHO[@]}" "$BASE/soap/Nope?wsdl")" = 404 ] || fail "unknown WSDL"
[ "$(curl -s -o /dev/null -w '%{http_code}' "${WHO[@]}" "$BASE/soap/..%2Fsrc%2Fmain.c")" = 404 ] || fail "path escape"
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
curl -sf "${WHO[@]}" "$BASE/healthz" >/dev/null || fail "gateway died"
! grep -q '201006301111' "$dir/gw.log" "$dir/hsa.log" || fail "personal data logged"
echo "ok: SOAP contracts over mutual TLS, zeep and gSOAP, every served operation: $(tr '\n' ' ' <"$dir/served")"
