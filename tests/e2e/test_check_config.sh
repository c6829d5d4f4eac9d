#!/usr/bin/env bash
# check-config catches every configuration serve could not run with, names
# the key and why, and leaves the store alone (issue #18): each bad
# configuration below exits non-zero with a message naming its key, and
# neither the store nor its folder appears. serve runs the same checks
# first: it refuses such a configuration before it creates or opens the
# store. A good mutual-TLS configuration passes; a certificate expiring
# within 30 days is a warning, an expired one a failure.
#
# The base configuration is production-shaped: mutual TLS with
# certificates made here by openssl, an audit key, the data folder of the
# source tree, the store in a folder that does not exist yet.
set -euo pipefail
: "${KLASGW:?path of the klasgw binary}" "${GW_SOURCE_DIR:?source dir}"
fail() { echo "FAIL: $*" >&2; exit 1; }
T=$(mktemp -d "${TMPDIR:-/tmp}/klasgw-cc-XXXXXX")
HOLD_PID=
cleanup() {
    [ -z "$HOLD_PID" ] || { kill "$HOLD_PID" 2>/dev/null; wait "$HOLD_PID" 2>/dev/null; } || true
    rm -rf "$T"
}
trap cleanup EXIT
command -v openssl >/dev/null || fail "openssl is missing (scripts/install-deps.sh)"

# --- certificates ------------------------------------------------------------
P=$T/pki
mkdir -p "$P"
ossl() { openssl "$@" 2>>"$P/openssl.log" || fail "openssl $*: $(tail -3 "$P/openssl.log")"; }
ec() { echo "-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes"; }
# shellcheck disable=SC2046
ossl req -x509 $(ec) -days 30 -subj "/CN=klasgw test CA" -keyout "$P/ca.key" -out "$P/ca.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
cert() {   # NAME DAYS
    # shellcheck disable=SC2046
    ossl req $(ec) -subj "/CN=$1" -keyout "$P/$1.key" -out "$P/$1.csr"
    ossl x509 -req -in "$P/$1.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" -CAcreateserial \
        -days "$2" -out "$P/$1.pem"
}
cert server 400
cert soon 10
cert other 400
# An expired certificate: `openssl ca` takes explicit dates.
: >"$P/index.txt"; echo 1000 >"$P/serial"
cat >"$P/ca.cnf" <<EOF
[ca]
default_ca = d
[d]
database = $P/index.txt
new_certs_dir = $P
serial = $P/serial
default_md = sha256
policy = p
[p]
commonName = supplied
EOF
# shellcheck disable=SC2046
ossl req $(ec) -subj "/CN=old" -keyout "$P/old.key" -out "$P/old.csr"
ossl ca -batch -config "$P/ca.cnf" -cert "$P/ca.pem" -keyfile "$P/ca.key" -in "$P/old.csr" \
    -out "$P/old.pem" -startdate 20200101000000Z -enddate 20200102000000Z
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$P/audit.key"
chmod 400 "$P/audit.key"

# --- the configuration ------------------------------------------------------
free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
PORT=$(free_port)
STORE_DIR=$T/var
conf() {   # FILE [with-clients]
    cat >"$1" <<EOF
[server]
listen = 127.0.0.1
port = $PORT
plain_http = false
tls_cert = $P/server.pem
tls_key = $P/server.key
tls_client_ca = $P/ca.pem
[store]
path = $STORE_DIR/klasgw.db
[paths]
data_dir = $GW_SOURCE_DIR
[hsa]
url = http://127.0.0.1:1/hsa
[lv]
url = https://127.0.0.1:1/lv
[audit]
key_file = $P/audit.key
EOF
    if [ "${2:-}" = with-clients ]; then
        printf '[clients]\njournal1 = ehr serial:SE2321000016-EHR1\n' >>"$1"
    fi
}
conf "$T/good.conf" with-clients
conf "$T/noclients.conf"

store_untouched() {   # WHAT
    [ ! -e "$STORE_DIR" ] || fail "$1: the store's folder was created: $(ls -la "$STORE_DIR")"
}

# --- a good configuration passes, and does not touch the store ---------------
"$KLASGW" -c "$T/good.conf" check-config >"$T/out" 2>"$T/err" \
    || fail "the good configuration is refused: $(cat "$T/err")"
