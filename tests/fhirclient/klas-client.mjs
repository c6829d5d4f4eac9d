// klas-client.mjs - a third-party FHIR R4 client (fhir-kit-client, from
// npm) used the way an EHR and a pharmacy system would use klasgw. Run by
// tests/e2e/test_fhir_client.sh:
//
//   node klas-client.mjs BASE_URL MOTIVATION.json APPLICATION_TEMPLATE.json
//
// The motivation is posted as is; the application template carries the
// example referensnummer 2026658327, replaced by the one the receipt
// gives. Every check that fails throws; the exit status is 0 only when
// all held. Prints one line per step.
import { readFileSync } from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Client } from 'fhir-kit-client';

const [base, motivationPath, applicationPath] = process.argv.slice(2);
if (!applicationPath) {
  console.error('usage: node klas-client.mjs BASE_URL MOTIVATION.json APPLICATION.json');
  process.exit(2);
}

function check(cond, what, data) {
  if (!cond) {
    const detail = data === undefined ? '' : `\n${JSON.stringify(data, null, 1).slice(0, 2000)}`;
    throw new Error(`FAIL: ${what}${detail}`);
  }
  console.log(`ok: ${what}`);
}

async function refused(promise, status, what) {
  try {
    const r = await promise;
    check(false, `${what}: expected HTTP ${status}`, r);
  } catch (e) {
    if (e.message.startsWith('FAIL')) throw e;
    const got = e.response && e.response.status;
    let body = e.response && e.response.data;
    if (typeof body === 'string') {
      try { body = JSON.parse(body); } catch { /* keep text */ }
    }
    check(got === status && body && body.resourceType === 'OperationOutcome',
      `${what}: HTTP ${status} with an OperationOutcome (got ${got})`, body);
  }
}

const ehr = new Client({
  baseUrl: base,
  customHeaders: { 'X-Klasgw-Client': 'SE2321000016-EHR1', 'X-Klasgw-User': 'SE2321000016-DOC1' },
});
const colleague = new Client({
  baseUrl: base,
  customHeaders: { 'X-Klasgw-Client': 'SE2321000016-EHR1', 'X-Klasgw-User': 'SE2321000016-DOC2' },
});
const pharmacy = new Client({
  baseUrl: base,
  customHeaders: { 'X-Klasgw-Client': 'SE7350000000-APO1' },
});
const anonymous = new Client({ baseUrl: base });

// metadata
const cs = await anonymous.capabilityStatement();
check(cs.resourceType === 'CapabilityStatement' && cs.fhirVersion === '4.0.1',
  'capabilityStatement() is an R4 CapabilityStatement', cs);
const rest = cs.rest && cs.rest[0];
check(rest && rest.operation.some((o) => o.name === 'process-message') &&
  rest.resource.some((r) => r.type === 'Task'),
  'it offers $process-message and Task', rest);

// the EHR submits a motivation through the operation API
const motivation = JSON.parse(readFileSync(motivationPath, 'utf8'));
const receipt = await ehr.operation({ name: 'process-message', input: motivation });
check(receipt.resourceType === 'Bundle' && receipt.type === 'message' &&
  receipt.entry[0].resource.resourceType === 'MessageHeader' &&
  receipt.entry[0].resource.response.code === 'ok',
  'operation(process-message) answers a response message', receipt);
const task0 = receipt.entry[1].resource;
const refnr = task0.identifier[0].value;
check(/^[0-9]{10}$/.test(refnr) && task0.id === refnr &&
  task0.businessStatus.coding[0].code === 'M', `the receipt's Task ${refnr} is M`, task0);

// and once more through request(): a replay, the same case
const again = await ehr.request('$process-message', { method: 'POST', body: motivation,
  options: { headers: { 'content-type': 'application/fhir+json' } } });
check(again.entry[1].resource.id === refnr, 'request(POST $process-message) replays to the same case', again);

// read, vread, history, search
const task = await ehr.read({ resourceType: 'Task', id: refnr });
check(task.resourceType === 'Task' && task.id === refnr && task.meta.versionId === '1' &&
  task.businessStatus.coding[0].code === 'M' && task.for.reference === `Patient/${refnr}-4`,
  'read(Task) gives the case', task);
const mr = await ehr.read({ resourceType: 'MedicationRequest', id: `${refnr}-3` });
check(mr.reasonCode && mr.reasonCode.length > 0, 'read(MedicationRequest): the prescriber sees the indication', mr);
const v1 = await ehr.vread({ resourceType: 'Task', id: refnr, version: '1' });
check(v1.meta.versionId === '1', 'vread(Task, 1)', v1);
const found = await ehr.search({ resourceType: 'Task', searchParams: { 'business-status': 'M', identifier: refnr } });
check(found.resourceType === 'Bundle' && found.type === 'searchset' && found.total === 1 &&
  found.entry[0].resource.id === refnr, 'search(Task) finds it once', found);
// A case the caller may not read answers as an unknown one would (404),
// so that answers do not tell which referensnummer exist.
await refused(colleague.read({ resourceType: 'Task', id: refnr }), 404, 'a colleague reads the case');
await refused(anonymous.search({ resourceType: 'Task', searchParams: {} }), 401, 'a search without client');

// the pharmacy finds it, redacted, and applies
const lookup = await pharmacy.search({ resourceType: 'Task',
  searchParams: { identifier: refnr, 'patient.identifier': '201006301111', _include: '*' } });
check(lookup.total === 1 && lookup.entry.some((e) => e.resource.resourceType === 'MedicationRequest' &&
  !e.resource.reasonCode), 'the pharmacy look-up finds the redacted case', lookup);
const application = JSON.parse(readFileSync(applicationPath, 'utf8').replaceAll('2026658327', refnr));
application.identifier = { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${randomUUID()}` };
const applied = await pharmacy.operation({ name: '$process-message', input: application });
check(applied.entry[1].resource.businessStatus.coding[0].code === 'A', 'the pharmacy applies: A', applied);
await refused(pharmacy.operation({ name: 'process-message',
  input: { ...application, identifier: { system: 'urn:ietf:rfc:3986', value: `urn:uuid:${randomUUID()}` } } }),
409, 'a second application');
const history = await ehr.history({ resourceType: 'Task', id: refnr });
check(history.type === 'history' && history.total === 2 &&
  history.entry.map((e) => e.resource.businessStatus.coding[0].code).join() === 'A,M',
  'history(Task): A then M', history);
console.log(`all checks held for case ${refnr}`);
