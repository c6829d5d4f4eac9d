#!/usr/bin/env bash
# klasgw installed as the Debian package installs it, started the way its
# systemd unit starts it. The installed tree comes, by default (ctest, a
# few seconds), from `cmake --install` of this build into a fresh root
# (DESTDIR); with KLASGW_DEB_BUILD=1 (`make package-test`, minutes) from
# the .deb itself: dpkg-buildpackage builds it from a copy of the source
# tree (DEB_BUILD_OPTIONS=nocheck), the copy is removed, dpkg -x unpacks
# the package into a fresh root and its metadata is checked (depends,
# conffiles, maintainer scripts, ownership).
#
# Then, in both, as far as a machine whose PID 1 is not systemd allows:
#   - the unit file, offline: systemd-analyze verify and security;
#   - the layout: bin/klasgw, share/klasgw/{fhir-profiles,wsdl,xslt},
#     etc/klasgw/klasgw.conf with production values, the state folder,
#     klasgw(1);
#   - the installed binary reads the data installed beside it, not the
#     source tree it was built from (a schema removed from the root is
#     missed);
#   - the unit's ExecStart, parsed from the unit file, runs with the
#     root's paths, a clean environment as systemd gives it: NOTIFY_SOCKET
#     (a socket this test listens on), WATCHDOG_USEC/WATCHDOG_PID, and
#     $CREDENTIALS_DIRECTORY holding the unit's LoadCredential= files (the
#     TLS server key and the audit key, named by the installed
#     configuration); READY=1 arrives, WATCHDOG=1 pings follow, an EHR
#     submits a motivation over mutual TLS (the prescriber checked by the
#     HSA simulator), the case is in the store under the state folder;
#     SIGTERM brings STOPPING=1 and a clean exit.
# Not verified here (no systemd): the sandbox options themselves, the
# user, StateDirectory creation, credential loading by systemd.
source "$(dirname "$0")/lib.sh"

command -v openssl >/dev/null || fail "openssl is missing (scripts/install-deps.sh)"
ROOT=$T/root
UNIT=$GW_SOURCE_DIR/debian/klasgw.service
mkdir -p "$ROOT"

if [ "${KLASGW_DEB_BUILD:-0}" = 1 ]; then
    for t in dpkg-buildpackage dh fakeroot help2man; do
        command -v "$t" >/dev/null || fail "$t is missing (scripts/install-deps.sh)"
    done
    # A copy of the source as git would have it (no build folders, no
    # node_modules); the .deb lands beside it.
    mkdir -p "$T/src/klasgw"
    (cd "$GW_SOURCE_DIR" && git ls-files -co --exclude-standard -z |
        grep -zv node_modules | tar --null -cf - -T -) | tar -xf - -C "$T/src/klasgw"
    echo "building the package (dpkg-buildpackage -b, nocheck)..."
    (cd "$T/src/klasgw" && DEB_BUILD_OPTIONS="nocheck parallel=${JOBS:-2}" \
        dpkg-buildpackage -b -us -uc >"$T/dpkg-buildpackage.log" 2>&1) ||
        fail "dpkg-buildpackage: $(tail -20 "$T/dpkg-buildpackage.log")"
    deb=$(ls "$T"/src/klasgw_*.deb)
    # The binary must not need the tree it was built from.
    rm -rf "$T/src/klasgw"
    dpkg-deb -f "$deb" Depends >"$T/depends"
    for d in adduser fonts-dejavu-core libmicrohttpd libxml2 libjemalloc; do
        grep -q "$d" "$T/depends" || fail "Depends lacks $d: $(cat "$T/depends")"
    done
    mkdir -p "$T/control"
    dpkg-deb -e "$deb" "$T/control"
    grep -qx /etc/klasgw/klasgw.conf "$T/control/conffiles" ||
        fail "klasgw.conf is not a conffile: $(cat "$T/control/conffiles")"
    grep -q 'adduser --system' "$T/control/postinst" || fail "postinst makes no system user"
    grep -q 'deb-systemd-helper' "$T/control/postinst" || fail "postinst does not register the unit"
    dpkg-deb -c "$deb" >"$T/contents"
    if grep -v ' root/root ' "$T/contents" | grep -q .; then
        fail "files not owned by root: $(grep -v ' root/root ' "$T/contents" | head -3)"
    fi
    dpkg -x "$deb" "$ROOT"
    UNIT=
    for u in "$ROOT"/lib/systemd/system/klasgw.service "$ROOT"/usr/lib/systemd/system/klasgw.service; do
        [ -f "$u" ] && UNIT=$u
    done
    [ -n "$UNIT" ] || fail "the package holds no klasgw.service"
    echo "package $(basename "$deb") $(stat -c %s "$deb") bytes, unpacked"
