# Shared by tests/e2e/test_soap_*.sh (sourced, not a test itself): free
# ports the kernel picks, a gateway and the simulators in a scratch folder,
# everything stopped on exit.
#   soap_setup [LABEL]   scratch dir and three free ports (LABEL unused)
#   start_hsa [args]     klasgw sim hsa on $HSA_PORT
#   start_lv [args]      klasgw sim lv on $LV_PORT (calls back the gateway)
#   start_gateway        klasgw serve on $GW_PORT, waits for /healthz
#   soap_call NAME CLIENT USER FILE   POST a SOAP 1.1 file, body to stdout
#   soap_tls             (after soap_setup) mutual TLS: a test CA made now
#                        (pki.sh), the gateway serves https only and
#                        requires client certificates, one per [clients]
#                        SOAP actor ($P/<serialNumber>.pem, .key: the certificate
#                        soap_call presents for CLIENT serial:<serialNumber>),
#                        $P/rogue.pem from another CA; the HSA simulator
#                        (start_hsa) serves https and requires the gateway's
#                        client certificate too
: "${KLASGW:?}" "${GW_SOURCE_DIR:?}" "${GW_BUILD_DIR:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }

PIDS=()
SOAP_CURL=()   # curl's TLS options (soap_tls): CA and nothing else
SOAP_PKI=      # the folder of soap_tls's certificates, empty: plain HTTP
soap_cleanup() {
    local p
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
    if [ -n "${dir:-}" ] && [ -z "${KEEP:-}" ]; then rm -rf "$dir"; fi
}

# Three TCP ports nobody listens on, chosen by the kernel while all three
# are held, so they differ. Fixed bases let tests running at the same time
# (ctest -j2) pick the same port: test_outbox_ops and test_soap_contract
# shared one, and neighbouring bases overlapped.
free_ports() {
    /usr/bin/python3 - <<'PY'
import socket
socks = [socket.socket() for _ in range(3)]
for s in socks:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))
for s in socks:
    s.close()
PY
}
# One more free port (the argument, an old fixed base, is ignored).
free_port() { local a _; read -r a _ < <(free_ports); echo "$a"; }

soap_setup() {
    dir=$(mktemp -d)
    trap soap_cleanup EXIT
    read -r GW_PORT HSA_PORT LV_PORT < <(free_ports)
    BASE="http://127.0.0.1:$GW_PORT"
    export KLASGW_SERVER_PORT=$GW_PORT
    export KLASGW_STORE_PATH="$dir/var/klasgw.db"
    export KLASGW_HSA_URL="http://127.0.0.1:$HSA_PORT/hsa"
    export KLASGW_LV_URL="http://127.0.0.1:$LV_PORT/lv"
    export KLASGW_HSA_TIMEOUT_MS=${KLASGW_HSA_TIMEOUT_MS:-1000}
    export KLASGW_LV_TIMEOUT_MS=${KLASGW_LV_TIMEOUT_MS:-1000}
    export KLASGW_OUTBOX_BACKOFF_BASE_MS=${KLASGW_OUTBOX_BACKOFF_BASE_MS:-100}
    export KLASGW_OUTBOX_BACKOFF_CAP_MS=${KLASGW_OUTBOX_BACKOFF_CAP_MS:-500}
    export KLASGW_LOG_LEVEL=info
    CONF="$GW_SOURCE_DIR/adapter/klasgw.conf.example"
    EX="$GW_SOURCE_DIR/fhir-profiles/examples/valid"
}

# The waits below exit at once when the condition holds; their bounds
# (30 s) are for a loaded machine, where starting a process took seconds.
wait_port() {
    local i
    for i in $(seq 1 600); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    fail "nothing listens on port $1"
}

start_hsa() {
    local tls=()
    [ -n "$SOAP_PKI" ] && tls=(--tls-cert "$SOAP_PKI/hsa.pem" --tls-key "$SOAP_PKI/hsa.key"
        --tls-ca "$SOAP_PKI/ca.pem" --require-client-cert)
    "$KLASGW" -c "$CONF" sim hsa --port "$HSA_PORT" ${tls[@]+"${tls[@]}"} "$@" >"$dir/hsa.log" 2>&1 &
    HSA_PID=$!; PIDS+=("$HSA_PID"); wait_port "$HSA_PORT"
}

start_lv() {
    "$KLASGW" -c "$CONF" sim lv --port "$LV_PORT" --gateway "$BASE" "$@" \
        >"$dir/lv.log" 2>&1 &
    LV_PID=$!; PIDS+=("$LV_PID"); wait_port "$LV_PORT"
}

