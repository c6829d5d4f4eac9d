# lib.sh - shared by the end-to-end scripts that talk HTTP to a running
# `klasgw serve` (sourced, not a test itself: ctest runs test_*.sh only).
#
#   gw_conf FILE [EXTRA_INI_LINES]    a plain-HTTP configuration with the
#                                     clients below
#   gw_start PORT [VAR=VALUE...]      start serve on PORT (database in the
#                                     test's temporary folder) and the HSA
#                                     simulator on PORT+1, wait until
#                                     /healthz answers; stopped on exit
#   gw_stop                           stop it (SIGTERM) and wait
#   call WHO METHOD PATH [curl args]  one request; status in $ST, body in
#                                     $B, response headers in $H
#   post WHO PATH FILE [CTYPE] [curl args]
#   want STATUS WHAT                  fail unless $ST is STATUS
#   want_outcome STATUS WHAT          ... and the body is an OperationOutcome
#   chk EXPR [WHAT]                   fj.py check on $B
#   msg EXAMPLE [fj.py msg options]   a fresh message from an example
#
# WHO: ehr (journal1 as prescriber DOC1), ehr2 (same system, DOC2 of the
# same clinic), ehr3 (DOC3 of another clinic), ehr0 (journal1, no user),
# apo1 / apo2 (two pharmacies), lv, ops (operator), none (no client
# header), unknown (a client no [clients] line names).
set -euo pipefail
: "${KLASGW:?}" "${GW_SOURCE_DIR:?}" "${GW_BUILD_DIR:?}"

T=$(mktemp -d "${TMPDIR:-/tmp}/klasgw-e2e-XXXXXX")
B=$T/body
H=$T/headers
EX=$GW_SOURCE_DIR/fhir-profiles/examples
FJ=fj
GW_PID=
HSA_PID=
GW_URL=
GLN1=7350000000016
GLN2=7350000000023
PNR=201006301111

fail() {
    echo "FAIL: $*" >&2
    exit 1
}

# Stops serve; returns 1 when it did not exit cleanly or a sanitizer
# spoke (make test-asan: leaks, memory errors, undefined behaviour).
gw_stop() {
    local rc=0
    [ -n "$GW_PID" ] || return 0
    kill -TERM "$GW_PID" 2>/dev/null || true
    wait "$GW_PID" 2>/dev/null || rc=$?
    GW_PID=
    if [ $rc -ne 0 ]; then
        echo "FAIL: serve exited with status $rc" >&2
        return 1
    fi
    if grep -qE 'Sanitizer|runtime error:' "$T/serve.log"; then
        grep -m5 -A20 -E 'Sanitizer|runtime error:' "$T/serve.log" >&2
        echo "FAIL: a sanitizer reported on serve" >&2
        return 1
    fi
}

# scratch_dir VAR: a new folder in memory (/dev/shm) when there is one,
# else under $T, named in VAR; removed on exit like $T.
SCRATCH=()
scratch_dir() {
    local d
    d=$(mktemp -d /dev/shm/klasgw-e2e-XXXXXX 2>/dev/null) || d=$(mktemp -d "$T/scratch-XXXXXX")
    SCRATCH+=("$d")
    printf -v "$1" '%s' "$d"
}

lib_cleanup() {
    local rc=$?
    gw_stop || rc=1
    fj_stop
    if [ -n "${HSA_PID:-}" ]; then
        kill "$HSA_PID" 2>/dev/null || true
        wait "$HSA_PID" 2>/dev/null || true
    fi
    if [ $rc -ne 0 ] && [ -f "$T/serve.log" ]; then
        echo "--- last lines of the gateway's log ---" >&2
        tail -20 "$T/serve.log" >&2
    fi
    rm -rf "$T" ${SCRATCH[@]+"${SCRATCH[@]}"}
    exit $rc
}
trap lib_cleanup EXIT

