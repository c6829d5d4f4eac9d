#!/usr/bin/env python3
"""Plant a sentinel in every element a pharmacy must not see.

    sentinel_gen.py SOURCE_DIR MESSAGE.json CORE OUT.json MAP.json KLASGW

Reads the FHIR R4 model table (src/fhir/model_gen.c, generated from the
official definitions), the KLAS extensions (fhir-profiles/
StructureDefinition-klas-*.json) and the pharmacy allow-list
(xslt/pharmacy-view.xsl), and writes MESSAGE with a unique sentinel
"S<n>x<CORE>..." in every text-bearing element (string, markdown, code,
uri, url, canonical, id) of every resource of the message, down to
MAX_DEPTH levels of datatypes, and in every KLAS extension the message's
resources may carry, unless the allow-list names that path. The list grows
with the model and the profiles: an element added to either gets a
sentinel without anyone writing it here, and an element added to the
allow-list stops getting one.

Existing values are left as they are (the message must stay a valid KLAS
case): a sentinel goes into a new element, a new item of a repeating
element, or a new child of an existing element. New structures are only
made where their required children can be filled. What the validator
refuses (`klasgw validate`) is then left out and the rest planted again,
until the message is valid: a refused element is never stored and so can
never reach anyone. The refused paths are printed.

MAP.json: {"S<n>": "Type.path.to.element", ...}.
"""
import json
import os
import re
import subprocess
import sys

MAX_DEPTH = 4
TEXT = {"GW_FHIR_P_STRING", "GW_FHIR_P_MARKDOWN", "GW_FHIR_P_CODE",
        "GW_FHIR_P_URI", "GW_FHIR_P_URL", "GW_FHIR_P_CANONICAL",
        "GW_FHIR_P_ID"}
# Elements whose content the gateway sets or that are checked elsewhere:
# the resource id (the view assigns it), contained resources (their own
# type's elements are planted), extensions (the KLAS ones below; any other
# is refused by the validator, rule klas-extension) and the narrative
# (XHTML; the hand-written sentinel NARR covers it).
SKIP = {"id", "contained", "extension", "modifierExtension"}
SKIP_TYPES = {"Narrative", "Extension"}


def load_model(src):
    text = open(os.path.join(src, "src/fhir/model_gen.c"), encoding="utf-8").read()
    elems_part = text[text.index("gw_fhir_elems[]"):text.index("gw_fhir_types[]")]
    types_part = text[text.index("gw_fhir_types[]"):]
    elems = [(m.group(1), int(m.group(2)), int(m.group(3)), int(m.group(4)),
              int(m.group(5)), int(m.group(6)))
             for m in re.finditer(r'\{"(\w+)", (\d+), (\d+), (\d+), (\d+), (\d+)\}',
                                  elems_part)]
    types = [(m.group(1), m.group(2), m.group(3), int(m.group(4)), int(m.group(5)))
             for m in re.finditer(r'\{"([\w.]+)", (GW_FHIR_\w+), (GW_FHIR_P_\w+), (\d+), (\d+)\}',
                                  types_part)]
    return elems, types


def load_allow(src):
    x = open(os.path.join(src, "xslt/pharmacy-view.xsl"), encoding="utf-8").read()
    m = re.search(r'<xsl:variable name="allow-table">(.*?)</xsl:variable>', x, re.S)
    return set(m.group(1).split())


def load_extensions(src):
    """[(context type, url, value elem or None, [(sub url, value elem)])]"""
    out = []
    d = os.path.join(src, "fhir-profiles")
    for name in sorted(os.listdir(d)):
        if not name.startswith("StructureDefinition-klas-"):
            continue
        sd = json.load(open(os.path.join(d, name), encoding="utf-8"))
        if sd.get("type") != "Extension":
            continue
        ctx = sd["context"][0]["expression"]
        value, subs, cur = None, [], None
        for e in sd["differential"]["element"]:
            if e["id"] == "Extension.value[x]" and e.get("type"):
                value = "value" + e["type"][0]["code"][:1].upper() + e["type"][0]["code"][1:]
            elif e["id"].startswith("Extension.extension:"):
                if e["id"].endswith(".url"):
                    cur = e["fixedUri"]
                elif e["id"].endswith(".value[x]"):
                    t = e["type"][0]["code"]
                    subs.append((cur, "value" + t[:1].upper() + t[1:]))
        out.append((ctx, sd["url"], value, subs))
    return out


