#!/usr/bin/env bash
# /metrics an on-call can alert on (issue #18): the gateway with the HSA
# and LV simulators; LV refuses the first delivery (down) and takes the
# second. Scraped before anything happened and after:
#   - every configured peer (lv, pharmacy) has its outbox and delivery
#     series from the start, at zero (lv was absent while its queue was
#     empty); the idle peer (pharmacy) stays at zero;
#   - klasgw_delivery_attempts_total{peer="lv"} counts the failed attempt
#     (retry) and the delivery; HSA: a miss, a hit, an error (the
#     simulator stopped) and the calls' latency histogram;
#   - klasgw_build_info, process_* (Prometheus's standard names), the LV
#     client certificate's expiry, klasgw_ready;
#   - `promtool check metrics` passes on both scrapes and `promtool check
#     rules` on adapter/klasgw-alerts.yml, whose every metric name is one
#     the gateway exports.
set -euo pipefail
. "$(dirname "$0")/soap_lib.sh"
soap_setup 18300
command -v promtool >/dev/null || fail "promtool is missing (Debian package prometheus: scripts/install-deps.sh)"
command -v openssl >/dev/null || fail "openssl is missing (scripts/install-deps.sh)"
EHR=serial:SE2321000016-EHR1
APO=serial:SE7350000000-APO1
OPS=serial:SE2321000016-OPS1
DB=$KLASGW_STORE_PATH
q() { sqlite3 -cmd '.timeout 5000' "$DB" "$1"; }

# An LV client certificate, for its expiry series (LV is plain http here:
# the certificate is checked and exported, not presented).
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 20 \
    -subj "/CN=klasgw" -keyout "$dir/lv.key" -out "$dir/lv.pem" 2>"$dir/openssl.log" \
    || fail "openssl: $(cat "$dir/openssl.log")"
export KLASGW_LV_TLS_CERT=$dir/lv.pem KLASGW_LV_TLS_KEY=$dir/lv.key

scrape() {   # FILE
    curl -s -o "$1" -w '%{http_code}' -H "X-Klasgw-Client: $OPS" "$BASE/metrics" >"$dir/st"
    [ "$(cat "$dir/st")" = 200 ] || fail "/metrics answered $(cat "$dir/st")"
    promtool check metrics <"$1" >"$dir/lint" 2>&1 || fail "promtool check metrics: $(cat "$dir/lint")"
}
# val FILE SERIES: the value of one series (exact name and labels), or "absent".
val() { awk -v s="$2" '$1 == s { print $2; f = 1 } END { if (!f) print "absent" }' "$1"; }
want_val() {   # FILE SERIES OP N
    local v
    v=$(val "$1" "$2")
    [ "$v" != absent ] || fail "$2 is absent from /metrics"
    awk -v v="$v" -v n="$4" -v op="$3" 'BEGIN { exit !((op == "==" && v == n) || (op == ">=" && v >= n) || (op == ">" && v > n) || (op == "<=" && v <= n)) }' \
        || fail "$2 is $v, wanted $3 $4"
}

start_hsa
start_lv --fail down --fail-count 1 --then ""
start_gateway

# --- before anything: every peer at zero ------------------------------------
scrape "$dir/m0"
for peer in lv pharmacy; do
    want_val "$dir/m0" "klasgw_outbox_queue_depth{peer=\"$peer\"}" == 0
    want_val "$dir/m0" "klasgw_outbox_dead_letters{peer=\"$peer\"}" == 0
    want_val "$dir/m0" "klasgw_outbox_oldest_age_seconds{peer=\"$peer\"}" == 0
    for o in delivered retry refused; do
        want_val "$dir/m0" "klasgw_delivery_attempts_total{peer=\"$peer\",outcome=\"$o\"}" == 0
    done
done
want_val "$dir/m0" "klasgw_hsa_request_duration_seconds_count" == 0
want_val "$dir/m0" "klasgw_ready" == 1
grep -Eq '^klasgw_build_info\{version="[0-9]+\.[0-9]+\.[0-9]+"\} 1$' "$dir/m0" || fail "klasgw_build_info"
for m in process_start_time_seconds process_resident_memory_bytes process_open_fds \
    process_max_fds process_cpu_seconds_total; do
    want_val "$dir/m0" "$m" ">" 0
done
start=$(val "$dir/m0" process_start_time_seconds)
now=$(date +%s)
awk -v s="$start" -v n="$now" 'BEGIN { exit !(s <= n + 1 && s > n - 3600) }' \
    || fail "process_start_time_seconds $start is not a start time (now $now)"
exp_lv=$(date -d "$(openssl x509 -in "$dir/lv.pem" -noout -enddate | sed 's/.*=//')" +%s)
want_val "$dir/m0" 'klasgw_certificate_expiry_seconds{peer="lv"}' == "$exp_lv"

