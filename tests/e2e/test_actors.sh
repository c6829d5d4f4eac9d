#!/usr/bin/env bash
# The three actors' whole flow, as the README tells a newcomer to run it:
# `make demo` (scripts/demo.sh) against a gateway with the HSA and LV
# simulators beside it, on free ports. Over REST (enskild) and over SOAP
# (generell): submit, the pharmacy applies, LV registers (by itself),
# requests a supplement, the prescriber supplements, LV registers the
# supplement by itself (K -> H), grants, the pharmacy checks the licence
# and dispenses until it is used up, and one more is refused.
#
# The demo is given an absolute CONFIG and KLASGW_URL, and the gateway's
# port is NOT in its environment: the simulator calls it starts must go to
# KLASGW_URL, not to the configuration's 8080. The grant LV sends runs
# from the decision date (today) for 12 months.
set -euo pipefail
. "$(dirname "$0")/soap_lib.sh"
soap_setup 18170

start_hsa
start_lv --then registered
start_gateway

env -u KLASGW_SERVER_PORT KLASGW_URL="$BASE" CONFIG="$CONF" \
    BUILD="$GW_BUILD_DIR" bash "$GW_SOURCE_DIR/scripts/demo.sh" \
    >"$dir/demo.out" 2>&1 || {
    cat "$dir/demo.out" >&2
    grep -v event=request "$dir/gw.log" | tail -20 >&2
    fail "the demo stopped"
}
cat "$dir/demo.out"

# LV registered the supplements by itself: no one called --call registered.
grep -q "event=sim_lv_supplement .*duplicate=0" "$dir/lv.log" ||
    fail "LV never received a supplement: $(tail "$dir/lv.log")"
[ "$(grep -c "action=registered .*result=OK" "$dir/lv.log")" -eq 4 ] ||
    fail "LV should have registered 2 applications and 2 supplements: $(grep action= "$dir/lv.log")"

# The grant runs from today for 12 months (not a fixed 2026-02-10).
today=$(date -u +%F)
last=$(python3 -c "import datetime; d = datetime.datetime.now(datetime.timezone.utc).date(); e = d.replace(year=d.year + 1) if not (d.month == 2 and d.day == 29) else d.replace(year=d.year + 1, day=28); print(e - datetime.timedelta(days=0 if d.month == 2 and d.day == 29 else 1))")
grep -q "covered: true, valid to $last" "$dir/demo.out" ||
    fail "the grant does not run $today to $last: $(grep covered "$dir/demo.out")"
grep -q "Bev" "$dir/demo.out" || fail "no grant"
echo "ok: the whole flow over REST and SOAP, grant $today to $last"
