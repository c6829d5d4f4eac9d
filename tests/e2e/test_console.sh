#!/usr/bin/env bash
# The operator's console (/console/, issue #18 §3) in a real browser:
# Debian's Chromium, headless, driven by tests/console/console.js over the
# DevTools protocol, against the real gateway, HSA simulator and LV
# simulator on loopback.
#
#  1. Two cases are submitted with patient values that are sentinels (the
#     patient's name, the indication, the motivation text, and through
#     sentinel_gen.py every element the model and the profiles allow that
#     a pharmacy may not see) and applied for by the pharmacy: two items
#     for LV. A message the rules refuse is sent too (a refusal to count).
#  2. LV answers every call with a SOAP fault: with outbox.max_attempts = 2
#     both items become dead letters within seconds.
#  3. LV is restarted healthy; in the browser the operator sees both dead
#     letters with their last error, retries one (from the keyboard) and
#     sees it delivered, discards the other (after a confirm dialog),
#     verifies the audit chain; every page in both languages is checked for
#     structure (lang, headings, labels, captions) and for the sentinels;
#     an EHR client gets 403.
#  4. Outside the browser: the forms work without JavaScript (a plain POST),
#     a wrong or missing token is refused, the retry and the discard are in
#     the audit log with the operator's identity, LV got the retried item.
# Screenshots: $GW_BUILD_DIR/tests-output/console/*.png.
source "$(dirname "$0")/lib.sh"

NODE_DIR=$GW_SOURCE_DIR/tests/console
[ -d "$NODE_DIR/node_modules/puppeteer-core" ] || {
    echo "FAIL: tests/console has no node_modules: run scripts/install-deps.sh" >&2
    exit 1
}
CHROMIUM=${CHROMIUM:-/usr/bin/chromium}
[ -x "$CHROMIUM" ] || fail "no Chromium at $CHROMIUM (Debian package chromium)"

