#!/usr/bin/env bash
# Disclosure: to a caller who may not read it, a case is a case that does
# not exist. For every client that may read cases but not this one (a
# colleague, a prescriber of another clinic, a pharmacy that has not found
# it, LV before the application) every read route answers 404 with the
# very same body for the real referensnummer and for one that does not
# exist. Then the limit on failed look-ups: with
# server.lookup_fail_limit = 6, a pharmacy guessing personnummer and
# referensnummer gets 429 with Retry-After on its 7th failure and on any
# look-up after it, audited; another client and successful look-ups are
# not affected; the log names no personnummer.
source "$(dirname "$0")/lib.sh"

PM='/fhir/$process-message'
gw_start 18230 KLASGW_SERVER_LOOKUP_FAIL_LIMIT=0

msg "$EX/valid/motivation-enskild-searched.json" >"$T/m.json"
post ehr "$PM" "$T/m.json"
want 200 "the motivation"
R=$(get "entries[1]['identifier'][0]['value']")
# A referensnummer of the same year that no case has.
U=$(python3 -c "import sys; r=sys.argv[1]; print(r[:4] + '%06d' % ((int(r[4:]) + 500000) % 1000000))" "$R")
[ "$U" != "$R" ] || fail "unknown referensnummer"

paths=("/fhir/Task/@" "/fhir/Task/@/_history"
    "/fhir/Patient/@-3" "/fhir/Task/@/\$print" "/fhir/Task/@?_format=xml")
for who in ehr2 ehr3 apo2 lv; do
    for p in "${paths[@]}"; do
        call "$who" GET "${p//@/$R}"
        want 404 "$who GET ${p//@/R} (exists, not readable)"
        cp "$B" "$T/real"
        grep -qi '^retry-after' "$H" && fail "$who GET ${p//@/R}: Retry-After on a 404"
        call "$who" GET "${p//@/$U}"
        want 404 "$who GET ${p//@/U} (does not exist)"
        cmp -s "$T/real" "$B" || fail "$who GET $p: the answers differ:
$(cat "$T/real")
---
$(cat "$B")"
    done
done
chk "rt == 'OperationOutcome' and 'not-found' in text" "the same not-found OperationOutcome"
call ehr GET "/fhir/Task/$R"
want 200 "the prescriber reads the case"
# Refusals that depend on the caller alone stay what they were, for both.
call ops GET "/fhir/Task/$R"
want_outcome 403 "the operator, a case that exists"
call ops GET "/fhir/Task/$U"
want_outcome 403 "the operator, a case that does not exist"
call ehr0 GET "/fhir/Task/$R"
want_outcome 401 "an EHR without its user, a case that exists"
call ehr0 GET "/fhir/Task/$U"
want_outcome 401 "an EHR without its user, a case that does not exist"

# --- the limit on failed look-ups ---------------------------------------
gw_stop
kill "$HSA_PID" 2>/dev/null || true
wait "$HSA_PID" 2>/dev/null || true
HSA_PID=
gw_start 18231 KLASGW_SERVER_LOOKUP_FAIL_LIMIT=6 KLASGW_SERVER_LOOKUP_FAIL_WINDOW_S=3600

# Successful look-ups never count.
for _ in $(seq 1 10); do
    call ehr GET "/fhir/Task/$R"
    want 200 "the prescriber reads the case again"
done
# apotek2 guesses: three personnummer against the real referensnummer
# (an empty search is a failed look-up), three unknown referensnummer.
for pnr in 201001011238 201002022392 201003033331; do
    call apo2 GET "/fhir/Task?identifier=$R&patient.identifier=$pnr"
    want 200 "a look-up with the wrong patient"
    chk "d['total'] == 0" "finds nothing"
done
for n in 1 2 3; do
    call apo2 GET "/fhir/Task/${U:0:9}$n"
    want_outcome 404 "an unknown referensnummer ($n)"
done
# The limit is reached: even the right look-up waits now.
call apo2 GET "/fhir/Task?identifier=$R&patient.identifier=$PNR"
want_outcome 429 "a look-up after 6 failures"
ra=$(hdr Retry-After)
[[ "$ra" =~ ^[0-9]+$ ]] && [ "$ra" -ge 1 ] || fail "429 without a Retry-After in seconds: '$ra'"
chk "issues[0]['code'] == 'throttled' and 'försök igen senare' in issues[0]['details']['text'] and 'try again later' in issues[0]['details']['coding'][0]['display']" \
    "429 says why in Swedish and English"
call apo2 GET "/fhir/Task/$R"
want_outcome 429 "a read after 6 failures"
call apo2 GET "/fhir/Task?identifier=$R&patient.identifier=$PNR&_format=xml"
want 429 "in XML too"
chk "rt == 'OperationOutcome'" "an OperationOutcome in XML"
# Another client is not affected; its own success does not count.
call apo1 GET "/fhir/Task/$U"
want_outcome 404 "apotek1: one failure of its own"
call apo1 GET "/fhir/Task?identifier=$R&patient.identifier=$PNR"
want 200 "apotek1 finds the case"
chk "d['total'] == 1" "apotek1 finds exactly the case"
# What is not a case look-up is not limited.
call apo2 GET "/fhir/Medication?name=melatonin"
want 200 "apotek2 searches products"

grep -q "event=lookup_limit client=apotek2" "$T/serve.log" || fail "the log does not say that apotek2 reached the limit"
grep -q "$PNR\|201001011238" "$T/serve.log" && fail "a personnummer in the log"
gw_stop
k audit export >"$T/audit.json"
n=$(grep -c 'lookup-limit' "$T/audit.json" || true)
[ "$n" -ge 4 ] || fail "the limit and its 429s are not audited ($n records)"
k audit verify >/dev/null || fail "the audit chain does not verify"
echo "ok: not-yours answers as unknown (4 clients x ${#paths[@]} routes); failed look-ups limited (429, Retry-After $ra s, $n audit records)"
