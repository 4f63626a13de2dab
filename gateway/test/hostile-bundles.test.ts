import { readFileSync } from 'node:fs';
import { GatewayHarness, type OutcomeBody } from '@phr/test-support/gateway';

/**
 * Issue 12 ("500 → 400"): every JSON type, and every name Object.prototype carries, in every
 * structural position of a Bundle, posted over HTTPS. Whatever the body, the gateway answers with
 * a 4xx OperationOutcome whose `expression` names the element (or, for a batch, a batch-response
 * whose entry outcome names it), never a 5xx, and stays healthy afterwards.
 *
 * The table is generated (about 1,650 cases), each case posted as a transaction (patient not
 * linked, so a valid body ends in 422) and as a batch (patient linked, so valid entries are
 * delivered and bad ones are answered entry by entry):
 * - replace: the value at each of POSITIONS becomes each of VALUES (every JSON type, empty and
 *   nested containers, prototype names as strings and as keys of an object);
 * - add-key: each object position gets an extra property named after one of Object.prototype's own
 *   properties (`constructor`, `toString`, `__proto__`...) or its `_name` primitive-extension form;
 * - narrative: those names as XHTML element and attribute names in `Narrative.div`.
 * A value FHIR accepts at a position (`valid`) must only not fail.
 */

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(600_000);

type Segment = string | number;
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

const MRN_SYSTEM = 'urn:oid:2.16.840.1.113883.19.5.99999.2';
const PATIENT_URL = 'urn:uuid:6d1c0b52-7a3e-4c1f-9a51-000000000001';
const OBSERVATION_URL = 'urn:uuid:6d1c0b52-7a3e-4c1f-9a51-000000000002';

/** `constructor`, `toString`, `hasOwnProperty`, `valueOf`, `__proto__`, `__defineGetter__`... */
const PROTOTYPE_NAMES = Object.getOwnPropertyNames(Object.prototype).sort();

/** An object with one own property, also for `__proto__` (an object literal would set the prototype). */
function withKey(key: string, value: Json): { [key: string]: Json } {
  return JSON.parse(`{${JSON.stringify(key)}:${JSON.stringify(value)}}`) as { [key: string]: Json };
}

const VALUES: { name: string; value: Json }[] = [
  { name: 'null', value: null },
  { name: 'true', value: true },
  { name: 'number', value: 42 },
  { name: 'string', value: 'text' },
  { name: 'empty string', value: '' },
  { name: 'empty array', value: [] },
  { name: 'array of null', value: [null] },
  { name: 'array of string', value: ['text'] },
  { name: 'nested array', value: [[{}]] },
  { name: 'empty object', value: {} },
  { name: 'object', value: { unknown: 1 } },
  ...PROTOTYPE_NAMES.map((name) => ({ name: `string "${name}"`, value: name })),
  ...PROTOTYPE_NAMES.map((name) => ({ name: `object with key "${name}"`, value: withKey(name, 'x') })),
];

/** A non-empty string without whitespace: what `string`, `code`, `uri` and a free reference accept here. */
const word = (v: Json): boolean => typeof v === 'string' && /^\S+$/.test(v);
const fhirId = (v: Json): boolean => typeof v === 'string' && /^[A-Za-z0-9\-.]{1,64}$/.test(v);

interface Position {
  path: Segment[];
  /** The element as the gateway's FHIRPath names it. */
  expression: string;
  /** Values FHIR (and the gateway) accept here: those cases must only not fail. */
  valid?: (value: Json) => boolean;
}

