#!/usr/bin/env bash
# Mutual TLS in both directions, every hop: a test CA made here with
# openssl; the gateway serves TLS and requires client certificates; the
# HSA, LV and pharmacy-webhook simulators serve TLS and require client
# certificates from the CA (--require-client-cert); the gateway presents
# its client certificate to each (hsa/lv/webhooks.tls_*), verifies theirs
# against the CA; LV calls the gateway back with its own certificate.
#
#   EHR --mTLS--> gateway --mTLS--> HSA (prescriber check)
#   pharmacy --mTLS--> gateway --mTLS--> LV --mTLS--> gateway (registered)
#   gateway --mTLS--> pharmacy webhook (notification)
#
# The gateway's LV certificate is first one from another CA: LV refuses
# the handshake, the delivery is retried with the reason logged
# (event=lv_delivery ... outcome=retry detail=<TLS reason>); the right
# certificate is then copied over the same files and SIGHUP sent: the
# next attempt gets through, LV registers the application exactly once.
# A client without a certificate gets no answer from a simulator.
source "$(dirname "$0")/lib.sh"

source "$(dirname "$0")/pki.sh"
ca ca
ca other
srv="subjectAltName=DNS:localhost,IP:127.0.0.1
keyUsage=critical,digitalSignature"
cli="extendedKeyUsage=clientAuth
keyUsage=critical,digitalSignature"
cert gateway ca "/O=klasgw test/CN=localhost" "$srv
extendedKeyUsage=serverAuth"
cert hsa ca "/O=klasgw test/CN=HSA" "$srv
extendedKeyUsage=serverAuth"
cert pharmacy ca "/O=klasgw test/CN=Apotek webhook" "$srv
extendedKeyUsage=serverAuth"
# LV serves and calls back with one certificate, as the lisy client.
cert lv ca "/O=klasgw test/CN=LV/serialNumber=SE2021004078-LISY" "$srv
extendedKeyUsage=serverAuth,clientAuth"
cert gwclient ca "/O=klasgw test/CN=klasgw" "$cli"
cert gwrogue other "/O=klasgw test/CN=klasgw" "$cli"
cert ehr ca "/O=klasgw test/CN=Journal 1/serialNumber=SE2321000016-EHR1" "$cli"
cert apo ca "/O=klasgw test/CN=Apotek 1/serialNumber=SE7350000000-APO1" "$cli"
# The gateway's LV client certificate: from the wrong CA at first.
cp "$P/gwrogue.pem" "$P/gwlv.pem"
cp "$P/gwrogue.key" "$P/gwlv.key"

SIMS=()
tls_cleanup() {
    local rc=$? p
    for p in ${SIMS[@]+"${SIMS[@]}"}; do kill "$p" 2>/dev/null || true; done
    for p in ${SIMS[@]+"${SIMS[@]}"}; do wait "$p" 2>/dev/null || true; done
    set +e
    (exit $rc)
    lib_cleanup
}
trap tls_cleanup EXIT

GW=$(any_free_port)
HSA=$(any_free_port)
LV=$(any_free_port)
PH=$(any_free_port)
gw_conf "$T/conf"
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 >"$T/audit.key")
printf '\n[audit]\nkey_file = %s\n' "$T/audit.key" >>"$T/conf"
export KLASGW_SERVER_PORT=$GW KLASGW_SERVER_PLAIN_HTTP=false
export KLASGW_SERVER_TLS_CERT=$P/gateway.pem KLASGW_SERVER_TLS_KEY=$P/gateway.key
export KLASGW_SERVER_TLS_CLIENT_CA=$P/ca.pem
export KLASGW_HSA_URL=https://127.0.0.1:$HSA/hsa KLASGW_LV_URL=https://127.0.0.1:$LV/lv
export KLASGW_HSA_TLS_CERT=$P/gwclient.pem KLASGW_HSA_TLS_KEY=$P/gwclient.key
export KLASGW_HSA_TLS_CA=$P/ca.pem
export KLASGW_LV_TLS_CERT=$P/gwlv.pem KLASGW_LV_TLS_KEY=$P/gwlv.key KLASGW_LV_TLS_CA=$P/ca.pem
export KLASGW_WEBHOOKS_TLS_CERT=$P/gwclient.pem KLASGW_WEBHOOKS_TLS_KEY=$P/gwclient.key
export KLASGW_WEBHOOKS_TLS_CA=$P/ca.pem KLASGW_WEBHOOKS_ALLOW_HTTP=false
export KLASGW_HSA_TIMEOUT_MS=3000 KLASGW_LV_TIMEOUT_MS=3000
export KLASGW_OUTBOX_BACKOFF_BASE_MS=100 KLASGW_OUTBOX_BACKOFF_CAP_MS=300
export KLASGW_OUTBOX_MAX_ATTEMPTS=1000 KLASGW_OUTBOX_PROBE_INTERVAL_MS=200

