#!/usr/bin/env bash
# The whole case lifecycle across the three actors against a running
# gateway: notifications to a pharmacy's rest-hook, look-up, application,
# registration, supplements (prescriber, colleague, pharmacy), decisions,
# re-application, licence check and dispensing, searches, printable copy,
# copy to new, consent renewal - and every refusal on the way
# (tests/e2e/lifecycle.py says what is checked).
set -euo pipefail
: "${KLASGW:?}" "${GW_SOURCE_DIR:?}"
work=$(mktemp -d)
# Free ports the kernel picks, so concurrent runs never meet.
free() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
port=$(free); hook=$(free); hsa=$(free)
cat >"$work/gw.conf" <<CONF
[server]
port = $port
plain_http = true
threads = 4
[store]
path = $work/klasgw.db
[hsa]
url = http://127.0.0.1:$hsa/hsa
[lv]
; off: what is for LV stays in the outbox, where the test counts it
url =
[outbox]
backoff_base_ms = 100
backoff_cap_ms = 500
[webhooks]
; the test's rest-hook receiver on loopback
allowed_hosts = 7350000000016=127.0.0.1 7350000000023=127.0.0.1
allow_private = 127.0.0.0/8
allow_http = true
[clients]
journal1 = ehr serial:SE2321000016-EHR1
apotek1 = pharmacy serial:SE7350000000-APO1 7350000000016
apotek2 = pharmacy serial:SE7350000000-APO2 7350000000023
lisy = lv serial:SE2021004078-LISY
ops = operator serial:SE2321000016-OPS1
CONF
# Every line its own: under set -e a failed wait (the gateway's exit
# status) ended the trap and left the receiver and sim hsa running.
cleanup() {
    if [ -n "${gw:-}" ]; then kill "$gw" 2>/dev/null; wait "$gw" 2>/dev/null || true; fi
    if [ -n "${rx:-}" ]; then kill "$rx" 2>/dev/null || true; fi
    if [ -n "${hs:-}" ]; then kill "$hs" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
python3 "$GW_SOURCE_DIR/tests/e2e/lifecycle.py" receive "$hook" "$work/hook.log" &
rx=$!
"$KLASGW" -c "$work/gw.conf" sim hsa --port "$hsa" \
    --fixture "$GW_SOURCE_DIR/tests/fixtures/hsa/prescribers.tsv" \
    2>"$work/hsa.log" &
hs=$!
"$KLASGW" -c "$work/gw.conf" serve 2>"$work/gw.log" &
gw=$!
# Each peer listens before the run starts: a Subscription made while the
# receiver is still starting fails its handshake and goes into "error",
# and the pharmacy then gets no notice at all (seen on a loaded machine).
# Bounds for a loaded machine (30 s); each loop ends as soon as it can.
listening() { # PORT PID NAME LOG
    for _ in $(seq 600); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        kill -0 "$2" 2>/dev/null || { echo "FAIL: $3 exited: $(tail -5 "$4" 2>/dev/null)" >&2; exit 1; }
        sleep 0.05
    done
    echo "FAIL: $3 does not listen on $1 after 30 s" >&2
    exit 1
}
listening "$hook" "$rx" "the rest-hook receiver" /dev/null
listening "$hsa" "$hs" "sim hsa" "$work/hsa.log"
listening "$port" "$gw" "klasgw serve" "$work/gw.log"
# LIFECYCLE_RUNNER: another script with lifecycle.py's arguments, run
# against the same gateway (tests/worked-example/withdrawn.py).
if ! python3 "${LIFECYCLE_RUNNER:-$GW_SOURCE_DIR/tests/e2e/lifecycle.py}" run "$port" "$hook" \
        "$work/hook.log" "$work/klasgw.db" "$GW_SOURCE_DIR"; then
    echo "--- gateway log" >&2; tail -30 "$work/gw.log" >&2
    exit 1
fi
# A clean stop: SIGTERM finishes in flight and exits 0 (under ASan: no
# leak, no error report).
kill -TERM "$gw"
rc=0; wait "$gw" || rc=$?
gw=
[ "$rc" -eq 0 ] || { echo "FAIL: serve exited $rc on SIGTERM" >&2; tail -40 "$work/gw.log" >&2; exit 1; }
if grep -q "ERROR: AddressSanitizer\|runtime error:\|LeakSanitizer" "$work/gw.log"; then
    echo "FAIL: sanitizer report" >&2; grep -A30 "Sanitizer\|runtime error" "$work/gw.log" >&2; exit 1
fi
"$KLASGW" -c "$work/gw.conf" audit verify >/dev/null \
    || { echo "FAIL: audit chain broken" >&2; exit 1; }
# No personal data in the log: the personnummer of the examples.
if grep -q "201006301111" "$work/gw.log"; then
    echo "FAIL: a personnummer reached the log" >&2; exit 1
fi
echo "lifecycle: ok"
