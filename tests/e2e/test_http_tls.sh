#!/usr/bin/env bash
# Mutual TLS: serve with plain_http = false and the tls_* keys, and
# certificates made here with openssl: a CA, a server certificate, a
# client certificate whose subject serialNumber is a [clients] match, one
# listed by its SHA-256 fingerprint, one unknown, one from another CA.
# Listed -> 200 (metadata and search); unknown -> 401; untrusted CA ->
# refused (TLS failure or 401); no certificate -> 401; plain HTTP on the
# TLS port gets no HTTP answer. A listed certificate made for servers only
# (extendedKeyUsage serverAuth) or without extendedKeyUsage -> 401; one in
# server.tls_crl -> 401; a certificate revoked while serving is refused
# after SIGHUP re-reads the CRL, and a broken CRL on SIGHUP keeps the one
# in use. plain_http on a non-loopback address does not start.
source "$(dirname "$0")/lib.sh"

source "$(dirname "$0")/pki.sh"
ca ca1
ca ca2
cert server ca1 "/O=klasgw test/CN=localhost" \
    "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
client_ext="extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature"
cert ehr1 ca1 "/O=klasgw test/CN=Journal 1/serialNumber=SE2321000016-EHR1" "$client_ext"
cert apo ca1 "/O=klasgw test/CN=Apotek by fingerprint" "$client_ext"
cert nope ca1 "/O=klasgw test/CN=Not listed/serialNumber=SE2321000016-NOPE" "$client_ext"
cert rogue ca2 "/O=klasgw test/CN=Other CA/serialNumber=SE2321000016-EHR1" "$client_ext"
# The same listed identity, in certificates that must not authenticate.
cert srvonly ca1 "/O=klasgw test/CN=Server only/serialNumber=SE2321000016-EHR1" \
    "extendedKeyUsage=serverAuth
keyUsage=critical,digitalSignature"
cert noeku ca1 "/O=klasgw test/CN=No EKU/serialNumber=SE2321000016-EHR1" \
    "keyUsage=critical,digitalSignature"
cert revoked ca1 "/O=klasgw test/CN=Revoked/serialNumber=SE2321000016-EHR1" "$client_ext"
cert later ca1 "/O=klasgw test/CN=Revoked later/serialNumber=SE2321000016-EHR1" "$client_ext"
# ca1's revocation list, made with `openssl ca`.
: >"$P/index.txt"
echo 01 >"$P/crlnumber"
printf '%s\n' "[ca]" "default_ca = ca1" "[ca1]" "database = $P/index.txt" \
    "crlnumber = $P/crlnumber" "certificate = $P/ca1.pem" \
    "private_key = $P/ca1.key" "default_md = sha256" "default_crl_days = 2" >"$P/ca.cnf"
revoke() { ossl ca -config "$P/ca.cnf" -revoke "$P/$1.pem"; }
gencrl() {
    ossl ca -config "$P/ca.cnf" -gencrl -out "$P/crl.new"
    mv "$P/crl.new" "$P/crl.pem"
}
revoke revoked
gencrl