k check-config >"$T/check.out" 2>&1 || fail "check-config: $(tail -3 "$T/check.out")"
# check-config names a key that does not belong to its certificate.
KLASGW_LV_TLS_KEY=$P/gwclient.key k check-config >"$T/check.out" 2>&1 &&
    fail "check-config accepted a key of another certificate"
grep -q 'lv.tls_cert: the key .* does not belong to the certificate' "$T/check.out" ||
    fail "check-config on a mismatched key: $(cat "$T/check.out")"

simtls() { echo --tls-cert "$P/$1.pem" --tls-key "$P/$1.key" --tls-ca "$P/ca.pem" --require-client-cert; }
wait_port() {
    for _ in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
        sleep 0.05
    done
    fail "nothing listens on port $1"
}
"$KLASGW" -c "$T/conf" sim hsa --port "$HSA" --fixture "$GW_SOURCE_DIR/tests/fixtures/hsa/prescribers.tsv" \
    $(simtls hsa) >"$T/hsa.log" 2>&1 &
SIMS+=($!)
"$KLASGW" -c "$T/conf" sim lv --port "$LV" --gateway "https://127.0.0.1:$GW" --then registered \
    $(simtls lv) >"$T/lv.log" 2>&1 &
SIMS+=($!)
"$KLASGW" -c "$T/conf" sim pharmacy --port "$PH" $(simtls pharmacy) >"$T/ph.log" 2>&1 &
SIMS+=($!)
wait_port "$HSA"; wait_port "$LV"; wait_port "$PH"

# A client without a certificate gets nothing from a simulator.
curl -s -o /dev/null --cacert "$P/ca.pem" "https://127.0.0.1:$PH/hook" -d x && \
    fail "the webhook simulator answered a client without a certificate"
grep -q 'event=sim_tls_refused reason="Certificate is required."' "$T/ph.log" ||
    fail "the simulator did not log the refusal: $(tail -3 "$T/ph.log")"

"$KLASGW" -c "$T/conf" serve >>"$T/serve.log" 2>&1 &
GW_PID=$!
URL=https://127.0.0.1:$GW
# as CERT METHOD PATH [curl args]: status in $ST, body in $B.
as() {
    local c=$1 m=$2 p=$3
    shift 3
    : >"$B"
    ST=$(curl -s -o "$B" -w '%{http_code}' --cacert "$P/ca.pem" --cert "$P/$c.pem" \
        --key "$P/$c.key" -X "$m" "$@" "$URL$p" 2>"$T/curl.err") || true
}
for _ in $(seq 1 100); do
    as ehr GET /healthz
    [ "$ST" = 200 ] && break
    kill -0 "$GW_PID" 2>/dev/null || fail "serve exited: $(tail -5 "$T/serve.log")"
    sleep 0.1
done
[ "$ST" = 200 ] || fail "healthz over TLS: $ST $(cat "$T/curl.err")"

# The pharmacy subscribes its webhook (https, the simulator).
printf '{"resourceType": "Subscription", "status": "requested", "reason": "KLAS", "criteria": "Task", "channel": {"type": "rest-hook", "endpoint": "https://127.0.0.1:%s/hook"}}' "$PH" >"$T/sub.json"
as apo POST /fhir/Subscription -H 'Content-Type: application/fhir+json' --data-binary @"$T/sub.json"
want 201 "subscription over mutual TLS"

# The EHR submits over SOAP: the gateway checks the prescriber in HSA.
envelope() {
    printf '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:itr="urn:riv:itintegration:registry:1" xmlns:r="urn:riv:klas:%sResponder:1"><soapenv:Header><itr:LogicalAddress>SE2321000016-KLAS</itr:LogicalAddress></soapenv:Header><soapenv:Body><r:%s>%s</r:%s></soapenv:Body></soapenv:Envelope>' "$1" "$1" "$2" "$1"
}
example() { sed -e 's/<?xml[^>]*?>//' -e "s/2026658327/${2:-2026658327}/g" "$EX/valid/$1"; }
envelope SubmitLicenseMotivation "<r:messageId>tls-m1</r:messageId><r:licenseMotivation>$(example motivation-enskild-searched.xml)</r:licenseMotivation>" >"$T/m.xml"
as ehr POST /soap/SubmitLicenseMotivation -H 'Content-Type: text/xml; charset=utf-8' \
    -H 'X-Klasgw-User: SE2321000016-DOC1' --data-binary @"$T/m.xml"