start_gateway() {
    local i
    "$KLASGW" -c "$CONF" serve >"$dir/gw.log" 2>&1 &
    GW_PID=$!; PIDS+=("$GW_PID")
    for i in $(seq 1 600); do
        curl -sf ${SOAP_CURL[@]+"${SOAP_CURL[@]}"} "$BASE/healthz" >/dev/null 2>&1 && return 0
        kill -0 "$GW_PID" 2>/dev/null || break
        sleep 0.05
    done
    cat "$dir/gw.log" >&2
    fail "the gateway did not start"
}

# The example Bundle without its XML declaration, refnr replaced.
example() {
    sed -e 's/<?xml[^>]*?>//' -e "s/2026658327/${2:-2026658327}/g" "$EX/$1"
}

# envelope NAME BODY-INNER: a SOAP 1.1 request of interaction NAME.
envelope() {
    printf '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:itr="urn:riv:itintegration:registry:1" xmlns:r="urn:riv:klas:%sResponder:1"><soapenv:Header><itr:LogicalAddress>SE2321000016-KLAS</itr:LogicalAddress></soapenv:Header><soapenv:Body><r:%s>%s</r:%s></soapenv:Body></soapenv:Envelope>' "$1" "$1" "$2" "$1"
}

# who_args CLIENT: curl's options naming CLIENT (serial:<id>): its
# certificate under soap_tls, else the X-Klasgw-Client header. In WHO.
who_args() {
    if [ -n "$SOAP_PKI" ]; then
        WHO=("${SOAP_CURL[@]}" --cert "$SOAP_PKI/${1#serial:}.pem" --key "$SOAP_PKI/${1#serial:}.key")
    else
        WHO=(-H "X-Klasgw-Client: $1")
    fi
}

# soap_call NAME CLIENT USER FILE: prints the body; HTTP status in $dir/status.
soap_call() {
    local user=()
    [ -n "$3" ] && user=(-H "X-Klasgw-User: $3")
    who_args "$2"
    curl -s -o "$dir/out" -w '%{http_code}' -H 'Content-Type: text/xml; charset=utf-8' \
        "${WHO[@]}" "${user[@]}" --data-binary @"$4" \
        "$BASE/soap/$1" >"$dir/status"
    cat "$dir/out"
}

soap_tls() {
    local c
    T=$dir
    # shellcheck source=pki.sh
    . "$GW_SOURCE_DIR/tests/e2e/pki.sh"
    ca ca
    ca other
    cert gateway ca "/O=klasgw test/CN=localhost" "$SRV_EXT"
    cert hsa ca "/O=klasgw test/CN=HSA" "$SRV_EXT"
    cert gwclient ca "/O=klasgw test/CN=klasgw" "$CLI_EXT"
    # One certificate per SOAP actor (ehr, pharmacy, lv) of the example's
    # [clients] table.
    for c in $(sed -n 's/^[a-z0-9]* *= *\(ehr\|pharmacy\|lv\) *serial:\([A-Z0-9-]*\).*/\2/p' "$CONF"); do
        cert "$c" ca "/O=klasgw test/CN=$c/serialNumber=$c" "$CLI_EXT"
    done
    # The EHR's name from another CA: only the issuer is wrong.
    cert rogue other "/O=klasgw test/CN=rogue/serialNumber=SE2321000016-EHR1" "$CLI_EXT"
    SOAP_PKI=$P
    SOAP_CURL=(--cacert "$P/ca.pem")
    BASE="https://127.0.0.1:$GW_PORT"
    export KLASGW_SERVER_PLAIN_HTTP=false
    export KLASGW_SERVER_TLS_CERT=$P/gateway.pem KLASGW_SERVER_TLS_KEY=$P/gateway.key
    export KLASGW_SERVER_TLS_CLIENT_CA=$P/ca.pem
    export KLASGW_HSA_URL="https://127.0.0.1:$HSA_PORT/hsa"
    export KLASGW_HSA_TLS_CERT=$P/gwclient.pem KLASGW_HSA_TLS_KEY=$P/gwclient.key
    export KLASGW_HSA_TLS_CA=$P/ca.pem
    # Without plain HTTP serve needs the audit chain's key.
    (umask 077 && head -c 32 /dev/urandom | od -An -tx1 >"$dir/audit.key")
    export KLASGW_AUDIT_KEY_FILE=$dir/audit.key
}

# The motivation of DOC1 (or another prescriber) as a SubmitLicenseMotivation file.
submit_file() {   # OUT PRESCRIBER MSGID
    local b
    b=$(example motivation-enskild-searched.xml | sed "s/SE2321000016-DOC1/$2/")
    envelope SubmitLicenseMotivation "<r:messageId>$3</r:messageId><r:licenseMotivation>$b</r:licenseMotivation>" >"$1"
}

refnr_of() { sed -n 's:.*<referenceNumber>\([0-9]*\)</referenceNumber>.*:\1:p'; }
