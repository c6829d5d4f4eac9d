#!/usr/bin/env bash
# A real third-party FHIR client against the gateway: fhir-kit-client
# (npm, pinned in tests/fhirclient) reads the CapabilityStatement, posts
# a motivation through its operation and request APIs, reads, vreads,
# searches and reads the history (tests/fhirclient/klas-client.mjs).
# Then everything the gateway answers over HTTP (receipts, Task, the
# other case resources full and redacted, searchsets, history,
# Subscription, OperationOutcomes, CapabilityStatement; JSON and XML)
# goes through the independent base-R4 checker tests/fhircheck.
source "$(dirname "$0")/lib.sh"

for d in fhirclient fhircheck; do
    [ -d "$GW_SOURCE_DIR/tests/$d/node_modules" ] ||
        fail "tests/$d has no node_modules: run scripts/install-deps.sh"
done
PM='/fhir/$process-message'
gw_start 18240

msg "$EX/valid/motivation-enskild-searched.json" >"$T/m.json"
node "$GW_SOURCE_DIR/tests/fhirclient/klas-client.mjs" "$GW_URL/fhir" "$T/m.json" \
    "$EX/valid/application-enskild.json" >"$T/client.out" 2>&1 ||
    { cat "$T/client.out"; fail "the fhir-kit-client run"; }
grep -q "^all checks held for case" "$T/client.out" || { cat "$T/client.out"; fail "client output"; }
echo "fhir-kit-client: $(grep -c '^ok:' "$T/client.out") checks held"

# --- the gateway's answers through the base-R4 checker -------------------
O=$T/out
mkdir -p "$O"
# save NAME: keep the last answer under a name with the right suffix.
save() {
    local ext=json
    head -c 1 "$B" | grep -q '<' && ext=xml
    [ -s "$B" ] || fail "save $1: empty body"
    cp "$B" "$O/$1.$ext"
}
both() { # both NAME WHO PATH: the answer in JSON and in XML
    local sep='?'
    case $3 in *\?*) sep='&' ;; esac
    call "$2" GET "$3"
    want 200 "$1"
    save "$1"
    call "$2" GET "$3${sep}_format=xml"
    want 200 "$1 (XML)"
    save "$1"
}
msg "$EX/valid/motivation-enskild-attachments.json" >"$T/m2.json"
post ehr "$PM" "$T/m2.json"
want 200 "motivation"
save receipt-motivation
R=$(get "entries[1]['id']")
msg "$EX/valid/motivation-generell-unit.xml" >"$T/g.xml"
post ehr "$PM" "$T/g.xml" application/fhir+xml
want 200 "general motivation (XML)"
save receipt-motivation-generell
G=$(get "xv('f:entry/f:resource/f:Task/f:id')")
msg "$EX/valid/application-enskild.json" --refnr "$R" >"$T/a.json"
post apo1 "$PM" "$T/a.json"
want 200 "application"
save receipt-application
msg "$EX/valid/application-registered.xml" --refnr "$R" >"$T/reg.xml"
post lv "$PM" "$T/reg.xml" application/fhir+xml
want 200 "registration"
save receipt-registered

both task ehr "/fhir/Task/$R"
both task-pharmacy apo1 "/fhir/Task/$R"
both task-general ehr "/fhir/Task/$G"
for n in 3 4 5 6 7 8 9 10 11; do
    call ehr GET "/fhir/Task/$R" >/dev/null
    for t in MedicationRequest Patient PractitionerRole Practitioner Organization DocumentReference; do
        call ehr GET "/fhir/$t/$R-$n"
        [ "$ST" = 200 ] || continue
        save "$t-$n"
        call apo1 GET "/fhir/$t/$R-$n?_format=xml"
        [ "$ST" = 200 ] && save "$t-$n-pharmacy"
        break
    done
done
[ -f "$O/MedicationRequest-3-pharmacy.xml" ] || fail "no redacted MedicationRequest to check"
both search-ehr ehr '/fhir/Task?_include=*'
both search-pharmacy apo1 "/fhir/Task?identifier=$R&patient.identifier=$PNR&_include=*"
both search-empty apo2 "/fhir/Task?identifier=$R&patient.identifier=191212121212"
both history ehr "/fhir/Task/$R/_history"
both history-pharmacy apo1 "/fhir/Task/$R/_history"
both vread ehr "/fhir/Task/$R/_history/1"
both metadata none /fhir/metadata
cat >"$T/sub.json" <<'EOF'
{"resourceType": "Subscription", "status": "requested", "reason": "KLAS", "criteria": "Task",
 "channel": {"type": "rest-hook", "endpoint": "https://apotek.example.org/hook"}}
EOF
post apo1 /fhir/Subscription "$T/sub.json"
want 201 "subscription"
save subscription
both subscription-read apo1 "/fhir/Subscription/$(get "d['id']")"
# OperationOutcomes: of the validator, the pipeline, the front and the server.
post ehr "$PM" "$EX/invalid/missing-indication.json"
want 422 "invalid"
save outcome-invalid
post ehr "$PM" "$EX/invalid/missing-indication.json" application/fhir+json -H 'Accept: application/fhir+xml'
save outcome-invalid
post ehr /fhir/Bundle/\$validate "$EX/valid/motivation-enskild-searched.json"
want 200 "\$validate"
save outcome-validate
post apo1 "$PM" "$T/a.json" application/fhir+json -H 'Accept: application/fhir+xml'
want 200 "replay in XML"
save receipt-replay
msg "$EX/valid/application-enskild.json" --refnr "$R" >"$T/a2.json"
post apo1 "$PM" "$T/a2.json"
want 409 "conflict"
save outcome-conflict
call ops GET "/fhir/Task/$R?_format=xml"
want 403 "forbidden"
save outcome-forbidden
call none GET /fhir/Task
want 401 "unauthenticated"
save outcome-unauth
call none GET '/fhir/Task?_format=xml'
want 401 "unauthenticated (XML)"
save outcome-unauth
call ehr GET '/fhir/Task?bogus=1'
want 400 "bad search"
save outcome-search
call ehr GET /fhir/Task/2026000000
want 404 "not found"
save outcome-notfound

node "$GW_SOURCE_DIR/tests/fhircheck/check.js" --quiet "$O"/* >"$T/report" 2>&1 ||
    { cat "$T/report"; fail "the gateway's answers are not all valid R4"; }
tail -1 "$T/report"
grep -q " 0 failed" "$T/report" || { cat "$T/report"; fail "fhircheck report"; }
echo "ok: fhir-kit-client and $(ls "$O" | wc -l) answers valid R4"