class Planter:
    def __init__(self, src, core):
        self.elems, self.types = load_model(src)
        self.by_name = {t[0]: i for i, t in enumerate(self.types)}
        self.allow = load_allow(src)
        self.exts = load_extensions(src)
        self.core = core
        self.map = {}
        self.refused = set()

    def value(self, path, prim):
        key = "S%d" % len(self.map)
        self.map[key] = path
        v = "%sx%s" % (key, self.core)
        # Free text also carries what every encoding treats differently.
        return v + "<&>\"'å" if prim in ("GW_FHIR_P_STRING", "GW_FHIR_P_MARKDOWN") else v

    def children(self, ti):
        _, _, _, first, n = self.types[ti]
        return self.elems[first:first + n]

    def fillable(self, ti, stack):
        """Whether a new ti can be made with its required children."""
        seen_choice = set()
        for name, t, mn, many, attr, choice in self.children(ti):
            if mn == 0 or choice in seen_choice:
                continue
            if choice:
                seen_choice.add(choice)
                alts = [e for e in self.children(ti) if e[5] == choice]
                if not any(self.types[e[1]][2] in TEXT for e in alts if e[1] < len(self.types)):
                    return False
                continue
            if t >= len(self.types):
                return False
            kind, prim = self.types[t][1], self.types[t][2]
            if kind == "GW_FHIR_PRIMITIVE":
                if prim not in TEXT:
                    return False
            elif t in stack or len(stack) >= MAX_DEPTH or not self.fillable(t, stack + [t]):
                return False
        return True

    def plant(self, obj, ti, path, stack):
        """Plants into obj (a JSON object of type ti) what path allows."""
        seen_choice = set(e[5] for e in self.children(ti)
                          if e[5] and e[0] in obj)
        for name, t, mn, many, attr, choice in self.children(ti):
            p = path + "." + name
            if (name in SKIP or attr or t >= len(self.types) or
                    self.types[t][0] in SKIP_TYPES or p in self.refused):
                continue
            if choice:
                if choice in seen_choice:
                    continue
            kind, prim = self.types[t][1], self.types[t][2]
            if kind == "GW_FHIR_PRIMITIVE":
                if prim not in TEXT or p in self.allow:
                    continue
                if name in obj and not many:
                    continue  # keep what the message says
                if choice:
                    seen_choice.add(choice)
                v = self.value(p, prim)
                if many:
                    obj.setdefault(name, []).append(v)
                else:
                    obj[name] = v
                continue
            if kind == "GW_FHIR_RESOURCE" or t in stack or len(stack) >= MAX_DEPTH:
                continue
            if name in obj and not many:
                self.plant(obj[name], t, p, stack + [t])
                continue
            if not self.fillable(t, stack + [t]):
                continue
            new = {}
            self.plant(new, t, p, stack + [t])
            if not new:
                continue
            if choice:
                seen_choice.add(choice)
            if many:
                obj.setdefault(name, []).append(new)
            else:
                obj[name] = new

    def plant_resource(self, r):
        rt = r["resourceType"]
        if rt not in self.by_name:
            return
        self.plant(r, self.by_name[rt], rt, [self.by_name[rt]])
        for c in r.get("contained", []):
            self.plant_resource(c)
        for ctx, url, value, subs in self.exts:
            if ctx != rt:
                continue
            p = "%s.extension(%s)" % (rt, url)
            if p in self.refused or rt + ".extension" in self.refused:
                continue
            have = [x for x in r.get("extension", []) if x.get("url") == url]
            x = have[0] if have else {"url": url}
            if value and not have and value == "valueString" and p + "." + value not in self.allow:
                x[value] = self.value(p + "." + value, "GW_FHIR_P_STRING")
            for sub, sv in subs:
                sp = "%s.extension(%s)" % (p, sub)
                if sv == "valueString" and sp + "." + sv not in self.allow and sp not in self.refused:
                    x.setdefault("extension", []).append(
                        {"url": sub, sv: self.value(sp + "." + sv, "GW_FHIR_P_STRING")})
            if not have and len(x) > 1:
                r.setdefault("extension", []).append(x)


def generic(d, expr):
    """Bundle.entry[3].resource.link[0].other -> Patient.link.other"""
    m = re.match(r"Bundle\.entry\[(\d+)\]\.resource(.*)", expr or "")
    if not m:
        return None
    r = d["entry"][int(m.group(1))]["resource"]
    rest = m.group(2)
    c = re.match(r"\.contained\[(\d+)\](.*)", rest)
    if c:
        r = r["contained"][int(c.group(1))]
        rest = c.group(2)
    return r["resourceType"] + re.sub(r"\[\d+\]", "", rest)


def main():
    """Plants, lets the validator refuse what it refuses, plants again
    without that, until the message is valid."""
    src, msg, core, out, mapfile, klasgw = sys.argv[1:7]
    refused = set()
    for _ in range(200):
        d = json.load(open(msg, encoding="utf-8"))
        pl = Planter(src, core)
        pl.refused = refused
        for e in d["entry"]:
            pl.plant_resource(e["resource"])
        json.dump(d, open(out, "w", encoding="utf-8"), ensure_ascii=False)
        r = subprocess.run([klasgw, "validate", "--format", "json", out],
                           capture_output=True, text=True)
        oo = json.loads(r.stdout)
        new = set()
        for i in oo.get("issue", []):
            if i["severity"] in ("error", "fatal"):
                for x in i.get("expression", []):
                    g = generic(d, x)
                    if g is not None:
                        new.add(g)
        if not new:
            break
        if new <= refused:
            sys.exit("sentinel_gen: the validator refuses %s whatever is left out"
                     % sorted(new))
        refused |= new
    else:
        sys.exit("sentinel_gen: no valid message after 200 rounds")
    json.dump(pl.map, open(mapfile, "w", encoding="utf-8"))
    print("%d sentinels planted; refused by the validator, so never stored: %s"
          % (len(pl.map), " ".join(sorted(refused)) or "none"))


if __name__ == "__main__":
    main()
