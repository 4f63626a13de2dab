/**
 * POST /ccda over HTTPS (issue 14): hostile XML is refused before it is parsed, each case with
 * its status and issue code, and the gateway stays healthy and keeps accepting documents; a
 * document the gateway cannot deliver says why. Each case's time is printed (speed is measured in
 * bench/, not asserted here).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertCcda } from '../src/ccda/ccda-converter';
import { CCDA_OPERATION_URL } from '../src/fhir/capability-statement';
import { GatewayHarness, type OutcomeBody } from '@phr/test-support/gateway';
import { FIXTURES } from '@phr/test-support';

jest.setTimeout(120_000);

const CCD = readFileSync(join(FIXTURES, 'ccda-examples', 'CCD-2.xml'));
const CCD_TEXT = CCD.toString('utf8');
const HEAD = '<?xml version="1.0"?>\n';
const DOC_OPEN = '<ClinicalDocument xmlns="urn:hl7-org:v3">';

const HOSTILE: [name: string, body: string | Buffer, status: number, code: string, says: RegExp][] = [
  [
    'billion laughs',
    `${HEAD}<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">` +
      `<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>${DOC_OPEN}&lol3;</ClinicalDocument>`,
    400,
    'security',
    /DOCTYPE|entit/i,
  ],
  [
    'XXE (external entity: a local file)',
    `${HEAD}<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>${DOC_OPEN}&xxe;</ClinicalDocument>`,
    400,
    'security',
    /DOCTYPE|entit/i,
  ],
  [
    'external DTD over HTTP',
    `${HEAD}<!DOCTYPE ClinicalDocument SYSTEM "http://127.0.0.1:9/cda.dtd">${DOC_OPEN}</ClinicalDocument>`,
    400,
    'security',
    /DOCTYPE/i,
  ],
  [
    'a DOCTYPE inside a real document, after its comments',
    CCD_TEXT.replace(
      '<ClinicalDocument',
      '<!DOCTYPE x [<!ENTITY % p SYSTEM "http://127.0.0.1:9/p">%p;]>\n<ClinicalDocument',
    ),
    400,
    'security',
    /DOCTYPE|entit/i,
  ],
  [
    '100,000 nested elements',
    `${HEAD}${DOC_OPEN}${'<a>'.repeat(100_000)}${'</a>'.repeat(100_000)}</ClinicalDocument>`,
    400,
    'too-costly',
    /deep|nest|depth/i,
  ],
  [
    'malformed: a tag left open',
    `${HEAD}${DOC_OPEN}\n  <title>x</ClinicalDocument>`,
    400,
    'structure',
    /line \d+, column \d+/,
  ],
  [
    'an undefined entity',
    `${HEAD}${DOC_OPEN}<title>&nbsp;</title></ClinicalDocument>`,
    400,
    'structure',
    /nbsp|entit/i,
  ],
  ['well-formed, not a ClinicalDocument', `${HEAD}<Patient xmlns="urn:hl7-org:v3"/>`, 400, 'invalid', /Patient/],
  [
    'FHIR XML',
    `${HEAD}<Bundle xmlns="http://hl7.org/fhir"><type value="transaction"/></Bundle>`,
    415,
    'not-supported',
    /FHIR/,
  ],
  ['an empty body', '', 400, 'required', /no body/],
  ['over the size limit', Buffer.alloc(2 * 1024 * 1024 + 1, 0x20), 413, 'too-costly', /./],
];

describe('POST /ccda: hostile XML refused before parsing, the gateway stays healthy', () => {
  let h: GatewayHarness;
  const times: string[] = [];
  beforeAll(async () => {
    h = await GatewayHarness.create({ maxCcdaBytes: 2 * 1024 * 1024 });
    const patient = await h.newPatient('ccda');
    await h.link(patient, convertCcda(CCD_TEXT, CCD).patientIdentifier!);
  });
  afterAll(async () => {
    process.stdout.write(`\nPOST /ccda hostile cases (answer time):\n${times.join('\n')}\n`);
    await h.close();
  });

  const post = (body: string | Buffer, contentType = 'application/cda+xml') =>
    h.request(h.clients.ehr, 'POST', '/ccda', body, { 'content-type': contentType });

  it.each(HOSTILE)('%s', async (name, body, status, code, says) => {
    const started = performance.now();
    const res = await post(body);
    times.push(`  ${name.padEnd(52)} ${res.status} ${(performance.now() - started).toFixed(1)} ms`);
    expect(res.status).toBe(status);
    const outcome = res.json as OutcomeBody;
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(outcome.issue[0]?.code).toBe(code);
    expect(outcome.issue[0]?.diagnostics).toMatch(says);
    const health = await h.request(undefined, 'GET', '/healthz');
    expect(health.status).toBe(200);
  });

  it('after every hostile case, a real document is still accepted', async () => {
    const res = await post(CCD);
    expect(res.status).toBe(200);
    expect((res.json as { type: string }).type).toBe('transaction-response');
  });

  it('JSON posted to /ccda is a 415 that points to /fhir', async () => {
    const res = await post('{"resourceType":"Bundle"}', 'application/fhir+json');
    expect(res.status).toBe(415);
    expect((res.json as OutcomeBody).issue[0]?.diagnostics).toMatch(/\/fhir/);
  });

  it('only the EHR role may post documents', async () => {
    const res = await h.request(h.clients.clinician, 'POST', '/ccda', CCD, { 'content-type': 'text/xml' });
    expect(res.status).toBe(403);
  });

  it('a document whose patient has no identifier is refused, saying so', async () => {
    const withoutIds = CCD_TEXT.replace(/<patientRole>[\s\S]*?<\/patientRole>/, (role) =>
      role.replace(/<id [^>]*\/>/g, ''),
    );
    expect(withoutIds).not.toBe(CCD_TEXT);
    const res = await post(withoutIds);
    expect(res.status).toBe(422);
    expect((res.json as OutcomeBody).issue[0]?.diagnostics).toMatch(/no patient with an identifier/);
  });

  it('a document with no clinical content is refused, saying so', async () => {
    const empty = CCD_TEXT.replace(/<structuredBody>[\s\S]*<\/structuredBody>/, '<structuredBody></structuredBody>');
    const res = await post(empty);
    expect(res.status).toBe(422);
    expect((res.json as OutcomeBody).issue[0]?.diagnostics).toMatch(/no clinical content/);
  });

  it("a patient the hospital has not linked is refused with the ingest's own reason", async () => {
    const other = CCD_TEXT.replace('extension="98765432"', 'extension="NOT-LINKED-1"');
    expect(other).not.toBe(CCD_TEXT);
    const res = await post(other);
    expect(res.status).toBe(422);
    expect((res.json as OutcomeBody).issue[0]?.diagnostics).toMatch(/not linked/);
  });

  it('the CapabilityStatement lists the C-CDA ingest', async () => {
    const res = await h.request(h.clients.ehr, 'GET', '/fhir/metadata');
    const operations = (res.json as { rest: { operation: { name: string; definition: string }[] }[] }).rest[0]!
      .operation;
    expect(operations).toContainEqual(expect.objectContaining({ name: 'ccda', definition: CCDA_OPERATION_URL }));
  });
});
