#!/usr/bin/env python3
"""R5 soak: mixed load for a while; memory and file descriptors must not
grow, and nothing but the planned answers may come back.

Four clients, paced, each doing in turn: submit a motivation (EHR), search
its own cases, read a case and its history, the pharmacy's look-up by
referensnummer + personnummer, a product search, and the pharmacy's
application for a case still in M. The LV simulator registers every
application and grants it (`--then registered,Bev`, calls back over
SOAP), which notifies the pharmacy simulator.

RSS and open fds of serve are measured in a quiet moment (load paused,
outbox empty) at the end of the warm-up and at the end. The warm-up is
over when the bounded caches are full, so that what grows after it is
not a cache filling up: at least a quarter of the run (60 s at least),
and then until the cache of rendered case views reports itself full
(klasgw_view_cache_*: its entries or bytes at their bound; about 4
minutes at this load), but at most half of the run (the short form ends
before it is full: noted). SQLite's page caches (the 8 readers, 256 KiB
each, src/store/db.c) are full within the first minutes. Invariants: RSS
growth < 5 % (10 % when the warm-up ended before the view cache was
full: the short form), no more fds other than sockets than at the end of the
warm-up, every answer the planned one, no level=error line in the
gateway's log, every LV callback OK, no dead letter.

Sockets are told apart by inode (rel.socket_kinds) and held to different
bounds, because the pools vary: how many curl handles a pool holds
depends on how many calls happened to overlap, and each holds about 3
sockets (its connection and libcurl's socketpair). Inbound connections
at the end: at most CLIENTS more than at the end of the warm-up.
Outbound (connections to the peers and the socketpairs): at most what
the pools can hold, from the configuration serve runs with
(pool_bounds); the connections per peer each at most that peer's part.
A leak grows with the requests and soon passes both; the pools cannot.

  r5_soak.py [--minutes M] [--samples CSV]     (full: 30, short: 2)
"""
import argparse
import collections
import os
import random
import re
import sys
import threading
import time
import urllib.parse

import rel

CLIENTS = 4
PACE_S = 0.05  # between two requests of one client
# Pooled gSOAP contexts kept idle (GW_SOAP_POOL_MAX, soap_client.c), and
# the connections libcurl keeps per easy handle (CURLOPT_MAXCONNECTS'
# default, 5).
SOAP_POOL_IDLE_MAX = 16
CURL_HANDLE_CONNS = 5


def effective_config(gw):
    """{(section, key): value} of the configuration serve runs with, as
    `klasgw check-config` prints it (the file, the environment, the
    defaults)."""
    rc, out = gw.cli("check-config")
    conf, section = {}, None
    for line in out.splitlines():
        m = re.match(r"\[(\w+)\]$", line)
        if m:
            section = m.group(1)
        m = re.match(r"(\w+) = (.*)$", line)
        if m and section:
            conf[(section, m.group(1))] = m.group(2)
    if ("outbox", "per_peer_concurrency") not in conf:
        raise SystemExit("FAIL: klasgw check-config printed no "
                         "configuration (rc %d): %s" % (rc, out[-300:]))
    return conf


