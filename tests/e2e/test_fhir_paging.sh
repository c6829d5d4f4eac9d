#!/usr/bin/env bash
# Paging as FHIR clients expect it (issue #16): a third-party client
# (fhir-kit-client, tests/fhirclient/klas-paging.mjs) submits 300
# motivations and pages through them with nextPage()/prevPage(), which
# follow Bundle.link only; new cases arrive between pages and must not
# shift them. Then the paging links and a bad cursor over plain HTTP.
source "$(dirname "$0")/lib.sh"

[ -d "$GW_SOURCE_DIR/tests/fhirclient/node_modules" ] ||
    fail "tests/fhirclient has no node_modules: run scripts/install-deps.sh"
gw_start 18250

msg "$EX/valid/motivation-enskild-searched.json" >"$T/m.json"
node "$GW_SOURCE_DIR/tests/fhirclient/klas-paging.mjs" "$GW_URL/fhir" "$T/m.json" 300 \
    >"$T/paging.out" 2>&1 || { cat "$T/paging.out"; fail "the fhir-kit-client paging run"; }
grep -q "^all paging checks held" "$T/paging.out" || { cat "$T/paging.out"; fail "paging output"; }
echo "fhir-kit-client paging: $(grep -c '^ok:' "$T/paging.out") checks held"

# The links keep the search's parameters and only ours: _count=1 gives
# one entry, a next link with the same filters, and a previous one after.
call ehr GET '/fhir/Task?business-status=M&drug=melat&_count=1'
want 200 "_count=1"
chk "len(d['entry']) == 1 and d['total'] > 1" "one entry of many"
chk "[l['relation'] for l in d['link']] == ['self', 'next']" "self and next links"
chk "'business-status=M&drug=melat&_count=1&_cursor=a' in d['link'][1]['url']" "next keeps the filters"
NEXT=$(get "d['link'][1]['url']")
call ehr GET "${NEXT#"$GW_URL"}"
want 200 "the next page"
chk "len(d['entry']) == 1 and [l['relation'] for l in d['link']] == ['self', 'next', 'previous']" \
    "the second page links both ways"
# A cursor is ours or refused, never half-read.
for bad in x1.2 a1 a.1 a1.x 'a1.2;' b-1.2 a99999999999999999999999.1; do
    call ehr GET "/fhir/Task?_cursor=$bad"
    want 400 "_cursor=$bad"
    chk "'_cursor' in str(d)" "the refusal names _cursor"
done
echo "ok: paging"