else
    DESTDIR=$ROOT cmake --install "$GW_BUILD_DIR" >"$T/install.log" 2>&1 ||
        fail "cmake --install: $(tail -5 "$T/install.log")"
fi

# The unit, offline (systemd-analyze needs no running systemd): every
# directive known (verify: the only complaint allowed is that this host
# has no /usr/bin/klasgw), and the sandbox's exposure score at most 2.0
# of 10 (security; 1.5 when written).
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify --man=no "$UNIT" 2>&1 |
        grep -v 'Command /usr/bin/klasgw is not executable' >"$T/verify.log" || true
    [ ! -s "$T/verify.log" ] || fail "systemd-analyze verify: $(cat "$T/verify.log")"
    systemd-analyze security --offline=yes --threshold=20 "$UNIT" >"$T/security.log" 2>&1 ||
        fail "the unit's exposure is above 2.0: $(grep -E '✗|Overall' "$T/security.log")"
    grep -o 'Overall exposure level.*' "$T/security.log" || true
else
    echo "note: no systemd-analyze here, the unit file is not verified"
fi

# in_root PATH: where the unit's absolute PATH is in the root. The package
# uses the unit's own paths (/usr, /etc, /var); a cmake --install of a
# build configured for another prefix (/usr/local) has the same tail.
in_root() {
    local f
    if [ -e "$ROOT$1" ]; then
        printf '%s\n' "$ROOT$1"
        return
    fi
    f=$(find "$ROOT" -path "*/$(basename "$(dirname "$1")")/$(basename "$1")" | head -1)
    [ -n "$f" ] || fail "$1 is not installed (root: $(cd "$ROOT" && find . | head -20))"
    printf '%s\n' "$f"
}

# The layout.
BIN=$(in_root /usr/bin/klasgw)
CONF=$(in_root /etc/klasgw/klasgw.conf)
DATA=$(in_root /usr/share/klasgw)
STATE=$(in_root /var/lib/klasgw)
[ -x "$BIN" ] || fail "$BIN is not executable"
for f in fhir-profiles/xsd/fhir-klas.xsd wsdl/schemas/interactions/RegisterLicenseApplicationInteraction/RegisterLicenseApplicationResponder_1.0.xsd \
    fhir-profiles/OperationDefinition-check-licence.json \
    xslt/case-view.xsl xslt/pharmacy-view.xsl xslt/print-html.xsl; do
    [ -f "$DATA/$f" ] || fail "$DATA/$f is not installed"
done
[ -d "$DATA/fhir-profiles/examples" ] && fail "test examples are installed"
man=$(find "$ROOT" -path '*/man1/klasgw.1*' | head -1)
[ -n "$man" ] || fail "no klasgw(1) installed"
case $man in *.gz) zcat "$man" ;; *) cat "$man" ;; esac | grep -q '^\.TH KLASGW "1"' ||
    fail "$man is not a man page"
# Production values, not the demo's.
grep -qx 'plain_http = false' "$CONF" || fail "the installed configuration serves plain HTTP"
grep -qx 'path = /var/lib/klasgw/klasgw.db' "$CONF" || fail "the store is not in /var/lib/klasgw"
grep -qx 'tls_key = ${CREDENTIALS_DIRECTORY}/server.key' "$CONF" ||
    fail "the server key is not a credential"
grep -q '^journal1 = ' "$CONF" && fail "the demo clients are installed"

# The installed binary reads its data beside it: without the root's
# schema, validation fails naming the root's path, though the source tree
# the binary was built from still holds one.
mv "$DATA/fhir-profiles/xsd/fhir-klas.xsd" "$T/xsd.away"
"$BIN" validate "$EX/valid/motivation-enskild-searched.json" >"$T/validate.out" 2>&1 &&
    fail "validate passed without the installed schema: it reads another folder"
grep -qF "$DATA/fhir-profiles/xsd/fhir-klas.xsd" "$T/validate.out" ||
    fail "validate does not name the installed schema: $(head -5 "$T/validate.out")"