const POSITIONS: Position[] = [
  { path: [], expression: 'Bundle' },
  { path: ['resourceType'], expression: 'Bundle.resourceType' },
  { path: ['type'], expression: 'Bundle.type' },
  { path: ['identifier'], expression: 'Bundle.identifier' },
  { path: ['identifier', 'value'], expression: 'Bundle.identifier.value', valid: word },
  { path: ['link'], expression: 'Bundle.link' },
  { path: ['entry'], expression: 'Bundle.entry' },
  { path: ['entry', 0], expression: 'Bundle.entry[0]' },
  { path: ['entry', 1], expression: 'Bundle.entry[1]' },
  { path: ['entry', 0, 'fullUrl'], expression: 'Bundle.entry[0].fullUrl' },
  { path: ['entry', 0, 'resource'], expression: 'Bundle.entry[0].resource' },
  { path: ['entry', 0, 'resource', 'resourceType'], expression: 'Bundle.entry[0].resource.resourceType' },
  { path: ['entry', 0, 'resource', 'meta'], expression: 'Bundle.entry[0].resource.meta' },
  { path: ['entry', 0, 'resource', 'meta', 'versionId'], expression: 'Bundle.entry[0].resource.meta.versionId', valid: fhirId },
  { path: ['entry', 0, 'resource', 'identifier'], expression: 'Bundle.entry[0].resource.identifier' },
  { path: ['entry', 0, 'resource', 'identifier', 0], expression: 'Bundle.entry[0].resource.identifier[0]' },
  { path: ['entry', 0, 'resource', 'identifier', 0, 'type', 'coding'], expression: 'Bundle.entry[0].resource.identifier[0].type.coding' },
  { path: ['entry', 0, 'resource', 'identifier', 0, 'system'], expression: 'Bundle.entry[0].resource.identifier[0].system', valid: word },
  { path: ['entry', 0, 'resource', 'identifier', 0, 'value'], expression: 'Bundle.entry[0].resource.identifier[0].value', valid: word },
  { path: ['entry', 0, 'resource', 'name', 0, 'given'], expression: 'Bundle.entry[0].resource.name[0].given', valid: (v) => Array.isArray(v) && v.length > 0 && v.every(word) },
  { path: ['entry', 0, 'resource', 'name', 0, 'given', 0], expression: 'Bundle.entry[0].resource.name[0].given[0]', valid: word },
  { path: ['entry', 0, 'resource', 'gender'], expression: 'Bundle.entry[0].resource.gender' },
  { path: ['entry', 0, 'request'], expression: 'Bundle.entry[0].request' },
  { path: ['entry', 0, 'request', 'method'], expression: 'Bundle.entry[0].request.method' },
  { path: ['entry', 0, 'request', 'url'], expression: 'Bundle.entry[0].request.url' },
  { path: ['entry', 0, 'request', 'ifNoneExist'], expression: 'Bundle.entry[0].request.ifNoneExist' },
  { path: ['entry', 1, 'resource', 'category'], expression: 'Bundle.entry[1].resource.category' },
  { path: ['entry', 1, 'resource', 'code'], expression: 'Bundle.entry[1].resource.code' },
  { path: ['entry', 1, 'resource', 'code', 'coding'], expression: 'Bundle.entry[1].resource.code.coding' },
  { path: ['entry', 1, 'resource', 'code', 'coding', 0], expression: 'Bundle.entry[1].resource.code.coding[0]' },
  { path: ['entry', 1, 'resource', 'code', 'coding', 0, 'code'], expression: 'Bundle.entry[1].resource.code.coding[0].code', valid: word },
  { path: ['entry', 1, 'resource', 'subject'], expression: 'Bundle.entry[1].resource.subject' },
  { path: ['entry', 1, 'resource', 'subject', 'reference'], expression: 'Bundle.entry[1].resource.subject.reference', valid: word },
  { path: ['entry', 1, 'resource', 'effectiveDateTime'], expression: 'Bundle.entry[1].resource.effective.ofType(dateTime)' },
  { path: ['entry', 1, 'resource', 'valueQuantity'], expression: 'Bundle.entry[1].resource.value.ofType(Quantity)' },
  { path: ['entry', 1, 'resource', 'valueQuantity', 'value'], expression: 'Bundle.entry[1].resource.value.ofType(Quantity).value', valid: (v) => typeof v === 'number' },
  { path: ['entry', 1, 'resource', 'contained'], expression: 'Bundle.entry[1].resource.contained' },
  { path: ['entry', 1, 'resource', 'text'], expression: 'Bundle.entry[1].resource.text' },
  { path: ['entry', 1, 'resource', 'text', 'div'], expression: 'Bundle.entry[1].resource.text.div' },
]; // prettier-ignore

/** Positions whose base value is an object: each gets every prototype name as an extra key. */
const OBJECT_POSITIONS = POSITIONS.filter((p) =>
  [
    'Bundle',
    'Bundle.identifier',
    'Bundle.entry[0]',
    'Bundle.entry[0].resource',
    'Bundle.entry[0].resource.meta',
    'Bundle.entry[0].resource.identifier[0]',
    'Bundle.entry[0].request',
    'Bundle.entry[1].resource.code',
    'Bundle.entry[1].resource.code.coding[0]',
    'Bundle.entry[1].resource.subject',
    'Bundle.entry[1].resource.value.ofType(Quantity)',
  ].includes(p.expression),
);
const ADDED_KEYS = [...PROTOTYPE_NAMES, ...PROTOTYPE_NAMES.map((n) => `_${n}`)];
const ADDED_VALUES: Json[] = [1, 'x', {}, [1], null, true, { constructor: 'x' }];

