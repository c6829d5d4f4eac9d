#!/usr/bin/env bash
# make demo: one enskild and one general licence case, from the
# prescriber's motivation to LV's decision, against the gateway that
# `make run` started (another terminal). Each actor is played here with
# curl: the EHR (journal1), the pharmacy (apotek1) and LV (lisy), as the
# example configuration names them. Every status change is printed.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
url=${KLASGW_URL:-http://127.0.0.1:8080}
ex="$top/fhir-profiles/examples/valid"
ehr=(-H "X-Klasgw-Client: serial:SE2321000016-EHR1" -H "X-Klasgw-User: SE2321000016-DOC1")
apo=(-H "X-Klasgw-Client: serial:SE7350000000-APO1")
lv=(-H "X-Klasgw-Client: serial:SE2021004078-LISY")
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

if ! curl -sf "$url/healthz" >/dev/null; then
    echo "No gateway at $url: start it with 'make run' in another terminal." >&2
    exit 1
fi

bold() { printf '\033[1m%s\033[0m\n' "$*"; }
# send WHO-ARRAY-NAME EXAMPLE REFNR [python edit]: posts an example message
# with a fresh message id and the case's referensnummer; prints the status.
send() {
    local -n who=$1
    local example=$2 ref=${3:-} edit=${4:-}
    python3 - "$ex/$example.json" "$ref" "$edit" >"$tmp/msg.json" <<'PY'
import datetime, json, sys, uuid
text = open(sys.argv[1], encoding="utf-8").read()
if sys.argv[2]:
    text = text.replace("2026658327", sys.argv[2])
m = json.loads(text)
m["identifier"] = {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:%s" % uuid.uuid4()}
today = datetime.date.today()
for e in m["entry"]:
    r = e["resource"]
    if r["resourceType"] == "MedicationRequest" and "validityPeriod" in r.get("dispenseRequest", {}):
        r["dispenseRequest"]["validityPeriod"] = {"start": today.isoformat(),
            "end": (today + datetime.timedelta(days=364)).isoformat()}
print(json.dumps(m))
PY
    curl -s "${who[@]}" -H 'Content-Type: application/fhir+json' \
        --data-binary @"$tmp/msg.json" "$url/fhir/\$process-message" >"$tmp/ans.json"
    python3 - "$tmp/ans.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
if d["resourceType"] == "OperationOutcome":
    for i in d["issue"]:
        print("   refused:", i["details"].get("text"), "/", i["details"]["coding"][0]["display"])
    sys.exit(1)
t = [e["resource"] for e in d["entry"] if e["resource"]["resourceType"] == "Task"][0]
c = t["businessStatus"]["coding"][0]
print("   %s  %-4s %s" % (t["id"], c["code"], c["display"]))
open(sys.argv[1] + ".ref", "w").write(t["id"])
PY
}

bold "1. Enskild licence (one named patient)"
echo " EHR submits the motivation (licensmotivering):"
send ehr motivation-enskild-searched
ref=$(cat "$tmp/ans.json.ref")
echo " The pharmacy finds it by referensnummer + personnummer (redacted view):"
curl -s "${apo[@]}" "$url/fhir/Task?identifier=$ref&patient.identifier=201006301111" |
    python3 -c 'import json,sys; b=json.load(sys.stdin); t=json.dumps(b); print("   %d hit(s); indication shown to the pharmacy: %s" % (b["total"], "reasonCode" in t))'
echo " The pharmacy applies (licensansökan); the motivation is now locked:"
send apo application-enskild "$ref"
echo " LV registers the application:"
send lv application-registered "$ref"
echo " LV asks the prescriber for more (komplettering):"
send lv supplement-request-to-prescriber "$ref"
echo " The prescriber supplements:"
send ehr supplement-by-prescriber "$ref"
echo " LV has the supplement:"
send lv application-registered "$ref"
echo " LV grants the licence (Beviljad, 12 months):"
send lv decision-bev "$ref"
echo " At the counter, the pharmacy checks the licence for the patient:"
curl -s "${apo[@]}" "$url/fhir/\$check-licence?product=20130603015935&patient=201006301111" |
    python3 -c 'import json,sys; p={x["name"]:x for x in json.load(sys.stdin)["parameter"]}; print("   covered: %s, valid to %s, remaining %s %s" % (p["covered"]["valueBoolean"], p["valid-to"]["valueDate"], p["remaining-amount"]["valueDecimal"], p["unit"]["valueString"]))'

bold "2. Generell licence (care units, requisitions)"
echo " EHR submits a general motivation for the administration:"
send ehr motivation-generell-administration
gref=$(cat "$tmp/ans.json.ref")
echo " The pharmacy applies:"
send apo application-generell "$gref"
echo " LV registers, then rejects it (Avslag):"
send lv application-registered "$gref"
send lv decision-avs "$gref"

bold "3. The prescriber's cases (Mina ärenden)"
curl -s "${ehr[@]}" "$url/fhir/Task?_count=5" |
    python3 -c 'import json,sys
for e in json.load(sys.stdin).get("entry", []):
    t = e["resource"]; c = t["businessStatus"]["coding"][0]
    print("   %s  %-4s %s" % (t["id"], c["code"], c["display"]))'
echo
printf 'Printable copy:\n  curl -H "X-Klasgw-Client: serial:SE2321000016-EHR1" -H "X-Klasgw-User: SE2321000016-DOC1" %s/fhir/Task/%s/\$print\n' "$url" "$ref"
