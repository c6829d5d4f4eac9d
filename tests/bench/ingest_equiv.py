#!/usr/bin/env python3
"""Answers of two klasgw builds compared on the same submissions.

  tests/bench/ingest_equiv.py OLD_KLASGW NEW_KLASGW SRC_DIR MUTANTS SEED

For a change meant to make ingest cheaper without changing what clients
see (issue #13): build main and the branch, then e.g.
  tests/bench/ingest_equiv.py /tmp/klasgw.main build/klasgw . 1500 1
Starts two gateways (each with its own HSA simulator and database), sends
both the same sequence of submissions -- every example and fixture, then
MUTANTS mutants of them (an element or key dropped, duplicated, moved or
altered, an unknown one added, a value changed, the text cut) -- to
$process-message and $validate, and compares status, Content-Type, ETag, Content-Location and
body byte for byte with ids, refnrs, timestamps and ports masked. Exit 1
on any difference. EQUIV_NEW_CONF (lines, "\\n" for a line break) is
appended to the second gateway's configuration: a control that the
comparison sees a difference, e.g. EQUIV_NEW_CONF='[xml]\\nmax_depth = 9'.
"""
import glob, http.client, json, os, random, re, shutil, subprocess, sys, tempfile, time

old, new, src, nmut, seed = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
rnd = random.Random(seed)

CLIENTS = {'ehr': ('SE2321000016-EHR1', 'SE2321000016-DOC1'),
           'pharmacy': ('SE7350000000-APO1', None),
           'lv': ('SE2021004078-LISY', None)}

def start(binary, port, tmp, extra=''):
    os.makedirs(tmp, exist_ok=True)
    conf = os.path.join(tmp, 'conf')
    with open(conf, 'w') as f:
        f.write(f"""[server]
listen = 127.0.0.1
port = {port}
plain_http = true
[paths]
data_dir = {src}
[store]
path = {tmp}/db/klasgw.db
[log]
level = error
[hsa]
url = http://127.0.0.1:{port + 1}/hsa
[lv]
url =
[clients]
journal1 = ehr serial:SE2321000016-EHR1
apotek1 = pharmacy serial:SE7350000000-APO1 7350000000016
lisy = lv serial:SE2021004078-LISY
ops = operator serial:SE2321000016-OPS1
""" + extra)
    hsa = subprocess.Popen([binary, '-c', conf, 'sim', 'hsa', '--port', str(port + 1), '--fixture',
                            os.path.join(src, 'tests/fixtures/hsa/prescribers.tsv')],
                           stdout=open(tmp + '/hsa.log', 'w'), stderr=subprocess.STDOUT)
    time.sleep(0.3)
    gw = subprocess.Popen([binary, '-c', conf, 'serve'], stderr=open(tmp + '/serve.log', 'w'))
    for _ in range(100):
        try:
            c = http.client.HTTPConnection('127.0.0.1', port, timeout=5)
            c.request('GET', '/healthz'); c.getresponse().read(); break
        except OSError:
            time.sleep(0.1)
    return [gw, hsa]

MASKS = [
    (re.compile(r'127\.0\.0\.1:\d+'), '127.0.0.1:PORT'),
    (re.compile(r'[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}'), 'UUID'),
    (re.compile(r'\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?'), 'TIME'),
    (re.compile(r'\b20\d{8}\b'), 'REFNR'),
    (re.compile(r'\b[0-9a-f]{16}\b'), 'REQID'),
]

def mask(s):
    for r, t in MASKS:
        s = r.sub(t, s)
    return s

def send(port, path, body, ctype, who):
    client, user = CLIENTS[who]
    h = {'Content-Type': ctype, 'X-Klasgw-Client': client}
    if user:
        h['X-Klasgw-User'] = user
    c = http.client.HTTPConnection('127.0.0.1', port, timeout=30)
    c.request('POST', path, body=body, headers=h)
    r = c.getresponse()
    b = r.read().decode('utf-8', 'replace')
    c.close()
    return (r.status, r.getheader('Content-Type'), mask(r.getheader('ETag') or ''),
            mask(r.getheader('Content-Location') or ''), mask(b))

# --- mutants -------------------------------------------------------------
def paths(o, p=()):
    yield p
    if isinstance(o, dict):
        for k, v in o.items():
            yield from paths(v, p + (k,))
    elif isinstance(o, list):
        for i, v in enumerate(o):
            yield from paths(v, p + (i,))

def get(o, p):
    for k in p:
        o = o[k]
    return o

def mutate_json(text):
    o = json.loads(text)
    ps = [p for p in paths(o) if p]
    p = rnd.choice(ps)
    parent, k = get(o, p[:-1]), p[-1]
    op = rnd.randrange(9)
    v = parent[k]
    if op == 0:
        del parent[k]
    elif op == 1 and isinstance(parent, list):
        parent.insert(k, json.loads(json.dumps(v)))
    elif op == 1:
        parent[k] = [v, v] if not isinstance(v, list) else v + v[:1]
    elif op == 2 and isinstance(v, str):
        parent[k] = rnd.choice(['', v + 'x', v[:-1], v.upper(), '12', ' ' + v, v + '\u00e5', 'urn:uuid:x', '2026-13-40'])
    elif op == 2 and isinstance(v, (int, float, bool)):
        parent[k] = rnd.choice([str(v), -1, 0, 1.5, None, True])
    elif op == 2:
        parent[k] = rnd.choice([{}, [], None, 'x'])
    elif op == 3 and isinstance(parent, dict):
        parent['_' + k if not k.startswith('_') else 'unknown'] = rnd.choice([{'id': 'a1'}, 'x', {'extension': [{'url': 'http://x', 'valueString': 'y'}]}])
    elif op == 4 and isinstance(v, dict):
        items = list(v.items()); rnd.shuffle(items); parent[k] = dict(items)
    elif op == 5 and isinstance(parent, dict):
        parent[k + 'x'] = parent.pop(k)
    elif op == 6 and isinstance(v, dict):
        v['id'] = rnd.choice(['a1', '', 'x' * 70, 'a b'])
    elif op == 7 and isinstance(v, dict) and 'resourceType' in v:
        v['resourceType'] = rnd.choice(['Patient', 'Foo', 'Task', 'Bundle'])
    else:
        # raw damage of the text
        s = json.dumps(o, ensure_ascii=False, indent=rnd.choice([None, 2]))
        i = rnd.randrange(len(s))
        return rnd.choice([s[:i], s[:i] + s[i + 1:], s[:i] + '"' + s[i:], s[:i] + '\\u0000' + s[i:]])
    return json.dumps(o, ensure_ascii=False, indent=rnd.choice([None, 2, 4]))

