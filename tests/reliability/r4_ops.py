#!/usr/bin/env python3
"""R4 operations: the operator's commands and a second `serve` on the same
store while the outbox is delivering.

LV and the pharmacy answer slowly (--fail slow --slow-ms 400), so that
items stay in flight. While a first batch of cases is being delivered,
every read-only or harmless CLI command runs on the same configuration
(outbox list/show, audit verify, migrate --status, purge --dry-run,
check-config), over and over; then a second `klasgw serve` is started on
the same store (another port) and a second batch of cases is created.
The second serve must refuse to start (exit non-zero) or, if it runs,
coordinate with the first (leases): either way no item may reach a
simulator twice (no kill here, so every second success is a duplicate).

  r4_ops.py [--cases N]     cases per batch (default 20)
"""
import argparse
import sys
import time

import rel

CLI = [["outbox", "list"], ["outbox", "list", "--state", "inflight"],
       ["outbox", "dead"], ["audit", "verify"], ["migrate", "--status"],
       ["purge", "--dry-run"], ["check-config"]]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=20)
    args = ap.parse_args()

    sc = rel.Scenario("R4-ops")
    gw, sims, conf, db = rel.setup(
        sc, lv_args=("--then", "none", "--fail", "slow", "--slow-ms", "400"),
        pharmacy=False)
    sims["pharmacy"].start("--fail", "slow", "--slow-ms", "400")
    rel.subscribe(rel.Client(gw.port, rel.APO1), sims["pharmacy"].port)
    ex = rel.Examples()
    ehr = rel.Client(gw.port, rel.DOC1)
    apo = rel.Client(gw.port, rel.APO1)
    odd = []

    def batch(n):
        """n cases applied for: their outbox message ids."""
        mids = []
        for _ in range(n):
            m = ex.get("motivation-enskild-searched")
            st, doc = ehr.message(m)
            ref, _ = rel.task_of(doc)
            if st != 200 or not ref:
                odd.append(("submit", st))
                continue
            mids.append(rel.item_id("journal1:" + rel.message_id(m),
                                     "notify"))
            a = ex.get("application-enskild", refnr=ref)
            st, _ = apo.message(a)
            if st != 200:
                odd.append(("apply", st))
                continue
            mids.append(rel.item_id("apotek1:" + rel.message_id(a), "lv"))
        return mids

    def busy():
        return rel.db_scalar(db, "SELECT count(*) FROM outbox WHERE state "
                                 "IN ('pending', 'inflight')")

    # The CLI while delivering.
    first = batch(args.cases)
    runs, failed, inflight_seen = 0, [], 0
    t0 = time.time()
    while busy() and time.time() - t0 < 60:
        inflight_seen = max(inflight_seen, rel.db_scalar(
            db, "SELECT count(*) FROM outbox WHERE state = 'inflight'"))
        for c in CLI:
            rc, out = gw.cli(*c)
            runs += 1
            if rc != 0:
                failed.append((" ".join(c), rc, out.strip()[-200:]))
        ids = rel.db_rows(db, "SELECT id FROM outbox ORDER BY id DESC "
                              "LIMIT 1")
        if ids:
            rc, out = gw.cli("outbox", "show", str(ids[0][0]))
            runs += 1
            if rc != 0:
                failed.append(("outbox show", rc, out.strip()[-200:]))
    sc.figure("CLI commands run while delivering", runs)
    sc.figure("items in flight seen (max)", inflight_seen)
    sc.check(inflight_seen > 0, "never saw an item in flight: the CLI did "
             "not run during delivery")
    sc.check(not failed, "CLI commands failed: %s" % failed[:3])

    # A second serve on the same store, while a second batch is delivered.
    second = batch(args.cases)
    p = sc.spawn([rel.KLASGW, "-c", conf, "serve"], sc.dir + "/serve2.log",
                 {"KLASGW_SERVER_PORT": str(rel.free_port())})
    t1 = time.time()
    while p.poll() is None and time.time() - t1 < 10:
        time.sleep(0.1)
    if p.poll() is None:
        sc.figure("second serve", "runs beside the first (must coordinate)")
    else:
        sc.figure("second serve", "refused to start: exit %d after %.1f s" %
                  (p.returncode, time.time() - t1))
        sc.check(p.returncode > 0,
                 "the second serve must refuse with an exit status, got %d "
                 "(negative: killed by that signal)" % p.returncode)
    drained = rel.wait_outbox_done(db, 90)
    sc.check(drained is not None, "the outbox did not empty in 90 s: %s" %
             rel.outbox_states(db))
    if p.poll() is None:
        p.terminate()
        p.wait()
    rc = gw.stop()
    sc.check(rc == 0, "serve did not stop cleanly (rc %s)" % rc)

    items = [r[0] for r in rel.db_rows(db, "SELECT message_id FROM outbox")]
    rec = rel.received(sims["lv"].log, sims["pharmacy"].log)
    counts = dict((m, len(rel.delivered_ok(rec, m))) for m in items)
    dups = [m for m, c in counts.items() if c > 1]
    first = rel.resolve_items(dict.fromkeys(first, ""), items)
    second = rel.resolve_items(dict.fromkeys(second, ""), items)
    never = [m for m, c in counts.items() if c == 0]
    sc.figure("outbox items", len(items))
    sc.figure("outbox states", rel.outbox_states(db))
    sc.figure("delivered exactly once", sum(1 for c in counts.values()
                                            if c == 1))
    sc.figure("delivered more than once", len(dups))
    sc.figure("  of the batch under the CLI", len(set(dups) & set(first)))
    sc.figure("  of the batch under two serves", len(set(dups) & set(second)))
    sc.figure("never delivered", len(never))
    sc.check(not dups, "delivered more than once: %d, e.g. %s" %
             (len(dups), dups[:3]))
    sc.check(not never, "never delivered: %s" % never[:3])
    sc.check(not odd, "answers other than 200: %s" % odd[:5])
    ic = rel.integrity(db)
    sc.check(ic == "ok", "PRAGMA integrity_check: %s" % ic)
    arc, out = gw.cli("audit", "verify")
    sc.check(arc == 0, "klasgw audit verify: %s" % out.strip()[-300:])
    sc.finish()


if __name__ == "__main__":
    sys.exit(main())
