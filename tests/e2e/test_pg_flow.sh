#!/usr/bin/env bash
# test_pg_flow.sh - the core flow with store.backend = postgresql, on a
# real PostgreSQL (tests/tools/pg_fixture.sh): `klasgw migrate`, a
# motivation submitted over SOAP, the pharmacy's application, its delivery
# to LV (the simulator) exactly once, LV's decision back, the case read
# by the EHR; then PostgreSQL restarted under the running gateway: while
# it is down a submission is refused with 503 (nothing stored), after it
# is back the same message goes through once, and the audit chain
# verifies. Skipped (77) where PostgreSQL's server is not installed.
set -euo pipefail
. "$(dirname "$0")/soap_lib.sh"
# A base port of its own, off the fixed ones the SOAP tests use.
soap_setup $(( 20000 + RANDOM % 20000 ))
# Its own folder ($PGT): the server runs as nobody, who cannot enter $dir.
. "$(dirname "$0")/pg_lib.sh"
pg_start soap_cleanup
pg_gateway
EHR=serial:SE2321000016-EHR1
APO=serial:SE7350000000-APO1

"$KLASGW" -c "$CONF" migrate >"$dir/migrate.log" 2>&1 \
    || fail "migrate: $(cat "$dir/migrate.log")"
grep -q 'postgresql: schema version 7 (latest 7), up to date' "$dir/migrate.log" \
    || fail "migrate: $(cat "$dir/migrate.log")"

wait_log() {   # PATTERN: LV's log has it within ~20 s
    local i
    for i in $(seq 1 400); do
        grep -q "$1" "$dir/lv.log" && return 0
        sleep 0.05
    done
    cat "$dir/lv.log" >&2; grep -v event=request "$dir/gw.log" | tail -20 >&2
    fail "LV never logged: $1"
}
status_of() {
    envelope GetLicenseCases "<r:referenceNumber>$1</r:referenceNumber>" >"$dir/q.xml"
    soap_call GetLicenseCases $EHR SE2321000016-DOC1 "$dir/q.xml" |
        sed -n 's:.*<core\:caseStatus[^>]*>\([A-Za-z]*\)<.*:\1:p'
}
apply() {   # TAG REFNR
    local b
    b=$(example application-enskild.xml "$2")
    envelope CreateLicenseApplication "<r:messageId>app-$1</r:messageId><r:referenceNumber>$2</r:referenceNumber><r:application>$b</r:application>" >"$dir/a-$1.xml"
    soap_call CreateLicenseApplication $APO "" "$dir/a-$1.xml" >"$dir/r-$1"
    grep -q '<caseStatus>A</caseStatus>' "$dir/r-$1" || fail "$1: apply: $(cat "$dir/r-$1")"
}

start_hsa
start_lv --then registered,Bev
start_gateway

# 1. Submit, apply, LV registers and decides: once.
submit_file "$dir/s1.xml" SE2321000016-DOC1 pg-1
ref=$(soap_call SubmitLicenseMotivation $EHR SE2321000016-DOC1 "$dir/s1.xml" | refnr_of)
[ ${#ref} -eq 10 ] || fail "submit: $(cat "$dir/out")"
# The same message again answers the same receipt (idempotent).
again=$(soap_call SubmitLicenseMotivation $EHR SE2321000016-DOC1 "$dir/s1.xml" | refnr_of)
[ "$again" = "$ref" ] || fail "resend: $again, expected $ref"
apply one "$ref"
wait_log "action=Bev refnr=$ref result=OK"
[ "$(grep -c "sim_lv_application refnr=$ref " "$dir/lv.log")" -eq 1 ] \
    || fail "LV saw the application $(grep -c "refnr=$ref " "$dir/lv.log") times"
[ "$(status_of "$ref")" = Bev ] || fail "status $(status_of "$ref"), expected Bev"
# Sök apotek and Sök produkt find what the flow registered: the pharmacy
# its application named (no address: PostgreSQL's search found no row
# with an empty column, total 0), the product LV granted.
for q in "Organization?name=apotek" "Organization?name=APOTEK%20TEST" \
    "Medication?name=melatonin" "Medication?substance=MELATONIN"; do
    curl -s -H "X-Klasgw-Client: $APO" "$BASE/fhir/$q" >"$dir/search.json"
    n=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1])).get("total", -1))' "$dir/search.json" 2>/dev/null || echo error)
    [ "$n" = 1 ] || fail "GET /fhir/$q: total $n, expected 1: $(head -c 300 "$dir/search.json")"