const narrative = (content: string, attributes = ''): string =>
  `<div xmlns="http://www.w3.org/1999/xhtml"${attributes}>${content}</div>`;
const DIV: Segment[] = ['entry', 1, 'resource', 'text', 'div'];

type BundleType = 'transaction' | 'batch';

function baseBundle(type: BundleType, mrn: string, tag: string): { [key: string]: Json } {
  return {
    resourceType: 'Bundle',
    type,
    identifier: { system: 'urn:phr-test:hostile-bundles', value: tag },
    entry: [
      {
        fullUrl: PATIENT_URL,
        resource: {
          resourceType: 'Patient',
          meta: { versionId: '1' },
          identifier: [
            {
              type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
              system: MRN_SYSTEM,
              value: mrn,
            },
          ],
          name: [{ family: 'Shape', given: ['Ada'] }],
          gender: 'female',
          birthDate: '1970-01-01',
        },
        request: { method: 'POST', url: 'Patient' },
      },
      {
        fullUrl: OBSERVATION_URL,
        resource: {
          resourceType: 'Observation',
          status: 'final',
          category: [
            {
              coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }],
            },
          ],
          code: { coding: [{ system: 'http://loinc.org', code: '4548-4', display: 'Hemoglobin A1c' }] },
          subject: { reference: PATIENT_URL },
          text: { status: 'generated', div: narrative('HbA1c 6.1 %') },
          effectiveDateTime: '2024-01-02T03:04:05Z',
          valueQuantity: { value: 6.1, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
        },
        request: { method: 'POST', url: 'Observation' },
      },
    ],
  };
}

/** Sets an own property (also `__proto__`, which assignment would turn into a prototype change). */
function setOwn(target: { [key: string]: Json } | Json[], key: Segment, value: Json): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

function at(root: Json, path: readonly Segment[]): Json {
  let current = root;
  for (const segment of path) current = (current as { [key: string]: Json })[segment] as Json;
  return current;
}

function replaced(root: { [key: string]: Json }, path: readonly Segment[], value: Json): Json {
  if (path.length === 0) return value;
  setOwn(at(root, path.slice(0, -1)) as { [key: string]: Json }, path[path.length - 1]!, value);
  return root;
}

interface Case {
  name: string;
  type: BundleType;
  body: string;
  /** The element the answer must name; undefined when the body is valid FHIR. */
  expression?: string;
}

function cases(type: BundleType, mrn: string): Case[] {
  const out: Case[] = [];
  const tag = () => `${type}-${out.length}`;
  for (const position of POSITIONS) {
    for (const { name, value } of VALUES) {
      const body = replaced(baseBundle(type, mrn, tag()), position.path, structuredClone(value));
      out.push({
        name: `${type}: ${position.expression} = ${name}`,
        type,
        body: JSON.stringify(body),
        ...(position.valid?.(value) ? {} : { expression: position.expression }),
      });
    }
  }
  for (const position of OBJECT_POSITIONS) {
    ADDED_KEYS.forEach((key, i) => {
      const bundle = baseBundle(type, mrn, tag());
      const value = ADDED_VALUES[i % ADDED_VALUES.length]!;
      setOwn(at(bundle, position.path) as { [key: string]: Json }, key, structuredClone(value));
      out.push({
        name: `${type}: ${position.expression} + key "${key}"`,
        type,
        body: JSON.stringify(bundle),
        expression: `${position.expression}.${key}`,
      });
    });
  }
  // The narrative is XML inside a JSON string: its element and attribute names reach the XML
  // parser's objects. An element named after Object.prototype is no XHTML element; an attribute
  // with such a name is only required not to break anything.
  for (const name of [...PROTOTYPE_NAMES, 'prototype']) {
    const element = replaced(baseBundle(type, mrn, tag()), DIV, narrative(`<${name}>x</${name}>`));
    out.push({
      name: `${type}: narrative element <${name}>`,
      type,
      body: JSON.stringify(element),
      expression: 'Bundle.entry[1].resource.text.div',
    });
    const attribute = replaced(baseBundle(type, mrn, tag()), DIV, narrative(`<p ${name}="x">y</p>`, ` ${name}="x"`));
    out.push({ name: `${type}: narrative attribute ${name}`, type, body: JSON.stringify(attribute) });
  }
  return out;
}