def pool_bounds(gw, db):
    """({peer: most TCP connections to it}, most curl handles): what serve's
    outbound pools can hold in a quiet moment (src/outbound/).

    HSA and LV: a pool of gSOAP contexts (soap_client.c), one curl handle
    each; a context is made only when none is idle, so there are never
    more than callers at once, and at most SOAP_POOL_IDLE_MAX stay idle.
    HSA is called from the request threads (server.threads), LV from its
    delivery threads (outbox.per_peer_concurrency). Each handle calls one
    URL, one call at a time: one connection.
    The pharmacy: one curl handle per delivery thread
    (per_peer_concurrency, http_client.c's policed handle) and one of the
    subscription keeper (freed after each round, held only mid-round);
    each keeps a connection per webhook host:port it reached, at most
    CURL_HANDLE_CONNS."""
    conf = effective_config(gw)
    threads = int(conf[("server", "threads")])
    per_peer = int(conf[("outbox", "per_peer_concurrency")])
    hosts = {urllib.parse.urlsplit(e).netloc for (e,) in rel.db_rows(
        db, "SELECT DISTINCT endpoint FROM subscriptions")}
    hsa = min(threads, SOAP_POOL_IDLE_MAX)
    lv = min(per_peer, SOAP_POOL_IDLE_MAX)
    pharmacy = per_peer + 1
    tcp = {"hsa": hsa, "lv": lv,
           "pharmacy": pharmacy * min(len(hosts), CURL_HANDLE_CONNS)}
    return tcp, hsa + lv + pharmacy


