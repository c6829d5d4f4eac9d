"""rel.py - what the reliability scenarios (tests/reliability/r*.py) share.

Stdlib only. Everything talks to 127.0.0.1: the real `klasgw serve` on a
plain-HTTP configuration, the real simulators (`klasgw sim hsa|lv|pharmacy`)
and the real store, read with Python's sqlite3 module.

  Scenario(name)         a temporary folder, the figures and the broken
                         invariants of one scenario; .finish() prints them
                         and exits 1 when an invariant broke
  Gateway                one `klasgw serve`: start, kill, restart, /healthz
  Sim                    one simulator process and its log
  received(logs)         what the simulators answered, per message id
                         (their `event=sim_received` lines)
  Client                 HTTP as one of the configured callers
  Examples               fresh messages from fhir-profiles/examples/valid
  resend_until_answered  an EHR's retry loop: the same message (same
                         Bundle.identifier) until the gateway answers

Environment: KLASGW (the binary; default build/klasgw), GW_SOURCE_DIR
(default: this checkout), TMPDIR, REL_KEEP=1 (keep the logs of a scenario
that passed too).
"""
import atexit
import datetime
import hashlib
import http.client
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import uuid

SRC = os.environ.get("GW_SOURCE_DIR") or os.path.abspath(
    os.path.join(os.path.dirname(__file__), "..", ".."))
KLASGW = os.environ.get("KLASGW") or os.path.join(SRC, "build", "klasgw")
EXAMPLES = os.path.join(SRC, "fhir-profiles", "examples", "valid")

# The callers of the configuration below (tests/e2e/lib.sh has the same).
DOC1 = {"X-Klasgw-Client": "serial:SE2321000016-EHR1",
        "X-Klasgw-User": "SE2321000016-DOC1"}
DOC2 = {"X-Klasgw-Client": "serial:SE2321000016-EHR1",
        "X-Klasgw-User": "SE2321000016-DOC2"}
APO1 = {"X-Klasgw-Client": "serial:SE7350000000-APO1"}
LV = {"X-Klasgw-Client": "serial:SE2021004078-LISY"}
OPS = {"X-Klasgw-Client": "serial:SE2321000016-OPS1"}
GLN1 = "7350000000016"
PNR = "201006301111"
EX_REFNR = "2026658327"


def now():
    return time.time()


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait_port(port, proc, what, timeout=10):
    end = now() + timeout
    while now() < end:
        if proc.poll() is not None:
            return False
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return True
        except OSError:
            time.sleep(0.05)
    raise SystemExit("FAIL: %s did not listen on %d" % (what, port))


class Scenario:
    """Figures and invariants of one scenario."""

    def __init__(self, name, base=None):
        self.name = name
        self.dir = tempfile.mkdtemp(prefix="klasgw-rel-%s-" % name,
                                    dir=base)
        self.figures = []
        self.broken = []
        self.procs = []
        self.cleanups = []  # run after the processes are gone
        self.t0 = now()
        atexit.register(self.stop_all)
        print("== %s (%s)" % (name, self.dir), flush=True)

    def figure(self, key, value):
        self.figures.append((key, value))
        print("   %-34s %s" % (key, value), flush=True)

    def check(self, cond, what):
        if not cond:
            self.broken.append(what)
            print("   BROKEN: %s" % what, flush=True)
        return cond

    def note(self, text):
        print("   .. %s" % text, flush=True)

    def spawn(self, args, log, env=None):
        e = dict(os.environ)
        e.update(env or {})
        fh = open(log, "ab")
        p = subprocess.Popen(args, stdout=fh, stderr=subprocess.STDOUT,
                             env=e, start_new_session=True)
        fh.close()
        self.procs.append(p)
        return p

    def stop_all(self):
        """Whatever happens (a failed start raises SystemExit), nothing of
        the scenario outlives it."""
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        while self.cleanups:
            self.cleanups.pop()()

    def sanitizer_reports(self):
        """Logs in which AddressSanitizer or UBSan spoke (a binary built
        with GW_ASAN / GW_UBSAN)."""
        out = []
        for n in sorted(os.listdir(self.dir)):
            if n.endswith(".log"):
                with open(os.path.join(self.dir, n), encoding="utf-8",
                          errors="replace") as f:
                    if re.search(r"Sanitizer|runtime error:", f.read()):
                        out.append(n)
        return out

    def finish(self):
        self.stop_all()
        san = self.sanitizer_reports()
        self.check(not san, "a sanitizer reported, see %s" % san)
        self.figure("seconds", "%.0f" % (now() - self.t0))
        if self.broken:
            print("FAIL %s: %d invariant(s) broken; logs kept in %s" %
                  (self.name, len(self.broken), self.dir), flush=True)
            for b in self.broken:
                print("   - " + b)
            sys.exit(1)
        print("ok %s" % self.name, flush=True)
        if not os.environ.get("REL_KEEP"):
            subprocess.call(["rm", "-rf", self.dir])
        sys.exit(0)