# --- traffic: a miss, a hit, one LV delivery failed then delivered, an HSA error
submit_file "$dir/s1.xml" SE2321000016-DOC1 metrics-1
ref=$(soap_call SubmitLicenseMotivation $EHR SE2321000016-DOC1 "$dir/s1.xml" | refnr_of)
[ ${#ref} -eq 10 ] || fail "submit: $(cat "$dir/out")"
submit_file "$dir/s2.xml" SE2321000016-DOC1 metrics-2
ref2=$(soap_call SubmitLicenseMotivation $EHR SE2321000016-DOC1 "$dir/s2.xml" | refnr_of)
[ ${#ref2} -eq 10 ] || fail "second submit: $(cat "$dir/out")"
b=$(example application-enskild.xml "$ref")
envelope CreateLicenseApplication "<r:messageId>app-metrics</r:messageId><r:referenceNumber>$ref</r:referenceNumber><r:application>$b</r:application>" >"$dir/a.xml"
soap_call CreateLicenseApplication $APO "" "$dir/a.xml" >"$dir/r"
grep -q '<caseStatus>A</caseStatus>' "$dir/r" || fail "apply: $(cat "$dir/r")"
for _ in $(seq 1 400); do
    [ "$(q "SELECT count(*) FROM outbox WHERE peer='lv' AND state='done'")" = 1 ] && break
    sleep 0.05
done
[ "$(q "SELECT count(*) FROM outbox WHERE peer='lv' AND state='done'")" = 1 ] \
    || fail "LV item not delivered: $(q "SELECT state, attempts, last_error FROM outbox WHERE peer='lv'")"
kill "$HSA_PID"; wait "$HSA_PID" 2>/dev/null || true
submit_file "$dir/s3.xml" SE2321000016-DOC2 metrics-3
soap_call SubmitLicenseMotivation $EHR SE2321000016-DOC2 "$dir/s3.xml" >/dev/null
[ "$(cat "$dir/status")" != 200 ] || grep -q "HSA" "$dir/out" \
    || fail "a submission with HSA down: $(cat "$dir/status") $(head -c 300 "$dir/out")"

scrape "$dir/m1"
want_val "$dir/m1" 'klasgw_delivery_attempts_total{peer="lv",outcome="delivered"}' == 1
want_val "$dir/m1" 'klasgw_delivery_attempts_total{peer="lv",outcome="retry"}' ">=" 1
want_val "$dir/m1" 'klasgw_outbox_queue_depth{peer="lv"}' == 0
for o in delivered retry refused; do
    want_val "$dir/m1" "klasgw_delivery_attempts_total{peer=\"pharmacy\",outcome=\"$o\"}" == 0
done
want_val "$dir/m1" 'klasgw_outbox_queue_depth{peer="pharmacy"}' == 0
want_val "$dir/m1" 'klasgw_outbox_oldest_age_seconds{peer="pharmacy"}' == 0
want_val "$dir/m1" klasgw_hsa_cache_misses_total ">=" 2
want_val "$dir/m1" klasgw_hsa_cache_hits_total ">=" 1
want_val "$dir/m1" klasgw_hsa_errors_total ">=" 1
want_val "$dir/m1" klasgw_hsa_request_duration_seconds_count ">=" 2
want_val "$dir/m1" 'klasgw_hsa_request_duration_seconds_bucket{le="+Inf"}' ">=" 2
# The writer's durations: one observation a group commit (as many as the
# batch-size histogram counts), cumulative buckets, time spent.
batches=$(val "$dir/m1" klasgw_store_commit_batch_size_count)
for h in klasgw_store_batch_duration_seconds klasgw_store_commit_duration_seconds; do
    want_val "$dir/m1" "${h}_count" ">=" 3
    want_val "$dir/m1" "${h}_count" == "$batches"
    want_val "$dir/m1" "${h}_bucket{le=\"+Inf\"}" == "$batches"
    want_val "$dir/m1" "${h}_sum" ">" 0
    grep "^${h}_bucket" "$dir/m1" | awk '{ if ($2 < last) exit 1; last = $2 }' \
        || fail "$h: buckets not cumulative: $(grep "^${h}_bucket" "$dir/m1" | tr '\n' ' ')"
done
# A message's time in the store: one observation per message written (a
# batch's audit records and HSA answers have nobody waiting).
h=klasgw_store_wait_duration_seconds
want_val "$dir/m1" "${h}_count" ">=" 3
want_val "$dir/m1" "${h}_count" "<=" "$(val "$dir/m1" klasgw_store_commit_batch_size_sum)"
want_val "$dir/m1" "${h}_sum" ">" 0
grep "^${h}_bucket" "$dir/m1" | awk '{ if ($2 < last) exit 1; last = $2 }' \
    || fail "$h: buckets not cumulative: $(grep "^${h}_bucket" "$dir/m1" | tr '\n' ' ')"
grep -q "^# TYPE klasgw_store_wal_catch_up_duration_seconds histogram" "$dir/m1" \
    || fail "no klasgw_store_wal_catch_up_duration_seconds histogram"

# --- the example alert rules: valid, and about series that exist -------------
promtool check rules "$GW_SOURCE_DIR/adapter/klasgw-alerts.yml" >"$dir/rules" 2>&1 \
    || fail "promtool check rules: $(cat "$dir/rules")"
for name in $(grep -oE '\b(klasgw|process)_[a-z_]+' "$GW_SOURCE_DIR/adapter/klasgw-alerts.yml" | sort -u); do
    grep -Eq "^$name(\{| )" "$dir/m1" || grep -q "^# TYPE $name " "$dir/m1" \
        || fail "adapter/klasgw-alerts.yml uses $name, which /metrics does not have"
done
! grep -qE 'Sanitizer|runtime error:' "$dir"/*.log || fail "a sanitizer spoke: $(grep -hE -m3 'Sanitizer|runtime error:' "$dir"/*.log)"
echo "metrics: ok"
