#!/usr/bin/env python3
"""R3 disk full: the store on a small tmpfs, filled up while motivations
keep coming.

  1. The gateway answers and /healthz/ready says 200; a few motivations are
     acknowledged.
  2. A filler file takes every free byte of the tmpfs; motivations keep
     coming (up to --tries). Every 2xx must be for something stored: each
     acknowledged id is checked in the store at the end. While full,
     /healthz/ready must not say 200.
  3. The filler goes; without a restart, every refused motivation is sent
     again with the same id and must be answered 200, and /healthz/ready
     says 200 again. The recovery time is printed.
  4. serve stops; every acknowledged id is in the store exactly once,
     integrity_check and audit verify are ok.

Needs root (mount -t tmpfs); without it the scenario says SKIP and exits
0.

  r3_disk.py [--size-mb N] [--tries N]
"""
import argparse
import collections
import os
import subprocess
import sys
import time

import rel


def ready(port):
    try:
        return rel.Client(port, {}).get("/healthz/ready", timeout=5)[0]
    except rel.NOT_ANSWERED:
        return None


def fill(path):
    """Writes until the file system says no space; bytes written."""
    n = 0
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as f:
        while True:
            try:
                n += f.write(chunk)
            except OSError:
                break
        while True:  # the last partial block
            try:
                if f.write(b"\0" * 512) == 0:
                    break
                n += 512
            except OSError:
                break
    return n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--size-mb", type=int, default=16)
    ap.add_argument("--tries", type=int, default=60)
    args = ap.parse_args()

    sc = rel.Scenario("R3-disk")
    mnt = os.path.join(sc.dir, "tmpfs")
    os.makedirs(mnt)
    r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=%dm" %
                        args.size_mb, "tmpfs", mnt], capture_output=True,
                       text=True)
    if r.returncode != 0:
        print("SKIP R3-disk: cannot mount a tmpfs (needs root): %s" %
              r.stderr.strip())
        os.rmdir(mnt)
        subprocess.call(["rm", "-rf", sc.dir])
        return 0
    sc.cleanups.append(lambda: subprocess.call(["umount", "-l", mnt]))
    db = os.path.join(mnt, "klasgw.db")
    gw, sims, conf, db = rel.setup(sc, db=db)
    pid = gw.pid()
    ex = rel.Examples()
    ehr = rel.Client(gw.port, rel.DOC1)
    acked = {}
    statuses = collections.Counter()

    def send(m):
        try:
            st, doc = ehr.message(m, timeout=30)
        except rel.NOT_ANSWERED:
            statuses["unanswered"] += 1
            return None
        statuses[st] += 1
        if 200 <= st < 300:
            acked[rel.message_id(m)] = rel.task_of(doc)[0]
        return st

    # 1. Before.
    r0 = ready(gw.port)
    sc.figure("/healthz/ready before", r0)
    sc.check(r0 == 200, "/healthz/ready is %s before the disk is full "
             "(no readiness endpoint?)" % r0)
    for _ in range(5):
        sc.check(send(ex.get("motivation-enskild-attachments")) == 200,
                 "a motivation before the disk is full was refused")

    # 2. Full.
    statuses.clear()
    filler = os.path.join(mnt, "filler")
    sc.figure("filler bytes", fill(filler))
    refused = []
    for _ in range(args.tries):
        m = ex.get("motivation-enskild-attachments")
        st = send(m)
        if st is None or not 200 <= st < 300:
            refused.append(m)
            if len(refused) >= 5:
                break
    full = dict(statuses)
    full_ready = ready(gw.port)
    full_live = rel.Client(gw.port, {}).get("/healthz")[0] \
        if gw.proc.poll() is None else None
    sc.figure("answers while full", full)
    sc.figure("refused while full", len(refused))
    sc.figure("/healthz/ready while full", full_ready)
    sc.figure("/healthz while full", full_live)
    sc.check(refused, "the disk never looked full after %d motivations"
             % args.tries)
    sc.check(all(k == 507 or (isinstance(k, int) and k < 300)
                 for k in full),
             "refusals while full are not 507 Insufficient Storage: %s"
             % full)
    sc.check(full_ready is not None and full_ready != 200,
             "/healthz/ready says %s while the disk is full" % full_ready)
    sc.check(gw.proc.poll() is None, "serve died when the disk was full "
             "(exit %s)" % gw.proc.returncode)

    # 3. Space again, no restart.
    os.unlink(filler)
    t0 = time.time()
    back = None
    for m in refused:
        while time.time() - t0 < 60:
            st = send(m)
            if st == 200:
                back = back or time.time() - t0
                break
            time.sleep(0.5)
    after_ready = None
    while time.time() - t0 < 20:
        after_ready = ready(gw.port)
        if after_ready == 200:
            break
        time.sleep(0.5)
    sc.figure("recovery seconds (first 200)",
              "%.1f" % back if back is not None else "never")
    sc.figure("/healthz/ready after", after_ready)
    sc.check(all(rel.message_id(m) in acked for m in refused),
             "refused motivations not accepted after the disk had room: "
             "%d of %d" % (sum(1 for m in refused
                               if rel.message_id(m) not in acked),
                           len(refused)))
    sc.check(after_ready == 200, "/healthz/ready is %s after the disk had "
             "room" % after_ready)
    sc.check(gw.pid() == pid, "serve was restarted")

    # 4. Nothing acknowledged lost.
    rc = gw.stop()
    sc.check(rc == 0, "serve did not stop cleanly (rc %s)" % rc)
    stored = dict(rel.db_rows(db, "SELECT message_id, refnr FROM inbox"))
    lost = [m for m, ref in acked.items()
            if stored.get("journal1:" + m) != ref]
    sc.figure("acknowledged", len(acked))
    sc.figure("acknowledged but not stored", len(lost))
    sc.check(not lost, "acknowledged but not stored: %s" % lost[:3])
    cases = rel.db_scalar(db, "SELECT count(*) FROM cases")
    sc.check(cases == len(acked), "cases %d != acknowledged %d" %
             (cases, len(acked)))
    ic = rel.integrity(db)
    sc.figure("integrity_check", ic)
    sc.check(ic == "ok", "PRAGMA integrity_check: %s" % ic)
    arc, out = gw.cli("audit", "verify")
    sc.check(arc == 0, "klasgw audit verify: %s" % out.strip()[-300:])
    sc.finish()


if __name__ == "__main__":
    sys.exit(main())