def write_conf(path, db, port, hsa_port, lv_port, extra=""):
    with open(path, "w") as f:
        f.write("""[server]
listen = 127.0.0.1
port = %d
threads = 8
plain_http = true
max_body_bytes = 1048576

[store]
path = %s

[log]
level = info

[outbox]
max_attempts = 1000
backoff_base_ms = 1000
backoff_cap_ms = 600000

[hsa]
url = http://127.0.0.1:%d/hsa
timeout_ms = 3000

[lv]
url = http://127.0.0.1:%d/lv
timeout_ms = 3000

; The pharmacy simulator listens on loopback over plain HTTP: allowed here
; on purpose (the default refuses both).
[webhooks]
allowed_hosts = %s=127.0.0.1
allow_private = 127.0.0.0/8
allow_http = true

[clients]
journal1 = ehr serial:SE2321000016-EHR1
apotek1 = pharmacy serial:SE7350000000-APO1 %s
lisy = lv serial:SE2021004078-LISY
ops = operator serial:SE2321000016-OPS1
%s""" % (port, db, hsa_port, lv_port, GLN1, GLN1, extra))


class Sim:
    """`klasgw sim KIND` on its own port, its log appended across restarts."""

    def __init__(self, sc, conf, kind, port=None):
        self.sc, self.conf, self.kind = sc, conf, kind
        self.port = port or free_port()
        self.log = os.path.join(sc.dir, "sim-%s.log" % kind)
        self.proc = None

    def start(self, *args):
        a = [KLASGW, "-c", self.conf, "sim", self.kind, "--port",
             str(self.port)] + list(args)
        self.proc = self.sc.spawn(a, self.log)
        if not wait_port(self.port, self.proc, "sim " + self.kind):
            raise SystemExit("FAIL: sim %s exited" % self.kind)
        return self

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None


class Gateway:
    """One `klasgw serve` on a fixed port, started as tests/e2e/lib.sh does."""

    def __init__(self, sc, conf, port, env=None):
        self.sc, self.conf, self.port = sc, conf, port
        self.env = env or {}
        self.log = os.path.join(sc.dir, "serve.log")
        self.proc = None
        self.starts = 0

    def start(self, timeout=30):
        self.proc = self.sc.spawn([KLASGW, "-c", self.conf, "serve"],
                                  self.log, self.env)
        self.starts += 1
        end = now() + timeout
        while now() < end:
            if self.proc.poll() is not None:
                raise SystemExit("FAIL: serve exited (%s): see %s" %
                                 (self.proc.returncode, self.log))
            try:
                st, _ = Client(self.port, {}).get("/healthz", timeout=2)
                if st == 200:
                    return
            except OSError:
                pass
            time.sleep(0.05)
        raise SystemExit("FAIL: serve did not answer /healthz")

    def kill(self, sig=signal.SIGKILL):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait()
        rc = self.proc.returncode if self.proc is not None else 0
        self.proc = None
        return rc

    def stop(self):
        return self.kill(signal.SIGTERM)

    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def cli(self, *args, timeout=60):
        p = subprocess.run([KLASGW, "-c", self.conf] + list(args),
                           capture_output=True, text=True, timeout=timeout)
        return p.returncode, p.stdout + p.stderr