def outbound(kinds, sims):
    """{peer: TCP connections} of rel.socket_kinds, by the simulators'
    ports ("unknown": any other)."""
    by_port = {s.port: name for name, s in sims.items()}
    out = {}
    for port, n in kinds["outbound"].items():
        peer = by_port.get(port, "unknown")
        out[peer] = out.get(peer, 0) + n
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=30)
    ap.add_argument("--samples", metavar="CSV",
                    default=os.environ.get("R5_SAMPLES"),
                    help="write every 5-s sample (RSS, fds, heap, SQLite, "
                    "view cache, smaps_rollup) to CSV, to see what grows "
                    "(default: $R5_SAMPLES)")
    args = ap.parse_args()
    duration = args.minutes * 60
    warmup = max(60.0, duration / 4)
    warmup_max = max(warmup, duration / 2)

    sc = rel.Scenario("R5-soak")
    gw, sims, conf, db = rel.setup(
        sc, lv_args=("--then", "registered,Bev", "--delay-ms", "100"))
    ex = rel.Examples()
    ehr = rel.Client(gw.port, rel.DOC1)
    apo = rel.Client(gw.port, rel.APO1)
    lock = threading.Lock()
    ops = collections.Counter()
    odd = collections.Counter()
    to_apply, refs = [], []
    stop, run = threading.Event(), threading.Event()
    run.set()

    def op_submit(rng):
        st, doc = ehr.message(ex.get("motivation-enskild-searched"))
        ref, _ = rel.task_of(doc)
        if st == 200 and ref:
            with lock:
                to_apply.append(ref)
                refs.append(ref)
        return st, 200

    def pick(rng):
        with lock:
            return rng.choice(refs) if refs else None

    def op_search(rng):
        return ehr.get("/fhir/Task?business-status=M,A,H,Bev&_count=20")[0], \
            200

    def op_read(rng):
        ref = pick(rng)
        return (ehr.get("/fhir/Task/%s" % ref)[0], 200) if ref else (0, 0)

    def op_history(rng):
        ref = pick(rng)
        return (ehr.get("/fhir/Task/%s/_history" % ref)[0], 200) if ref \
            else (0, 0)

    def op_lookup(rng):
        ref = pick(rng)
        return (apo.get("/fhir/Task?identifier=%s&patient.identifier=%s" %
                        (ref, rel.PNR))[0], 200) if ref else (0, 0)

    def op_product(rng):
        return ehr.get("/fhir/Medication?name=mel")[0], 200

    def op_apply(rng):
        with lock:
            ref = to_apply.pop(0) if to_apply else None
        if ref is None:
            return 0, 0
        return apo.message(ex.get("application-enskild", refnr=ref))[0], 200

    plan = [op_submit, op_search, op_read, op_lookup, op_history,
            op_product, op_apply, op_read]

    def client(n):
        rng = random.Random(n)
        i = n
        while not stop.is_set():
            run.wait()
            op = plan[i % len(plan)]
            i += 1
            try:
                st, want = op(rng)
            except rel.NOT_ANSWERED as e:
                st, want = "unanswered: %s" % type(e).__name__, 200
            with lock:
                if want:
                    ops[op.__name__] += 1
                    if st != want:
                        odd["%s -> %s" % (op.__name__, st)] += 1
            time.sleep(PACE_S)

    def heap_kb():
        """(in use, held, SQLite's part) kB of the C heap, from /metrics."""
        st, body = rel.Client(gw.port, rel.OPS).get("/metrics")
        text = body.decode() if isinstance(body, bytes) else str(body)
        m = dict(re.findall(r'klasgw_heap_bytes\{kind="(\w+)"\} (\d+)',
                            text))
        sq = re.search(r'klasgw_store_memory_bytes (\d+)', text)
        vc = {k: int(v) for k, v in re.findall(
            r'klasgw_view_cache_(\w+\{kind="\w+"\}) (\d+)', text)}
        extra["view"] = (vc.get('bytes{kind="held"}', 0) // 1024,
                         vc.get('entries{kind="held"}', 0))
        # Full: at its entry bound, or no room for another 4 KiB view.
        extra["view_full"] = bool(vc) and (
            vc['entries{kind="held"}'] >= vc['entries{kind="limit"}'] or
            vc['bytes{kind="held"}'] + 4096 > vc['bytes{kind="limit"}'])
        return (int(m.get("in_use", 0)) // 1024, int(m.get("held", 0)) // 1024,
                int(sq.group(1)) // 1024 if sq else 0)

    heap, socks = {}, {}
    extra = {"view": (0, 0), "view_full": False}
    csv = open(args.samples, "w") if args.samples else None
    if csv:
        csv.write("t_s,requests,rss_kb,fds,heap_in_use_kb,heap_held_kb,"
                  "sqlite_kb,view_cache_kb,view_cache_entries,anon_kb,"
                  "file_kb,db_kb\n")

    def cpu_s(pid):
        """CPU seconds (user + system) serve has used so far."""
        with open("/proc/%d/stat" % pid) as f:
            f_ = f.read().rsplit(")", 1)[1].split()
        return (int(f_[11]) + int(f_[12])) / os.sysconf("SC_CLK_TCK")

    def smaps(pid):
        """Anonymous and file-backed resident kB of serve."""
        d = {}
        try:
            with open("/proc/%d/smaps_rollup" % pid) as f:
                for line in f:
                    k, _, v = line.partition(":")
                    if v.strip().endswith("kB"):
                        d[k] = int(v.split()[0])
        except OSError:
            pass
        return d.get("Anonymous", 0), d.get("Rss", 0) - d.get("Anonymous", 0)

    def quiet_sample(when):
        run.clear()
        time.sleep(1)
        rel.wait_outbox_done(db, 30)
        time.sleep(1)
        r, f = rel.rss_kb(gw.pid()), rel.fd_kinds(gw.pid())
        socks[when] = rel.socket_kinds(gw.pid(), gw.port)
        heap[when] = heap_kb()
        run.set()
        return r, f

    def out_socks(k):
        """Outbound connections and libcurl's socketpairs."""
        return sum(k["outbound"].values()) + k["unix"]

    threads = [threading.Thread(target=client, args=(n,), daemon=True)
               for n in range(CLIENTS)]
    t0 = time.time()
    for t in threads:
        t.start()
    samples = []
    rss0 = fd0 = None
    full = False
    busy_out = 0
    while time.time() - t0 < duration:
        time.sleep(5)
        samples.append((time.time() - t0, rel.rss_kb(gw.pid()),
                        rel.fds(gw.pid()), heap_kb()))
        busy_out = max(busy_out,
                       out_socks(rel.socket_kinds(gw.pid(), gw.port)))
        if csv:
            with lock:
                nreq = sum(ops.values())
            s = samples[-1]
            csv.write("%.0f,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d,%d\n" % (
                (s[0], nreq, s[1], s[2]) + s[3] + extra["view"] +
                smaps(gw.pid()) + (os.path.getsize(db) // 1024,)))
            csv.flush()
        if rss0 is None and time.time() - t0 >= warmup and (
                extra["view_full"] or time.time() - t0 >= warmup_max):
            full = extra["view_full"]
            rss0, fd0 = quiet_sample("warm")
            sc.note("warm-up over at %.0f s (view cache %s, %d kB, %d "
                    "views): RSS %d kB, fds %d sockets + %d other" % (
                        (time.time() - t0, "full" if full else "NOT full")
                        + extra["view"] + (rss0,) + fd0))
            sc.note("sockets at warm-up: %s" % socks["warm"])
    if rss0 is None:
        rss0, fd0 = quiet_sample("warm")
    stop.set()
    run.set()
    for t in threads:
        t.join()
    time.sleep(1)
    rel.wait_outbox_done(db, 60)
    time.sleep(1)
    rss1, fd1 = rel.rss_kb(gw.pid()), rel.fd_kinds(gw.pid())
    socks["end"] = rel.socket_kinds(gw.pid(), gw.port)
    cpu1 = cpu_s(gw.pid())
    heap["end"] = heap_kb()
    elapsed = time.time() - t0

    total = sum(ops.values())
    sc.figure("minutes", "%.1f" % (elapsed / 60))
    sc.figure("requests", "%d (%.1f/s)" % (total, total / elapsed))
    # CPU, not time: the machine may be shared and loaded.
    sc.figure("serve's CPU per request", "%.2f ms" % (
        1000.0 * cpu1 / total if total else 0))
    sc.figure("by kind", dict(ops))
    sc.figure("RSS kB: first / warm / end / max", "%d / %d / %d / %d" % (
        samples[0][1] if samples else 0, rss0, rss1,
        max([s[1] for s in samples] + [rss1])))
    # A leak grows with the requests; caches that fill up level off.
    if samples:
        sc.figure("RSS kB under load at 1/4 2/4 3/4 4/4", " ".join(
            str(samples[min(len(samples) - 1, len(samples) * q // 4)][1])
            for q in (1, 2, 3, 4)))
        sc.figure("C heap kB in use/held/SQLite at 1/4..4/4", " ".join(
            "%d/%d/%d" % samples[min(len(samples) - 1,
                                     len(samples) * q // 4)][3]
            for q in (1, 2, 3, 4)))
    # A leak or a growing cache shows in "in use"; "held" growing alone is
    # free heap malloc cannot give back (fragmentation).
    sc.figure("C heap kB in use/held/SQLite: warm, end",
              "%d/%d/%d, %d/%d/%d" % (heap["warm"] + heap["end"]))
    sc.figure("view cache kB/views: end", "%d/%d" % extra["view"])
    growth = 100.0 * (rss1 - rss0) / rss0
    sc.figure("RSS growth after warm-up", "%.1f %%" % growth)
    sc.figure("fds (sockets+other): warm / end", "%d+%d / %d+%d" %
              (fd0 + fd1))
    sc.figure("fds under load: max", max(s[2] for s in samples)
              if samples else "-")
    k0, k1 = socks["warm"], socks["end"]
    in_bound = k0["inbound"] + CLIENTS
    sc.figure("inbound sockets: warm / end (max)", "%d / %d (%d)" % (
        k0["inbound"], k1["inbound"], in_bound))
    peer_bound, handles = pool_bounds(gw, db)
    out_bound = sum(peer_bound.values()) + 2 * handles
    sc.figure("outbound TCP+pairs: warm/end (max)",
              "%d+%d / %d+%d (%d)" % (
                  sum(k0["outbound"].values()), k0["unix"],
                  sum(k1["outbound"].values()), k1["unix"], out_bound))
    sc.figure("outbound TCP+pairs under load: max", busy_out)
    peers1 = outbound(k1, sims)
    sc.figure("outbound TCP by peer: end (max)", ", ".join(
        "%s %d (%d)" % (p, peers1.get(p, 0), peer_bound.get(p, 0))
        for p in sorted(set(peer_bound) | set(peers1))))
    bev = rel.db_scalar(db, "SELECT count(*) FROM cases WHERE status = "
                            "'Bev'")
    sc.figure("cases / granted", "%d / %d" % (
        rel.db_scalar(db, "SELECT count(*) FROM cases"), bev))
    sc.figure("outbox", rel.outbox_states(db))
    sc.figure("unplanned answers", dict(odd))
    # With the caches full at the end of the warm-up, what grows after it
    # is a leak: at most 5 %. The short form ends its warm-up before they
    # are full; their filling, and the noise of a quiet moment (the C
    # heap in use moved by 1 MB between two of them in one run), made
    # 0.1-6.7 % in ten runs of 2 minutes, while a 12-minute run whose
    # warm-up ended with the caches full measured -2.5 %. There the bound
    # is 10 %. It still catches a leak of about 2 KB a request: a build
    # that leaked 512 bytes in each call of the server's request handler
    # (8.4 MB more C heap in use after the warm-up) grew 19.0 %.
    bound = 5.0 if full else 10.0
    sc.check(growth < bound, "RSS grew %.1f %% after the warm-up (bound "
             "%.0f %%: view cache %s then)" % (
                 growth, bound, "full" if full else "not full"))
    sc.check(fd1[1] <= fd0[1], "fds other than sockets grew from %d to %d"
             % (fd0[1], fd1[1]))
    # Inbound: rel.Client closes its connection after each answer; what
    # stays open is keep-alive (LV's callbacks come through the
    # simulator's pool), a few more when more calls overlapped.
    sc.check(k1["inbound"] <= in_bound, "inbound sockets grew from %d to "
             "%d (more than the %d clients)" % (k0["inbound"],
                                               k1["inbound"], CLIENTS))
    sc.check(out_socks(k1) <= out_bound, "outbound sockets: %d at the end "
             "(%d TCP + %d socketpair), more than the pools hold (%d)" % (
                 out_socks(k1), sum(k1["outbound"].values()), k1["unix"],
                 out_bound))
    over = {p: n for p, n in peers1.items() if n > peer_bound.get(p, 0)}
    sc.check(not over, "outbound connections over the pool's size: %s "
             "(sizes %s)" % (over, peer_bound))
    sc.check(k1["listen"] + k1["other"] <= k0["listen"] + k0["other"],
             "listening and other sockets grew: %s -> %s" % (k0, k1))
    sc.check(not odd, "unplanned answers: %s" % dict(odd))
    errs = rel.log_errors(gw.log)
    sc.figure("level=error lines", len(errs))
    sc.check(not errs, "errors in the log: %s" % errs[:3])
    with open(sims["lv"].log, encoding="utf-8") as f:
        cb = [l for l in f if "event=sim_lv_callback" in l]
    bad_cb = [l for l in cb if "result=OK" not in l]
    sc.figure("LV callbacks (not OK)", "%d (%d)" % (len(cb), len(bad_cb)))
    sc.check(not bad_cb, "LV callbacks failed: %s" % bad_cb[:2])
    dead = rel.db_scalar(db, "SELECT count(*) FROM outbox WHERE state = "
                             "'dead'")
    sc.check(dead == 0, "dead letters: %d" % dead)
    rc = gw.stop()
    sc.check(rc == 0, "serve did not stop cleanly (rc %s)" % rc)
    ic = rel.integrity(db)
    sc.check(ic == "ok", "PRAGMA integrity_check: %s" % ic)
    arc, out = gw.cli("audit", "verify")
    sc.check(arc == 0, "klasgw audit verify: %s" % out.strip()[-300:])
    sc.finish()


if __name__ == "__main__":
    sys.exit(main())
