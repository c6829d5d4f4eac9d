#!/usr/bin/env python3
"""fj.py - small FHIR helpers for the end-to-end scripts (tests/e2e/lib.sh).

  fj.py msg EXAMPLE [--refnr R] [--id ID] [--patient PNR] [--gln GLN]
                    [--set EXPR]...
      print the example message (JSON or XML, by its suffix) with the
      example referensnummer 2026658327 (and, if given, the example
      personnummer 201006301111 and pharmacy GLN 7350000000016) replaced,
      and a Bundle.identifier (urn:uuid ID; a fresh one unless given), so
      every call is a distinct message. --set runs a Python statement on
      the parsed JSON (d) before printing (JSON examples only).
  fj.py check FILE EXPR [MESSAGE]
      FILE is a FHIR JSON or XML answer; EXPR a Python expression over d
      (JSON: the parsed object; XML: an ElementTree root) with helpers
      (see below). Exit 1 with MESSAGE and the body when it is false.
  fj.py get FILE EXPR
      print the value of EXPR (str(), lists one per line).
  fj.py free-port [N]
      print N (default 1) different TCP ports on 127.0.0.1 nobody listens
      on (the kernel's pick), separated by spaces.
  fj.py serve OUT ERR
      run the commands above one after another for lib.sh, without an
      interpreter start per assertion: each request on stdin is a count
      and that many arguments, every field ended by NUL; the command's
      output goes to the file OUT, its errors to ERR, and its exit status
      is written to stdout as one line.

Helpers in EXPR: rt (resourceType or the XML root's local name),
entries (list of resources of a Bundle, JSON), issues (OperationOutcome
issues, JSON), xv(path) (XML: the value attribute at an ElementTree path,
prefix f: for FHIR), xall(path), text (the whole body as str).
"""
import json
import sys
import uuid
import xml.etree.ElementTree as ET

NS = {"f": "http://hl7.org/fhir"}
EX_REFNR = "2026658327"
EX_PNR = "201006301111"
EX_GLN = "7350000000016"


def load(path):
    with open(path, "rb") as fh:
        raw = fh.read()
    text = raw.decode("utf-8")
    s = text.lstrip()
    if s.startswith("<"):
        return "xml", ET.fromstring(raw), text
    if s == "":
        return "empty", None, text
    return "json", json.loads(text), text


def env(kind, d, text):
    e = {"d": d, "text": text, "json": json, "len": len, "any": any,
         "all": all, "sorted": sorted, "set": set}
    if kind == "json":
        e["rt"] = d.get("resourceType") if isinstance(d, dict) else None
        e["entries"] = [x.get("resource", {}) for x in d.get("entry", [])] \
            if isinstance(d, dict) else []
        e["issues"] = d.get("issue", []) if isinstance(d, dict) else []
    elif kind == "xml":
        e["rt"] = d.tag.split("}")[-1]

        def xv(path):
            n = d.find(path, NS)
            return None if n is None else n.get("value")

        def xall(path):
            return [n.get("value") for n in d.findall(path, NS)]
        e["xv"] = xv
        e["xall"] = xall
        e["entries"] = [list(r)[0].tag.split("}")[-1]
                        for r in d.findall("f:entry/f:resource", NS)]
        e["issues"] = d.findall("f:issue", NS)
    else:
        e["rt"] = None
    return e


