#!/usr/bin/env python3
"""R6 two nodes: two `klasgw serve` on one PostgreSQL behind a real haproxy,
one node SIGKILLed again and again under 8 concurrent submitters.

A throw-away PostgreSQL (tests/tools/pg_fixture.sh), the HSA and LV
simulators, two serve nodes on the same DSN (own ports, same [clients],
same audit key), and haproxy in TCP mode in front of them with `option
httpchk GET /healthz/ready` every 200 ms (a dead node leaves the rotation
within a check or two; `option redispatch` sends a refused connection to
the other node). 8 submitters go through haproxy only: motivations as
DOC1, for every second case the pharmacy's application (delivered to LV);
an unanswered request or a 5xx is sent again with the same
Bundle.identifier. The nodes are SIGKILLed in turn (n1, n2, n1, ...) and
restarted; with --pg-restart, PostgreSQL is restarted once mid-run
(`pg_fixture.sh restart`: pg_ctl stop -m fast + start). After the last
kill both nodes run until the outbox is empty (a killed node's leases
expire after outbox.lease_s; no node reclaims another's), then stop.

First, before the load, the twins: --twins times a motivation, then its
application sent to n1 and n2 directly at the same moment (what a client
or proxy retrying on the other node does while the first one is slow, not
dead); both must answer the stored receipt (200, the same case), as the
README promises for a message sent to two nodes at once.

Invariants (the store read with psql): every acknowledged id stored
exactly once (inbox), under the refnr acknowledged, one case per
acknowledged motivation and no other; one LV outbox item per application,
all done after the drain (none pending/inflight/dead); at the LV simulator
every application answered with a success and registered exactly once
(`duplicate=0` once; a resend of an item whose node died before marking
it done is dropped by LV by its message id), a second success only when a
kill or the PostgreSQL restart came close to the first; klasgw audit
verify ok on the PostgreSQL store.

  r6_nodes.py [--kills N] [--twins N] [--pg-restart]
      (full: 30 kills, short: 5; both 20 twins and --pg-restart)
"""
import argparse
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time

import rel

SUBMITTERS = 8
LEASE_S = 6          # outbox.lease_s (at least twice lv.timeout_ms)
FIXTURE = os.path.join(rel.SRC, "tests", "tools", "pg_fixture.sh")


def start_pg(sc):
    """The fixture's PostgreSQL in a folder of its own (the server runs as
    nobody, who cannot enter the scenario's folder); stopped and removed
    after the processes, its log copied into the scenario's folder."""
    d = tempfile.mkdtemp(prefix="klasgw-rel-pg-")
    os.rmdir(d)
    p = subprocess.run(["bash", FIXTURE, "start", d], capture_output=True,
                       text=True, timeout=120)
    if p.returncode == 77:
        print("SKIP R6-nodes: no PostgreSQL server binaries", flush=True)
        sys.exit(0)
    if p.returncode != 0:
        subprocess.call(["bash", FIXTURE, "stop", d])
        raise SystemExit("FAIL: pg_fixture start: %s" % p.stderr[-500:])
    env = dict(re.findall(r"^export (\w+)='([^']*)'$", p.stdout, re.M))

    def stop():
        try:
            shutil.copy(os.path.join(d, "server.log"),
                        os.path.join(sc.dir, "postgresql.log"))
        except OSError:
            pass
        subprocess.call(["bash", FIXTURE, "stop", d])
    sc.cleanups.append(stop)
    return d, env["KLASGW_TEST_PG_DSN"]


def psql(dsn, sql):
    p = subprocess.run(["psql", dsn, "-XAtF", "\t", "-c", sql],
                       capture_output=True, text=True, timeout=60)
    if p.returncode != 0:
        raise SystemExit("FAIL: psql %s: %s" % (sql, p.stderr.strip()))
    return [line.split("\t") for line in p.stdout.splitlines()]


def outbox_states(dsn):
    return dict((s, int(n)) for s, n in psql(
        dsn, "SELECT state, count(*) FROM outbox GROUP BY state"))


def pg_conf(path, dsn, port, hsa_port, lv_port, key):
    rel.write_conf(path, "unused", port, hsa_port, lv_port,
                   "\n[audit]\nkey_file = %s\n" % key)
    with open(path) as f:
        text = f.read()
    text = text.replace("[store]\npath = unused\n",
                        "[store]\nbackend = postgresql\ndsn = %s\n" % dsn)
    text = text.replace("[outbox]\n", "[outbox]\nlease_s = %d\n" % LEASE_S)
    with open(path, "w") as f:
        f.write(text)


