"""klas_rows.py - the KLAS status and event rows, as the C tables hold them.

The statuses are the X(...) rows of GW_CASE_STATUS_ROWS in
src/klas/state.h (enum id, code, Swedish name, English definition,
Task.status, GW_ST_* flags); the events are the rows of gw_klas_events[]
in src/klas/event.c. scripts/gen-profiles.py and scripts/gen-examples.py
read them here, so the profiles and the examples follow the tables: a new
status or event is a row in C, and the generators pick it up. Each string
of a row is one C string literal (no concatenation).
"""
import os
import re

TOP = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
KLAS = os.path.join(TOP, "src", "klas")


def _read(name):
    with open(os.path.join(KLAS, name), encoding="utf-8") as fh:
        return fh.read()


def statuses():
    """[{id, code, sv, en, task, flags}] in table order."""
    src = _read("state.h")
    start = src.index("#define GW_CASE_STATUS_ROWS(X)")
    body = []
    for line in src[start:].splitlines()[1:]:
        body.append(line.rstrip("\\").strip())
        if not line.rstrip().endswith("\\"):
            break
    rows = re.findall(r'X\((\w+),\s*"([^"]*)",\s*"([^"]*)",\s*"([^"]*)",\s*'
                      r'"([^"]*)",\s*([^)]*)\)', " ".join(body))
    if not rows:
        raise SystemExit("state.h: no GW_CASE_STATUS_ROWS rows")
    return [{"id": i, "code": c, "sv": sv, "en": en, "task": t,
             "flags": set(re.findall(r"GW_ST_(\w+)", f))}
            for i, c, sv, en, t, f in rows]


def events():
    """[{name, code, outcome, to, effects}] in table order; to is the status
    code (None for GW_CASE_NONE), effects the GW_FX_* names."""
    src = _read("event.c")
    table = src[src.index("gw_klas_events[] = {"):]
    table = table[:table.index("\n};")]
    code_of = {s["id"]: s["code"] for s in statuses()}
    out = []
    for row in re.findall(r"\{\s*\.name.*?\}", table, re.S):
        def field(name):
            m = re.search(r'\.%s = "([^"]+)"' % name, row)
            return m.group(1) if m else None
        to = re.search(r"\.to = GW_CASE_(\w+)", row)
        fx = re.search(r"\.effects = ([^,}]*)", row)
        out.append({"name": field("name"), "code": field("code"),
                    "outcome": field("outcome"),
                    "to": code_of.get(to.group(1)) if to else None,
                    "effects": set(re.findall(r"GW_FX_(\w+)",
                                              fx.group(1) if fx else ""))})
    return out


def ascii_name(code):
    """A status code as a file-name part: lower case, ASCII."""
    fold = {"å": "a", "ä": "a", "ö": "o", "é": "e"}
    return "".join(fold.get(ch, ch) for ch in code.lower())
