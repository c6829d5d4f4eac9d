#!/usr/bin/env bash
# Certificates change without downtime: serve with mutual TLS, open a
# keep-alive connection and make a request on it; replace the server
# certificate and key files (a new certificate, another serial and
# expiry), SIGHUP; the open connection carries a second request (it was
# not dropped, and still shows the old certificate); a new connection
# sees the new certificate; /metrics exports each certificate's expiry
# (klasgw_certificate_expiry_seconds{use="server"} moves to the new one,
# the LV client certificate's is there). A broken pair on SIGHUP is
# refused and the certificate in use stays.
# The client CAs and [clients] change the same way: a client whose
# certificate a new CA issued is refused, then accepted once the CA is in
# server.tls_client_ca and SIGHUP; a request whose head is half sent
# across that SIGHUP is answered; a client removed from [clients] is
# refused after SIGHUP, also on its connection opened before; a broken CA
# file or [clients] line on SIGHUP keeps the ones in use, and says why.
source "$(dirname "$0")/lib.sh"

source "$(dirname "$0")/pki.sh"
ca ca 3
ca ca2 3
cert old ca "/O=klasgw test/CN=localhost" "$SRV_EXT" 2
cert new ca "/O=klasgw test/CN=localhost" "$SRV_EXT" 3
cert ops ca "/O=klasgw test/CN=Ops/serialNumber=SE2321000016-OPS1" "$CLI_EXT"
cert lvclient ca "/O=klasgw test/CN=klasgw" "$CLI_EXT"
# A second operator whose certificate a new CA issued.
cert ops2 ca2 "/O=klasgw test/CN=Ops 2/serialNumber=SE2321000016-OPS2" "$CLI_EXT"
cp "$P/ca.pem" "$P/clients-ca.pem"
cp "$P/old.pem" "$P/server.pem"
cp "$P/old.key" "$P/server.key"
serial() { openssl x509 -in "$1" -noout -serial | sed 's/.*=//'; }
epoch() { date -d "$(openssl x509 -in "$1" -noout -enddate | sed 's/.*=//')" +%s; }

gw_conf "$T/conf" "ops2 = operator serial:SE2321000016-OPS2"
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 >"$T/audit.key")
printf '\n[audit]\nkey_file = %s\n' "$T/audit.key" >>"$T/conf"
port=$(any_free_port)
env KLASGW_SERVER_PORT="$port" KLASGW_SERVER_PLAIN_HTTP=false \
    KLASGW_SERVER_TLS_CERT="$P/server.pem" KLASGW_SERVER_TLS_KEY="$P/server.key" \
    KLASGW_SERVER_TLS_CLIENT_CA="$P/clients-ca.pem" \
    KLASGW_LV_TLS_CERT="$P/lvclient.pem" KLASGW_LV_TLS_KEY="$P/lvclient.key" \
    "$KLASGW" -c "$T/conf" serve >>"$T/serve.log" 2>&1 &
GW_PID=$!
for _ in $(seq 1 100); do
    grep -q 'event=ready' "$T/serve.log" && break
    kill -0 "$GW_PID" 2>/dev/null || fail "serve exited: $(tail -5 "$T/serve.log")"
    sleep 0.1
done
grep -q 'event=ready' "$T/serve.log" || fail "serve did not start"

# One python3: a keep-alive connection across the SIGHUP, then a new one.
/usr/bin/python3 - "$port" "$P" "$GW_PID" "$T/serve.log" "$(serial "$P/old.pem")" \
    "$(serial "$P/new.pem")" "$(epoch "$P/old.pem")" "$(epoch "$P/new.pem")" \
    "$(epoch "$P/lvclient.pem")" <<'PY' || fail "reload"
import os, shutil, signal, socket, ssl, sys, time
port, P, pid, log = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4]
old_serial, new_serial = sys.argv[5].upper(), sys.argv[6].upper()
old_exp, new_exp, lv_exp = sys.argv[7], sys.argv[8], sys.argv[9]