# One fj.py for the whole script (`fj.py serve`): an interpreter start per
# assertion made the longest scripts CPU-bound on a loaded machine. fj
# behaves like `python3 fj.py ARGS...`: output, errors and exit status.
# The FIFOs are opened here, in the top-level shell, so command
# substitutions inherit them.
FJ_PID=
fj_start() {
    mkfifo "$T/fj.in" "$T/fj.rc"
    python3 "$GW_SOURCE_DIR/tests/e2e/fj.py" serve "$T/fj.out" "$T/fj.err" \
        <"$T/fj.in" >"$T/fj.rc" &
    FJ_PID=$!
    exec 7>"$T/fj.in" 8<"$T/fj.rc"
}
# Background processes the script started inherit fd 7, so closing it
# here need not end fj.py: it is stopped outright.
fj_stop() {
    [ -n "$FJ_PID" ] || return 0
    exec 7>&- 8<&-
    kill "$FJ_PID" 2>/dev/null || true
    wait "$FJ_PID" 2>/dev/null || true
    FJ_PID=
}
# No process per call either: on a busy machine every fork (a `cat`, a
# `$(...)`) waits for a core, and those waits were most of a script's time.
fj() {
    local rc
    printf '%s\0' "$#" "$@" >&7
    read -r rc <&8 || fail "fj.py serve stopped"
    [ ! -s "$T/fj.out" ] || put_file "$T/fj.out"
    [ ! -s "$T/fj.err" ] || put_file "$T/fj.err" >&2
    return "$rc"
}
# put_file FILE: cat FILE (text) with builtins only.
put_file() {
    local line
    while IFS= read -r line || [ -n "$line" ]; do
        printf '%s\n' "$line"
    done <"$1"
}
fj_start

gw_conf() {
    cat >"$1" <<EOF
[server]
listen = 127.0.0.1
port = 18200
threads = 4
plain_http = true
max_body_bytes = 1048576

[store]
path = $T/db/klasgw.db

[log]
level = info

; gw_start points hsa.url at its HSA simulator; empty here: no check.
[hsa]
url =

; No LV peer: what goes to LV waits in the outbox.
[lv]
url =

; Webhooks to the test's own receivers on loopback (and a name that never
; resolves); test_webhook_ssrf.sh writes its own strict section.
[webhooks]
allowed_hosts = $GLN1=apotek.example.org $GLN1=127.0.0.1 $GLN2=127.0.0.1
allow_private = 127.0.0.0/8
allow_http = true

[clients]
journal1 = ehr serial:SE2321000016-EHR1
apotek1 = pharmacy serial:SE7350000000-APO1 $GLN1
apotek2 = pharmacy serial:SE7350000000-APO2 $GLN2
lisy = lv serial:SE2021004078-LISY
ops = operator serial:SE2321000016-OPS1
${2:-}
EOF
}

# A TCP port nobody listens on, chosen by the kernel: tests running at the
# same time (ctest -j, two checkouts) never meet on a fixed port.
any_free_port() { fj free-port; }

# gw_start PORT [VAR=VALUE...]: the configuration is $T/conf (gw_conf
# writes it if it is missing); the HSA simulator (klasgw sim hsa, the
# prescribers of tests/fixtures/hsa) answers beside it. PORT is only a
# label now: both ports are free ones the kernel picks.
gw_start() {
    local port hsa
    # Two at once: one at a time, the kernel once gave the HSA simulator
    # the gateway's port and serve refused to start ("in use").
    read -r port hsa < <(fj free-port 2)
    shift
    [ -f "$T/conf" ] || gw_conf "$T/conf"
    "$KLASGW" -c "$T/conf" sim hsa --port "$hsa" \
        --fixture "$GW_SOURCE_DIR/tests/fixtures/hsa/prescribers.tsv" >>"$T/hsa.log" 2>&1 &
    HSA_PID=$!
    # Bounds for a loaded machine (30 s); each loop ends as soon as it can.
    for _ in $(seq 1 600); do
        (exec 3<>"/dev/tcp/127.0.0.1/$hsa") 2>/dev/null && break
        kill -0 "$HSA_PID" 2>/dev/null || fail "sim hsa exited: $(tail -5 "$T/hsa.log")"
        sleep 0.05
    done
    env KLASGW_SERVER_PORT="$port" KLASGW_HSA_URL="http://127.0.0.1:$hsa/hsa" "$@" \
        "$KLASGW" -c "$T/conf" serve >>"$T/serve.log" 2>&1 &
    GW_PID=$!
    GW_URL=http://127.0.0.1:$port
    for _ in $(seq 1 300); do
        if curl -sf -o /dev/null "$GW_URL/healthz"; then
            return 0
        fi
        kill -0 "$GW_PID" 2>/dev/null || fail "serve exited: $(tail -5 "$T/serve.log")"
        sleep 0.1
    done
    fail "serve did not answer /healthz on port $port"
}

# The gateway's command line on the same configuration and database.
k() { "$KLASGW" -c "$T/conf" "$@"; }