class Client:
    """HTTP/1.1 to the gateway as one caller; raises OSError (and
    http.client errors, which are OSErrors or HTTPException) when nothing
    was answered."""

    def __init__(self, port, who):
        self.port, self.who = port, who

    def call(self, method, path, body=None, timeout=15, headers=None):
        h = dict(self.who)
        h["Accept"] = "application/fhir+json"
        h.update(headers or {})
        data = None
        if body is not None:
            data = body if isinstance(body, bytes) else \
                json.dumps(body).encode()
            h["Content-Type"] = "application/fhir+json"
        c = http.client.HTTPConnection("127.0.0.1", self.port,
                                       timeout=timeout)
        try:
            c.request(method, path, body=data, headers=h)
            r = c.getresponse()
            raw = r.read()
            status = r.status
        finally:
            c.close()
        try:
            doc = json.loads(raw) if raw[:1] == b"{" else raw
        except ValueError:
            doc = raw
        return status, doc

    def get(self, path, timeout=15):
        return self.call("GET", path, timeout=timeout)

    def message(self, msg, timeout=15):
        return self.call("POST", "/fhir/$process-message", msg,
                         timeout=timeout)


NOT_ANSWERED = (OSError, http.client.HTTPException)


class Examples:
    def __init__(self):
        self.cache = {}

    def get(self, name, refnr=None, mid=None):
        """A fresh message: a new Bundle.identifier (or mid), refnr set."""
        if name not in self.cache:
            with open(os.path.join(EXAMPLES, name + ".json"),
                      encoding="utf-8") as f:
                self.cache[name] = f.read()
        text = self.cache[name]
        if refnr:
            text = text.replace(EX_REFNR, refnr)
        d = json.loads(text)
        out = {}
        for k, v in d.items():  # identifier before type, R4 order
            if k == "type":
                out["identifier"] = {
                    "system": "urn:ietf:rfc:3986",
                    "value": "urn:uuid:" + (mid or str(uuid.uuid4()))}
            out[k] = v
        return out


def message_id(msg):
    return msg["identifier"]["value"]


def task_of(doc):
    """(refnr, status) of a message answer's Task, or (None, None)."""
    try:
        for e in doc["entry"]:
            r = e["resource"]
            if r["resourceType"] == "Task":
                return r["id"], r["businessStatus"]["coding"][0]["code"]
    except (KeyError, IndexError, TypeError):
        pass
    return None, None


def outcome_code(doc):
    try:
        return doc["issue"][0]["details"]["coding"][0]["code"]
    except (KeyError, IndexError, TypeError):
        return None


def resend_until_answered(client_fn, msg, deadline, retry_5xx=True,
                          stats=None):
    """Sends msg until the gateway answers it with something other than a
    5xx (or any answer, retry_5xx False); an EHR does this with the same
    Bundle.identifier. client_fn() gives the Client to use (the port may
    change). Returns (status, doc, tries); (None, None, tries) at the
    deadline."""
    tries = 0
    while now() < deadline:
        tries += 1
        try:
            st, doc = client_fn().message(msg)
        except NOT_ANSWERED:
            if stats is not None:
                stats["unanswered"] = stats.get("unanswered", 0) + 1
            time.sleep(0.05)
            continue
        if retry_5xx and st >= 500:
            if stats is not None:
                k = "status_%d" % st
                stats[k] = stats.get(k, 0) + 1
            time.sleep(0.1)
            continue
        return st, doc, tries
    return None, None, tries


# --- the simulators' counts -------------------------------------------------

RECEIVED = re.compile(
    r'^ts=(\S+) .*event=sim_received peer=(\S+) kind=(\S+) '
    r'message_id=("[^"]*"|\S+) answered=(\S+)')


def parse_ts(ts):
    return datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp()