done

# /metrics on PostgreSQL: every outbox series comes from the store in use
# (the oldest-item age was read as if the store were SQLite).
code=$(curl -s --max-time 30 -o "$dir/metrics" -w '%{http_code}' \
    -H "X-Klasgw-Client: serial:SE2321000016-OPS1" "$BASE/metrics")
[ "$code" = 200 ] || fail "/metrics on PostgreSQL: HTTP $code"
grep -q '^klasgw_outbox_oldest_age_seconds{peer="lv"} ' "$dir/metrics" \
    || fail "/metrics on PostgreSQL has no oldest-item age: $(grep outbox "$dir/metrics" | head -5)"

# 2. PostgreSQL goes away under the gateway: a submission is refused
# (nothing acknowledged), a read is 503, readiness says so.
"$KLASGW_TEST_PG_BIN/pg_ctl" --version >/dev/null
runas=(); [ "$(id -u)" -eq 0 ] && runas=(runuser -u nobody --)
"${runas[@]}" "$KLASGW_TEST_PG_BIN/pg_ctl" -D "$PGT/data" -m fast -w stop >/dev/null
submit_file "$dir/s2.xml" SE2321000016-DOC1 pg-2
soap_call SubmitLicenseMotivation $EHR SE2321000016-DOC1 "$dir/s2.xml" >/dev/null
# SOAP answers every fault with HTTP 500: a TECHNICAL_ERROR (resend).
grep -q 'TECHNICAL_ERROR: .*try again later' "$dir/out" \
    || { grep -v event=request "$dir/gw.log" | tail -12 >&2; fail "with PostgreSQL down: $(cat "$dir/out")"; }
# REST says 503.
code=$(curl -s -o /dev/null -w '%{http_code}' -H "X-Klasgw-Client: $EHR" \
    -H 'X-Klasgw-User: SE2321000016-DOC1' "$BASE/fhir/Task/$ref")
[ "$code" = 503 ] || fail "a read with PostgreSQL down: HTTP $code, expected 503"
code=$(curl -s -o /dev/null -w '%{http_code}' "$BASE/healthz/ready")
[ "$code" = 503 ] || fail "ready with PostgreSQL down: $code"

# 3. Back: the gateway reconnects by itself; the refused message goes
# through now, once, and reaches LV.
"${runas[@]}" "$KLASGW_TEST_PG_BIN/pg_ctl" -D "$PGT/data" -l "$PGT/server.log" -w \
    -o "-c listen_addresses=127.0.0.1 -p $(cat "$PGT/port") -c unix_socket_directories=$PGT" \
    start >/dev/null
ref2=
for _ in $(seq 1 100); do
    ref2=$(soap_call SubmitLicenseMotivation $EHR SE2321000016-DOC1 "$dir/s2.xml" | refnr_of)
    [ -n "$ref2" ] && break
    sleep 0.1
done
[ ${#ref2} -eq 10 ] || fail "after the restart: $(cat "$dir/out")"
apply two "$ref2"
wait_log "action=Bev refnr=$ref2 result=OK"
[ "$(grep -c "sim_lv_application refnr=$ref2 " "$dir/lv.log")" -eq 1 ] \
    || fail "after the restart: LV saw it $(grep -c "refnr=$ref2 " "$dir/lv.log") times"
[ "$(psql "$KLASGW_TEST_PG_DSN" -Atc "SELECT count(*) FROM inbox WHERE message_id LIKE '%pg-2%'")" -le 1 ] \
    || fail "the refused message was stored twice"
[ "$(psql "$KLASGW_TEST_PG_DSN" -Atc "SELECT count(*) FROM cases")" -eq 2 ] \
    || fail "cases: $(psql "$KLASGW_TEST_PG_DSN" -Atc 'SELECT count(*) FROM cases'), expected 2"

kill -TERM "$GW_PID"; wait "$GW_PID" 2>/dev/null || true
"$KLASGW" -c "$CONF" audit verify >"$dir/verify.log" 2>&1 \
    || fail "audit verify: $(cat "$dir/verify.log")"
! grep -q '201006301111\|Testsson' "$dir/gw.log" || fail "personal data logged"
echo "ok: the core flow on PostgreSQL, and through its restart"