fp=$(openssl x509 -in "$P/apo.pem" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f')
[ ${#fp} -eq 64 ] || fail "fingerprint '$fp'"

gw_conf "$T/conf" "apotek3 = pharmacy sha256:$fp 7350000000030"
sed -i "s#^plain_http = true#plain_http = false\ntls_cert = $P/server.pem\ntls_key = $P/server.key\ntls_client_ca = $P/ca1.pem\ntls_crl = $P/crl.pem#" "$T/conf"
grep -q "^plain_http = false" "$T/conf" || fail "configuration"
# Without plain HTTP serve needs the audit chain's key.
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 >"$T/audit.key")
printf '\n[audit]\nkey_file = %s\n' "$T/audit.key" >>"$T/conf"

port=$(any_free_port)
env KLASGW_SERVER_PORT=$port "$KLASGW" -c "$T/conf" serve >>"$T/serve.log" 2>&1 &
GW_PID=$!
URL=https://localhost:$port
# tls [CERT] URL_PATH [curl args]: status in $ST ('000' when TLS failed).
tls() {
    local c=$1 path=$2
    shift 2
    local opt=(--cacert "$P/ca1.pem" --resolve "localhost:$port:127.0.0.1")
    [ "$c" = - ] || opt+=(--cert "$P/$c.pem" --key "$P/$c.key")
    : >"$B"
    ST=$(curl -s -o "$B" -w '%{http_code}' "${opt[@]}" "$@" "$URL$path" 2>"$T/curl.err") || true
}
for _ in $(seq 1 100); do
    tls - /healthz
    [ "$ST" = 200 ] && break
    kill -0 "$GW_PID" 2>/dev/null || fail "serve exited: $(tail -5 "$T/serve.log")"
    sleep 0.1
done
[ "$ST" = 200 ] || fail "healthz over TLS: $ST"
grep -q "event=ready.*tls=mutual" "$T/serve.log" || fail "serve does not say tls=mutual: $(grep event=ready "$T/serve.log")"

tls ehr1 /fhir/metadata
want 200 "listed certificate: metadata"
chk "rt == 'CapabilityStatement'" "metadata over mutual TLS"
tls ehr1 /fhir/Task -H "X-Klasgw-User: SE2321000016-DOC1"
want 200 "listed certificate (serialNumber): search"
chk "rt == 'Bundle' and d['type'] == 'searchset'" "a searchset over mutual TLS"
tls apo /fhir/Task
want 200 "listed certificate (SHA-256 fingerprint): search"
tls ehr1 /fhir/Task -H "X-Klasgw-User: SE2321000016-DOC1" -H "X-Klasgw-Client: SE7350000000-APO1"
want 200 "X-Klasgw-Client is ignored under TLS"
tls nope /fhir/Task
want_outcome 401 "certificate from the CA, not listed"
chk "'not listed' in json.dumps(d)" "401 says the certificate is not listed"
tls - /fhir/Task
want_outcome 401 "no client certificate"
tls - /fhir/Task -H "X-Klasgw-Client: SE2321000016-EHR1" -H "X-Klasgw-User: SE2321000016-DOC1"
want_outcome 401 "no certificate, X-Klasgw-Client does not stand in"
tls rogue /fhir/Task -H "X-Klasgw-User: SE2321000016-DOC1"
rogue=$ST
case $ST in
000) ;;
401) $FJ check "$B" "rt == 'OperationOutcome' and 'not trusted' in json.dumps(d)" "untrusted CA: 401 says not trusted" ;;
*) fail "certificate of another CA: status $ST" ;;
esac
tls ehr1 /fhir/metadata --tlsv1.2 --tls-max 1.2
want 200 "TLS 1.2"
tls ehr1 /fhir/metadata --tlsv1.3
want 200 "TLS 1.3"
# Listed, but not a client certificate, or revoked.
tls srvonly /fhir/Task -H "X-Klasgw-User: SE2321000016-DOC1"
want_outcome 401 "a certificate for servers only (extendedKeyUsage serverAuth)"
chk "'clientAuth' in json.dumps(d)" "401 says the certificate is not for client authentication"
tls noeku /fhir/Task -H "X-Klasgw-User: SE2321000016-DOC1"
want_outcome 401 "a certificate without extendedKeyUsage"
tls revoked /fhir/Task -H "X-Klasgw-User: SE2321000016-DOC1"
want_outcome 401 "a certificate in the CRL"
chk "'revoked' in json.dumps(d)" "401 says the certificate is revoked"
tls later /fhir/Task -H "X-Klasgw-User: SE2321000016-DOC1"
want 200 "a certificate not (yet) revoked"
# Revoked while serving: SIGHUP re-reads the CRL.
revoke later
gencrl
kill -HUP "$GW_PID"
for _ in $(seq 1 100); do
    [ "$(grep -c 'event=crl_loaded' "$T/serve.log")" -ge 2 ] && break
    sleep 0.1
done
[ "$(grep -c 'event=crl_loaded' "$T/serve.log")" -ge 2 ] || fail "SIGHUP did not re-read the CRL: $(tail -3 "$T/serve.log")"
tls later /fhir/Task -H "X-Klasgw-User: SE2321000016-DOC1"
want_outcome 401 "a certificate revoked while serving, after SIGHUP"
tls ehr1 /fhir/Task -H "X-Klasgw-User: SE2321000016-DOC1"
want 200 "the others still authenticate"
# A broken CRL on SIGHUP: the one in use stays.
echo "not a CRL" >"$P/crl.pem"
kill -HUP "$GW_PID"
for _ in $(seq 1 100); do
    grep -q 'event=crl_reload_failed' "$T/serve.log" && break
    sleep 0.1
done
grep -q 'event=crl_reload_failed' "$T/serve.log" || fail "a broken CRL was not reported"
tls later /fhir/Task -H "X-Klasgw-User: SE2321000016-DOC1"
want_outcome 401 "still revoked after a broken CRL"
tls ehr1 /fhir/metadata
want 200 "still serving after a broken CRL"
kill -0 "$GW_PID" || fail "serve died on a broken CRL"

# plain_http off loopback does not start (anyone could name any client).
gw_conf "$T/plain.conf"
rc=0
env KLASGW_SERVER_LISTEN=0.0.0.0 KLASGW_SERVER_PORT="$(any_free_port)" \
    timeout 20 "$KLASGW" -c "$T/plain.conf" serve >"$T/plain.log" 2>&1 || rc=$?
[ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "plain_http on 0.0.0.0 started (status $rc)"
grep -q "loopback" "$T/plain.log" || fail "the refusal does not say why: $(cat "$T/plain.log")"

ST=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/fhir/metadata" 2>/dev/null) || true
[ "$ST" = 000 ] || [ "$ST" = 400 ] || fail "plain HTTP on the TLS port answered $ST"
echo "ok: mutual TLS (certificate of another CA: $([ "$rogue" = 000 ] && echo "handshake refused: $(head -c 120 "$T/curl.err")" || echo 401); plain HTTP: $ST)"