# who_headers WHO: sets WHO_CLIENT and WHO_USER ("-": no header); no
# subshell, so call() starts no process besides curl.
who_headers() {
    case $1 in
    ehr) WHO_CLIENT=SE2321000016-EHR1 WHO_USER=SE2321000016-DOC1 ;;
    ehr2) WHO_CLIENT=SE2321000016-EHR1 WHO_USER=SE2321000016-DOC2 ;;
    ehr3) WHO_CLIENT=SE2321000016-EHR1 WHO_USER=SE2321000016-DOC3 ;;
    ehr0) WHO_CLIENT=SE2321000016-EHR1 WHO_USER=- ;;
    apo1) WHO_CLIENT=SE7350000000-APO1 WHO_USER=- ;;
    apo2) WHO_CLIENT=serial:SE7350000000-APO2 WHO_USER=- ;;
    lv) WHO_CLIENT=SE2021004078-LISY WHO_USER=- ;;
    ops) WHO_CLIENT=SE2321000016-OPS1 WHO_USER=- ;;
    unknown) WHO_CLIENT=SE2321000016-NOPE WHO_USER=- ;;
    none) WHO_CLIENT=- WHO_USER=- ;;
    *) fail "call: who is '$1'?" ;;
    esac
}

call() {
    local who=$1 method=$2 path=$3 client user
    shift 3
    who_headers "$who"
    client=$WHO_CLIENT user=$WHO_USER
    local hdr=()
    [ "$client" = - ] || hdr+=(-H "X-Klasgw-Client: $client")
    [ "$user" = - ] || hdr+=(-H "X-Klasgw-User: $user")
    : >"$B" # curl leaves the file alone when there is no body
    ST=$(curl -s -o "$B" -D "$H" -w '%{http_code}' -X "$method" \
        ${hdr[@]+"${hdr[@]}"} "$@" "$GW_URL$path")
}

post() {
    local who=$1 path=$2 file=$3 ctype=${4:-application/fhir+json}
    shift 3
    [ $# -gt 0 ] && shift
    call "$who" POST "$path" -H "Content-Type: $ctype" --data-binary "@$file" "$@"
}

want() {
    if [ "$ST" != "$1" ]; then
        echo "FAIL: $2: status $ST, wanted $1" >&2
        head -c 3000 "$B" >&2
        echo >&2
        exit 1
    fi
}

want_outcome() {
    want "$1" "$2"
    $FJ check "$B" "rt == 'OperationOutcome' and len(issues) > 0" \
        "$2: the body is not an OperationOutcome"
}

chk() { $FJ check "$B" "$1" "${2:-$1}"; }
get() { $FJ get "$B" "$1"; }
# hdr NAME: the values of response header NAME in $H (builtins only).
hdr() {
    local line name k=${1,,}
    while IFS= read -r line; do
        line=${line%$'\r'}
        [[ $line == *": "* ]] || continue
        name=${line%%: *}
        [ "${name,,}" = "$k" ] || continue
        printf '%s\n' "${line#*: }"
    done <"$H"
}
msg() { $FJ msg "$@"; }

# hold_lock: another connection takes the write lock of the SQLite store
# $DB and keeps it until $T/release exists (bounded: 20 s); $T/locked says
# it has it; release_lock lets it go and waits for it.
hold_lock() {
    rm -f "$T/locked" "$T/release"
    python3 - "$DB" "$T" <<'PY' &
import os, sqlite3, sys, time
db, t = sys.argv[1], sys.argv[2]
c = sqlite3.connect(db, timeout=10, isolation_level=None)
c.execute("BEGIN IMMEDIATE")
open(t + "/locked", "w").close()
for _ in range(200):
    if os.path.exists(t + "/release"):
        break
    time.sleep(0.1)
c.execute("COMMIT")
PY
    LOCK_PID=$!
    for _ in $(seq 1 100); do [ -e "$T/locked" ] && return 0; sleep 0.1; done
    fail "the lock holder did not get the write lock"
}
release_lock() {
    touch "$T/release"
    wait "$LOCK_PID" || true
}

# gw_down: serve stopped (it must exit 0), and its HSA simulator.
gw_down() {
    gw_stop || fail "serve did not stop cleanly"
    kill "$HSA_PID" 2>/dev/null || true
    wait "$HSA_PID" 2>/dev/null || true
    HSA_PID=
}
