#!/usr/bin/env python3
"""R2 peers: LV down for a while, then each failure mode of the LV
simulator; HSA down.

  1. LV answers; one case goes through (the baseline). LV goes down for
     --lv-down seconds while cases are applied for; it comes back: every
     application delivered exactly once, the recovery time (LV back ->
     outbox empty) printed.
  2. For each mode of `klasgw sim lv --fail` (fault: SOAP fault in HTTP
     500, fault200: SOAP fault in HTTP 200, timeout: no answer until the
     gateway's lv.timeout_ms fires, slow: an answer after 1.5 s, drop: LV
     registers, then closes without answering), the first two requests
     fail that way: each application answered with a success exactly once
     and registered once; the time to delivery printed.
  3. HSA down: a motivation whose prescriber is not cached gets 503 and
     nothing is stored (inbox, cases, outbox, audit); sent again with the
     same id when HSA is back it is stored once.
The pharmacy simulator counts the notifications the same way.

  r2_peers.py [--lv-down S] [--max-recovery S]     (full: 60, short: 10)
"""
import argparse
import json
import os
import re
import sys
import time

import rel

MODES = [("fault", []), ("fault200", []), ("timeout", ["--hang-ms", "8000"]),
         ("slow", ["--slow-ms", "1500"]), ("drop", [])]
