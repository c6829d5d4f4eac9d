#!/usr/bin/env python3
"""check-floors.py - the include graph of src/ keeps its floors.

src/ is built in floors: a folder may include its own headers and those of
any LOWER floor, never a higher one and never a sibling on the same floor.
That also rules out a cycle between folders. Within the whole tree no
header may, through its includes, come back to itself (file-level cycle).
Each library sits behind its folders (STYLE.md): libxml2/libxslt only in
fhir/, validate/, map/; sqlite3 only in store/; libmicrohttpd only in http/;
curl only in outbound/http_client.c.

KNOWN lists what is still wrong while the code moves to the rule. It must
match exactly: a new violation fails, and so does a fixed one still listed
(remove it here), so the list only shrinks.

Usage: check-floors.py [SRC_DIR]   (exit 0 clean, 1 violations)
"""
import os
import re
import sys

# Lowest first. Folders on one row share a floor and may not include each
# other. main.c (src/ itself) sits above everything.
FLOORS = [
    ["core"],
    ["config"],
    ["klas"],
    ["fhir"],
    ["validate", "map"],
    ["audit"],
    ["store"],
    ["sched"],
    ["outbound"],
    ["pipeline"],
    ["soap"],
    ["http"],
    ["sim"],
    ["cli"],
    [""],  # src/main.c
]

# System headers (by prefix) and the folders (or files) allowed them.
LIBS = [
    (("libxml/", "libxslt/", "libexslt/"), ["fhir/", "validate/", "map/"]),
    (("sqlite3.h",), ["store/"]),
    (("microhttpd.h",), ["http/"]),
    (("curl/",), ["outbound/http_client.c"]),
]

# Violations still to be removed: "from -> to" as the checker prints them.
KNOWN = set("""
""".strip().splitlines()) - {""}

INCLUDE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')


def floor_of(folder):
    for i, row in enumerate(FLOORS):
        if folder in row:
            return i
    return None


def scan(src):
    files = {}
    for root, _, names in os.walk(src):
        for n in names:
            if n.endswith((".c", ".h")):
                p = os.path.join(root, n)
                rel = os.path.relpath(p, src).replace(os.sep, "/")
                incs = []
                with open(p, encoding="utf-8", errors="replace") as f:
                    for line in f:
                        m = INCLUDE.match(line)
                        if m:
                            incs.append((m.group(1), m.group(2)))
                files[rel] = incs
    return files


def folder(rel):
    return rel.split("/")[0] if "/" in rel else ""


def check(src):
    files = scan(src)
    found = []
    for rel in sorted(files):
        fl = floor_of(folder(rel))
        if fl is None:
            found.append("%s -> (folder %s/ has no floor in FLOORS)"
                         % (rel, folder(rel)))
            continue
        for kind, inc in files[rel]:
            if kind == "<":
                for prefixes, allowed in LIBS:
                    if inc.startswith(prefixes) and not any(
                            rel == a or rel.startswith(a) for a in allowed):
                        found.append("%s -> <%s>" % (rel, inc))
                continue
            if inc not in files:
                continue  # generated (gSOAP) or outside src/
            to = folder(inc)
            if to == folder(rel):
                continue
            tf = floor_of(to)
            if tf is None or tf >= fl:
                found.append("%s -> %s" % (rel, inc))
    # File-level cycles through quoted includes (Tarjan-free DFS).
    graph = {r: [i for k, i in incs if k == '"' and i in files]
             for r, incs in files.items()}
    state = {}
    stack = []

    def dfs(n):
        state[n] = 1
        stack.append(n)
        for m in graph[n]:
            if state.get(m) == 1:
                cyc = stack[stack.index(m):] + [m]
                found.append("cycle: " + " -> ".join(cyc))
            elif m not in state:
                dfs(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            dfs(n)
    return found


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(here, "..",
                                                             "src")
    found = set(check(src))
    new = sorted(found - KNOWN)
    fixed = sorted(KNOWN - found)
    for v in new:
        print("floor violation: " + v)
    for v in fixed:
        print("fixed, remove from KNOWN in %s: %s" % (__file__, v))
    if new or fixed:
        return 1
    print("floors ok: %d folders on %d floors, %d known violations left"
          % (sum(len(r) for r in FLOORS) - 1, len(FLOORS) - 1, len(KNOWN)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
