#!/usr/bin/env bash
# An application reaches LV (the simulator) exactly once, also when LV
# drops the first answer after registering (the resend carries the same
# messageId and LV drops it as a duplicate), when LV answers SOAP faults
# (HTTP 500, and inside HTTP 200) for the first attempts, and when it is
# down. LV then calls back over SOAP as role lv (ReportCaseRegistered,
# ReportDecision) and the case moves to H and Bev; on command
# (sim lv --call) it decides another case.
set -euo pipefail
. "$(dirname "$0")/soap_lib.sh"
soap_setup 18140
EHR=serial:SE2321000016-EHR1
APO=serial:SE7350000000-APO1

# One case: submit (DOC1), then apply as the pharmacy; prints the refnr.
new_case() {   # tag
    local ref b
    submit_file "$dir/s-$1.xml" SE2321000016-DOC1 "lv-$1"
    ref=$(soap_call SubmitLicenseMotivation $EHR SE2321000016-DOC1 "$dir/s-$1.xml" | refnr_of)
    [ ${#ref} -eq 10 ] || fail "$1: submit: $(cat "$dir/out")"
    b=$(example application-enskild.xml "$ref")
    envelope CreateLicenseApplication "<r:messageId>app-$1</r:messageId><r:referenceNumber>$ref</r:referenceNumber><r:application>$b</r:application>" >"$dir/a-$1.xml"
    soap_call CreateLicenseApplication $APO "" "$dir/a-$1.xml" >"$dir/r-$1"
    grep -q '<caseStatus>A</caseStatus>' "$dir/r-$1" || fail "$1: apply: $(cat "$dir/r-$1")"
    echo "$ref"
}

# Waits until LV's log has a line matching $1 (at most ~10 s).
wait_log() {
    local i
    for i in $(seq 1 200); do
        grep -q "$1" "$dir/lv.log" && return 0
        sleep 0.05
    done
    cat "$dir/lv.log" >&2; grep -v event=request "$dir/gw.log" | tail -20 >&2
    fail "LV never logged: $1"
}

status_of() {   # refnr -> KLAS status as the EHR sees it
    envelope GetLicenseCases "<r:referenceNumber>$1</r:referenceNumber>" >"$dir/q.xml"
    soap_call GetLicenseCases $EHR SE2321000016-DOC1 "$dir/q.xml" |
        sed -n 's:.*<core\:caseStatus[^>]*>\([A-Za-z]*\)<.*:\1:p'
}

start_hsa
# Round 1: LV registers, then drops the answer once; the resend is a
# duplicate; then LV reports registered and decides Bev.
start_lv --fail drop --fail-count 1 --then registered,Bev
start_gateway
ref=$(new_case drop)
wait_log "action=Bev refnr=$ref result=OK"
[ "$(grep -c "sim_lv_application refnr=$ref .*duplicate=0" "$dir/lv.log")" -eq 1 ] \
    || fail "drop: not registered exactly once: $(grep "$ref" "$dir/lv.log")"
grep -q "sim_lv_application refnr=$ref .*duplicate=1" "$dir/lv.log" \
    || fail "drop: the resend did not happen"
grep -q "action=registered refnr=$ref result=OK" "$dir/lv.log" || fail "registered callback"
[ "$(status_of "$ref")" = Bev ] || fail "drop: status $(status_of "$ref"), expected Bev"

# Round 2: two SOAP faults (HTTP 500), then a fault inside HTTP 200.
for mode in fault fault200 down; do
    kill "$LV_PID"; wait "$LV_PID" 2>/dev/null || true
    start_lv --fail $mode --fail-count 2 --then registered
    ref=$(new_case "$mode")
    wait_log "action=registered refnr=$ref result=OK"
    [ "$(grep -c "sim_lv_application refnr=$ref " "$dir/lv.log")" -eq 1 ] \
        || fail "$mode: LV saw the application $(grep -c "refnr=$ref " "$dir/lv.log") times"
    [ "$(status_of "$ref")" = H ] || fail "$mode: status $(status_of "$ref"), expected H"
done
# LV on command: one decision for the last case, then the simulator exits.
"$KLASGW" -c "$CONF" sim lv --call Avi --refnr "$ref" --patient 201006301111 \
    --gateway "$BASE" >"$dir/call.log" 2>&1 || fail "sim lv --call: $(cat "$dir/call.log")"
[ "$(status_of "$ref")" = Avi ] || fail "--call: status $(status_of "$ref"), expected Avi"
grep -q 'event=lv_delivery .*outcome=retry detail="LV answered a SOAP fault (HTTP 200)"' "$dir/gw.log" \
    || fail "a fault inside HTTP 200 was not retried as a fault"
grep -q 'event=lv_delivery .*outcome=retry detail="LV answered a SOAP fault (HTTP 500)"' "$dir/gw.log" \
    || fail "a SOAP fault was not retried"
! grep -q 'outbox_dead_letter' "$dir/gw.log" || fail "a dead letter: $(grep dead_letter "$dir/gw.log")"
! grep -q '201006301111\|Testsson' "$dir/gw.log" "$dir/lv.log" || fail "personal data logged"
echo "ok: LV delivery exactly once"
