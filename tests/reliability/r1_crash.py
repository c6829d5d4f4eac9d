#!/usr/bin/env python3
"""R1 crash: SIGKILL `klasgw serve` again and again under 8 concurrent HTTP
submitters.

Each submitter sends motivations (motivation-enskild-searched, a fresh
Bundle.identifier each) as DOC1 and, for every second case, the pharmacy's
application; a request that is not answered (connection refused or cut by
the kill) is sent again with the same identifier until it is. The pharmacy
simulator gets the motivation's notification, the LV simulator the
application. After the last kill the gateway runs until the outbox is
empty, then stops.

Invariants: every acknowledged id stored exactly once (inbox), one case per
acknowledged motivation and no other; its outbox item(s) present, done,
and received by the simulator with a success, a second success only when
a kill fell between the two (LV drops such a resend by its message id:
each application registered there exactly once); PRAGMA integrity_check
ok; klasgw audit verify ok.

  r1_crash.py [--kills N]     (full: 100, short: 10)
"""
import argparse
import random
import re
import sys
import threading
import time

import rel

SUBMITTERS = 8


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=100)
    args = ap.parse_args()

    sc = rel.Scenario("R1-crash")
    gw, sims, conf, db = rel.setup(sc)
    ex = rel.Examples()
    lock = threading.Lock()
    acked = {}        # motivation Bundle.identifier -> refnr
    applied = {}      # application Bundle.identifier -> refnr
    odd = []          # answers other than 200
    stats = {}
    stop = threading.Event()
    deadline = time.time() + 60 + args.kills * 20

    def client(who):
        return lambda: rel.Client(gw.port, who)

    def submitter(n):
        i = 0
        while not stop.is_set():
            m = ex.get("motivation-enskild-searched")
            st, doc, _ = rel.resend_until_answered(client(rel.DOC1), m,
                                                   deadline, stats=stats)
            ref, _ = rel.task_of(doc) if st == 200 else (None, None)
            with lock:
                if st == 200 and ref:
                    acked[rel.message_id(m)] = ref
                else:
                    odd.append(("submit", st, rel.outcome_code(doc)))
            if st != 200 or not ref or i % 2:
                i += 1
                continue
            i += 1
            a = ex.get("application-enskild", refnr=ref)
            st, doc, _ = rel.resend_until_answered(client(rel.APO1), a,
                                                   deadline, stats=stats)
            with lock:
                if st == 200:
                    applied[rel.message_id(a)] = ref
                else:
                    odd.append(("apply", st, rel.outcome_code(doc)))

    threads = [threading.Thread(target=submitter, args=(n,), daemon=True)
               for n in range(SUBMITTERS)]
    for t in threads:
        t.start()
    kills = []
    restart_s = []
    rng = random.Random(12)
    for _ in range(args.kills):
        time.sleep(rng.uniform(0.2, 1.2))
        gw.kill()
        kills.append(time.time())
        t0 = time.time()
        gw.start()
        restart_s.append(time.time() - t0)
    stop.set()
    for t in threads:
        t.join()
    # What the last serve found to deliver, and how fast it went out.
    backlog = rel.db_scalar(db, "SELECT count(*) FROM outbox WHERE state "
                                "IN ('pending', 'inflight')")
    drain = rel.wait_outbox_done(db, 120)
    rc = gw.stop()

    sc.figure("kills", len(kills))
    sc.figure("restart seconds (max)", "%.2f" % max(restart_s or [0]))
    sc.figure("motivations acknowledged", len(acked))
    sc.figure("applications acknowledged", len(applied))
    sc.figure("unanswered sends (retried)", stats.get("unanswered", 0))
    sc.figure("5xx answers (retried)",
              sum(v for k, v in stats.items() if k.startswith("status_")))
    sc.check(not odd, "answers other than 200: %s" % odd[:5])
    sc.check(rc == 0, "serve did not stop cleanly at the end (rc %s)" % rc)
    sc.check(drain is not None, "the outbox did not empty within 120 s: %s"
             % rel.outbox_states(db))
    sc.figure("outbox drained in seconds",
              "%.1f" % drain if drain is not None else "never")
    sc.figure("backlog after the last kill (rate)", "%d (%s/s)" % (
        backlog, "%.0f" % (backlog / drain) if drain else "-"))

    # The store: every acknowledged id exactly once, nothing else.
    inbox = dict(rel.db_rows(db, "SELECT message_id, refnr FROM inbox"))
    by_uuid = {}
    for key, ref in inbox.items():
        by_uuid.setdefault(key.split(":", 1)[1], []).append((key, ref))
    missing = [m for m in list(acked) + list(applied) if m not in by_uuid]
    twice = [m for m, v in by_uuid.items() if len(v) > 1]
    wrong = [m for m, r in acked.items()
             if m in by_uuid and by_uuid[m][0][1] != r]
    cases = rel.db_scalar(db, "SELECT count(*) FROM cases")
    sc.figure("inbox rows", len(inbox))
    sc.figure("cases stored", cases)
    sc.check(not missing, "acknowledged but not stored: %d, e.g. %s" %
             (len(missing), missing[:3]))
    sc.check(not twice, "stored more than once: %s" % twice[:3])
    sc.check(not wrong, "stored under another refnr than acknowledged: %s"
             % wrong[:3])
    sc.check(cases == len(acked), "cases %d != acknowledged motivations %d"
             % (cases, len(acked)))
    sc.check(len(inbox) == len(acked) + len(applied),
             "inbox %d != acknowledged %d" % (len(inbox),
                                              len(acked) + len(applied)))

    # The outbox: one item per acknowledged event, each done.
    expected = {}
    for m in acked:
        for key, _ in by_uuid.get(m, []):
            expected[rel.item_id(key, "notify")] = "pharmacy"
    for m in applied:
        for key, _ in by_uuid.get(m, []):
            expected[rel.item_id(key, "lv")] = "lv"
    items = dict((r[0], (r[1], r[2])) for r in rel.db_rows(
        db, "SELECT message_id, peer, state FROM outbox"))
    expected = rel.resolve_items(expected, items)
    sc.figure("outbox items", len(items))
    sc.figure("outbox states", rel.outbox_states(db))
    sc.check(set(items) == set(expected),
             "outbox items: %d missing, %d unexpected" %
             (len(set(expected) - set(items)),
              len(set(items) - set(expected))))
    sc.check(all(s == "done" for _, s in items.values()),
             "outbox items not done: %s" % rel.outbox_states(db))

    # The simulators: each item answered with a success, at least once;
    # twice only across a kill.
    rec = rel.received(sims["lv"].log, sims["pharmacy"].log)
    never = [m for m in expected if not rel.delivered_ok(rec, m)]
    extra = [m for m in rec if m not in expected]
    resent = sum(max(0, len(rel.delivered_ok(rec, m)) - 1) for m in expected)
    bad = rel.unexplained_duplicates(rec, expected, kills)
    sc.figure("delivered (ids answered ok)", len(expected) - len(never))
    sc.figure("  to LV / to the pharmacy",
              "%d / %d" % (sum(1 for m, p in expected.items() if p == "lv"
                               and m not in never),
                           sum(1 for m, p in expected.items()
                               if p == "pharmacy" and m not in never)))
    sc.figure("resent after a success (a kill between)", resent)
    sc.figure("duplicates without a kill between", len(bad))
    # LV drops a resend by its message id: registered exactly once each.
    regs = {}
    with open(sims["lv"].log, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.search(r'event=sim_lv_application .*message_id="?([^" ]+)'
                          r'"? duplicate=0', line)
            if m:
                regs[m.group(1)] = regs.get(m.group(1), 0) + 1
    lv_items = [m for m, p in expected.items() if p == "lv"]
    sc.figure("registered at LV exactly once", "%d of %d" % (
        sum(1 for m in lv_items if regs.get(m) == 1), len(lv_items)))
    sc.check(all(regs.get(m) == 1 for m in lv_items),
             "LV registrations per application not all 1: %s" %
             [(m, regs.get(m)) for m in lv_items if regs.get(m) != 1][:3])
    sc.check(not never, "never delivered: %d, e.g. %s" % (len(never),
                                                          never[:3]))
    sc.check(not extra, "the simulators got ids no item has: %s" % extra[:3])
    sc.check(not bad, "delivered twice without a kill between: %s" % bad[:3])

    ic = rel.integrity(db)
    sc.figure("integrity_check", ic)
    sc.check(ic == "ok", "PRAGMA integrity_check: %s" % ic)
    arc, out = gw.cli("audit", "verify")
    sc.figure("audit verify", "exit %d" % arc)
    sc.check(arc == 0, "klasgw audit verify: %s" % out.strip()[-300:])
    sc.finish()


if __name__ == "__main__":
    sys.exit(main())