want 200 "SubmitLicenseMotivation over mutual TLS"
ref=$(sed -n 's:.*<referenceNumber>\([0-9]*\)</referenceNumber>.*:\1:p' "$B")
[ ${#ref} -eq 10 ] || fail "no referensnummer: $(head -c 600 "$B")"
grep -q 'event=sim_hsa_lookup person=SE2321000016-DOC1 found=1' "$T/hsa.log" ||
    fail "HSA was not asked: $(tail -5 "$T/hsa.log")"

# The notification reaches the pharmacy's webhook over mutual TLS.
for _ in $(seq 1 100); do
    grep -q 'event=sim_pharmacy_notification.*accepted=1' "$T/ph.log" && break
    sleep 0.1
done
grep -q 'event=sim_pharmacy_notification.*accepted=1' "$T/ph.log" ||
    fail "no notification over mutual TLS: $(tail -5 "$T/ph.log")"

# The pharmacy applies; the gateway's LV certificate is from the wrong CA.
envelope CreateLicenseApplication "<r:messageId>tls-a1</r:messageId><r:referenceNumber>$ref</r:referenceNumber><r:application>$(example application-enskild.xml "$ref")</r:application>" >"$T/a.xml"
as apo POST /soap/CreateLicenseApplication -H 'Content-Type: text/xml; charset=utf-8' --data-binary @"$T/a.xml"
want 200 "CreateLicenseApplication over mutual TLS"
grep -q '<caseStatus>A</caseStatus>' "$B" || fail "apply: $(head -c 600 "$B")"
for _ in $(seq 1 100); do
    [ "$(grep -c 'event=lv_delivery .*outcome=retry' "$T/serve.log")" -ge 2 ] && break
    sleep 0.1
done
# The reason is the transport's, in curl's words (under TLS 1.3 the client
# learns of the refusal only when it next reads or writes: "SSL connect
# error (gnutls_handshake() failed ...)" or "Failure when receiving data
# from the peer (...)"); LV's side names it exactly.
grep 'event=outbox_delivery_failed peer=lv ' "$T/serve.log" | head -1 >"$T/why"
[ -s "$T/why" ] || fail "a refused LV handshake was not retried: $(grep lv_ "$T/serve.log" | tail -3)"
grep -qE 'why="LV could not be reached: error: [^"]+ \([^"]+\)"' "$T/why" ||
    fail "the retry does not say why: $(cat "$T/why")"
grep -q 'event=sim_tls_refused reason="Error in the certificate verification."' "$T/lv.log" ||
    fail "LV did not refuse the certificate: $(tail -3 "$T/lv.log")"
! grep -q 'event=sim_lv_application' "$T/lv.log" || fail "LV got the application with the wrong certificate"

# The right certificate over the same files, SIGHUP: delivered, once.
cp "$P/gwclient.key" "$P/gwlv.key.new"
cp "$P/gwclient.pem" "$P/gwlv.pem.new"
mv "$P/gwlv.key.new" "$P/gwlv.key"
mv "$P/gwlv.pem.new" "$P/gwlv.pem"
kill -HUP "$GW_PID"
for _ in $(seq 1 150); do
    grep -q "action=registered refnr=$ref result=OK" "$T/lv.log" && break
    sleep 0.1
done
grep -q "action=registered refnr=$ref result=OK" "$T/lv.log" ||
    fail "LV did not register and call back: $(tail -5 "$T/lv.log"; grep lv_ "$T/serve.log" | tail -3)"
[ "$(grep -c "sim_lv_application refnr=$ref .*duplicate=0" "$T/lv.log")" -eq 1 ] ||
    fail "LV did not see the application exactly once: $(grep "$ref" "$T/lv.log")"
grep -q 'event=tls_checked' "$T/serve.log" || fail "SIGHUP did not check the certificates"
! grep -q 'outbox_dead_letter' "$T/serve.log" || fail "a dead letter: $(grep dead_letter "$T/serve.log")"
! grep -q '201006301111' "$T/serve.log" "$T/lv.log" "$T/hsa.log" || fail "personal data logged"
echo "ok: mutual TLS on every hop; a refused certificate is retried, replaced by SIGHUP, delivered once"
