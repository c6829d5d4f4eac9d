#!/usr/bin/env bash
# `make run`: the gateway in the foreground with the peer simulators (HSA,
# LV, pharmacy webhook) beside it, all on the example configuration's
# addresses. The simulators stop when the gateway stops (Ctrl-C, SIGTERM).
#   scripts/run-demo.sh BUILD_DIR CONFIG
set -uo pipefail
build=${1:-build}
config=${2:-adapter/klasgw.conf.example}
bin="./$build/klasgw"
pids=()

stop() {
    local p
    trap - EXIT INT TERM
    [ -n "${gw:-}" ] && kill "$gw" 2>/dev/null
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
    wait 2>/dev/null
}
trap stop EXIT
trap 'stop; exit 130' INT TERM

mkdir -p var
# The audit chain's key (audit.key_file). A demo keeps it in var/ beside the
# database; production keeps it where the database's writer cannot reach
# (a systemd credential, or a file readable by klasgw only).
if [ -z "${KLASGW_AUDIT_KEY_FILE:-}" ]; then
    [ -s var/audit.key ] ||
        (umask 077 && head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >var/audit.key)
    export KLASGW_AUDIT_KEY_FILE=$PWD/var/audit.key
fi
"$bin" -c "$config" sim hsa >var/sim-hsa.log 2>&1 & pids+=($!)
"$bin" -c "$config" sim lv --then registered >var/sim-lv.log 2>&1 & pids+=($!)
"$bin" -c "$config" sim pharmacy >var/sim-pharmacy.log 2>&1 & pids+=($!)
echo "run: simulators started (logs in var/sim-*.log); starting the gateway"
"$bin" -c "$config" serve &
gw=$!
wait "$gw"
