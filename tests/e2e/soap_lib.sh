# Shared by tests/e2e/test_soap_*.sh (sourced, not a test itself): free
# ports the kernel picks, a gateway and the simulators in a scratch folder,
# everything stopped on exit.
#   soap_setup [LABEL]   scratch dir and three free ports (LABEL unused)
#   start_hsa [args]     klasgw sim hsa on $HSA_PORT
#   start_lv [args]      klasgw sim lv on $LV_PORT (calls back the gateway)
#   start_gateway        klasgw serve on $GW_PORT, waits for /healthz
#   soap_call NAME CLIENT USER FILE   POST a SOAP 1.1 file, body to stdout
: "${KLASGW:?}" "${GW_SOURCE_DIR:?}" "${GW_BUILD_DIR:?}"
fail() { echo "FAIL: $*" >&2; exit 1; }

PIDS=()
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

wait_port() {
    local i
    for i in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; then return 0; fi
        sleep 0.05
    done
    fail "nothing listens on port $1"
}

start_hsa() {
    "$KLASGW" -c "$CONF" sim hsa --port "$HSA_PORT" "$@" >"$dir/hsa.log" 2>&1 &
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
    for i in $(seq 1 100); do
        curl -sf "$BASE/healthz" >/dev/null 2>&1 && return 0
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

# soap_call NAME CLIENT USER FILE: prints the body; HTTP status in $dir/status.
soap_call() {
    local user=()
    [ -n "$3" ] && user=(-H "X-Klasgw-User: $3")
    curl -s -o "$dir/out" -w '%{http_code}' -H 'Content-Type: text/xml; charset=utf-8' \
        -H "X-Klasgw-Client: $2" "${user[@]}" --data-binary @"$4" \
        "$BASE/soap/$1" >"$dir/status"
    cat "$dir/out"
}

# The motivation of DOC1 (or another prescriber) as a SubmitLicenseMotivation file.
submit_file() {   # OUT PRESCRIBER MSGID
    local b
    b=$(example motivation-enskild-searched.xml | sed "s/SE2321000016-DOC1/$2/")
    envelope SubmitLicenseMotivation "<r:messageId>$3</r:messageId><r:licenseMotivation>$b</r:licenseMotivation>" >"$1"
}

refnr_of() { sed -n 's:.*<referenceNumber>\([0-9]*\)</referenceNumber>.*:\1:p'; }