HAPROXY = """global
    maxconn 512
defaults
    mode tcp
    timeout connect 1s
    timeout client 30s
    timeout server 30s
    retries 3
    option redispatch
frontend fe
    bind 127.0.0.1:%(front)d
    default_backend nodes
backend nodes
    balance roundrobin
    option httpchk GET /healthz/ready
    timeout check 2s
    default-server inter 200ms fastinter 200ms downinter 200ms fall 2 rise 2 on-marked-down shutdown-sessions
    server n1 127.0.0.1:%(n1)d check
    server n2 127.0.0.1:%(n2)d check
"""


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--kills", type=int, default=30)
    ap.add_argument("--twins", type=int, default=20,
                    help="applications sent to both nodes at once first")
    ap.add_argument("--pg-restart", action="store_true",
                    help="restart PostgreSQL once, mid-run")
    args = ap.parse_args()

    sc = rel.Scenario("R6-nodes")
    # run.sh's time limit sends SIGTERM: exit through atexit, so that the
    # nodes, haproxy and PostgreSQL (its own session, as nobody) go too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if not shutil.which("haproxy"):
        raise SystemExit("FAIL: haproxy is missing (scripts/install-deps.sh)")
    pgdir, dsn = start_pg(sc)
    key = os.path.join(sc.dir, "audit.key")
    with open(os.open(key, os.O_WRONLY | os.O_CREAT, 0o600), "w") as f:
        f.write(" ".join("%02x" % b for b in os.urandom(32)) + "\n")

    front = rel.free_port()
    hsa_port, lv_port = rel.free_port(), rel.free_port()
    nodes = []
    for n in (1, 2):
        conf = os.path.join(sc.dir, "node%d.conf" % n)
        pg_conf(conf, dsn, rel.free_port(), hsa_port, lv_port, key)
        gw = rel.Gateway(sc, conf, None)
        with open(conf) as f:
            gw.port = int(re.search(r"^port = (\d+)$", f.read(), re.M)[1])
        gw.log = os.path.join(sc.dir, "serve-n%d.log" % n)
        nodes.append(gw)
    conf = nodes[0].conf
    hsa = rel.Sim(sc, conf, "hsa", hsa_port).start("--fixture", os.path.join(
        rel.SRC, "tests", "fixtures", "hsa", "prescribers.tsv"))
    lv = rel.Sim(sc, conf, "lv", lv_port).start(
        "--gateway", "http://127.0.0.1:%d" % front, "--then", "none")
    rc, out = nodes[0].cli("migrate")
    if rc != 0:
        raise SystemExit("FAIL: migrate: %s" % out[-500:])
    for gw in nodes:
        gw.start()
    hcfg = os.path.join(sc.dir, "haproxy.cfg")
    with open(hcfg, "w") as f:
        f.write(HAPROXY % {"front": front, "n1": nodes[0].port,
                           "n2": nodes[1].port})
    p = subprocess.run(["haproxy", "-c", "-f", hcfg], capture_output=True,
                       text=True)
    if p.returncode != 0:
        raise SystemExit("FAIL: haproxy config: %s" % (p.stdout + p.stderr))
    hap = sc.spawn(["haproxy", "-db", "-f", hcfg],
                   os.path.join(sc.dir, "haproxy.log"))
    rel.wait_port(front, hap, "haproxy")
    # Both nodes in rotation (rise 2: two checks).
    end = time.time() + 10
    while time.time() < end:
        try:
            if rel.Client(front, {}).get("/healthz/ready", 2)[0] == 200:
                break
        except rel.NOT_ANSWERED:
            pass
        time.sleep(0.1)
    time.sleep(0.6)

    ex = rel.Examples()
    lock = threading.Lock()
    acked = {}        # motivation Bundle.identifier -> refnr
    applied = {}      # application Bundle.identifier -> refnr
    odd = []
    stats = {}
    stop = threading.Event()
    deadline = time.time() + 60 + args.kills * 15

    def client(who):
        return lambda: rel.Client(front, who)

    def submitter(n):
        i = 0
        while not stop.is_set():
            m = ex.get("motivation-enskild-searched")
            st, doc, tries = rel.resend_until_answered(
                client(rel.DOC1), m, deadline, stats=stats)
            ref, _ = rel.task_of(doc) if st == 200 else (None, None)
            with lock:
                stats["retried ids"] = stats.get("retried ids", 0) + \
                    (tries > 1)
                if st == 200 and ref:
                    acked[rel.message_id(m)] = ref
                else:
                    odd.append(("submit", st, rel.outcome_code(doc)))
            i += 1
            if st != 200 or not ref or i % 2 == 0:
                continue
            a = ex.get("application-enskild", refnr=ref)
            st, doc, tries = rel.resend_until_answered(
                client(rel.APO1), a, deadline, stats=stats)
            with lock:
                stats["retried ids"] = stats.get("retried ids", 0) + \
                    (tries > 1)
                if st == 200:
                    applied[rel.message_id(a)] = ref
                else:
                    odd.append(("apply", st, rel.outcome_code(doc)))

    # Twins: the same application sent to n1 and n2 at the same moment
    # (what a proxy's retry to the other node does when the first is slow,
    # not dead). Both must answer the stored receipt: 200, the same case.
    twins_bad = []
    for i in range(args.twins):
        m = ex.get("motivation-enskild-searched")
        st, doc, _ = rel.resend_until_answered(client(rel.DOC1), m,
                                               time.time() + 30)
        ref, _ = rel.task_of(doc) if st == 200 else (None, None)
        if not ref:
            odd.append(("twin submit", st, rel.outcome_code(doc)))
            continue
        acked[rel.message_id(m)] = ref
        a = ex.get("application-enskild", refnr=ref)
        go = threading.Barrier(2)
        answers = [None, None]

        def twin(k):
            go.wait()
            try:
                st, doc = rel.Client(nodes[k].port, rel.APO1).message(a)
                answers[k] = (st, rel.task_of(doc)[0] if st == 200 else
                              rel.outcome_code(doc))
            except rel.NOT_ANSWERED as e:
                answers[k] = (None, str(e))
        tw = [threading.Thread(target=twin, args=(k,)) for k in (0, 1)]
        for t in tw:
            t.start()
        for t in tw:
            t.join()
        if any(x[0] == 200 for x in answers):
            applied[rel.message_id(a)] = ref
        if answers != [(200, ref), (200, ref)]:
            twins_bad.append((ref, answers))
    sc.figure("twins (one application on both nodes at once)",
              "%d, %d not answered 200 + 200" % (args.twins, len(twins_bad)))
    sc.check(not twins_bad, "twins: the same message on n1 and n2 at once "
             "not answered the stored receipt by both: %s" % twins_bad[:3])

    threads = [threading.Thread(target=submitter, args=(n,), daemon=True)
               for n in range(SUBMITTERS)]
    for t in threads:
        t.start()
    kills = []        # times of a SIGKILL or of the PostgreSQL restart
    restart_s = []
    pg_restarts = 0
    pg_restart_s = 0.0
    rng = random.Random(6)
    pg_at = args.kills // 2 if args.pg_restart else -1
    for k in range(args.kills):
        if k == pg_at:
            time.sleep(rng.uniform(0.5, 1.5))
            sc.note("restarting PostgreSQL")
            t0 = time.time()
            kills.append(t0)
            p = subprocess.run(["bash", FIXTURE, "restart", pgdir],
                               capture_output=True, text=True, timeout=90)
            pg_restart_s = time.time() - t0
            kills.append(time.time())
            sc.check(p.returncode == 0, "pg_fixture restart: %s" %
                     p.stderr[-300:])
            pg_restarts += 1
        time.sleep(rng.uniform(0.5, 1.5))
        gw = nodes[k % 2]
        gw.kill()
        kills.append(time.time())
        # Load goes on through the other node while this one is down.
        time.sleep(rng.uniform(0.2, 0.8))
        t0 = time.time()
        gw.start()
        restart_s.append(time.time() - t0)
    time.sleep(1)
    stop.set()
    for t in threads:
        t.join()

    # The drain: both nodes deliver what is left, including the items a
    # killed node held (their leases expire after outbox.lease_s).
    q = "SELECT count(*) FROM outbox WHERE state IN ('pending', 'inflight')"
    backlog = int(psql(dsn, q)[0][0])
    t0 = time.time()
    drain = None
    while time.time() - t0 < 120:
        if int(psql(dsn, q)[0][0]) == 0:
            drain = time.time() - t0
            break
        time.sleep(0.2)
    rcs = [gw.stop() for gw in nodes]
    hap.terminate()
    hap.wait()

    sc.figure("kills (n1 / n2)", "%d (%d / %d)" % (
        len(restart_s), (len(restart_s) + 1) // 2, len(restart_s) // 2))
    sc.figure("PostgreSQL restarts", pg_restarts)
    if pg_restarts:
        sc.figure("PostgreSQL restart seconds", "%.1f" % pg_restart_s)
    sc.figure("node restart seconds (max)", "%.2f" % max(restart_s or [0]))
    sc.figure("motivations acknowledged", len(acked))
    sc.figure("applications acknowledged", len(applied))
    sc.figure("ids sent more than once (retried)",
              stats.get("retried ids", 0))
    sc.figure("unanswered sends (retried)", stats.get("unanswered", 0))
    sc.figure("5xx answers (retried)", ", ".join(
        "%s %d" % (k[7:], v) for k, v in sorted(stats.items())
        if k.startswith("status_")) or "0")
    sc.check(len(acked) > 0, "nothing acknowledged")
    sc.check(not odd, "answers other than 200 (409 ECONFLICT to a resend: "
             "the twins race): %s" % odd[:5])
    sc.check(rcs == [0, 0], "the nodes did not stop cleanly (rc %s)" % rcs)
    sc.check(drain is not None, "the outbox did not empty within 120 s: %s"
             % outbox_states(dsn))
    sc.figure("backlog after the last kill", backlog)
    sc.figure("outbox drained in seconds",
              "%.1f" % drain if drain is not None else "never")

    # The store: every acknowledged id exactly once, nothing else.
    inbox = psql(dsn, "SELECT message_id, refnr FROM inbox")
    by_uuid = {}
    for key_, ref in inbox:
        by_uuid.setdefault(key_.split(":", 1)[1], []).append((key_, ref))
    missing = [m for m in list(acked) + list(applied) if m not in by_uuid]
    twice = [m for m, v in by_uuid.items() if len(v) > 1]
    wrong = [m for m, r in acked.items()
             if m in by_uuid and by_uuid[m][0][1] != r]
    cases = int(psql(dsn, "SELECT count(*) FROM cases")[0][0])
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

    # The outbox: one LV item per acknowledged application, each done.
    expected = {}
    for m in applied:
        for key_, _ in by_uuid.get(m, []):
            expected[rel.item_id(key_, "lv")] = "lv"
    items = dict((r[0], (r[1], r[2])) for r in psql(
        dsn, "SELECT message_id, peer, state FROM outbox"))
    lv_items = dict((m, v) for m, v in items.items() if v[0] == "lv")
    states = outbox_states(dsn)
    sc.figure("outbox items (states)", "%d %s" % (len(items), states))
    sc.check(set(lv_items) == set(expected),
             "LV outbox items: %d missing, %d unexpected" %
             (len(set(expected) - set(lv_items)),
              len(set(lv_items) - set(expected))))
    sc.check(all(s == "done" for _, s in items.values()),
             "outbox items not done: %s" % states)

    # The LV simulator: each application answered ok, registered once.
    rec = rel.received(lv.log)
    never = [m for m in expected if not rel.delivered_ok(rec, m)]
    extra = [m for m in rec if m not in expected]
    resent = sum(max(0, len(rel.delivered_ok(rec, m)) - 1) for m in expected)
    bad = rel.unexplained_duplicates(rec, expected, kills)
    regs = {}
    with open(lv.log, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = re.search(r'event=sim_lv_application .*message_id="?([^" ]+)'
                          r'"? duplicate=0', line)
            if m:
                regs[m.group(1)] = regs.get(m.group(1), 0) + 1
    sc.figure("delivered to LV (ids answered ok)", len(expected) - len(never))
    sc.figure("resent after a success (a kill between)", resent)
    sc.figure("registered at LV exactly once", "%d of %d" % (
        sum(1 for m in expected if regs.get(m) == 1), len(expected)))
    sc.check(all(regs.get(m) == 1 for m in expected),
             "LV registrations per application not all 1: %s" %
             [(m, regs.get(m)) for m in expected if regs.get(m) != 1][:3])
    sc.check(not never, "never delivered to LV: %d, e.g. %s" %
             (len(never), never[:3]))
    sc.check(not extra, "LV got ids no item has: %s" % extra[:3])
    sc.check(not bad, "delivered twice without a kill or the PostgreSQL "
             "restart between: %s" % bad[:3])

    # level=error lines other than PostgreSQL being away (its restart).
    planned = (r"event=pg_connect_failed", r"event=pg_error",
               r"event=outbox_(claim|record)_failed .*rc=EUNAVAILABLE")
    errs = sum(len(rel.log_errors(gw.log, planned)) for gw in nodes)
    sc.figure("level=error lines (not PostgreSQL away)", errs)

    arc, out = nodes[0].cli("audit", "verify")
    sc.figure("audit verify", "exit %d" % arc)
    sc.check(arc == 0, "klasgw audit verify: %s" % out.strip()[-300:])
    sc.finish()


if __name__ == "__main__":
    sys.exit(main())
