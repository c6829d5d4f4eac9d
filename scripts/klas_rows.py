"""klas_rows.py - the KLAS status and event rows, as the C tables hold them.

The statuses are the X(...) rows of GW_CASE_STATUS_ROWS in
src/klas/state.h (enum id, code, Swedish name, English definition,
Task.status, GW_ST_* flags); the events are the rows of src/klas/events.tsv
(the data file the build turns into gw_klas_events[]). scripts/gen-profiles.py
and scripts/gen-examples.py read them here, so the profiles and the examples
follow the tables: a new status or event is a row, and the generators pick
it up. Each string of a status row is one C string literal (no
concatenation).
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
    code (None for NONE), effects the GW_FX_* names without the prefix.
    The header row names the columns ("name", to(CASE), ...); # lines are
    comments; cells are separated by one tab."""
    code_of = {s["id"]: s["code"] for s in statuses()}
    header = None
    out = []
    for line in _read("events.tsv").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        cells = [c.strip() for c in line.split("\t")]
        if header is None:
            header = [re.sub(r'^"|"$|\(\w+\)$', "", c) for c in cells]
            continue
        row = dict(zip(header, cells + [""] * (len(header) - len(cells))))
        out.append({"name": row["name"], "code": row["code"] or None,
                    "outcome": row["outcome"] or None,
                    "to": code_of.get(row["to"]),
                    "effects": set(row["effects"].split())})
    return out


def ascii_name(code):
    """A status code as a file-name part: lower case, ASCII."""
    fold = {"å": "a", "ä": "a", "ö": "o", "é": "e"}
    return "".join(fold.get(ch, ch) for ch in code.lower())