PM='/fhir/$process-message'
OPS=SE2321000016-OPS1
SHOTS=$GW_BUILD_DIR/tests-output/console
mkdir -p "$SHOTS"
rm -f "$SHOTS"/*.png

LV_PORT=$(any_free_port)
LV_PID=
start_lv() {
    "$KLASGW" -c "$T/conf" sim lv --port "$LV_PORT" --then "" "$@" \
        >>"$T/lv.log" 2>&1 &
    LV_PID=$!
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$LV_PORT") 2>/dev/null && return 0
        kill -0 "$LV_PID" 2>/dev/null || fail "sim lv exited: $(tail -5 "$T/lv.log")"
        sleep 0.05
    done
    fail "sim lv does not listen on $LV_PORT"
}
stop_lv() {
    [ -n "$LV_PID" ] || return 0
    kill "$LV_PID" 2>/dev/null || true
    wait "$LV_PID" 2>/dev/null || true
    LV_PID=
}
# lib_cleanup reads the script's exit status from $?: hand it on (errexit
# off, or the failing (exit) would end the trap before the cleanup).
trap 'st=$?; stop_lv; set +e; (exit $st); lib_cleanup' EXIT

gw_conf "$T/conf"
start_lv --fail fault
gw_start 0 KLASGW_LV_URL="http://127.0.0.1:$LV_PORT/lv" \
    KLASGW_LV_TIMEOUT_MS=2000 KLASGW_OUTBOX_MAX_ATTEMPTS=2 \
    KLASGW_OUTBOX_BACKOFF_BASE_MS=100 KLASGW_OUTBOX_BACKOFF_CAP_MS=200 \
    KLASGW_OUTBOX_PROBE_INTERVAL_MS=200 KLASGW_OUTBOX_LEASE_S=1
DB=$T/db/klasgw.db
q() { sqlite3 -cmd '.timeout 5000' "$DB" "$1"; }

# 1. Cases with sentinels where the patient's data goes.
core=$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
python3 - "$EX/valid/motivation-enskild-searched.json" "$core" "$T" <<'EOF'
import json, sys
src, core, out = sys.argv[1:4]
d = json.load(open(src, encoding="utf-8"))
s = {k: "%s%s" % (k, core) for k in ("FAMILY", "GIVEN", "IND", "MOT")}
for e in d["entry"]:
    r = e["resource"]
    if r["resourceType"] == "Patient":
        r["name"] = [{"family": s["FAMILY"], "given": [s["GIVEN"]]}]
    if r["resourceType"] == "MedicationRequest":
        r["reasonCode"][0]["text"] = s["IND"]
        for x in r.get("extension", []):
            if x["url"].endswith("klas-motivation"):
                for y in x["extension"]:
                    if y["url"] == "text":
                        y["valueString"] = s["MOT"]
json.dump(d, open(out + "/motivation.json", "w", encoding="utf-8"),
          ensure_ascii=False)
EOF
python3 "$GW_SOURCE_DIR/tests/e2e/sentinel_gen.py" "$GW_SOURCE_DIR" \
    "$T/motivation.json" "$core" "$T/motivation-gen.json" "$T/generated.json" \
    "$KLASGW" >"$T/sentinel_gen.log" 2>&1 ||
    fail "sentinel_gen.py: $(tail -5 "$T/sentinel_gen.log")"
# What no console page may hold: the core of every sentinel, and the
# personnummer of the example's patient.
printf '%s\n%s\n' "$core" "$PNR" >"$T/sentinels"

refs=()
for n in 1 2; do
    msg "$T/motivation-gen.json" >"$T/m$n.json"
    post ehr "$PM" "$T/m$n.json"
    want 200 "motivation $n with sentinels"
    R=$(get "entries[1]['id']")
    refs+=("$R")
    msg "$EX/valid/application-enskild.json" --refnr "$R" >"$T/a$n.json"
    post apo1 "$PM" "$T/a$n.json"
    want 200 "application $n"
done
# A refusal for the counts.
IFS=$'\t' read -r bad_file bad_rule _ < <(grep -v '^#' "$EX/invalid/EXPECTED.tsv" | grep '\.json' | head -1)
msg "$EX/invalid/$bad_file" >"$T/bad.json"
post ehr "$PM" "$T/bad.json"
[ "$ST" -ge 400 ] || fail "the invalid message $bad_file was accepted"

echo "cases submitted at ${SECONDS} s"
# 2. Both LV items die.
for _ in $(seq 1 300); do
    [ "$(q "SELECT count(*) FROM outbox WHERE peer = 'lv' AND state = 'dead'")" = 2 ] && break
    sleep 0.05
done
[ "$(q "SELECT count(*) FROM outbox WHERE peer = 'lv' AND state = 'dead'")" = 2 ] ||
    fail "LV items not dead: $(q "SELECT id, state, attempts, last_error FROM outbox")"
read -r ITEM1 ITEM2 < <(q "SELECT group_concat(id, ' ') FROM (SELECT id FROM outbox WHERE peer = 'lv' AND state = 'dead' ORDER BY id)")

# 3. LV answers again; the operator works in the browser.
stop_lv
start_lv
echo "two dead letters at ${SECONDS} s; the browser starts"
node "$NODE_DIR/console.js" "$GW_URL" "$OPS" SE2321000016-EHR1 \
    "$ITEM1" "$ITEM2" "$SHOTS" "$T/sentinels" ||
    fail "the browser test failed (screenshots in $SHOTS)"
ls "$SHOTS"/*.png >/dev/null 2>&1 || fail "no screenshots in $SHOTS"
echo "the browser is done at ${SECONDS} s"

# 4. Without a browser: the retry took the item to LV once, and the
# audit log holds what the operator did, with who did it.
[ "$(q "SELECT state FROM outbox WHERE id = $ITEM1")" = done ] ||
    fail "item $ITEM1: $(q "SELECT state, last_error FROM outbox WHERE id = $ITEM1")"
[ "$(q "SELECT count(*) FROM outbox WHERE id = $ITEM2")" = 0 ] ||
    fail "item $ITEM2 is still in the outbox"
[ "$(q "SELECT count(*) FROM audit WHERE action = 'outbox-retry' AND system = 'ops' AND outcome = 'ok' AND detail = 'item $ITEM1 peer lv'")" = 1 ] ||
    fail "the retry is not audited: $(q "SELECT system, action, outcome, detail FROM audit WHERE action LIKE 'outbox%'")"
[ "$(q "SELECT count(*) FROM audit WHERE action = 'outbox-discard' AND system = 'ops' AND outcome = 'ok' AND detail LIKE 'item $ITEM2 peer lv %'")" = 1 ] ||
    fail "the discard is not audited: $(q "SELECT system, action, outcome, detail FROM audit WHERE action LIKE 'outbox%'")"
[ "$(q "SELECT count(*) FROM audit WHERE action = 'console' AND system = 'journal1' AND outcome = 'EFORBIDDEN'")" -ge 1 ] ||
    fail "the non-operator's 403 is not audited"

# The form token on a page ("" when it has no form).
csrf_of() { sed -n 's/.*name="csrf" value="\([0-9a-f]*\)".*/\1/p' "$1" | head -1; }
# A plain form POST (no JavaScript) with the page's token works; without
# it, or with another client's, it is refused and nothing changes.
call ops GET "/console/?lang=en"
want 200 "the outbox page"
token=$(csrf_of "$B")
[ -z "$token" ] || fail "a form on the outbox page with no dead letter left"
call ops GET "/console/audit?lang=en"
token=$(csrf_of "$B")
[ ${#token} = 64 ] || fail "no form token on the audit page"
call ops POST "/console/outbox/$ITEM1/retry" --data "csrf=$token&lang=en"
want 303 "a retry of a delivered item, without JavaScript"
hdr Location | grep -q 'done=gone' || fail "the retry of a delivered item: $(hdr Location)"
call ops POST "/console/outbox/$ITEM1/retry" --data "lang=en"
want 403 "a retry without a token"
grep -q 'data-rc="EFORBIDDEN"' "$B" || fail "the refusal is not the console's page"
# The token with its last digit changed (always a different token).
if [ "${token:63}" = 0 ]; then wrong=${token:0:63}1; else wrong=${token:0:63}0; fi
call ops POST "/console/outbox/$ITEM1/retry" --data "csrf=$wrong&lang=en"
want 403 "a retry with a wrong token"
call ehr POST "/console/outbox/$ITEM1/retry" --data "csrf=$token&lang=en"
want 403 "a retry by a non-operator"
call ops GET "/console/outbox/$ITEM1/retry"
want 405 "GET on a form's action"
call ops GET "/console/nothing"
want 404 "an unknown console page"
[ "$(q "SELECT state FROM outbox WHERE id = $ITEM1")" = done ] ||
    fail "a refused POST changed item $ITEM1"
# Not a FHIR interaction: the CapabilityStatement names no console path.
call none GET /fhir/metadata
grep -q console "$B" && fail "the CapabilityStatement mentions the console"
# The refusal counted under its rule id, and the console's own label in
# /metrics.
call ops GET "/console/cases?lang=en"
grep -q "data-rule=\"$bad_rule\"" "$B" || fail "refusal rule $bad_rule not counted"
call ops GET /metrics
grep -q 'route="console"' "$B" || fail "no console label in /metrics"
# No sentinel in anything a console page or asset answered, curl's view.
for p in / /peers /cases /audit /console.css /console.js; do
    call ops GET "/console$p"
    want 200 "/console$p"
    while read -r s; do
        grep -qF "$s" "$B" && fail "/console$p holds $s"
    done <"$T/sentinels"
done
echo "ok: console in ${SECONDS} s (screenshots in $SHOTS)"
