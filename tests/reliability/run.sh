#!/usr/bin/env bash
# run.sh short|full [SCENARIO...] - the reliability suite (make reliability,
# make reliability-short). SCENARIO: r1 r2 r3 r4 r5 r6 (default: all). Each
# scenario runs under a time limit, prints its figures and fails on a broken
# invariant; the summary lists them and the exit status is 1 when any
# failed. KLASGW names the binary (default build/klasgw).
set -u
here=$(cd "$(dirname "$0")" && pwd)
form=${1:-short}
shift || true
case $form in
short) r1="--kills 10" r2="--lv-down 10" r5="--minutes 2" r6="--kills 5 --pg-restart" ;;
full) r1="--kills 100" r2="--lv-down 60" r5="--minutes 30" r6="--kills 30 --pg-restart" ;;
*) echo "usage: $0 short|full [r1 r2 r3 r4 r5 r6]" >&2; exit 2 ;;
esac
[ $# -gt 0 ] || set -- r1 r2 r3 r4 r5 r6
export KLASGW=${KLASGW:-$here/../../build/klasgw}
[ -x "$KLASGW" ] || { echo "no klasgw binary at $KLASGW (make build)" >&2; exit 2; }

# scenario -> script, arguments, time limit in seconds (short / full)
run_one() {
    local s=$1 script args limit
    case $s in
    r1) script=r1_crash.py args=$r1 limit=$([ "$form" = full ] && echo 1800 || echo 300) ;;
    r2) script=r2_peers.py args=$r2 limit=$([ "$form" = full ] && echo 900 || echo 300) ;;
    r3) script=r3_disk.py args="" limit=240 ;;
    r4) script=r4_ops.py args="" limit=300 ;;
    r5) script=r5_soak.py args=$r5 limit=$([ "$form" = full ] && echo 2400 || echo 420) ;;
    r6) script=r6_nodes.py args=$r6 limit=$([ "$form" = full ] && echo 600 || echo 180) ;;
    *) echo "unknown scenario $s" >&2; return 2 ;;
    esac
    # shellcheck disable=SC2086
    timeout --kill-after=10 "$limit" python3 -u "$here/$script" $args
    local rc=$?
    [ $rc -eq 124 ] && echo "FAIL $s: over its time limit of $limit s"
    return $rc
}

summary=()
failed=0
t0=$(date +%s)
for s in "$@"; do
    t=$(date +%s)
    if run_one "$s"; then r=ok; else r=FAIL; failed=1; fi
    summary+=("$(printf '%-4s %-4s %5ss' "$s" "$r" $(($(date +%s) - t)))")
done
echo "== reliability ($form), $(($(date +%s) - t0)) s"
printf '   %s\n' "${summary[@]}"
exit $failed
