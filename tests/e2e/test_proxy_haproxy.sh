#!/usr/bin/env bash
# Behind a TLS-terminating proxy (NTjP style), with a real haproxy on free
# loopback ports in front of a gateway that serves mutual TLS:
#  - TCP mode (TLS passthrough): the client's own certificate reaches the
#    gateway, which maps it as usual; proxy headers through it come from
#    an address not in server.trusted_proxies: 403, logged, audited;
#  - HTTP mode: TLS ends at haproxy, which verifies the client certificate
#    and forwards it in x-vp-auth-cert (base64 DER, ssl_c_der) and the
#    address in X-Forwarded-For, connecting from 127.0.0.2, inside the
#    trusted range 127.0.0.2/31: the forwarded certificate is mapped
#    exactly as a direct one; a client's own x-vp-auth-cert does not get
#    through;
#  - from the trusted range, a PEM x-vp-auth-cert (line breaks as
#    spaces) is accepted too, and one from another CA is refused (401);
#    127.0.0.3 (the range's last address) is trusted, 127.0.0.4 (just
#    past it) is not; X-Forwarded-For through two trusted proxies names
#    the address before them.
source "$(dirname "$0")/lib.sh"

command -v haproxy >/dev/null || fail "haproxy is missing (scripts/install-deps.sh)"
source "$(dirname "$0")/pki.sh"
ca ca
ca other
srv="subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
cli="extendedKeyUsage=clientAuth"
cert gateway ca "/O=klasgw test/CN=localhost" "$srv"
cert front ca "/O=klasgw test/CN=localhost" "$srv"
cert proxy ca "/O=klasgw test/CN=haproxy" "$cli"
cert ehr ca "/O=klasgw test/CN=Journal 1/serialNumber=SE2321000016-EHR1" "$cli"
cert apo ca "/O=klasgw test/CN=Apotek 1/serialNumber=SE7350000000-APO1" "$cli"
cert rogue other "/O=klasgw test/CN=Other/serialNumber=SE7350000000-APO1" "$cli"
cat "$P/front.pem" "$P/front.key" >"$P/front.both"
cat "$P/proxy.pem" "$P/proxy.key" >"$P/proxy.both"

GW=$(any_free_port)
TCP=$(any_free_port)
HTTP=$(any_free_port)
gw_conf "$T/conf"
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 >"$T/audit.key")
printf '\n[audit]\nkey_file = %s\n' "$T/audit.key" >>"$T/conf"
env KLASGW_SERVER_PORT="$GW" KLASGW_SERVER_PLAIN_HTTP=false \
    KLASGW_SERVER_TLS_CERT="$P/gateway.pem" KLASGW_SERVER_TLS_KEY="$P/gateway.key" \
    KLASGW_SERVER_TLS_CLIENT_CA="$P/ca.pem" KLASGW_SERVER_TRUSTED_PROXIES="127.0.0.2/31, ::1/128" \
    "$KLASGW" -c "$T/conf" serve >>"$T/serve.log" 2>&1 &
GW_PID=$!

cat >"$T/haproxy.cfg" <<EOF
global
    maxconn 64
defaults
    timeout connect 5s
    timeout client 30s
    timeout server 30s
frontend tcpfe
    mode tcp
    bind 127.0.0.1:$TCP
    default_backend tcpbe
backend tcpbe
    mode tcp
    server gw 127.0.0.1:$GW
frontend httpfe
    mode http
    bind 127.0.0.1:$HTTP ssl crt $P/front.both ca-file $P/ca.pem verify required
    http-request del-header x-vp-auth-cert
    http-request set-header x-vp-auth-cert %[ssl_c_der,base64]
    option forwardfor
    default_backend httpbe
backend httpbe
    mode http
    server gw 127.0.0.1:$GW ssl verify required ca-file $P/ca.pem verifyhost localhost sni str(localhost) crt $P/proxy.both source 127.0.0.2
EOF
haproxy -c -f "$T/haproxy.cfg" >"$T/haproxy.check" 2>&1 || fail "haproxy config: $(cat "$T/haproxy.check")"
haproxy -db -f "$T/haproxy.cfg" >"$T/haproxy.log" 2>&1 &
HAPROXY_PID=$!
proxy_cleanup() {
    local rc=$?
    kill "$HAPROXY_PID" 2>/dev/null || true
    wait "$HAPROXY_PID" 2>/dev/null || true
    set +e
    (exit $rc)
    lib_cleanup
}
trap proxy_cleanup EXIT

# via PORT CERT PATH [curl args]: status in $ST, body in $B. Each request
# carries its own X-Request-Id (via-N), so last_request finds its line.
REQ=0
via() {
    local port=$1 c=$2 p=$3
    shift 3
    : >"$B"
    REQ=$((REQ + 1))
    ST=$(curl -s -o "$B" -w '%{http_code}' --cacert "$P/ca.pem" --cert "$P/$c.pem" \
        --key "$P/$c.key" --resolve "localhost:$port:127.0.0.1" \
        -H "X-Request-Id: via-$REQ" "$@" \
        "https://localhost:$port$p" 2>"$T/curl.err") || true
}
for _ in $(seq 1 100); do
    via "$GW" ehr /healthz
    [ "$ST" = 200 ] && break
    kill -0 "$GW_PID" 2>/dev/null || fail "serve exited: $(tail -5 "$T/serve.log")"
    sleep 0.1