interface Answer {
  status: number;
  json: unknown;
}

/** Issues the answer carries: the OperationOutcome's, or a batch-response's entry outcomes. */
function issuesOf(answer: Answer): OutcomeBody['issue'] {
  const body = answer.json as (OutcomeBody & { entry?: { response?: { outcome?: OutcomeBody } }[] }) | undefined;
  if (body?.resourceType === 'OperationOutcome') return body.issue ?? [];
  if (body?.resourceType === 'Bundle') return (body.entry ?? []).flatMap((e) => e.response?.outcome?.issue ?? []);
  return [];
}

function names(issue: { expression?: string[] }, expression: string): boolean {
  return (issue.expression ?? []).some(
    (e) => e === expression || e.startsWith(`${expression}.`) || e.startsWith(`${expression}[`),
  );
}

/** What is wrong with an answer to `c`; undefined when it is right. */
function judge(c: Case, answer: Answer): string | undefined {
  const body = answer.json as { resourceType?: string } | undefined;
  if (answer.status >= 500) return `${answer.status}`;
  if (answer.status >= 400 && body?.resourceType !== 'OperationOutcome') return `${answer.status} without an outcome`;
  if (c.expression === undefined) return undefined;
  const accepted = answer.status === 200 && c.type === 'batch' && body?.resourceType === 'Bundle';
  if (answer.status < 400 && !accepted) return `${answer.status}: an invalid body was accepted`;
  const issues = issuesOf(answer);
  if (!issues.some((i) => (i.severity === 'error' || i.severity === 'fatal') && names(i, c.expression!))) {
    return `${answer.status} does not name ${c.expression}: ${JSON.stringify(issues.map((i) => i.expression?.[0]))}`;
  }
  return undefined;
}

describe('hostile bundles: every JSON type and prototype name in every position', () => {
  let h: GatewayHarness;
  const linkedMrn = 'hostile-linked';
  beforeAll(async () => {
    h = await GatewayHarness.create();
    const patient = await h.newPatient('hostile');
    await h.link(patient, { system: MRN_SYSTEM, value: linkedMrn });
  });
  afterAll(async () => {
    await h.close();
  });

  it('the base bundles are valid: the transaction ends in 422 (patient not linked), the batch is delivered', async () => {
    const headers = { 'content-type': 'application/fhir+json' };
    const transaction = await h.request(
      h.clients.ehr,
      'POST',
      '/fhir',
      baseBundle('transaction', 'nobody', 'base-t'),
      headers,
    );
    expect(transaction.status).toBe(422);
    const batch = await h.request(h.clients.ehr, 'POST', '/fhir', baseBundle('batch', linkedMrn, 'base-b'), headers);
    expect(batch.status).toBe(200);
  });

  it.each<BundleType>(['transaction', 'batch'])(
    'answers every %s case with a 4xx naming the element, never a 5xx, and stays healthy',
    async (type) => {
      const all = cases(type, type === 'batch' ? linkedMrn : 'nobody');
      expect(all.length).toBeGreaterThan(1500);
      const failures: { case: string; problem: string }[] = [];
      let next = 0;
      const worker = async (): Promise<void> => {
        while (next < all.length) {
          const c = all[next++]!;
          const answer = await h.request(h.clients.ehr, 'POST', '/fhir', c.body, {
            'content-type': 'application/fhir+json',
          });
          const problem = judge(c, answer);
          if (problem) failures.push({ case: c.name, problem });
        }
      };
      await Promise.all(Array.from({ length: 4 }, worker));
      const serverErrors = failures.filter((f) => /^5\d\d$/.test(f.problem)).length;
      expect({ wrong: failures.length, serverErrors, failures }).toEqual({ wrong: 0, serverErrors: 0, failures: [] });

      const health = await h.request(undefined, 'GET', '/healthz');
      expect(health).toMatchObject({ status: 200, json: { status: 'OK' } });
      // The worker threads still validate and seal: a valid bundle goes through after all of them.
      const after = await h.request(h.clients.ehr, 'POST', '/fhir', baseBundle('batch', linkedMrn, `after-${type}`), {
        'content-type': 'application/fhir+json',
      });
      expect(after.status).toBe(200);
      // Nothing was an unexpected error: the gateway logs every 5xx it answers as 'request failed'.
      expect(readFileSync(h.logFile, 'utf8')).not.toMatch(/request failed/);
    },
  );
});