CASES_PER_MODE = 2


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--lv-down", type=float, default=60)
    ap.add_argument("--max-recovery", type=float, default=None,
                    help="fail when LV's recovery takes longer (seconds)")
    args = ap.parse_args()

    sc = rel.Scenario("R2-peers")
    gw, sims, conf, db = rel.setup(sc, lv_args=None)
    lv = sims["lv"]
    ex = rel.Examples()
    ehr = rel.Client(gw.port, rel.DOC1)
    apo = rel.Client(gw.port, rel.APO1)
    odd = []

    def new_case():
        """A motivation and its application; the application's outbox
        message id."""
        m = ex.get("motivation-enskild-searched")
        st, doc = ehr.message(m)
        ref, _ = rel.task_of(doc)
        if st != 200 or not ref:
            odd.append(("submit", st, rel.outcome_code(doc)))
            return None
        a = ex.get("application-enskild", refnr=ref)
        st, doc = apo.message(a)
        if st != 200:
            odd.append(("apply", st, rel.outcome_code(doc)))
            return None
        return rel.item_id("apotek1:" + rel.message_id(a), "lv")

    def lv_start(*a):
        lv.start("--gateway", "http://127.0.0.1:%d" % gw.port,
                 "--then", "none", *a)

    def exactly_once(mids, what):
        rec = rel.received(lv.log)
        counts = [len(rel.delivered_ok(rec, m)) for m in mids]
        sc.check(all(c == 1 for c in counts),
                 "%s: successes per item %s, wanted 1 each" % (what, counts))
        return rec

    # 1. LV down.
    lv_start()
    base = new_case()
    sc.check(rel.wait_outbox_done(db, 30, ["lv"]) is not None,
             "baseline: not delivered in 30 s")
    lv.stop()
    t_down = time.time()
    down = [new_case() for _ in range(4)]
    while time.time() - t_down < args.lv_down:
        time.sleep(0.5)
        if len(down) < 8 and time.time() - t_down > args.lv_down / 2:
            down.append(new_case())  # later in the outage: a fresh backoff
    pending = rel.db_scalar(db, "SELECT count(*) FROM outbox WHERE peer = "
                                "'lv' AND state != 'done'")
    attempts = rel.db_scalar(db, "SELECT coalesce(max(attempts), 0) FROM "
                                 "outbox WHERE peer = 'lv'")
    lv_start()
    rec_s = rel.wait_outbox_done(db, max(120, 3 * args.lv_down), ["lv"])
    sc.figure("LV down seconds", "%.0f" % (time.time() - t_down -
                                           (rec_s or 0)))
    sc.figure("applications during the outage", len(down))
    sc.figure("pending when LV came back", pending)
    sc.figure("attempts of the oldest (max)", attempts)
    sc.figure("recovery seconds (LV up -> all done)",
              "%.1f" % rec_s if rec_s is not None else "never")
    sc.check(rec_s is not None, "after the outage the outbox did not empty")
    if args.max_recovery is not None and rec_s is not None:
        sc.check(rec_s <= args.max_recovery, "recovery took %.1f s, more "
                 "than --max-recovery %.0f" % (rec_s, args.max_recovery))
    exactly_once([base] + [m for m in down if m], "LV down")

    # 2. Each failure mode: the first two requests fail that way.
    for mode, extra in MODES:
        lv.stop()
        lv_start("--fail", mode, "--fail-count", "2", *extra)
        t0 = time.time()
        mids = [new_case() for _ in range(CASES_PER_MODE)]
        s = rel.wait_outbox_done(db, 90, ["lv"])
        sc.figure("LV %s: seconds to delivery" % mode,
                  "%.1f" % (time.time() - t0) if s is not None else "never")
        sc.check(s is not None, "LV %s: not delivered in 90 s" % mode)
        rec = exactly_once([m for m in mids if m], "LV " + mode)
        played = sum(1 for m in mids if m for _, _, _, a in rec.get(m, [])
                     if a == mode)
        if mode != "slow":
            sc.check(played >= 1, "LV %s: the failure was never played" % mode)
        with open(lv.log, encoding="utf-8") as f:
            text = f.read()
        for m in mids:
            if m:
                regs = len(re.findall(r'message_id="?%s"? duplicate=0' %
                                      re.escape(m), text))
                sc.check(regs == 1, "LV %s: %s registered %d times" %
                         (mode, m, regs))

    dead = rel.db_scalar(db, "SELECT count(*) FROM outbox WHERE state = "
                             "'dead'")
    sc.figure("dead letters", dead)
    sc.check(dead == 0, "dead letters: %d" % dead)

    # The pharmacy's notifications, all through: exactly once each.
    sc.check(rel.wait_outbox_done(db, 30) is not None,
             "notifications not delivered")
    notes = [r[0] for r in rel.db_rows(db, "SELECT message_id FROM outbox "
                                           "WHERE peer = 'pharmacy'")]
    prec = rel.received(sims["pharmacy"].log)
    counts = [len(rel.delivered_ok(prec, m)) for m in notes]
    sc.figure("notifications delivered", "%d of %d" %
              (sum(1 for c in counts if c), len(notes)))
    sc.check(all(c == 1 for c in counts),
             "notifications not exactly once: %s" % counts)

    # 3. HSA down: 503, nothing stored; again when HSA is back: stored once.
    def snapshot():
        return tuple(rel.db_scalar(db, "SELECT count(*) FROM %s" % t)
                     for t in ("inbox", "cases", "outbox", "audit"))

    sims["hsa"].stop()
    before = snapshot()
    # DOC2 (prescription code 7654321 in the HSA fixture) is not cached.
    m = json.loads(json.dumps(ex.get("motivation-enskild-searched"))
                       .replace("SE2321000016-DOC1", "SE2321000016-DOC2")
                       .replace('"1234567"', '"7654321"'))
    doc2 = rel.Client(gw.port, rel.DOC2)
    st, doc = doc2.message(m)
    after = snapshot()
    sc.figure("HSA down: status", "%d %s" % (st, rel.outcome_code(doc)))
    sc.check(st == 503, "HSA down: status %d, wanted 503" % st)
    sc.check(before[:3] == after[:3], "HSA down: stored something: "
             "inbox/cases/outbox %s -> %s" % (before[:3], after[:3]))
    sims["hsa"].start("--fixture", os.path.join(
        rel.SRC, "tests", "fixtures", "hsa", "prescribers.tsv"))
    st, doc = doc2.message(m)
    sc.check(st == 200, "HSA back: the resend got %d" % st)
    n = rel.db_scalar(db, "SELECT count(*) FROM inbox WHERE message_id = ?",
                      ("journal1:" + rel.message_id(m),))
    sc.check(n == 1, "HSA back: stored %d times" % n)

    sc.check(not odd, "answers other than 200: %s" % odd[:5])
    rc = gw.stop()
    sc.check(rc == 0, "serve did not stop cleanly (rc %s)" % rc)
    ic = rel.integrity(db)
    sc.check(ic == "ok", "PRAGMA integrity_check: %s" % ic)
    arc, out = gw.cli("audit", "verify")
    sc.check(arc == 0, "klasgw audit verify: %s" % out.strip()[-300:])
    sc.finish()


if __name__ == "__main__":
    sys.exit(main())
