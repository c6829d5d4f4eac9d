// klas-paging.mjs - a prescriber pages through all of her cases with a
// third-party FHIR client (fhir-kit-client's nextPage/prevPage, which
// follow Bundle.link only). Run by tests/e2e/test_fhir_paging.sh:
//
//   node klas-paging.mjs BASE_URL MOTIVATION.json N
//
// Submits N motivations (fresh message ids), then pages through Mina
// ärenden: by the default page (at most 120 a page, not per search), and
// by small pages while new cases arrive between pages (the pages must not
// shift: no case twice, none of the N missed). Every failed check throws.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Client } from 'fhir-kit-client';

const [base, motivationPath, nArg] = process.argv.slice(2);
const N = Number(nArg);
if (!(N > 0)) {
  console.error('usage: node klas-paging.mjs BASE_URL MOTIVATION.json N');
  process.exit(2);
}

function check(cond, what, data) {
  if (!cond) {
    const detail = data === undefined ? '' : `\n${JSON.stringify(data, null, 1).slice(0, 2000)}`;
    throw new Error(`FAIL: ${what}${detail}`);
  }
  console.log(`ok: ${what}`);
}

const ehr = new Client({
  baseUrl: base,
  customHeaders: { 'X-Klasgw-Client': 'SE2321000016-EHR1', 'X-Klasgw-User': 'SE2321000016-DOC1' },
});
const template = JSON.parse(readFileSync(motivationPath, 'utf8'));

async function submit() {
  const m = structuredClone(template);
  m.identifier = { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${randomUUID()}` };
  const receipt = await ehr.operation({ name: 'process-message', input: m });
  return receipt.entry[1].resource.id;
}

const submitted = new Set();
for (let i = 0; i < N; i += 8) {
  const batch = [];
  for (let j = i; j < Math.min(N, i + 8); j++) batch.push(submit());
  for (const id of await Promise.all(batch)) submitted.add(id);
}
check(submitted.size === N, `${N} motivations submitted`);

const ids = (bundle) => (bundle.entry || []).map((e) => e.resource.id);
const rel = (bundle, r) => (bundle.link || []).find((l) => l.relation === r);

// The default page: at most 120 cases, and nextPage() to the end.
let page = await ehr.search({ resourceType: 'Task', searchParams: { 'business-status': 'M' } });
check(page.total === N && ids(page).length === 120 && rel(page, 'self') && rel(page, 'next') &&
  !rel(page, 'previous'), `first page: 120 of total ${N}, self and next links`, page.link);
const seen = new Set(ids(page));
let pages = 1;
while (rel(page, 'next')) {
  page = await ehr.nextPage({ bundle: page });
  pages++;
  check(page.total === N, `page ${pages}: total ${N}`);
  const dup = ids(page).filter((id) => seen.has(id));
  check(dup.length === 0, `page ${pages}: no case seen before`, dup);
  ids(page).forEach((id) => seen.add(id));
  check(pages <= Math.ceil(N / 120), `no more than ${Math.ceil(N / 120)} pages`);
}
check([...submitted].every((id) => seen.has(id)) && seen.size === N,
  `nextPage() reached all ${N} cases in ${pages} pages`);

// Small pages while cases arrive: the newest come first, the pages go on
// from where the last one ended, so nothing shifts.
const size = 60;
page = await ehr.search({ resourceType: 'Task', searchParams: { 'business-status': 'M', _count: size } });
const order = [...ids(page)];
const pageIds = [ids(page)];
const pageBundles = [page];
const arrived = [];
while (rel(page, 'next')) {
  arrived.push(await submit());
  page = await ehr.nextPage({ bundle: page });
  order.push(...ids(page));
  pageIds.push(ids(page));
  pageBundles.push(page);
}
check(new Set(order).size === order.length, `_count=${size}: no case on two pages while ${arrived.length} arrived`);
check([...submitted].every((id) => order.includes(id)) && arrived.every((id) => !order.includes(id)),
  `_count=${size}: all ${N} cases, none of those that arrived after the first page`);
check(pageIds.slice(0, -1).every((p) => p.length === size), `_count=${size}: every page but the last is full`);

// prevPage() from the last page gives back the page before it, as it was.
const last = pageBundles[pageBundles.length - 1];
const back = await ehr.prevPage({ bundle: last });
check(back && JSON.stringify(ids(back)) === JSON.stringify(pageIds[pageIds.length - 2]),
  'prevPage() from the last page gives the page before it', back && back.link);
const first = await ehr.prevPage({ bundle: pageBundles[1] });
check(JSON.stringify(ids(first)) === JSON.stringify(pageIds[0]) && rel(first, 'next') && rel(first, 'previous'),
  'prevPage() from the second page gives the first as it was, and a previous link to the cases that arrived since',
  first.link);
const newest = await ehr.prevPage({ bundle: first });
check(JSON.stringify(ids(newest)) === JSON.stringify([...arrived].reverse()) && !rel(newest, 'previous'),
  'and that one holds just the cases that arrived, without a previous link', newest.link);
// A page's self link gives that page again.
const again = await ehr.nextPage({ bundle: { link: [{ relation: 'next', url: rel(pageBundles[2], 'self').url }] } });
check(JSON.stringify(ids(again)) === JSON.stringify(pageIds[2]), 'a self link gives the same page again');
// And a fresh search now starts with the cases that arrived, newest first.
const fresh = await ehr.search({ resourceType: 'Task', searchParams: { 'business-status': 'M', _count: arrived.length } });
check(JSON.stringify(ids(fresh)) === JSON.stringify([...arrived].reverse()) && fresh.total === N + arrived.length,
  'a new search starts with the cases that arrived meanwhile', ids(fresh));
console.log(`all paging checks held over ${N} cases`);
