#!/usr/bin/env bash
# A pharmacy cannot aim the gateway's webhooks at other hosts (issue 11 §3),
# loopback only:
#  1. strict configuration (https only, nothing private allowed): endpoints
#     http://127.0.0.1:22/, https://127.0.0.1/, https://[::1]/,
#     https://169.254.169.254/, a v4-mapped loopback, a name that resolves
#     to loopback, a host not on the pharmacy's allow-list (and another
#     pharmacy's host), file: are each refused with 422 naming the rule,
#     and nothing is stored;
#  2. the connect-time check: a Subscription already in the database that
#     points at loopback (as if its name resolved elsewhere at create, DNS
#     rebinding) gets no connection; the item becomes a dead letter naming
#     the refused address;
#  3. loopback allowed through webhooks.allow_private: the notification
#     reaches `klasgw sim pharmacy`; a webhook answering 302 to another
#     loopback port is not followed (that port gets nothing) and the item
#     is a dead letter.
set -euo pipefail
. "$(dirname "$0")/lib.sh"
PM='/fhir/$process-message'
PIDS=()
stop_helpers() {
    local p
    for p in ${PIDS[@]+"${PIDS[@]}"}; do
        kill "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}
trap 'stop_helpers; lib_cleanup' EXIT

# gw_stop, and the HSA simulator gw_start started beside it (a second
# gw_start starts another).
gw_stop_all() {
    gw_stop
    if [ -n "${HSA_PID:-}" ]; then
        kill "$HSA_PID" 2>/dev/null || true
        wait "$HSA_PID" 2>/dev/null || true
        HSA_PID=
    fi
}
# webhooks [allowed_hosts] [allow_private] [allow_http]: rewrite the
# [webhooks] section of $T/conf.
webhooks() {
    sed -i -e "s|^allowed_hosts = .*|allowed_hosts = $1|" \
        -e "s|^allow_private = .*|allow_private = $2|" \
        -e "s|^allow_http = .*|allow_http = $3|" "$T/conf"
}
db() { sqlite3 -cmd '.timeout 5000' "$T/db/klasgw.db" "$1"; }
sub_json() {
    printf '{"resourceType": "Subscription", "status": "requested", "reason": "KLAS", "criteria": "Task", "channel": {"type": "rest-hook", "endpoint": "%s"}}' "$1" >"$T/sub.json"
}
# refused WHO ENDPOINT RULE: 422, an OperationOutcome whose code is the
# rule, named in English and Swedish; nothing stored. (One python3 check:
# fj.py per field is slow on a loaded machine.)
refused() {
    sub_json "$2"
    post "$1" /fhir/Subscription "$T/sub.json"
    [ "$ST" = 422 ] || fail "subscription to $2: status $ST, wanted 422: $(head -c 600 "$B")"
    /usr/bin/python3 -c '
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
c = d["issue"][0]["details"]
ok = (d["resourceType"] == "OperationOutcome" and c["coding"][0]["code"] == sys.argv[2]
      and "rule:" in c["coding"][0]["display"] and "slutpunkt" in c["text"]
      and d["issue"][0]["expression"] == ["Subscription.channel.endpoint"])
sys.exit(0 if ok else "not refused by %s naming the rule: %s" % (sys.argv[2], json.dumps(d)))' \
        "$B" "$3" || fail "subscription to $2"
    [ "$(db 'SELECT count(*) FROM subscriptions')" = 0 ] ||
        fail "subscription to $2 was stored"
}
submit() {
    /usr/bin/python3 "$GW_SOURCE_DIR/tests/e2e/fj.py" msg "$EX/valid/motivation-enskild-searched.json" >"$T/m.json"
    post ehr "$PM" "$T/m.json"
    want 200 "a motivation naming apotek1"
}
# wait_dead N: until N pharmacy items are dead letters (bounded).
wait_dead() {
    for _ in $(seq 1 200); do
        [ "$(db "SELECT count(*) FROM outbox WHERE peer = 'pharmacy' AND state = 'dead'")" -ge "$1" ] && return 0
        sleep 0.1
    done
    fail "no dead pharmacy item: $(db "SELECT state, attempts, last_error FROM outbox WHERE peer = 'pharmacy'")"
}
# listener PORT LOG: a TCP server that writes one line per connection.
listener() {
    /usr/bin/python3 -c '
import socket, sys
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(16)
while True:
    c, _ = s.accept()
    with open(sys.argv[2], "a") as f: f.write("connection\n")
    c.close()' "$1" "$2" &
    PIDS+=($!)
}
wait_port() {
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    fail "nothing listens on $1"
}

# --- 1. strict: every rule refuses at create --------------------------------
gw_conf "$T/conf" "
[outbox]
backoff_base_ms = 100
backoff_cap_ms = 200
max_attempts = 3"
# Non-loopback names and addresses below (169.254.169.254, *.example.org)
# appear only in refusals: the create-time check refuses them before any
# connection or look-up, so no traffic ever leaves 127.0.0.0/8.
webhooks "$GLN1=127.0.0.1 $GLN1=::1 $GLN1=169.254.169.254 $GLN1=::ffff:127.0.0.1 $GLN1=localhost $GLN1=0.0.0.0 $GLN2=apotek2.example.org" "" false
gw_start 0
refused apo1 "http://127.0.0.1:22/" EWEBHOOK_SCHEME
refused apo1 "file:///etc/passwd" EWEBHOOK_SCHEME
refused apo1 "gopher://127.0.0.1:70/" EWEBHOOK_SCHEME
refused apo1 "https://127.0.0.1/" EWEBHOOK_ADDRESS
refused apo1 "https://127.0.0.1:22/hook" EWEBHOOK_ADDRESS
refused apo1 "https://[::1]/" EWEBHOOK_ADDRESS
refused apo1 "https://169.254.169.254/latest/meta-data/" EWEBHOOK_ADDRESS
refused apo1 "https://[::ffff:127.0.0.1]/" EWEBHOOK_ADDRESS
refused apo1 "https://0.0.0.0/" EWEBHOOK_ADDRESS
refused apo1 "https://localhost/" EWEBHOOK_ADDRESS
refused apo1 "https://apotek.example.org/hook" EWEBHOOK_HOST
refused apo1 "https://apotek2.example.org/hook" EWEBHOOK_HOST
refused apo2 "https://127.0.0.1/" EWEBHOOK_HOST

# --- 2. connect time: a stored loopback endpoint gets no connection ---------
P1=$(any_free_port)
listener "$P1" "$T/p1.log"
wait_port "$P1"
: >"$T/p1.log" # the probe above
db "INSERT INTO subscriptions VALUES ('rebound', '$GLN1', 'https://127.0.0.1:$P1/hook', 'Task', 'active', 0)"
submit
wait_dead 1
db "SELECT last_error FROM outbox WHERE peer = 'pharmacy' AND state = 'dead'" |
    grep -q 'address refused: loopback' ||
    fail "dead letter reason: $(db "SELECT last_error FROM outbox WHERE peer = 'pharmacy'")"
[ ! -s "$T/p1.log" ] || fail "the refused loopback endpoint got a connection"
gw_stop_all

# --- 3. loopback allowed: delivered; a redirect is not followed -------------
webhooks "$GLN1=127.0.0.1" "127.0.0.0/8" true
db "DELETE FROM subscriptions"
PH=$(any_free_port)
"$KLASGW" -c "$T/conf" sim pharmacy --port "$PH" >"$T/ph.log" 2>&1 &
PIDS+=($!)
wait_port "$PH"
gw_start 0
refused apo1 "https://[::1]/" EWEBHOOK_HOST
sub_json "http://127.0.0.1:$PH/hook"
post apo1 /fhir/Subscription "$T/sub.json"
want 201 "a subscription to the pharmacy simulator on allowed loopback"
S=$(/usr/bin/python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["id"])' "$B")
submit
for _ in $(seq 1 200); do
    grep -q 'event=sim_pharmacy_notification' "$T/ph.log" && break
    sleep 0.1
done
grep -q 'event=sim_pharmacy_notification' "$T/ph.log" ||
    fail "the notification did not reach sim pharmacy: $(db "SELECT state, last_error FROM outbox WHERE peer = 'pharmacy'")"
call apo1 DELETE "/fhir/Subscription/$S"

P3=$(any_free_port)
listener "$P3" "$T/p3.log"
wait_port "$P3"
: >"$T/p3.log"
P2=$(any_free_port)
/usr/bin/python3 -c '
import http.server, sys
class R(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        with open(sys.argv[3], "a") as f: f.write("post\n")
        self.send_response(302)
        self.send_header("Location", "http://127.0.0.1:%s/hook" % sys.argv[2])
        self.send_header("Content-Length", "0")
        self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), R).serve_forever()' \
    "$P2" "$P3" "$T/p2.log" &
PIDS+=($!)
wait_port "$P2"
sub_json "http://127.0.0.1:$P2/hook"
post apo1 /fhir/Subscription "$T/sub.json"
want 201 "a subscription to the redirecting webhook"
dead0=$(db "SELECT count(*) FROM outbox WHERE peer = 'pharmacy' AND state = 'dead'")
submit
wait_dead $((dead0 + 1))
grep -q post "$T/p2.log" || fail "the redirecting webhook was not called"
db "SELECT last_error FROM outbox WHERE peer = 'pharmacy' AND state = 'dead'" |
    grep -q 'redirects are not followed' ||
    fail "dead letter reason: $(db "SELECT last_error FROM outbox WHERE peer = 'pharmacy'")"
[ ! -s "$T/p3.log" ] || fail "the redirect was followed to the second port"
echo "ok: webhook endpoints (SSRF)"
