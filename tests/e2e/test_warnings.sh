#!/usr/bin/env bash
# Warnings reach the sender: a motivation with a personnummer in its text
# and a prescriber without e-mail is stored (the warnings do not refuse
# it), and the receipt says why, over REST (MessageHeader.response.details
# -> an OperationOutcome with severity warning, the rule ids and texts of
# $validate) and over SOAP (resultCode INFO, the same texts in
# message). A resend gets the same receipt, warnings included.
set -euo pipefail
. "$(dirname "$0")/soap_lib.sh"
soap_setup 18150
EHR=serial:SE2321000016-EHR1
DOC=SE2321000016-DOC1

start_hsa
start_gateway

# The example with the warnings' causes, as JSON and as XML.
python3 - "$EX" "$dir" <<'PY'
import json, sys
ex, out = sys.argv[1], sys.argv[2]
j = open(ex + "/motivation-enskild-searched.json", encoding="utf-8").read()
x = open(ex + "/motivation-enskild-searched.xml", encoding="utf-8").read()
for name, t in (("json", j), ("xml", x)):
    assert "utan tillräcklig effekt" in t
    t = t.replace("utan tillräcklig effekt", "utan tillräcklig effekt hos 201006301111", 1)
    open("%s/warn.%s" % (out, name), "w", encoding="utf-8").write(t)
m = json.loads(open(out + "/warn.json", encoding="utf-8").read())
m["identifier"] = {"system": "urn:ietf:rfc:3986", "value": "urn:uuid:6f1c0d1e-0000-4000-8000-000000000001"}
for e in m["entry"]:
    r = e["resource"]
    if r["resourceType"] == "PractitionerRole":
        r["telecom"] = [t for t in r["telecom"] if t["system"] != "email"]
open(out + "/warn.json", "w", encoding="utf-8").write(json.dumps(m, ensure_ascii=False))
PY

post() {   # path file -> body on stdout, status in $dir/st
    curl -s -o "$dir/body" -w '%{http_code}' -H "X-Klasgw-Client: $EHR" \
        -H "X-Klasgw-User: $DOC" -H 'Content-Type: application/fhir+json' \
        --data-binary @"$2" "$BASE/fhir/$1" >"$dir/st"
    cat "$dir/body"
}

post 'Bundle/$validate' "$dir/warn.json" >"$dir/validate.json"
post '$process-message' "$dir/warn.json" >"$dir/receipt.json"
[ "$(cat "$dir/st")" = 200 ] || fail "submit: $(cat "$dir/st") $(cat "$dir/receipt.json")"
post '$process-message' "$dir/warn.json" >"$dir/replay.json"
python3 - "$dir" <<'PY'
import json, sys
d = sys.argv[1]
def fail(m):
    print("FAIL:", m); sys.exit(1)
val = json.load(open(d + "/validate.json"))
want = sorted((i["details"]["coding"][0]["code"], i["details"]["text"],
               i["details"]["coding"][0]["display"], tuple(i.get("expression", [])))
              for i in val["issue"] if i["severity"] == "warning")
rules = {w[0] for w in want}
if not {"klas-text-personal-data", "klas-prescriber-email"} <= rules:
    fail("$validate warnings: %s" % rules)
for name in ("receipt", "replay"):
    b = json.load(open("%s/%s.json" % (d, name)))
    hdr = b["entry"][0]["resource"]
    ref = hdr["response"].get("details", {}).get("reference")
    oo = [e["resource"] for e in b["entry"] if e.get("fullUrl") == ref]
    if not ref or not oo or oo[0]["resourceType"] != "OperationOutcome":
        fail("%s: no OperationOutcome behind response.details: %s" % (name, hdr["response"]))
    got = sorted((i["details"]["coding"][0]["code"], i["details"]["text"],
                  i["details"]["coding"][0]["display"], tuple(i.get("expression", [])))
                 for i in oo[0]["issue"])
    if any(i["severity"] != "warning" for i in oo[0]["issue"]) or got != want:
        fail("%s: warnings differ from $validate:\n%s\n%s" % (name, got, want))
    if hdr["response"]["code"] != "ok":
        fail("%s: response code %s" % (name, hdr["response"]["code"]))
print("ok: REST receipt carries", sorted(rules))
PY

# A message without warnings has no details.
sed 's/urn:uuid:6f1c0d1e-0000-4000-8000-000000000001/urn:uuid:6f1c0d1e-0000-4000-8000-000000000002/' \
    "$EX/motivation-enskild-searched.json" >"$dir/clean.json"
post '$process-message' "$dir/clean.json" >"$dir/clean-receipt.json"
python3 -c 'import json,sys; b=json.load(open(sys.argv[1])); r=b["entry"][0]["resource"]["response"]; sys.exit("details" in r or any(e["resource"]["resourceType"]=="OperationOutcome" for e in b["entry"]))' \
    "$dir/clean-receipt.json" || fail "a receipt without warnings carries details"

# SOAP: INFO with the same texts.
body=$(sed -e 's/<?xml[^>]*?>//' "$dir/warn.xml")
envelope SubmitLicenseMotivation "<r:messageId>warn-soap-1</r:messageId><r:licenseMotivation>$body</r:licenseMotivation>" >"$dir/s.xml"
soap_call SubmitLicenseMotivation $EHR $DOC "$dir/s.xml" >"$dir/soap.out"
grep -q '<core:resultCode[^>]*>INFO</core:resultCode>' "$dir/soap.out" ||
    fail "SOAP: not INFO: $(cat "$dir/soap.out")"
grep -q 'Motiveringstexten ser ut att innehålla ett personnummer' "$dir/soap.out" &&
    grep -q 'seems to hold a personnummer' "$dir/soap.out" ||
    fail "SOAP: the warning's texts are missing: $(cat "$dir/soap.out")"
grep -q '<[a-z0-9]*:\?referenceNumber>[0-9]\{10\}<' "$dir/soap.out" ||
    fail "SOAP: INFO without the receipt: $(cat "$dir/soap.out")"
echo "ok: SOAP answers INFO with the warnings"
