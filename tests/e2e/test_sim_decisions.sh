#!/usr/bin/env bash
# `klasgw sim lv` takes LV's decisions from the event rows: every decision
# outcome (one generated example decision-<outcome>.json per decision row,
# scripts/gen-examples.py) is listed by `help sim` and by the simulator's
# usage, and a --call or --then step that is no call LV makes is a usage
# error (exit 2) instead of being sent as some decision. No gateway is
# needed: nothing here reaches the network (--gateway is a closed port).
set -euo pipefail
: "${KLASGW:?path of the klasgw binary}" "${GW_SOURCE_DIR:?source dir}"
fail() { echo "FAIL: $*" >&2; exit 1; }
out=$(mktemp -d); trap 'rm -rf "$out"' EXIT

# The outcomes of the decision rows, as the generated examples carry them.
outcomes=$(for f in "$GW_SOURCE_DIR"/fhir-profiles/examples/valid/decision-*.json; do
    jq -r '.entry[].resource | select(.resourceType == "Task")
           | .businessStatus.coding[0].code' "$f"
done | sort -u)
[ -n "$outcomes" ] || fail "no decision examples"

"$KLASGW" help sim >"$out/help"
set +e
"$KLASGW" sim lv --call not-a-call --refnr 2026000001 \
    --gateway http://127.0.0.1:1 >/dev/null 2>"$out/usage"; rc=$?
set -e
[ $rc -eq 2 ] || fail "--call not-a-call exits $rc, not 2 (usage)"
grep -q -- "--call: not one of LV's calls: not-a-call" "$out/usage" ||
    fail "the usage error does not say what was wrong: $(head -2 "$out/usage")"
for o in $outcomes; do
    grep -q "supplement, .*\b$o\b" "$out/help" || fail "help sim does not list $o"
    # A usage error prints the same help, with what was wrong first.
    grep -q "supplement, .*\b$o\b" "$out/usage" ||
        fail "the usage does not list $o: $(cat "$out/usage")"
done

set +e
# (timeout: a simulator that took the plan would serve until stopped)
timeout 20 "$KLASGW" sim lv --then registered,not-a-call --port 18199 \
    >/dev/null 2>&1; rc=$?
set -e
[ $rc -eq 2 ] || fail "--then registered,not-a-call exits $rc, not 2 (usage)"
echo "ok: sim lv's decisions are the rows' ($(echo $outcomes))"