def fail(m):
    print("FAIL: " + m, file=sys.stderr); sys.exit(1)

def connect():
    ctx = ssl.create_default_context(cafile=P + "/ca.pem")
    ctx.load_cert_chain(P + "/ops.pem", P + "/ops.key")
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    return ctx.wrap_socket(s, server_hostname="localhost")

def serial_of(conn):
    der = conn.getpeercert(binary_form=True)
    from subprocess import run
    out = run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"],
              input=der, capture_output=True).stdout.decode()
    return out.strip().split("=")[1].upper()

def get(conn, path):
    conn.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path).encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            fail("connection closed before an answer to " + path)
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(body) < n:
        chunk = conn.recv(65536)
        if not chunk:
            fail("connection closed inside the body of " + path)
        body += chunk
    return int(head.split()[1]), body.decode()

def wait_log(text, count):
    for _ in range(200):
        if open(log).read().count(text) >= count:
            return
        time.sleep(0.05)
    fail("the log never said %s (%d times)" % (text, count))

def expiry(body, label):
    for line in body.splitlines():
        if line.startswith("klasgw_certificate_expiry_seconds{%s}" % label):
            return line.split()[-1]
    fail("no expiry for %s in /metrics" % label)

a = connect()
if serial_of(a) != old_serial:
    fail("first connection: not the old certificate")
st, body = get(a, "/metrics")
if st != 200:
    fail("/metrics: %d" % st)
if expiry(body, 'use="server"') != old_exp or expiry(body, 'peer="lv"') != lv_exp:
    fail("expiry before the reload: " + body[-400:])

# A broken pair (the new certificate with the old key) is refused.
shutil.copy(P + "/new.pem", P + "/server.pem")
os.kill(pid, signal.SIGHUP)
wait_log("event=server_cert_reload_failed", 1)
b = connect()
if serial_of(b) != old_serial:
    fail("after a broken pair the certificate in use changed")
b.close()

# The new pair, written by rename as an operator would.
shutil.copy(P + "/new.key", P + "/server.key.tmp")
os.rename(P + "/server.key.tmp", P + "/server.key")
os.kill(pid, signal.SIGHUP)
wait_log("event=server_cert_loaded", 2)

st, body = get(a, "/metrics")   # the connection opened before
if st != 200:
    fail("the open connection: %d" % st)
if serial_of(a) != old_serial:
    fail("the open connection changed certificate")
if expiry(body, 'use="server"') != new_exp:
    fail("expiry after the reload: %s, wanted %s" % (expiry(body, 'use="server"'), new_exp))
a.close()
c = connect()
if serial_of(c) != new_serial:
    fail("a new connection does not see the new certificate")
st, _ = get(c, "/healthz")
if st != 200:
    fail("/healthz on the new certificate: %d" % st)
c.close()
print("ok: reload")
PY

# The client CAs and [clients], replaced on SIGHUP.
/usr/bin/python3 - "$port" "$P" "$GW_PID" "$T/serve.log" "$T/conf" <<'PY' || fail "client CA and [clients] reload"
import os, signal, socket, ssl, sys, time
port, P, pid, log, conf = int(sys.argv[1]), sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5]

def fail(m):
    print("FAIL: " + m, file=sys.stderr); sys.exit(1)

def connect(who):
    ctx = ssl.create_default_context(cafile=P + "/ca.pem")
    ctx.load_cert_chain(P + "/%s.pem" % who, P + "/%s.key" % who)
    s = socket.create_connection(("127.0.0.1", port), timeout=20)
    return ctx.wrap_socket(s, server_hostname="localhost")

def answer(conn, what):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            fail("connection closed before an answer to " + what)
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    n = 0
    for line in head.split(b"\r\n")[1:]:
        k, _, v = line.partition(b":")
        if k.strip().lower() == b"content-length":
            n = int(v)
    while len(body) < n:
        chunk = conn.recv(65536)
        if not chunk:
            fail("connection closed inside the body of " + what)
        body += chunk
    return int(head.split()[1])

