#!/usr/bin/env bash
# The redaction, tested from the outside: unique random sentinels are
# planted in everything a pharmacy must never receive (act 2016:526): the
# indication (MedicationRequest.reasonCode.text), the motivation text
# (klas-motivation 'text'), the narrative of the MedicationRequest, and a
# hidden attachment (title, description, and base64 data decoding to a
# sentinel). The case then goes the whole way with the pharmacies' own
# messages in it (apply, supplement) and EVERY byte two pharmacies can get
# is collected: searches with and without _include, look-ups, every
# Type/{refnr}-{1..20} of every type with its versions, history and
# vreads, JSON and XML, headers, error bodies, receipts, the printable
# copy (HTML, PDF), $copy, $check-licence, the registers, and the SOAP
# GetLicenseMotivation / GetLicenseCases / CheckLicense / RecordDispensing
# (refused: beyond any amount). No sentinel may
# appear in it, raw, JSON-, XML- or base64-encoded. The prescriber and LV
# must see every one of them, so the test can fail. Nor may the gateway's
# log or audit trail hold a sentinel or the personnummer.
source "$(dirname "$0")/lib.sh"

PM='/fhir/$process-message'
# The sweep asks for every id it can think of: no limit on failed look-ups
# here (tests/e2e/test_disclosure.sh tests the limit).
gw_start 18220 KLASGW_SERVER_LOOKUP_FAIL_LIMIT=0

# What a KLAS message has no use for (free text on the Task, a Binary, an
# extension the profiles do not define) is refused naming the element, and
# so never stored where a reader could get it.
nref=0
while IFS=$'\t' read -r file rule expr; do
    case "$rule" in klas-task-free-text | klas-binary | klas-extension) ;; *) continue ;; esac
    msg "$EX/invalid/$file" >"$T/refused.json"
    post ehr "$PM" "$T/refused.json"
    want_outcome 422 "$file is refused"
    chk "any(i['details']['coding'][0]['code'] == '$rule' and '$expr' in i.get('expression', []) for i in issues)" \
        "$file: refused by $rule at $expr"
    nref=$((nref + 1))
done <"$EX/invalid/EXPECTED.tsv"
[ "$nref" -ge 7 ] || fail "only $nref messages with free text, Binary or unknown extensions tried"

core=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$core" >"$T/core"

# The motivation with the sentinels, each named for where it was put.
python3 - "$EX/valid/motivation-enskild-attachments.json" "$core" "$T" <<'EOF'
import base64, json, sys, uuid
src, core, out = sys.argv[1:4]
d = json.load(open(src, encoding="utf-8"))
# Characters that every encoding treats differently, around the core.
s = {k: "%s%s<&>\"'å" % (k, core) for k in
     ("IND", "MOT", "NARR", "ATTTITLE", "ATTDESC", "ATTDATA")}
mr = d["entry"][2]["resource"]
assert mr["resourceType"] == "MedicationRequest"
mr["reasonCode"][0]["text"] = s["IND"]
for x in mr["extension"]:
    if x["url"].endswith("klas-motivation"):
        for y in x["extension"]:
            if y["url"] == "text":
                y["valueString"] = s["MOT"]