def cmd_msg(argv):
    path = argv[0]
    refnr, mid, pnr, gln, sets = None, None, None, None, []
    i = 1
    while i < len(argv):
        k, v = argv[i], argv[i + 1]
        i += 2
        if k == "--refnr":
            refnr = v
        elif k == "--id":
            mid = v
        elif k == "--patient":
            pnr = v
        elif k == "--gln":
            gln = v
        elif k == "--set":
            sets.append(v)
        else:
            sys.exit("fj.py msg: unknown option " + k)
    mid = mid or str(uuid.uuid4())
    with open(path, encoding="utf-8") as fh:
        text = fh.read()
    if refnr:
        text = text.replace(EX_REFNR, refnr)
    if pnr:
        text = text.replace(EX_PNR, pnr)
    if gln:
        text = text.replace(EX_GLN, gln)
    if path.endswith(".xml"):
        if sets:
            sys.exit("fj.py msg: --set works on JSON examples only")
        ident = ('<identifier><system value="urn:ietf:rfc:3986"/>'
                 '<value value="urn:uuid:%s"/></identifier>' % mid)
        at = text.index("<type ")  # Bundle.type: the first <type> in order
        text = text[:at] + ident + text[at:]
        sys.stdout.write(text)
        return
    d = json.loads(text)
    out = {}
    for k, v in d.items():  # keep the R4 element order
        if k == "type":
            out["identifier"] = {"system": "urn:ietf:rfc:3986",
                                 "value": "urn:uuid:" + mid}
        out[k] = v
    d = out
    for s in sets:
        exec(s, {"d": d, "json": json})
    json.dump(d, sys.stdout, ensure_ascii=False)


def cmd_check(argv):
    path, expr = argv[0], argv[1]
    msg = argv[2] if len(argv) > 2 else expr
    try:
        kind, d, text = load(path)
        ok = eval(expr, env(kind, d, text))
    except Exception as ex:  # a wrong shape is a failed check too
        ok = False
        msg += " (%s: %s)" % (type(ex).__name__, ex)
        text = open(path, encoding="utf-8", errors="replace").read()
    if not ok:
        sys.stderr.write("FAIL: %s\n--- body (%s) ---\n%s\n" %
                         (msg, path, text[:3000]))
        sys.exit(1)


def cmd_get(argv):
    kind, d, text = load(argv[0])
    v = eval(argv[1], env(kind, d, text))
    if isinstance(v, (list, tuple)):
        for x in v:
            print(x)
    elif v is not None:
        print(v)


def cmd_free_port(argv):
    """N TCP ports on 127.0.0.1 nobody listens on, chosen by the kernel:
    all bound at once, so that no two are the same (one at a time, the
    kernel may hand out the port it just took back)."""
    import socket
    socks = [socket.socket() for _ in range(int(argv[0]) if argv else 1)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        print(" ".join(str(s.getsockname()[1]) for s in socks))
    finally:
        for s in socks:
            s.close()


COMMANDS = {"msg": cmd_msg, "check": cmd_check, "get": cmd_get,
            "free-port": cmd_free_port}


def fields(stream):
    """NUL-ended fields from a binary stream, as str."""
    buf = b""
    while True:
        at = buf.find(b"\0")
        if at >= 0:
            field, buf = buf[:at], buf[at + 1:]
            yield field.decode("utf-8", errors="surrogateescape")
            continue
        more = stream.read1(65536)
        if not more:
            return
        buf += more


def cmd_serve(argv):
    out_path, err_path = argv[0], argv[1]
    answer = sys.stdout
    it = fields(sys.stdin.buffer)
    for count in it:
        args = [next(it) for _ in range(int(count))]
        rc = 0
        with open(out_path, "w", encoding="utf-8") as out, \
                open(err_path, "w", encoding="utf-8") as err:
            sys.stdout, sys.stderr = out, err
            try:
                COMMANDS[args[0]](args[1:])
            except SystemExit as ex:
                if isinstance(ex.code, str):
                    err.write(ex.code + "\n")
                    rc = 1
                else:
                    rc = ex.code or 0
            except Exception as ex:  # a broken expression fails the call
                err.write("fj.py %s: %s: %s\n" % (args[0], type(ex).__name__, ex))
                rc = 1
            finally:
                sys.stdout, sys.stderr = answer, sys.__stderr__
        answer.write("%d\n" % rc)
        answer.flush()


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    cmd, argv = sys.argv[1], sys.argv[2:]
    if cmd == "serve":
        cmd_serve(argv)
    else:
        COMMANDS[cmd](argv)


if __name__ == "__main__":
    main()
