import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURES } from '@phr/test-support';
import { GatewayHarness, type OutcomeBody, type TestPatient } from '@phr/test-support/gateway';
import type { Issued } from '@phr/test-support';
import { head, tlsConnection, type RawConnection, type RawResponse } from './support/raw-http';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(60_000);

const MiB = 1024 * 1024;

/** Issue 12: callers that are not allowed, or send what the gateway does not take, are answered before their body is read. */
describe('gateway HTTP edge: who may send a body, and what it may be', () => {
  let h: GatewayHarness;
  let alice: TestPatient;
  let bob: TestPatient;
  const open: RawConnection[] = [];

  beforeAll(async () => {
    // the production limit: a 32 MiB bundle
    h = await GatewayHarness.create({ threads: 1 });
    alice = await h.newPatient('alice');
    bob = await h.newPatient('bob');
  });
  afterEach(() => {
    for (const c of open.splice(0)) c.destroy();
  });
  afterAll(async () => {
    await h.close();
  });

  async function connection(client: Issued | undefined): Promise<RawConnection> {
    const c = await tlsConnection(h.gateway.port, h.hospitalCa.certificatePem, client);
    open.push(c);
    return c;
  }

  /**
   * Sends the headers of a request declaring `declared` bytes of body, then only 4 KiB of it, and
   * waits for the answer: it must come at once, without the rest of the body.
   */
  async function answerToBigBody(
    client: Issued | undefined,
    method: string,
    path: string,
    options: { declared?: number; contentType?: string; chunked?: boolean } = {},
  ): Promise<{ res: RawResponse; conn: RawConnection }> {
    const conn = await connection(client);
    const headers: Record<string, string | number> = { 'Content-Type': options.contentType ?? 'application/fhir+json' };
    if (options.chunked) headers['Transfer-Encoding'] = 'chunked';
    else headers['Content-Length'] = options.declared ?? 30 * MiB;
    conn.write(head(method, path, headers));
    const piece = '{"resourceType":"Bundle","type":"transaction","entry":[' + ' '.repeat(4000);
    conn.write(options.chunked ? `${piece.length.toString(16)}\r\n${piece}\r\n` : piece);
    const res = await conn.response(3000);
    if (!res) throw new Error(`${method} ${path}: no answer within 3 s while the body was still coming`);
    return { res, conn };
  }

  function expectOutcome(res: RawResponse, status: number, code?: string): OutcomeBody {
    expect({ status: res.status, type: res.headers['content-type'] }).toEqual({
      status,
      type: expect.stringMatching(/^application\/fhir\+json/) as unknown,
    });
    const body = JSON.parse(res.body) as OutcomeBody;
    expect(body.resourceType).toBe('OperationOutcome');
    if (code) expect(body.issue[0]?.code).toBe(code);
    return body;
  }

  /** The gateway says it closes, and does, instead of reading (and throwing away) the rest of the body. */
  async function expectClosedWithoutReading(res: RawResponse, conn: RawConnection): Promise<void> {
    expect(res.headers['connection']).toBe('close');
    expect(await conn.closedWithin(3000)).toBe(true);
  }

  it('answers a wrong role 403 before reading the body, on every endpoint that takes one', async () => {
    const cases: [Issued | undefined, string, string, string?][] = [
      [alice.identity, 'POST', '/fhir'],
      [h.clients.clinician, 'POST', '/fhir'],
      [h.clients.admin, 'POST', '/fhir'],
      [h.clients.noRole, 'POST', '/fhir'],
      [h.clients.ehr, 'POST', '/identity/links', 'application/json'],
      [h.clients.ehr, 'DELETE', '/identity/links', 'application/json'],
      [h.clients.ehr, 'POST', '/identity/link-codes', 'application/json'],
      [h.clients.clinician, 'POST', '/fhir/Consent/_search', 'application/x-www-form-urlencoded'],
      [h.clients.ehr, 'POST', '/fhir/AuditEvent/_search', 'application/x-www-form-urlencoded'],
      [alice.identity, 'POST', '/fhir/Observation/_search', 'application/x-www-form-urlencoded'],
      [bob.identity, 'POST', `/mailbox/${alice.pseudonym}/requests/req-00000001/answer`, 'application/json'],
      [h.clients.clinician, 'POST', `/mailbox/${alice.pseudonym}/requests/req-00000001/answer`, 'application/json'],
      [bob.identity, 'PUT', `/mailbox/${alice.pseudonym}/wakeup`, 'application/json'],
      [bob.identity, 'POST', `/mailbox/${alice.pseudonym}/messages/msg-00000001/ack`, 'application/json'],
    ];
    for (const [client, method, path, contentType] of cases) {
      const { res, conn } = await answerToBigBody(client, method, path, contentType ? { contentType } : {});
      expect({ method, path, status: res.status }).toEqual({ method, path, status: 403 });
      expectOutcome(res, 403, 'forbidden');
      await expectClosedWithoutReading(res, conn);
    }
  });

  it('answers 403, not 413, to a patient declaring a body far over the limit', async () => {
    const { res, conn } = await answerToBigBody(alice.identity, 'POST', '/fhir', { declared: 1024 * MiB });
    expectOutcome(res, 403, 'forbidden');
    await expectClosedWithoutReading(res, conn);
  });

  it('answers 403 to a chunked body of unknown length from the wrong role', async () => {
    const { res, conn } = await answerToBigBody(h.clients.clinician, 'POST', '/fhir', { chunked: true });
    expectOutcome(res, 403, 'forbidden');
    await expectClosedWithoutReading(res, conn);
  });

  it('answers 401 before reading the body of a caller without a trusted certificate', async () => {
    for (const [client, path] of [
      [undefined, '/fhir/Consent'],
      [undefined, '/fhir/$verify'],
      [undefined, '/fhir'],
      [h.clients.otherEhr, '/fhir'],
    ] as const) {
      const { res, conn } = await answerToBigBody(client, 'POST', path);
      expect({ path, status: res.status }).toEqual({ path, status: 401 });
      expectOutcome(res, 401, 'login');
      await expectClosedWithoutReading(res, conn);
    }
  });

  it('answers the right role 413 as soon as the declared length is over the limit, and 415 before the body', async () => {
    let { res, conn } = await answerToBigBody(h.clients.ehr, 'POST', '/fhir', { declared: 1024 * MiB });
    expectOutcome(res, 413, 'too-costly');
    await expectClosedWithoutReading(res, conn);
    ({ res, conn } = await answerToBigBody(h.clients.admin, 'POST', '/identity/links', {
      declared: 10 * MiB,
      contentType: 'application/json',
    }));
    expectOutcome(res, 413, 'too-costly');
    await expectClosedWithoutReading(res, conn);
    ({ res, conn } = await answerToBigBody(h.clients.ehr, 'POST', '/fhir', { contentType: 'text/plain' }));
    expectOutcome(res, 415, 'not-supported');
    await expectClosedWithoutReading(res, conn);
  });

  it('answers 413 to a chunked body as soon as it passes the limit', async () => {
    const conn = await connection(h.clients.admin);
    conn.write(head('POST', '/identity/links', { 'Content-Type': 'application/json', 'Transfer-Encoding': 'chunked' }));
    const chunk = 'x'.repeat(16 * 1024);
    for (let i = 0; i < 8; i++) conn.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
    const res = await conn.response(3000);
    expect(res).toBeDefined();
    expectOutcome(res!, 413, 'too-costly');
    await expectClosedWithoutReading(res!, conn);
  });

  it('answers Expect: 100-continue only to a caller that may send the body', async () => {
    const refused = await connection(alice.identity);
    refused.write(
      head('POST', '/fhir', {
        'Content-Type': 'application/fhir+json',
        'Content-Length': 30 * MiB,
        Expect: '100-continue',
      }),
    );
    const res = await refused.response(3000);
    expectOutcome(res!, 403, 'forbidden');
    expect(refused.received().toString('latin1')).not.toMatch(/100 Continue/);

    const allowed = await connection(h.clients.admin);
    const body = JSON.stringify({ identifier: { system: 's', value: 'v' }, code: 'AAAAA-AAAAA' });
    allowed.write(
      head('POST', '/identity/links', {
        'Content-Type': 'application/json',
        'Content-Length': body.length,
        Expect: '100-continue',
      }),
    );
    const go = await allowed.response(3000);
    expect(go?.status).toBe(100);
    allowed.write(body);
    const deadline = Date.now() + 3000;
    while (!/\r\n\r\nHTTP\/1\.1 [2-5]\d\d/.test(allowed.received().toString('latin1')) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(allowed.received().toString('latin1')).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 4\d\d /);
  });

  it('still keeps a connection open after an answer to a body it read whole', async () => {
    const conn = await connection(h.clients.ehr);
    const body = JSON.stringify({ identifier: { system: 's', value: 'v' }, code: 'AAAAA-AAAAA' });
    conn.write(head('POST', '/identity/links', { 'Content-Type': 'application/json', 'Content-Length': body.length }));
    conn.write(body);
    const res = await conn.response(3000);
    expectOutcome(res!, 403, 'forbidden');
    expect(res!.headers['connection']).not.toBe('close');
    expect(await conn.closedWithin(500)).toBe(false);
  });

  it('names a C-CDA document posted to /fhir as what it is, and says where C-CDA will go', async () => {
    const ccd = readFileSync(join(FIXTURES, 'ccda-examples', 'CCD-1.xml'));
    for (const type of ['application/xml', 'text/xml', 'application/hl7-v3+xml', 'application/fhir+xml']) {
      const res = await h.request(h.clients.ehr, 'POST', '/fhir', ccd, { 'content-type': type });
      expect(res.status).toBe(415);
      const diagnostics = (res.json as OutcomeBody).issue[0]?.diagnostics ?? '';
      expect({ type, diagnostics }).toEqual({
        type,
        diagnostics: expect.stringMatching(/C-CDA/) as unknown,
      });
      expect(diagnostics).toMatch(/ClinicalDocument/);
      expect(diagnostics).toMatch(/\/ccda/);
      expect(diagnostics).not.toMatch(/FHIR XML/);
    }
    // known from the content type alone, before any of the body
    const { res } = await answerToBigBody(h.clients.ehr, 'POST', '/fhir', { contentType: 'application/hl7-v3+xml' });
    expectOutcome(res, 415, 'not-supported');
    expect((JSON.parse(res.body) as OutcomeBody).issue[0]?.diagnostics).toMatch(/C-CDA/);
    // FHIR XML is still called FHIR XML
    const fhirXml = await h.request(h.clients.ehr, 'POST', '/fhir', '<Bundle xmlns="http://hl7.org/fhir"/>', {
      'content-type': 'application/xml',
    });
    expect(fhirXml.status).toBe(415);
    expect((fhirXml.json as OutcomeBody).issue[0]?.diagnostics).toMatch(/FHIR XML/);
  });
});