def get(conn, path):
    conn.sendall(("GET %s HTTP/1.1\r\nHost: localhost\r\n\r\n" % path).encode())
    return answer(conn, path)

def status(who):
    c = connect(who)
    try:
        return get(c, "/metrics")
    finally:
        c.close()

def wait_log(text, count):
    for _ in range(200):
        if open(log).read().count(text) >= count:
            return
        time.sleep(0.05)
    fail("the log never said %s (%d times)" % (text, count))

def hup(*events):
    """SIGHUP, then waits until the log says each event once more."""
    text = open(log).read()
    want = [(e, text.count(e) + 1) for e in events]
    os.kill(pid, signal.SIGHUP)
    for e, n in want:
        wait_log(e, n)

def replace(path, text):
    with open(path + ".tmp", "w") as f:
        f.write(text)
    os.rename(path + ".tmp", path)

ca1 = open(P + "/ca.pem").read()
ca2 = open(P + "/ca2.pem").read()

# Before: ops2's CA is not trusted.
if status("ops2") != 401:
    fail("ops2 (a new CA) accepted before its CA was added")

# A request in flight: its head half sent while the CA file changes.
a = connect("ops")
a.sendall(b"GET /metrics HTTP/1.1\r\nHost: local")
replace(P + "/clients-ca.pem", ca1 + ca2)
hup("event=sighup")
a.sendall(b"host\r\n\r\n")
if answer(a, "the request in flight") != 200:
    fail("the request in flight across SIGHUP was not answered 200")

# After: ops2 is accepted (once the reload is done); ops still is, on the
# open connection too.
for _ in range(100):
    if status("ops2") == 200:
        break
    time.sleep(0.1)
else:
    fail("ops2 refused after its CA was added and SIGHUP")
if get(a, "/metrics") != 200 or status("ops") != 200:
    fail("ops refused after the client CAs grew")

# A broken CA file keeps the CAs in use.
b = connect("ops2")
if get(b, "/metrics") != 200:
    fail("ops2 on a connection of its own")
replace(P + "/clients-ca.pem", "not a certificate\n")
hup("event=client_ca_reload_failed", "event=clients_loaded")
if status("ops2") != 200 or status("ops") != 200:
    fail("a broken CA file changed the CAs in use")
replace(P + "/clients-ca.pem", ca1 + ca2)

# A broken [clients] line keeps the table in use.
text = open(conf).read()
replace(conf, text.replace("ops2 = operator", "ops2 = nobody"))
hup("event=client_ca_loaded", "event=clients_reload_failed")
if status("ops2") != 200:
    fail("a broken [clients] line changed the table in use")

# ops2 removed from [clients]: refused, on the connection opened before too.
replace(conf, "".join(l for l in text.splitlines(True) if not l.startswith("ops2 ")))
hup("event=clients_loaded")
if get(b, "/metrics") != 401:
    fail("ops2, removed from [clients], still accepted on its open connection")
if status("ops2") != 401:
    fail("ops2, removed from [clients], still accepted")
if get(a, "/metrics") != 200 or status("ops") != 200:
    fail("ops refused after ops2 was removed")
print("ok: client CAs and [clients] reload")
PY
# New handshakes name the CAs in use now (ca2 added by SIGHUP) in their
# CertificateRequest, so that a client picking its certificate by them
# finds the new CA's.
names=$(openssl s_client -connect "127.0.0.1:$port" -servername localhost \
    -cert "$P/ops.pem" -key "$P/ops.key" </dev/null 2>/dev/null |
    sed -n '/Acceptable client certificate CA names/,/^[A-Z][a-z]* .*:/p') || true
grep -q 'CN *= *ca2' <<<"$names" || fail "the CertificateRequest does not name the CA added on SIGHUP: $names"
gw_stop || fail "serve did not stop cleanly"
echo "ok: the server certificate, the client CAs and [clients] are replaced on SIGHUP without dropping a connection"