TAG = re.compile(r'<(/?)([A-Za-z][\w.:-]*)([^<>]*?)(/?)>')

def spans(s):
    out, stack = [], []
    for m in TAG.finditer(s):
        if m.group(1):
            if stack:
                st, name = stack.pop()
                out.append((st, m.end(), name))
        elif m.group(4):
            out.append((m.start(), m.end(), m.group(2)))
        else:
            stack.append((m.start(), m.group(2)))
    return out

def mutate_xml(s):
    sp = spans(s)
    a, b, name = rnd.choice(sp[1:] or sp)
    op = rnd.randrange(9)
    if op == 0:
        return s[:a] + s[b:]
    if op == 1:
        return s[:b] + s[a:b] + s[b:]
    if op == 2:
        vals = list(re.finditer(r'value="([^"]*)"', s))
        m = rnd.choice(vals)
        v = m.group(1)
        nv = rnd.choice(['', v + 'x', v[:-1], v.upper(), '12', ' ' + v, v + '&amp;&lt;', '2026-13-40', 'tru'])
        return s[:m.start(1)] + nv + s[m.end(1):]
    if op == 3:
        return s[:a] + '<unknownThing value="1"/>' + s[a:]
    if op == 4:
        return s[:a] + rnd.choice(['<!-- c -->', '\n  ', 'text', '<![CDATA[x]]>', '&#x41;']) + s[a:]
    if op == 5:
        later = [x for x in sp if x[0] >= b]
        if later:
            c, d, _ = rnd.choice(later)
            return s[:a] + s[c:d] + s[b:c] + s[a:b] + s[d:]
    if op == 6:
        return s.replace('xmlns="http://hl7.org/fhir"', rnd.choice(['', 'xmlns="http://hl7.org/fhirx"', 'xmlns:f="http://hl7.org/fhir" xmlns="http://hl7.org/fhir"']), 1)
    if op == 7:
        return s[:a] + s[a:b].replace('<' + name, '<' + name + rnd.choice([' id="a1"', ' foo="1"', ' value="v"', ' id=""']), 1) + s[b:]
    i = rnd.randrange(len(s))
    return rnd.choice([s[:i], s[:i] + s[i + 1:], s[:i] + '<' + s[i:], '<!DOCTYPE x>' + s])

def who_of(f):
    base = os.path.basename(f)
    return 'pharmacy' if base.startswith('application') else 'lv' if base.startswith('decision') else 'ehr'

files = sorted(glob.glob(os.path.join(src, 'fhir-profiles/examples/*/*.json')) +
               glob.glob(os.path.join(src, 'fhir-profiles/examples/*/*.xml')) +
               glob.glob(os.path.join(src, 'tests/fixtures/fhir/*.json')) +
               glob.glob(os.path.join(src, 'tests/fixtures/fhir/*.xml')))
cases = []
for f in files:
    cases.append((f, open(f, encoding='utf-8').read()))
for i in range(nmut):
    f = rnd.choice(files)
    text = open(f, encoding='utf-8').read()
    try:
        for _ in range(rnd.choice([1, 1, 1, 2])):
            text = mutate_json(text) if f.endswith('.json') else mutate_xml(text)
    except (ValueError, IndexError, KeyError, TypeError, AttributeError):
        pass
    cases.append((f + '#%d' % i, text))

tmp = tempfile.mkdtemp(prefix='klasgw-equiv-')
port0 = 18490 + rnd.randrange(50) * 4
procs = start(old, port0, tmp + '/old') + start(new, port0 + 2, tmp + '/new', os.environ.get('EQUIV_NEW_CONF', '').replace('\\n', '\n'))
diffs, statuses = 0, {}
try:
    for name, text in cases:
        ctype = 'application/fhir+json' if '.json' in name else 'application/fhir+xml'
        for path in ('/fhir/$process-message', '/fhir/$validate') if rnd.random() < 0.3 else ('/fhir/$process-message',):
            body = text.encode('utf-8')
            a = send(port0, path, body, ctype, who_of(name.split('#')[0]))
            b = send(port0 + 2, path, body, ctype, who_of(name.split('#')[0]))
            statuses[a[0]] = statuses.get(a[0], 0) + 1
            if a != b:
                diffs += 1
                print('DIFF', name, path, a[0], b[0])
                if diffs <= 3:
                    print(' old:', a[4][:600]); print(' new:', b[4][:600])
finally:
    for p in procs:
        p.terminate(); p.wait()
    shutil.rmtree(tmp)
print('requests per gateway: %d (statuses %s); differences: %d' % (sum(statuses.values()), statuses, diffs))
sys.exit(1 if diffs else 0)