done
[ "$ST" = 200 ] || fail "the gateway does not answer"
for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$HTTP") 2>/dev/null && break
    kill -0 "$HAPROXY_PID" 2>/dev/null || fail "haproxy exited: $(cat "$T/haproxy.log")"
    sleep 0.05
done
# The gateway logs a request once its answer has gone out (libmicrohttpd's
# completion): curl may have it first, so wait for the line of the last
# via (a loaded machine took longer than a grep right after curl).
last_request() {
    local i
    for i in $(seq 1 600); do
        grep -q "req=via-$REQ .*event=request" "$T/serve.log" && break
        sleep 0.05
    done
    grep "req=via-$REQ .*event=request" "$T/serve.log" | tail -1
}

# TCP mode: TLS passes through, the client's certificate is the gateway's.
via "$TCP" ehr /fhir/Task -H "X-Klasgw-User: SE2321000016-DOC1"
want 200 "through haproxy in TCP mode"
last_request | grep -q 'client=journal1' || fail "TCP mode: $(last_request)"
# Proxy headers through it: the gateway sees 127.0.0.1, not a trusted proxy.
apo_b64=$(openssl x509 -in "$P/apo.pem" -outform DER | base64 -w0)
via "$TCP" ehr /fhir/Task -H "x-vp-auth-cert: $apo_b64"
want_outcome 403 "x-vp-auth-cert from an untrusted address"
chk "'trusted_proxies' in json.dumps(d)" "the 403 names server.trusted_proxies"
via "$TCP" ehr /fhir/Task -H "X-Forwarded-For: 127.0.0.9" -H "X-Klasgw-User: SE2321000016-DOC1"
want_outcome 403 "X-Forwarded-For from an untrusted address"
grep -q 'event=proxy_headers_refused' "$T/serve.log" || fail "the refusal is not logged"

# HTTP mode: haproxy ends TLS and forwards the certificate (base64 DER).
via "$HTTP" ehr /fhir/Task -H "X-Klasgw-User: SE2321000016-DOC1"
want 200 "through haproxy in HTTP mode"
last_request | grep -q 'client=journal1 forwarded_for=127.0.0.1' || fail "HTTP mode: $(last_request)"
via "$HTTP" apo /fhir/Task
want 200 "the pharmacy through haproxy in HTTP mode"
last_request | grep -q 'client=apotek1' || fail "HTTP mode, pharmacy: $(last_request)"
# A client's own x-vp-auth-cert is replaced by haproxy's.
via "$HTTP" ehr /fhir/Task -H "x-vp-auth-cert: $apo_b64" -H "X-Klasgw-User: SE2321000016-DOC1"
want 200 "a client's own x-vp-auth-cert through haproxy"
last_request | grep -q 'client=journal1' || fail "a client named itself through haproxy: $(last_request)"

# From the trusted address itself: PEM with its line breaks as spaces.
via "$GW" proxy /fhir/Task --interface 127.0.0.2 -H "x-vp-auth-cert: $(tr '\n' ' ' <"$P/apo.pem")"
want 200 "a PEM x-vp-auth-cert from the trusted proxy"
last_request | grep -q 'client=apotek1' || fail "PEM: $(last_request)"
rogue_b64=$(openssl x509 -in "$P/rogue.pem" -outform DER | base64 -w0)
via "$GW" proxy /fhir/Task --interface 127.0.0.2 -H "x-vp-auth-cert: $rogue_b64"
want_outcome 401 "a forwarded certificate from another CA"
chk "'not trusted' in json.dumps(d)" "the 401 says not trusted"
via "$GW" proxy /fhir/Task --interface 127.0.0.2 -H "x-vp-auth-cert: not a certificate"
want_outcome 401 "a forwarded value that is no certificate"
# The range's edges: 127.0.0.3 is inside 127.0.0.2/31, 127.0.0.4 is not.
via "$GW" proxy /fhir/Task --interface 127.0.0.3 -H "x-vp-auth-cert: $apo_b64" \
    -H "X-Forwarded-For: 203.0.113.9, 127.0.0.2"
want 200 "x-vp-auth-cert from 127.0.0.3, the last address of the trusted range"
last_request | grep -q 'client=apotek1 forwarded_for=203.0.113.9' || fail "a chain of trusted proxies: $(last_request)"
via "$GW" proxy /fhir/Task --interface 127.0.0.4 -H "x-vp-auth-cert: $apo_b64"
want_outcome 403 "x-vp-auth-cert from 127.0.0.4, just past the trusted range"
# The proxy's own certificate is no client.
via "$GW" proxy /fhir/Task --interface 127.0.0.2
want_outcome 401 "the proxy's own certificate"
gw_stop || fail "serve did not stop cleanly"
echo "ok: haproxy in TCP and HTTP mode; proxy headers only from server.trusted_proxies"