grep -q "configuration ok" "$T/out" || fail "check-config does not say ok"
[ ! -s "$T/err" ] || fail "warnings on the good configuration: $(cat "$T/err")"
store_untouched "check-config on the good configuration"
# An existing store (an empty file is a valid empty SQLite database) is not
# opened: no migration writes to it, no -wal, -shm or .lock appear.
mkdir -p "$STORE_DIR"; : >"$STORE_DIR/klasgw.db"
touch -d '2020-01-01 00:00:00' "$STORE_DIR/klasgw.db"
before=$(stat -c '%s %Y' "$STORE_DIR/klasgw.db")
"$KLASGW" -c "$T/good.conf" check-config >/dev/null 2>"$T/err" || fail "check-config with a store: $(cat "$T/err")"
[ "$(stat -c '%s %Y' "$STORE_DIR/klasgw.db")" = "$before" ] || fail "check-config modified the store"
[ "$(ls "$STORE_DIR")" = klasgw.db ] || fail "check-config left files beside the store: $(ls "$STORE_DIR")"
rm -rf "$STORE_DIR"

# --- each bad configuration: non-zero, names the key, store untouched -------
mkdir -p "$T/empty-data" "$T/broken-data/xslt"
ln -s "$GW_SOURCE_DIR/fhir-profiles" "$T/broken-data/fhir-profiles"
ln -s "$GW_SOURCE_DIR/wsdl" "$T/broken-data/wsdl"
cp "$GW_SOURCE_DIR"/xslt/*.xsl "$T/broken-data/xslt/"
echo '<xsl:stylesheet' >"$T/broken-data/xslt/case-view.xsl"
# fhir-profiles/ without the OperationDefinition of $print.
mkdir -p "$T/noop-data/fhir-profiles"
ln -s "$GW_SOURCE_DIR/wsdl" "$GW_SOURCE_DIR/xslt" "$T/noop-data/"
ln -s "$GW_SOURCE_DIR"/fhir-profiles/* "$T/noop-data/fhir-profiles/"
rm "$T/noop-data/fhir-profiles/OperationDefinition-print.json"

# name | configuration file | key expected in the message | environment
cases=(
"missing server certificate|good|server.tls_cert|KLASGW_SERVER_TLS_CERT=$P/missing.pem"
"key of another certificate|good|server.tls_cert|KLASGW_SERVER_TLS_KEY=$P/other.key"
"expired server certificate|good|server.tls_cert|KLASGW_SERVER_TLS_CERT=$P/old.pem KLASGW_SERVER_TLS_KEY=$P/old.key"
"client CA unreadable|good|server.tls_client_ca|KLASGW_SERVER_TLS_CLIENT_CA=$P/missing-ca.pem"
"CRL not a CRL|good|server.tls_crl|KLASGW_SERVER_TLS_CRL=$P/ca.pem"
"lv client key missing|good|lv.tls_cert|KLASGW_LV_TLS_CERT=$P/other.pem KLASGW_LV_TLS_KEY=$P/missing.key"
"nonexistent data_dir|good|paths.data_dir|KLASGW_PATHS_DATA_DIR=$T/no-such-folder"
"data_dir without its folders|good|paths.data_dir|KLASGW_PATHS_DATA_DIR=$T/empty-data"
"data_dir with a broken stylesheet|good|paths.data_dir|KLASGW_PATHS_DATA_DIR=$T/broken-data"
"data_dir without an OperationDefinition|good|paths.data_dir|KLASGW_PATHS_DATA_DIR=$T/noop-data"
"hsa.url not a url|good|hsa.url|KLASGW_HSA_URL=not a url"
"lv.url bad address|good|lv.url|KLASGW_LV_URL=http://999.1.1.1:8082/lv"
"lv.url bad port|good|lv.url|KLASGW_LV_URL=https://lv.example:70000/lv"
"listen not an address|good|server.listen|KLASGW_SERVER_LISTEN=999.1.1.1"
"listen on an address not of this host|good|server.listen|KLASGW_SERVER_LISTEN=192.0.2.1"
"no clients|noclients|clients|"
"store folder cannot be made|good|store.path|KLASGW_STORE_PATH=/proc/klasgw-none/x/klasgw.db"
"webhooks.allow_private not a range|good|webhooks.allow_private|KLASGW_WEBHOOKS_ALLOW_PRIVATE=private"
"audit key missing|good|audit.key_file|KLASGW_AUDIT_KEY_FILE=$P/missing.key"
)
for c in "${cases[@]}"; do
    IFS='|' read -r name file key envs <<<"$c"
    envargs=()
    if [ -n "$envs" ]; then
        # Split on the spaces between VAR= assignments only (a value may
        # hold spaces: "not a url").
        while IFS= read -r kv; do envargs+=("$kv"); done < <(
            printf '%s\n' "$envs" | sed 's/ \(KLASGW_[A-Z_]*=\)/\n\1/g')
    fi
    set +e
    env ${envargs[@]+"${envargs[@]}"} "$KLASGW" -c "$T/$file.conf" check-config \
        >"$T/out" 2>"$T/err"
    rc=$?
    set -e
    [ $rc -ne 0 ] || fail "$name: check-config passed it"
    ! grep -qE 'Sanitizer|runtime error:' "$T/err" || fail "$name: a sanitizer spoke: $(cat "$T/err")"
    grep -q "configuration: $key: " "$T/err" \
        || fail "$name: the message does not name $key: $(cat "$T/err")"
    store_untouched "$name (check-config)"
done

# store.path: what is wrong with the file or its folder, in words.
mkdir -p "$T/sp/adir" "$T/sp/ro"; : >"$T/sp/afile"; : >"$T/sp/ro.db"
store_cases=(
"$T/sp/adir|$T/sp/adir is not a regular file"
"$T/sp/afile/klasgw.db|$T/sp/afile is not a folder"
"/proc/klasgw-none/x/klasgw.db|the folder /proc/klasgw-none/x does not exist and cannot be created in /proc/klasgw-none"
)
if [ "$(id -u)" != 0 ]; then   # root may write anywhere
    chmod 555 "$T/sp/ro"; chmod 444 "$T/sp/ro.db"
    store_cases+=("$T/sp/ro/klasgw.db|the folder $T/sp/ro is not writable: Permission denied"
                  "$T/sp/ro.db|$T/sp/ro.db is not readable and writable: Permission denied")
fi
for c in "${store_cases[@]}"; do
    IFS='|' read -r sp want <<<"$c"
    KLASGW_STORE_PATH=$sp "$KLASGW" -c "$T/good.conf" check-config >"$T/out" 2>"$T/err" \
        && fail "store.path $sp: check-config passed it"
    grep -qF "configuration: store.path: $want" "$T/err" \
        || fail "store.path $sp: not '$want': $(cat "$T/err")"
done
chmod 755 "$T/sp/ro"

# A certificate expiring within 30 days: a warning naming the key, exit 0.
KLASGW_SERVER_TLS_CERT=$P/soon.pem KLASGW_SERVER_TLS_KEY=$P/soon.key \
    "$KLASGW" -c "$T/good.conf" check-config >"$T/out" 2>"$T/err" \
    || fail "a certificate valid for 10 more days fails: $(cat "$T/err")"
grep -q "warning: server.tls_cert: the certificate expires on .*, in [0-9]* days" "$T/err" \
    || fail "no expiry warning: $(cat "$T/err")"

# --- serve runs the same checks before it touches the store ------------------
serve_refuses() {   # NAME KEY CONF [VAR=VALUE...]
    local name=$1 key=$2 file=$3 rc
    shift 3
    set +e
    env "$@" timeout 20 "$KLASGW" -c "$T/$file.conf" serve >"$T/out" 2>"$T/err"
    rc=$?
    set -e
    [ $rc -ne 0 ] && [ $rc -ne 124 ] || fail "serve $name: started anyway (exit $rc)"
    ! grep -qE 'Sanitizer|runtime error:' "$T/err" || fail "serve $name: a sanitizer spoke: $(cat "$T/err")"
    grep -q "configuration: $key: " "$T/err" \
        || fail "serve $name: the message does not name $key: $(cat "$T/err")"
    store_untouched "$name (serve)"
}
serve_refuses "hsa.url not a url" hsa.url good "KLASGW_HSA_URL=not a url"
serve_refuses "nonexistent data_dir" paths.data_dir good "KLASGW_PATHS_DATA_DIR=$T/no-such-folder"
serve_refuses "without an OperationDefinition" paths.data_dir good "KLASGW_PATHS_DATA_DIR=$T/noop-data"
grep -qF "fhir-profiles: $T/noop-data/fhir-profiles/OperationDefinition-print.json: No such file" "$T/err" \
    || fail "serve without an OperationDefinition: the file is not named: $(cat "$T/err")"
serve_refuses "listen not an address" server.listen good KLASGW_SERVER_LISTEN=999.1.1.1
serve_refuses "no clients" clients noclients
# The port taken by another process: check-config (perhaps beside the
# running serve) warns, serve refuses before the store.
/usr/bin/python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1]))); s.listen(1); print("up", flush=True)
time.sleep(60)' "$PORT" >"$T/hold.out" &
HOLD_PID=$!
for _ in $(seq 100); do grep -q up "$T/hold.out" 2>/dev/null && break; sleep 0.1; done
"$KLASGW" -c "$T/good.conf" check-config >/dev/null 2>"$T/err" \
    || fail "check-config with the port in use fails: $(cat "$T/err")"
grep -q "warning: server.port: port $PORT on 127.0.0.1 is in use" "$T/err" \
    || fail "check-config with the port in use: $(cat "$T/err")"
serve_refuses "port in use" server.port good
echo "check_config: ok"
