#!/usr/bin/env python3
"""webhook_rate.py: how fast serve delivers a backlog of pharmacy
notifications (issue #12, R1's drain). Not a scenario of run.sh: a
measurement, printed, nothing asserted.

Submits N motivations (each one notification to the pharmacy simulator),
waits until they are delivered, stops serve, puts every notification back
to pending in the store, starts serve again and times the drain of that
backlog at the simulator (the resends are duplicates there, by design).

  webhook_rate.py [--cases N]      (default 1000)
"""
import argparse
import sys
import threading
import time

import rel


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1000)
    args = ap.parse_args()
    sc = rel.Scenario("webhook-rate")
    gw, sims, conf, db = rel.setup(sc)
    ex = rel.Examples()
    todo = list(range(args.cases))
    lock = threading.Lock()

    def submitter():
        c = rel.Client(gw.port, rel.DOC1)
        while True:
            with lock:
                if not todo:
                    return
                todo.pop()
            st, _ = c.message(ex.get("motivation-enskild-searched"))
            sc.check(st == 200, "submit -> %s" % st)

    ts = [threading.Thread(target=submitter) for _ in range(8)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    sc.check(rel.wait_outbox_done(db, 300) is not None, "first delivery")
    sc.check(gw.stop() == 0, "serve stopped")
    con = rel.db_connect(db)
    n = con.execute("UPDATE outbox SET state = 'pending', next_attempt_ms = 0"
                    " WHERE peer = 'pharmacy'").rowcount
    con.commit()
    con.close()
    t0 = time.time()
    gw.start()
    drain = rel.wait_outbox_done(db, 600)
    # From serve's start: start-up is part of what a restart costs.
    total = time.time() - t0
    sc.figure("backlog (notifications)", n)
    sc.figure("drained in seconds (from start)", "%.1f" % total)
    sc.figure("rate per second", "%.0f" % (n / total))
    sc.check(drain is not None, "the backlog did not drain")
    sc.check(gw.stop() == 0, "serve stopped at the end")
    sc.finish()


if __name__ == "__main__":
    sys.exit(main())