mv "$T/xsd.away" "$DATA/fhir-profiles/xsd/fhir-klas.xsd"
"$BIN" validate "$EX/valid/motivation-enskild-searched.json" >"$T/validate.out" 2>&1 ||
    fail "validate with the installed data: $(head -5 "$T/validate.out")"

# Test certificates (what the operator puts in /etc/klasgw/tls and
# /etc/klasgw/private) and the audit key.
P=$T/pki
mkdir -p "$P"
ossl() { openssl "$@" 2>>"$P/openssl.log" || fail "openssl $*: $(tail -3 "$P/openssl.log")"; }
ossl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
    -subj "/O=klasgw test/CN=ca" -keyout "$P/ca.key" -out "$P/ca.pem" \
    -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
cert() { # NAME SUBJECT EXT
    ossl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$2" \
        -keyout "$P/$1.key" -out "$P/$1.csr"
    printf '%s\n' "$3" >"$P/$1.ext"
    ossl x509 -req -in "$P/$1.csr" -CA "$P/ca.pem" -CAkey "$P/ca.key" \
        -CAcreateserial -days 2 -extfile "$P/$1.ext" -out "$P/$1.pem"
}
cert server "/O=klasgw test/CN=localhost" "subjectAltName=IP:127.0.0.1
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth"
cert ehr "/O=klasgw test/CN=Journal 1/serialNumber=SE2321000016-EHR1" "keyUsage=critical,digitalSignature
extendedKeyUsage=clientAuth"
(umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$P/audit.key")

# The credentials, as systemd would copy them for LoadCredential=NAME:PATH.
CREDS=$T/credentials
mkdir -m 0700 "$CREDS"
grep -q '^LoadCredential=' "$UNIT" || fail "the unit loads no credentials"
while IFS=: read -r name src; do
    case $src in
    */server.key) cp "$P/server.key" "$CREDS/$name" ;;
    */audit-key) cp "$P/audit.key" "$CREDS/$name" ;;
    *) fail "LoadCredential=$name:$src: what does the test put there?" ;;
    esac
done < <(sed -n 's/^LoadCredential=//p' "$UNIT")
[ -f "$CREDS/audit-key" ] || fail "the unit does not load the audit key as audit-key"

# The operator names the clients (here the EHR) in the installed file.
printf 'journal1 = ehr serial:SE2321000016-EHR1\n' >>"$CONF"

# The HSA simulator, run from the package too.
HSA=$(any_free_port)
"$BIN" sim hsa --port "$HSA" --fixture "$GW_SOURCE_DIR/tests/fixtures/hsa/prescribers.tsv" \
    >"$T/hsa.log" 2>&1 &
HSA_PID=$!

# systemd's notification socket: every datagram, one line each ("|" for
# the newlines inside one).
NOTIFY=$T/notify.sock
python3 -c '
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
with open(sys.argv[2], "a") as out:
    print("listening", file=out, flush=True)
    while True:
        d = s.recv(4096).decode()
        print(d.replace("\n", "|"), file=out, flush=True)
' "$NOTIFY" "$T/notify.log" &
NOTIFY_PID=$!
deb_cleanup() {
    local rc=$?
    kill "$NOTIFY_PID" 2>/dev/null || true
    wait "$NOTIFY_PID" 2>/dev/null || true
    if [ $rc -ne 0 ] && [ -f "$T/notify.log" ]; then
        echo "--- notifications ---" >&2
        tail -5 "$T/notify.log" >&2
    fi
    set +e
    (exit $rc)
    lib_cleanup
}
trap deb_cleanup EXIT
for _ in $(seq 1 100); do
    [ -S "$NOTIFY" ] && grep -q listening "$T/notify.log" 2>/dev/null && break
    sleep 0.05
done
[ -S "$NOTIFY" ] || fail "the notify listener did not start"
wait_for() { # PATTERN WHAT: a line of notify.log matching PATTERN
    for _ in $(seq 1 300); do
        grep -qE "$1" "$T/notify.log" && return 0
        if [ -n "$GW_PID" ] && ! kill -0 "$GW_PID" 2>/dev/null; then break; fi
        sleep 0.1
    done
    fail "$2: no $1 in $(tr '\n' ' ' <"$T/notify.log")"
}