def item_id(key, what):
    """The outbox message id of what a message with inbox key `key`
    (`<client label>:<message id>`) sends: the SHA-256 of the key and the
    kind, so that it is as stable as the key and never cut. A notification
    gets one item per Subscription, whose id follows after another ':'."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest() + ":" + what


def resolve_items(expected, item_ids):
    """{expected id: peer} -> {outbox message id: peer}: a notification's
    expected id stands for its items, one per Subscription. Ids with no
    item stay as they are (counted as missing)."""
    out = {}
    for e, peer in expected.items():
        found = [i for i in item_ids if i == e or i.startswith(e + ":")]
        for i in found or [e]:
            out[i] = peer
    return out


def received(*logs):
    """{message_id: [(time, peer, kind, answered), ...]} over the logs."""
    out = {}
    for log in logs:
        try:
            fh = open(log, encoding="utf-8", errors="replace")
        except FileNotFoundError:
            continue
        with fh:
            for line in fh:
                m = RECEIVED.match(line)
                if m:
                    mid = m.group(4).strip('"')
                    out.setdefault(mid, []).append(
                        (parse_ts(m.group(1)), m.group(2), m.group(3),
                         m.group(5)))
    return out


def delivered_ok(rec, mid):
    """Times at which a success went back for mid."""
    return sorted(t for t, _, _, a in rec.get(mid, []) if a == "ok")


def unexplained_duplicates(rec, mids, kills, window=3.0):
    """Message ids answered with a success more than once without a kill of
    the gateway in between (at least once is the design: a kill between
    the send and the store's 'done' means one resend). The kill must come
    within `window` seconds of the first success: marking an item done
    takes one commit, not seconds. It may also come up to `window` seconds
    before it: the simulator logs a request when it has handled it, which
    can be after the serve that sent it was killed (the bytes wait in the
    socket), and the next serve resends at once (it reclaims every item
    in flight at start-up); the second success still comes after it."""
    bad = []
    for mid in mids:
        ok = delivered_ok(rec, mid)
        for a, b in zip(ok, ok[1:]):
            if not any(a - window <= k <= min(b, a + window) + 0.01
                       for k in kills):
                bad.append(mid)
                break
    return bad


# --- the store --------------------------------------------------------------

def db_connect(path):
    return sqlite3.connect(path, timeout=30)


def db_scalar(path, sql, args=()):
    con = db_connect(path)
    try:
        return con.execute(sql, args).fetchone()[0]
    finally:
        con.close()


def db_rows(path, sql, args=()):
    con = db_connect(path)
    try:
        return con.execute(sql, args).fetchall()
    finally:
        con.close()


def integrity(path):
    return db_scalar(path, "PRAGMA integrity_check")


def outbox_states(path):
    return dict(db_rows(path, "SELECT state, count(*) FROM outbox "
                              "GROUP BY state"))


def wait_outbox_done(path, timeout, peers=None):
    """Seconds until no item (of peers) is pending or in flight; None at
    the timeout."""
    t0 = now()
    q = "SELECT count(*) FROM outbox WHERE state IN ('pending', 'inflight')"
    if peers:
        q += " AND peer IN (%s)" % ",".join("'%s'" % p for p in peers)
    while now() - t0 < timeout:
        if db_scalar(path, q) == 0:
            return now() - t0
        time.sleep(0.2)
    return None


# --- the process ------------------------------------------------------------

def rss_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def fds(pid):
    return len(os.listdir("/proc/%d/fd" % pid))


def fd_links(pid):
    """What pid's fds point to ("socket:[123]", a path, "pipe:[..]"); an fd
    closed while they are read is left out."""
    d = "/proc/%d/fd" % pid
    for n in os.listdir(d):
        try:
            yield os.readlink(os.path.join(d, n))
        except OSError:
            continue


def fd_kinds(pid):
    """(sockets, other fds): pooled keep-alive connections come and go,
    files, pipes and eventfds must not."""
    links = list(fd_links(pid))
    socks = sum(1 for t in links if t.startswith("socket:"))
    return socks, len(links) - socks


def fd_sockets(pid):
    """The inodes of the sockets among pid's fds (as text, "123")."""
    return [t[len("socket:["):-1] for t in fd_links(pid)
            if t.startswith("socket:[")]


def _net_rows(pid, name):
    """The rows of /proc/PID/net/NAME (tcp, tcp6, unix), split, without
    the header; none when the table is missing (no IPv6)."""
    try:
        with open("/proc/%d/net/%s" % (pid, name)) as f:
            return [line.split() for line in f.readlines()[1:]]
    except FileNotFoundError:
        return []


def socket_kinds(pid, port):
    """pid's sockets by what they are, matched by inode against the
    tables of its network namespace (/proc/PID/net/tcp, tcp6, unix):
      listen    TCP sockets listening
      inbound   TCP connections on local port `port` (callers of serve)
      outbound  {remote port: count} of the other TCP connections (serve
                calling its peers)
      unix      unix sockets: in serve, libcurl's socketpair, one per
                easy handle (its internal multi handle's wake-up pair)
      other     sockets in none of the tables (UDP, netlink, or one that
                closed between the two reads)
    The fds are read first: a connection opened after that is not in the
    list at all, one closed after it counts as "other"."""
    socks = fd_sockets(pid)
    tcp = {}
    for name in ("tcp", "tcp6"):
        for r in _net_rows(pid, name):
            # sl local rem st queues timer retrnsmt uid timeout inode ...;
            # TIME_WAIT rows belong to no socket (inode 0).
            if len(r) > 9 and r[9] != "0":
                tcp[r[9]] = (int(r[1].rsplit(":", 1)[1], 16),
                             int(r[2].rsplit(":", 1)[1], 16), r[3])
    unix = {r[6] for r in _net_rows(pid, "unix") if len(r) > 6}
    k = {"listen": 0, "inbound": 0, "outbound": {}, "unix": 0, "other": 0}
    for ino in socks:
        if ino in tcp:
            local, remote, state = tcp[ino]
            if state == "0A":  # TCP_LISTEN
                k["listen"] += 1
            elif local == port:
                k["inbound"] += 1
            else:
                k["outbound"][remote] = k["outbound"].get(remote, 0) + 1
        elif ino in unix:
            k["unix"] += 1
        else:
            k["other"] += 1
    return k


def log_errors(log, planned=()):
    """level=error lines of the gateway's log not matching a planned
    pattern."""
    out = []
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            if " level=error" in line and not any(re.search(p, line)
                                                for p in planned):
                out.append(line.rstrip())
    return out


def subscribe(client, port):
    st, doc = client.call("POST", "/fhir/Subscription", {
        "resourceType": "Subscription", "status": "requested",
        "reason": "KLAS", "criteria": "Task",
        "channel": {"type": "rest-hook",
                    "endpoint": "http://127.0.0.1:%d/hook" % port}})
    if st != 201:
        raise SystemExit("FAIL: Subscription -> %d %s" % (st, doc))
    return doc["id"]


def setup(sc, db=None, extra="", lv_args=("--then", "none"), pharmacy=True,
          env=None):
    """The usual cluster: HSA, LV and pharmacy simulators, a configuration,
    a gateway started, and apotek1 subscribed to the pharmacy simulator.
    Returns (gateway, sims dict, conf path, db path)."""
    conf = os.path.join(sc.dir, "klasgw.conf")
    db = db or os.path.join(sc.dir, "db", "klasgw.db")
    os.makedirs(os.path.dirname(db), exist_ok=True)
    port = free_port()
    sims = {"hsa": Sim(sc, conf, "hsa"), "lv": Sim(sc, conf, "lv"),
            "pharmacy": Sim(sc, conf, "pharmacy")}
    write_conf(conf, db, port, sims["hsa"].port, sims["lv"].port, extra)
    sims["hsa"].start("--fixture", os.path.join(
        SRC, "tests", "fixtures", "hsa", "prescribers.tsv"))
    if lv_args is not None:
        sims["lv"].start("--gateway", "http://127.0.0.1:%d" % port,
                         *lv_args)
    if pharmacy:
        sims["pharmacy"].start()
    gw = Gateway(sc, conf, port, env)
    gw.start()
    if pharmacy:
        subscribe(Client(port, APO1), sims["pharmacy"].port)
    return gw, sims, conf, db