esc = s["NARR"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
mr = {"resourceType": mr.pop("resourceType"),
      "text": {"status": "generated",
               "div": '<div xmlns="http://www.w3.org/1999/xhtml">%s</div>' % esc},
      **mr}
d["entry"][2]["resource"] = mr
att = d["entry"][9]["resource"]
assert att["resourceType"] == "DocumentReference"
assert att["meta"]["security"][0]["code"] == "hidden-from-pharmacy"
att["description"] = s["ATTDESC"]
a = att["content"][0]["attachment"]
a["title"] = s["ATTTITLE"]
raw = s["ATTDATA"].encode()
a["data"] = base64.b64encode(raw).decode()
a["size"] = len(raw)
d = {"resourceType": "Bundle", "identifier": {"system": "urn:ietf:rfc:3986",
     "value": "urn:uuid:" + str(uuid.uuid4())},
     **{k: v for k, v in d.items() if k != "resourceType"}}
json.dump(d, open(out + "/motivation.json", "w", encoding="utf-8"),
          ensure_ascii=False)
json.dump(s, open(out + "/sentinels.json", "w", encoding="utf-8"))
EOF

# ... and one in every other element the model and the KLAS profiles allow
# on these resources that the pharmacy allow-list does not name
# (sentinel_gen.py: generated, so it grows with the model and the list).
python3 "$GW_SOURCE_DIR/tests/e2e/sentinel_gen.py" "$GW_SOURCE_DIR" \
    "$T/motivation.json" "$core" "$T/motivation-gen.json" "$T/generated.json" \
    "$KLASGW" || fail "sentinel_gen.py"
mv "$T/motivation-gen.json" "$T/motivation.json"

post ehr "$PM" "$T/motivation.json"
want 200 "the motivation with sentinels"
R=$(get "entries[1]['id']")
# The answers (some 7,000 files) go to memory when there is a tmpfs:
# on a busy disk removing them from $T took 13 s.
scratch_dir S
for d in pharmacy prescriber lv; do
    mkdir -p "$S/$d"
    ln -s "$S/$d" "$T/$d"
done
types="Task MedicationRequest Medication Patient PractitionerRole Practitioner
Organization DocumentReference Binary Group Communication CommunicationRequest
Provenance Location Bundle MessageHeader"

# keep DIR NAME: the last answer (headers and body) into DIR.
keep() { cat "$H" "$B" >"$T/$1/$2"; }

# --- the pharmacies' own messages; their answers are theirs to keep ------
msg "$EX/valid/application-enskild.json" --refnr "$R" >"$T/app.json"
post apo1 "$PM" "$T/app.json"
want 200 "apotek1 applies"
keep pharmacy receipt-apply
post apo1 "$PM" "$T/app.json"
keep pharmacy receipt-apply-replay
msg "$EX/valid/application-enskild.json" --refnr "$R" --gln "$GLN2" >"$T/app2.json"
post apo2 "$PM" "$T/app2.json"
want 409 "apotek2 applies too"
keep pharmacy refused-apply
msg "$EX/valid/application-registered.json" --refnr "$R" >"$T/reg.json"
post lv "$PM" "$T/reg.json"
want 200 "LV registers"
keep lv receipt-reg
# LV's request to apotek1 and apotek1's answer carry sentinels of their own
# (core2): apotek1 must see them, apotek2 never.
core2=$(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \n')
echo "$core2" >"$T/core2"
msg "$EX/valid/supplement-request-to-pharmacy.json" --refnr "$R" >"$T/kb.json"
python3 - "$T/kb.json" "KBREQ$core2" <<'EOF2'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
for e in d["entry"]:
    if e["resource"]["resourceType"] == "CommunicationRequest":
        e["resource"]["payload"][0]["contentString"] = sys.argv[2]
json.dump(d, open(sys.argv[1], "w", encoding="utf-8"), ensure_ascii=False)
EOF2
post lv "$PM" "$T/kb.json"
want 200 "LV asks the pharmacy for more"
msg "$EX/valid/supplement-by-pharmacy.json" --refnr "$R" >"$T/k.json"
python3 - "$T/k.json" "KSUPP$core2" <<'EOF2'
import json, sys
d = json.load(open(sys.argv[1], encoding="utf-8"))
for e in d["entry"]:
    if e["resource"]["resourceType"] == "Communication":
        e["resource"]["payload"][0]["contentString"] = sys.argv[2]
json.dump(d, open(sys.argv[1], "w", encoding="utf-8"), ensure_ascii=False)
EOF2
post apo1 "$PM" "$T/k.json"
want 200 "apotek1 supplements"
keep pharmacy receipt-supplement
msg "$EX/valid/supplement-by-pharmacy.json" --refnr "$R" --gln "$GLN2" >"$T/k2.json"
post apo2 "$PM" "$T/k2.json"
keep pharmacy refused-supplement
msg "$EX/valid/application-registered.json" --refnr "$R" >"$T/reg2.json"
post lv "$PM" "$T/reg2.json"
want 200 "LV has the supplement"
msg "$EX/valid/decision-bev.json" --refnr "$R" >"$T/bev.json"
post lv "$PM" "$T/bev.json"
want 200 "LV grants"
call ehr GET "/fhir/Task/$R"
chk "d['businessStatus']['coding'][0]['code'] == 'Bev' and d['meta']['versionId'] == '7'" "the case is granted, version 7"
# Resource ids are <refnr>-<n>: the sweep asks every type for every n the
# case has (the prescriber's whole view names them all) and two beyond.
call ehr GET "/fhir/Task?identifier=$R&_include=*"
want 200 "the prescriber's whole case"
maxid=$(get "max([int(e['resource']['id'].rsplit('-', 1)[1]) for e in d['entry'] if e['resource']['id'].startswith('$R-')] + [0])")
[ "$maxid" -gt 5 ] || fail "the case view names only $maxid resources"

# --- every read a pharmacy can make, through one curl per client ---------
# sweep DIR HEADER...: every GET a client can make of the case, one curl
# process (keep-alive) for all of them; prints how many.
sweep() {
    local dir=$T/$1 cfg=$T/${1//\//-}.curl n=0 hdrs="" h
    shift
    for h in "$@"; do hdrs+="header = \"$h\""$'\n'; done
    mkdir -p "$dir"
    : >"$cfg"
    add() {
        [ $n -eq 0 ] || echo next >>"$cfg"
        n=$((n + 1))
        printf 'url = "%s%s"\noutput = "%s/%04d"\ndump-header = "%s/%04d.h"\n%s' \
            "$GW_URL" "$1" "$dir" "$n" "$dir" "$n" "$hdrs" >>"$cfg"
    }
    local q f t i v
    for q in "" "?_include=*" "?identifier=$R" "?identifier=$R&patient.identifier=$PNR" \
        "?identifier=$R&patient.identifier=$PNR&_include=*" \
        "?identifier=http://klasgw.org/fhir/NamingSystem/referensnummer|$R&patient.identifier=http://electronichealth.se/identifier/personnummer|$PNR&_include=*" \
        "?business-status=Bev&_include=*" "?drug=Melatonin&_include=*" \
        "?identifier=$R&patient.identifier=$PNR&_include=*&_summary=true" \
        "?identifier=$R&patient.identifier=191212121212"; do
        add "/fhir/Task$q"
        add "/fhir/Task${q:-?}${q:+&}_format=xml"
    done
    for f in json xml; do
        add "/fhir/Task/$R?_format=$f"
        add "/fhir/Task/$R/_history?_format=$f"
        for v in 1 2 3 4 5 6 7 8; do add "/fhir/Task/$R/_history/$v?_format=$f"; done
        for t in $types; do
            for i in $(seq 1 $((maxid + 2))); do
                add "/fhir/$t/$R-$i?_format=$f"
                add "/fhir/$t/$R-$i/_history/1?_format=$f"
            done
        done
    done
    # The operations: printable copy (HTML, PDF), copy to a new
    # motivation, the licence check, the product and pharmacy registers.
    for q in "/fhir/Task/$R/\$print" "/fhir/Task/$R/\$print?_format=pdf" \
        "/fhir/Task/$R/\$copy" "/fhir/Task/$R/\$copy?_format=xml" \
        "/fhir/\$check-licence?patient=$PNR&product=20130603015935" \
        "/fhir/\$check-licence?patient=$PNR&product=20130603015935&_format=xml" \
        "/fhir/Medication?name=Melatonin" "/fhir/Medication?substance=melatonin" \
        "/fhir/Medication?code=20130603015935" "/fhir/Organization?name=Apotek"; do
        add "$q"
    done
    add /fhir/metadata
    curl -s -g -K "$cfg" || fail "the sweep into $dir"
    echo "$n"
}
# The four sweeps at once: the gateway answers them on all its threads
# (one after another, the sweep was most of this test's time).
sweep pharmacy/apo1 "X-Klasgw-Client: SE7350000000-APO1" >"$T/n1" &
p1=$!
sweep pharmacy/apo2 "X-Klasgw-Client: SE7350000000-APO2" >"$T/n2" &
p2=$!
sweep prescriber/doc1 "X-Klasgw-Client: SE2321000016-EHR1" "X-Klasgw-User: SE2321000016-DOC1" >/dev/null &
p3=$!
sweep lv/lisy "X-Klasgw-Client: SE2021004078-LISY" >/dev/null &
p4=$!
for p in $p1 $p2 $p3 $p4; do
    wait "$p" || fail "a sweep failed"
done
read -r n1 <"$T/n1"
read -r n2 <"$T/n2"

# The SOAP front (RIV-TA) serves pharmacies too: GetLicenseMotivation,
# GetLicenseCases, CheckLicense and RecordDispensing, as both pharmacies,
# right and wrong patient.
soap() { # soap WHO-CLIENT NAME INNER OUTFILE
    printf '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns:itr="urn:riv:itintegration:registry:1" xmlns:r="urn:riv:klas:%sResponder:1"><soapenv:Header><itr:LogicalAddress>SE2321000016-KLAS</itr:LogicalAddress></soapenv:Header><soapenv:Body><r:%s>%s</r:%s></soapenv:Body></soapenv:Envelope>' \
        "$2" "$2" "$3" "$2" >"$T/soap-req.xml"
    curl -s -D "$4.h" -o "$4" -H 'Content-Type: text/xml; charset=utf-8' \
        -H "X-Klasgw-Client: $1" --data-binary "@$T/soap-req.xml" "$GW_URL/soap/$2"
}
nsoap=0
for c in SE7350000000-APO1 SE7350000000-APO2; do
    for inner in "<r:referenceNumber>$R</r:referenceNumber><r:patientId>$PNR</r:patientId>" \
        "<r:referenceNumber>$R</r:referenceNumber>" \
        "<r:referenceNumber>$R</r:referenceNumber><r:patientId>191212121212</r:patientId>"; do
        nsoap=$((nsoap + 1))
        soap "$c" GetLicenseMotivation "$inner" "$T/pharmacy/soap-${c##*-}-$nsoap"
    done
    nsoap=$((nsoap + 1))
    soap "$c" GetLicenseCases "<r:referenceNumber>$R</r:referenceNumber>" "$T/pharmacy/soap-$nsoap"
    for p in "$PNR" 191212121212; do
        nsoap=$((nsoap + 1))
        soap "$c" CheckLicense "<r:productId>20130603015935</r:productId><r:patientId>$p</r:patientId>" "$T/pharmacy/soap-$nsoap"
        grep -q '>OK</core:resultCode>' "$T/pharmacy/soap-$nsoap" \
            || fail "CheckLicense: $(head -c 600 "$T/pharmacy/soap-$nsoap")"
        nsoap=$((nsoap + 1))
        soap "$c" RecordDispensing "<r:dispensingId>sentinel-$nsoap</r:dispensingId><r:referenceNumber>$R</r:referenceNumber><r:amount>999999</r:amount><r:kind>prescription</r:kind><r:patientId>$p</r:patientId>" "$T/pharmacy/soap-$nsoap"
        grep -q '>APPLICATION_ERROR</core:errorCode>' "$T/pharmacy/soap-$nsoap" \
            || fail "RecordDispensing: $(head -c 600 "$T/pharmacy/soap-$nsoap")"
    done
    # Part of the product's name is not "no licence" (issue #14): the
    # reason says so in both languages, as $check-licence does.
    nsoap=$((nsoap + 1))
    soap "$c" CheckLicense "<r:productId>melatonin agb</r:productId><r:patientId>$PNR</r:patientId>" "$T/pharmacy/soap-$nsoap"
    grep -q 'ange hela namnet eller NPL-id' "$T/pharmacy/soap-$nsoap" &&
        grep -q 'give the whole name or the NPL id' "$T/pharmacy/soap-$nsoap" \
        || fail "CheckLicense by part of the name: $(head -c 900 "$T/pharmacy/soap-$nsoap")"
done
grep -q "$GLN1\|Melatonin" "$T"/pharmacy/soap-* || fail "no SOAP answer carried the case: $(head -c 600 "$T/pharmacy/soap-1")"

# --- the verdict ---------------------------------------------------------
python3 - "$T" "$n1" "$n2" <<'EOF'
import base64, json, os, re, subprocess, sys, zlib
t, n1, n2 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
s = json.load(open(t + "/sentinels.json", encoding="utf-8"))
gen = json.load(open(t + "/generated.json", encoding="utf-8"))
core = open(t + "/core").read().strip()

def forms(v):
    """Every way v may travel: raw, JSON, XML-escaped, base64 at each
    alignment (the stable middle of it), and the bare random core."""
    out = {v, json.dumps(v, ensure_ascii=False)[1:-1], json.dumps(v)[1:-1],
           v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            .replace('"', "&quot;"),
           v.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")}
    for pad in range(3):
        b = base64.b64encode(("x" * pad + v).encode()).decode()
        out.add(b[4:-4])
    out.add(base64.b64encode(v.encode()).decode())
    return out

def pdf_text(raw):
    """The text of a PDF as a reader sees it (pdftotext: the copy's font is
    embedded with glyph ids, so its streams hold no letters), and its
    streams, inflated: libharu compresses page content."""
    out = [subprocess.run(["pdftotext", "-enc", "UTF-8", "-", "-"], input=raw,
                          stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                          check=True).stdout.decode("utf-8", "replace")]
    for m in re.finditer(rb"stream\r?\n(.*?)\r?\nendstream", raw, re.S):
        try:
            out.append(zlib.decompress(m.group(1)).decode("latin-1"))
        except zlib.error:
            out.append(m.group(1).decode("latin-1"))
    return "\n".join(out)

def corpus(d):
    files = {}
    for root, _, names in os.walk(d):
        for n in names:
            raw = open(os.path.join(root, n), "rb").read()
            txt = raw.decode("utf-8", "replace")
            if b"%PDF-" in raw[:1024]:
                txt += pdf_text(raw)
            files[os.path.join(root, n)] = txt
    return files

def found(files, name, with_core):
    fs = forms(s[name]) | ({core} if with_core else set())
    return sorted(p for p, txt in files.items() if any(f in txt for f in fs))

ph = corpus(t + "/pharmacy")
statuses = {}
for p, txt in ph.items():
    if p.endswith(".h"):
        for line in txt.splitlines():
            if line.startswith("HTTP/"):
                code = line.split(" ")[1]
                statuses[code] = statuses.get(code, 0) + 1
nbytes = sum(len(x) for x in ph.values())
print("pharmacy corpus: %d answers (%d + %d reads and the pharmacies' own "
      "messages), %d bytes, by status %s" % (len([p for p in ph if p.endswith(".h")])
      + len([p for p in ph if "/pharmacy/receipt" in p or "/pharmacy/refused" in p]),
      n1, n2, nbytes, dict(sorted(statuses.items()))))
bad = []
if any(core in x for x in ph.values()):
    for name in s:
        hits = found(ph, name, False)
        bad.append("%s leaked to a pharmacy in %d answers, e.g. %s" %
                   (name, len(hits), hits[:3]))
    bad.append("the random core of the sentinels is in %s" %
               found(ph, "IND", True)[:5])
for name in s:
    hits = found(ph, name, False)
    if hits:
        bad.append("%s (some encoding of it) reached a pharmacy: %s" % (name, hits[:3]))
# The sweep is not empty-handed: the pharmacy got the case ...
for need in ("Melatonin AGB", "201006301111", "Produktinformation 2", "REDACTED"):
    if not any(need in x for x in ph.values()):
        bad.append("the pharmacy never received %r: the sweep is broken" % need)
for code in ("200", "403", "404"):
    if statuses.get(code, 0) == 0:
        bad.append("no %s answer in the pharmacy sweep" % code)
# LV's request to apotek1 and its supplement: apotek1 sees them (REST and
# SOAP), apotek2 never does.
core2 = open(t + "/core2").read().strip()
apo1 = {p: x for p, x in ph.items() if "/apo1/" in p or "APO1" in p}
apo2 = {p: x for p, x in ph.items() if "/apo2/" in p or "APO2" in p}
for name in ("KBREQ", "KSUPP"):
    if not any(name + core2 in x for p, x in apo1.items() if "APO1" in p):
        bad.append("apotek1 does not see %s over SOAP: the sweep is broken" % name)
    if not any(name + core2 in x for p, x in apo1.items() if "/apo1/" in p):
        bad.append("apotek1 does not see %s over REST: the sweep is broken" % name)
leak2 = sorted(p for p, x in apo2.items() if core2 in x)
if leak2:
    bad.append("apotek2 received apotek1's supplement or LV's request to it: %s"
               % leak2[:3])

# The generated sentinels: S<n>x<core>, the same in every text encoding.
pat = re.compile(r"(S\d+)x" + core)
def seen(files):
    return {m for txt in files.values() for m in pat.findall(txt)}
leaked = seen(ph) & set(gen)
for name in sorted(leaked, key=lambda k: int(k[1:])):
    bad.append("%s (%s) reached a pharmacy: %s" % (name, gen[name],
               sorted(p for p, x in ph.items() if name + "x" + core in x)[:3]))
# ... and those who may see the sentinels do.
full = {}
for who in ("prescriber", "lv"):
    c = corpus(t + "/" + who)
    full.update(c)
    for name in s:
        if not found(c, name, False):
            bad.append("%s does not see %s" % (who, name))
# The case view leaves out the MessageHeader and rebuilds parts of the Task
# (meta, identifier, status); sentinels there reach nobody. Every other one
# must reach the prescriber or LV, or the sweep proves nothing for it.
unseen = set(gen) - seen(full)
unseen_paths = sorted({gen[k] for k in unseen})
expected_unseen = [p for p in unseen_paths if p.startswith("MessageHeader.")
                   or p.startswith("Task.meta.") or p.startswith("Task.businessStatus.")]
for p in unseen_paths:
    if p not in expected_unseen:
        bad.append("no reader sees the sentinel in %s: the sweep cannot test it" % p)
print("generated sentinels: %d planted, %d reach the prescriber or LV, "
      "%d reach nobody (MessageHeader, the rebuilt Task.meta/businessStatus), "
      "%d reach a pharmacy" % (len(gen), len(set(gen) - unseen),
                               len(unseen), len(leaked)))
if bad:
    print("FAIL:\n  " + "\n  ".join(dict.fromkeys(bad)))
    sys.exit(1)
print("ok: no sentinel reached a pharmacy; prescriber and LV see all %d" % len(s))
EOF

# The gateway's own log and audit trail carry ids, never content.
gw_stop
grep -q "$core" "$T/serve.log" && fail "a sentinel in the gateway's log"
grep -q "$PNR" "$T/serve.log" && fail "the personnummer in the gateway's log"
k audit export >"$T/audit.json" || fail "audit export"
grep -q "\"$R\"" "$T/audit.json" || fail "the audit export does not name the case"
grep -q "$core" "$T/audit.json" && fail "a sentinel in the audit trail"
grep -q "$PNR" "$T/audit.json" && fail "the personnummer in the audit trail"
echo "ok: neither the log nor the audit trail holds a sentinel or the personnummer"