# The unit's command line with the root's paths.
exec_start=$(sed -n 's/^ExecStart=//p' "$UNIT")
[ "$(printf '%s\n' "$exec_start" | wc -l)" = 1 ] || fail "ExecStart: one line wanted"
exec_start=${exec_start#[-@+!:]}
read -r -a argv <<<"$exec_start"
cmd=()
for a in "${argv[@]}"; do
    case $a in
    /*) cmd+=("$(in_root "$a")") ;;
    *\$* | *%*) fail "ExecStart uses $a: expand it here" ;;
    *) cmd+=("$a") ;;
    esac
done
[ "${cmd[0]}" = "$BIN" ] || fail "ExecStart runs ${argv[0]}, not the installed klasgw"
echo "ExecStart: ${cmd[*]}"

PORT=$(any_free_port)
# A clean environment, as systemd gives a service, plus what the test must
# change: loopback and a free port, the test's certificates, the store in
# the root's state folder, the simulator. WATCHDOG_PID is the service's own
# PID, as systemd sets it (exec keeps the PID).
# (make test-asan: the sanitizers' options pass too.)
san=()
[ -z "${ASAN_OPTIONS:-}" ] || san+=("ASAN_OPTIONS=$ASAN_OPTIONS")
[ -z "${UBSAN_OPTIONS:-}" ] || san+=("UBSAN_OPTIONS=$UBSAN_OPTIONS")
env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 ${san[@]+"${san[@]}"} \
    NOTIFY_SOCKET="$NOTIFY" WATCHDOG_USEC=400000 CREDENTIALS_DIRECTORY="$CREDS" \
    KLASGW_SERVER_LISTEN=127.0.0.1 KLASGW_SERVER_PORT="$PORT" \
    KLASGW_SERVER_TLS_CERT="$P/server.pem" KLASGW_SERVER_TLS_CLIENT_CA="$P/ca.pem" \
    KLASGW_STORE_PATH="$STATE/klasgw.db" KLASGW_HSA_URL="http://127.0.0.1:$HSA/hsa" \
    bash -c 'export WATCHDOG_PID=$$; exec "$@"' serve "${cmd[@]}" >>"$T/serve.log" 2>&1 &
GW_PID=$!

wait_for '^READY=1' "READY=1 once serving"
grep -q "^READY=1|STATUS=serving on port $PORT|MAINPID=$GW_PID$" "$T/notify.log" ||
    fail "READY=1 does not name the port and the main PID: $(grep READY "$T/notify.log")"
wait_for '^WATCHDOG=1$' "WATCHDOG=1 pings"

as() { # CERT METHOD PATH [curl args]
    local c=$1 m=$2 p=$3
    shift 3
    : >"$B"
    ST=$(curl -s -o "$B" -w '%{http_code}' --cacert "$P/ca.pem" --cert "$P/$c.pem" \
        --key "$P/$c.key" -X "$m" "$@" "https://127.0.0.1:$PORT$p" 2>"$T/curl.err") || true
}
as ehr GET /healthz
want 200 "healthz over mutual TLS"
msg "$EX/valid/motivation-enskild-searched.json" >"$T/m.json"
as ehr POST '/fhir/$process-message' -H 'Content-Type: application/fhir+json' \
    -H 'X-Klasgw-User: SE2321000016-DOC1' --data-binary @"$T/m.json"
want 200 "EHR submits a motivation to the installed gateway"
grep -q 'event=sim_hsa_lookup person=SE2321000016-DOC1 found=1' "$T/hsa.log" ||
    fail "HSA was not asked: $(tail -3 "$T/hsa.log")"
[ -s "$STATE/klasgw.db" ] || fail "no store in the state folder $STATE"
grep -q 'event=audit_unkeyed' "$T/serve.log" && fail "the audit credential was not used"

kill -TERM "$GW_PID"
wait_for '^STOPPING=1$' "STOPPING=1 on SIGTERM"
rc=0
wait "$GW_PID" || rc=$?
GW_PID=
[ $rc -eq 0 ] || fail "serve exited with status $rc on SIGTERM"
grep -q 'event=stopped' "$T/serve.log" || fail "serve did not log its stop"
if grep -qE 'Sanitizer|runtime error:' "$T/serve.log"; then
    grep -m5 -A20 -E 'Sanitizer|runtime error:' "$T/serve.log" >&2
    fail "a sanitizer reported on serve"
fi
echo "ok: installed tree served under the unit's command line (READY, WATCHDOG, STOPPING)"
