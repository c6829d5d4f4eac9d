#!/usr/bin/env bash
# serve compiles the FHIR schema and the view stylesheets once (issue 13
# review): the configuration check that runs before the store is touched
# compiles them, and serve goes on with what it compiled instead of
# compiling them again. Counted with strace from `serve` to ready: the
# schema and each view stylesheet are opened once. (The SOAP front's
# schemas and LV's mapping are still compiled twice: they need the
# pipeline and the store, which the check must not open.)
set -euo pipefail
: "${KLASGW:?path of the klasgw binary}" "${GW_SOURCE_DIR:?source dir}"
fail() { echo "FAIL: $*" >&2; exit 1; }
command -v strace >/dev/null || fail "strace is missing (scripts/install-deps.sh)"
T=$(mktemp -d "${TMPDIR:-/tmp}/klasgw-once-XXXXXX")
PID=
cleanup() {
    [ -z "$PID" ] || { kill "$PID" 2>/dev/null; wait "$PID" 2>/dev/null; } || true
    rm -rf "$T"
}
trap cleanup EXIT

PORT=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$T/conf" <<CONF
[server]
listen = 127.0.0.1
port = $PORT
plain_http = true
[store]
path = $T/db/klasgw.db
[paths]
data_dir = $GW_SOURCE_DIR
[hsa]
url =
[lv]
url =
[clients]
journal1 = ehr serial:SE2321000016-EHR1
CONF

# strace follows serve's threads; it exits with serve's status.
# LeakSanitizer cannot run under ptrace (it would fail the exit of an ASan
# build); the other e2e tests check serve for leaks.
ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0" \
    strace -f -qq -e trace=open,openat -o "$T/trace" \
    "$KLASGW" -c "$T/conf" serve >"$T/serve.log" 2>&1 &
PID=$!
up=0
for _ in $(seq 1 300); do
    if curl -sf -o /dev/null "http://127.0.0.1:$PORT/healthz"; then up=1; break; fi
    kill -0 "$PID" 2>/dev/null || break
    sleep 0.1
done
[ $up = 1 ] || fail "serve did not answer /healthz: $(tail -5 "$T/serve.log")"
kill -TERM "$(pgrep -P "$PID" -x klasgw)" 2>/dev/null || kill -TERM "$PID"
rc=0; wait "$PID" || rc=$?
PID=
[ $rc = 0 ] || fail "serve exited with status $rc: $(tail -5 "$T/serve.log")"

opened() {   # FILE: how often it was opened (successfully)
    grep -F "/$1\"" "$T/trace" | grep -cvE '= -1 E' || true
}
for f in fhir-profiles/xsd/fhir-klas.xsd xslt/case-view.xsl xslt/pharmacy-view.xsl; do
    n=$(opened "$f")
    [ "$n" = 1 ] || fail "$f opened $n times from serve to ready (want 1: compiled once)"
done
echo "ok: the schema and the view stylesheets compiled once"
