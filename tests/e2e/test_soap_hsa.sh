#!/usr/bin/env bash
# A motivation submitted over SOAP is checked in HSA (the simulator):
# licensed and commissioned prescribers pass, the unlicensed and the
# uncommissioned are refused naming the field, nothing is stored for a
# refusal; HSA down or slow without a cached answer is a SOAP fault
# (TECHNICAL_ERROR, HTTP 500) and nothing is stored; a fresh cached answer
# still works while HSA is down.
set -euo pipefail
. "$(dirname "$0")/soap_lib.sh"
soap_setup 18120
start_hsa
start_gateway
EHR=serial:SE2321000016-EHR1

submit_file "$dir/ok.xml" SE2321000016-DOC1 hsa-ok-1
soap_call SubmitLicenseMotivation $EHR SE2321000016-DOC1 "$dir/ok.xml" >"$dir/r1"
grep -q '<core:resultCode[^>]*>OK<' "$dir/r1" || fail "DOC1 refused: $(cat "$dir/r1")"
ref=$(refnr_of <"$dir/r1"); [ ${#ref} -eq 10 ] || fail "no reference number"
grep -q 'sim_hsa_lookup person=SE2321000016-DOC1 found=1' "$dir/hsa.log" \
    || fail "HSA was not asked about DOC1"

# A dentist is a prescriber too; a protected person is decided like anyone.
for who in SE2321000016-TAND SE2321000016-SKYD; do
    submit_file "$dir/p.xml" $who "hsa-ok-$who"
    soap_call SubmitLicenseMotivation $EHR $who "$dir/p.xml" >"$dir/r"
    grep -q '>OK<' "$dir/r" || fail "$who refused: $(cat "$dir/r")"
done

# Refusals: APPLICATION_ERROR naming the field, HTTP 200, nothing stored.
check_refused() {   # who field
    submit_file "$dir/bad.xml" "$1" "hsa-bad-$1"
    soap_call SubmitLicenseMotivation $EHR "$1" "$dir/bad.xml" >"$dir/r"
    [ "$(cat "$dir/status")" = 200 ] || fail "$1: HTTP $(cat "$dir/status")"
    grep -q '<core:errorCode[^>]*>APPLICATION_ERROR<' "$dir/r" || fail "$1: $(cat "$dir/r")"
    grep -q "$2" "$dir/r" || fail "$1: field $2 not named: $(cat "$dir/r")"
}
check_refused SE2321000016-NOLIC Practitioner.qualification
check_refused SE2321000016-NOCOM PractitionerRole.organization
check_refused SE2321000016-ENDED PractitionerRole.organization
check_refused SE2321000016-NOBODY Practitioner.identifier
for who in NOLIC NOCOM ENDED NOBODY; do
    envelope GetLicenseCases "" >"$dir/q.xml"
    soap_call GetLicenseCases $EHR SE2321000016-$who "$dir/q.xml" >"$dir/r"
    grep -q '>OK<' "$dir/r" || fail "GetLicenseCases: $(cat "$dir/r")"
    ! grep -q '<licenseCase>' "$dir/r" || fail "a refused motivation was stored ($who)"
done

# HSA down: DOC1 is cached (fresh), DOC2 never asked -> fault, not stored.
kill "$HSA_PID"; wait "$HSA_PID" 2>/dev/null || true
submit_file "$dir/c.xml" SE2321000016-DOC1 hsa-cached-1
soap_call SubmitLicenseMotivation $EHR SE2321000016-DOC1 "$dir/c.xml" >"$dir/r"
grep -q '>OK<' "$dir/r" || fail "cached answer not used: $(cat "$dir/r")"
submit_file "$dir/d.xml" SE2321000016-DOC2 hsa-down-1
soap_call SubmitLicenseMotivation $EHR SE2321000016-DOC2 "$dir/d.xml" >"$dir/r"
[ "$(cat "$dir/status")" = 500 ] || fail "HSA down: HTTP $(cat "$dir/status")"
grep -q '<soap:Fault>' "$dir/r" && grep -q 'TECHNICAL_ERROR' "$dir/r" \
    || fail "HSA down: no fault: $(cat "$dir/r")"
envelope GetLicenseCases "" >"$dir/q.xml"
soap_call GetLicenseCases $EHR SE2321000016-DOC2 "$dir/q.xml" >"$dir/r"
! grep -q '<licenseCase>' "$dir/r" || fail "stored although HSA was down"

# The same over REST: 503 with an OperationOutcome.
example motivation-enskild-searched.xml | sed 's/SE2321000016-DOC1/SE2321000016-DOC2/' >"$dir/m.xml"
code=$(curl -s -o "$dir/rest" -w '%{http_code}' -H 'Content-Type: application/fhir+xml' \
    -H "X-Klasgw-Client: $EHR" -H 'X-Klasgw-User: SE2321000016-DOC2' \
    --data-binary @"$dir/m.xml" "$BASE/fhir/\$process-message")
[ "$code" = 503 ] || fail "REST with HSA down: HTTP $code"

# HSA slow (past hsa.timeout_ms = 1000): the same fault.
start_hsa --fail slow --slow-ms 3000
soap_call SubmitLicenseMotivation $EHR SE2321000016-DOC2 "$dir/d.xml" >"$dir/r"
[ "$(cat "$dir/status")" = 500 ] || fail "HSA slow: HTTP $(cat "$dir/status")"
grep -q 'TECHNICAL_ERROR' "$dir/r" || fail "HSA slow: $(cat "$dir/r")"
grep -q 'event=hsa_call_failed' "$dir/gw.log" || fail "no log line for HSA failure"
# No names from HSA or patient data in the gateway's log.
! grep -q 'Läkarsson\|201006301111\|Testsson' "$dir/gw.log" || fail "personal data logged"
echo "ok: HSA checks over SOAP"
