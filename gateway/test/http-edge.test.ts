import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { GatewayHarness, type OutcomeBody } from '@phr/test-support/gateway';
import {
  forNewPatient,
  INVALID_DIR,
  isPatientBundleFile,
  loadBundle,
  mrnOf,
  smallBundle,
  syntheaFiles,
} from '@phr/test-support';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(60_000);

function expectOutcome(
  res: { status: number; json: unknown; headers: Headers },
  status: number,
  code?: string,
): OutcomeBody {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/fhir\+json/);
  const body = res.json as OutcomeBody;
  expect(body.resourceType).toBe('OperationOutcome');
  expect(body.issue.length).toBeGreaterThan(0);
  if (code) expect(body.issue[0]?.code).toBe(code);
  return body;
}

describe('gateway HTTP edge: authentication, content and limits', () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    h = await GatewayHarness.create({ maxBundleBytes: 2 * 1024 * 1024, maxEntries: 500 });
  });
  afterAll(async () => {
    await h.close();
  });

  it('serves a CapabilityStatement that says what the gateway really does', async () => {
    const cs = (await h.fhir().capabilityStatement()) as {
      resourceType: string;
      fhirVersion: string;
      format: string[];
      rest: {
        interaction: { code: string }[];
        resource?: { type: string; interaction: { code: string }[]; searchParam?: { name: string }[] }[];
        operation?: { name: string }[];
        security: { service: { coding: { code: string }[] }[] };
      }[];
    };
    expect(cs.resourceType).toBe('CapabilityStatement');
    expect(cs.fhirVersion).toBe('4.0.1');
    expect(cs.format).toEqual(['json']);
    expect(cs.rest[0]?.interaction.map((i) => i.code).sort()).toEqual(['batch', 'transaction']);
    // the ledger's projections: search, with exactly the parameters the gateway understands, and
    // read of one Consent (the Location of a created one), create for a patient-signed consent
    const projection = (type: string) => cs.rest[0]?.resource?.find((r) => r.type === type);
    expect(projection('Consent')?.interaction?.map((i) => i.code)).toEqual(['search-type', 'read', 'create']);
    expect(projection('Consent')?.searchParam?.map((p) => p.name)).toEqual(['patient']);
    expect(projection('AuditEvent')?.interaction).toEqual([{ code: 'search-type' }]);
    expect(projection('AuditEvent')?.searchParam?.map((p) => p.name)).toEqual(['patient', 'date', 'agent', 'action']);
    expect(cs.rest[0]?.operation?.map((o) => o.name)).toContain('verify');
    expect(cs.rest[0]?.security.service[0]?.coding[0]?.code).toBe('Certificates');
  });

  it('answers 401 without a client certificate or with one from an unknown CA, 403 for the wrong role', async () => {
    expectOutcome(await h.request(undefined, 'GET', '/fhir/metadata'), 401, 'login');
    expectOutcome(await h.request(h.clients.otherEhr, 'GET', '/fhir/metadata'), 401, 'login');
    expectOutcome(await h.request(h.clients.noRole, 'GET', '/fhir/metadata'), 403, 'forbidden');
    const bundle = smallBundle(loadBundle(syntheaFiles().find(isPatientBundleFile)!), 3);
    for (const who of [h.clients.clinician, h.clients.admin]) {
      expectOutcome(
        await h.request(who, 'POST', '/fhir', bundle, { 'content-type': 'application/fhir+json' }),
        403,
        'forbidden',
      );
    }
    const patient = await h.newPatient('edge');
    expectOutcome(
      await h.request(patient.identity, 'POST', '/fhir', bundle, { 'content-type': 'application/fhir+json' }),
      403,
    );
    // a patient may only get link codes and mail for their own pseudonym
    const other = await h.newPatient('edge-other');
    expectOutcome(
      await h.request(patient.identity, 'POST', '/identity/link-codes', { pseudonym: other.pseudonym }),
      403,
    );
    expectOutcome(await h.request(patient.identity, 'GET', `/mailbox/${other.pseudonym}/messages`), 403);
    // only the hospital's admin links MRNs
    expectOutcome(
      await h.request(h.clients.ehr, 'POST', '/identity/links', {
        identifier: { system: 's', value: 'v' },
        code: 'AAAAA-AAAAA',
      }),
      403,
    );
  });

  it('refuses wrong content types, non-JSON, oversized and over-deep bodies with clear 4xx answers', async () => {
    const ehr = h.clients.ehr;
    expectOutcome(
      await h.request(ehr, 'POST', '/fhir', 'hello', { 'content-type': 'text/plain' }),
      415,
      'not-supported',
    );
    expectOutcome(
      await h.request(ehr, 'POST', '/fhir', '<Bundle xmlns="http://hl7.org/fhir"/>', {
        'content-type': 'application/fhir+xml',
      }),
      415,
    );
    const notJson = expectOutcome(
      await h.request(ehr, 'POST', '/fhir', '{"resourceType": "Bundle",', { 'content-type': 'application/fhir+json' }),
      400,
    );
    expect(notJson.issue[0]?.diagnostics).toMatch(/JSON/i);
    const big = JSON.stringify({
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [],
      pad: 'x'.repeat(3 * 1024 * 1024),
    });
    expectOutcome(
      await h.request(ehr, 'POST', '/fhir', big, { 'content-type': 'application/fhir+json' }),
      413,
      'too-costly',
    );
    const deep =
      '{"resourceType":"Bundle","type":"transaction","entry":[{"resource":' +
      '{"a":'.repeat(200) +
      '1' +
      '}'.repeat(200) +
      '}]}';
    expectOutcome(await h.request(ehr, 'POST', '/fhir', deep, { 'content-type': 'application/fhir+json' }), 400);
    expectOutcome(
      await h.request(ehr, 'POST', '/fhir', { resourceType: 'Patient' }, { 'content-type': 'application/fhir+json' }),
      400,
      'not-supported',
    );
    expectOutcome(
      await h.request(
        ehr,
        'POST',
        '/fhir',
        { resourceType: 'Bundle', type: 'searchset', entry: [] },
        { 'content-type': 'application/fhir+json' },
      ),
      400,
    );
    const many = smallBundle(loadBundle(syntheaFiles().find(isPatientBundleFile)!), 2);
    many.entry = Array.from({ length: 501 }, () => many.entry[1]!);
    expectOutcome(await h.request(ehr, 'POST', '/fhir', many, { 'content-type': 'application/fhir+json' }), 413);
    expectOutcome(await h.request(ehr, 'GET', '/fhir/Patient/123'), 404, 'not-found');
  });

  /**
   * Cases the gateway knows it does not catch, with the reason; each must still get through, so
   * this list cannot silently go stale.
   */
  const KNOWN_GAPS: Record<string, string> = {
    'cvx.json': 'the only error is a wrong CVX display name: checking it needs a terminology server',
  };

  it('refuses every invalid FHIR case of the fixtures with an OperationOutcome, storing nothing', async () => {
    const source = forNewPatient(smallBundle(loadBundle(syntheaFiles().find(isPatientBundleFile)!), 2), 'invalid');
    const patient = await h.newPatient('invalid-cases');
    await h.link(patient, mrnOf(source));
    const before = h.gateway.deliveries.counts();
    const files = readdirSync(INVALID_DIR).filter((f) => /\.(json|xml)$/.test(f) && f !== 'manifest-excerpt.json');
    expect(files.length).toBeGreaterThanOrEqual(40);
    for (const file of files) {
      const text = readFileSync(join(INVALID_DIR, file), 'utf8');
      let body = text;
      let type = file.endsWith('.xml') ? 'application/fhir+xml' : 'application/fhir+json';
      let parsed: { resourceType?: string } | undefined;
      try {
        parsed = JSON.parse(text) as { resourceType?: string };
      } catch {
        parsed = undefined;
      }
      if (parsed && parsed.resourceType !== 'Bundle') {
        // a single resource travels to the gateway inside a transaction with the patient
        body = JSON.stringify({
          ...source,
          entry: [
            source.entry[0],
            {
              fullUrl: 'urn:uuid:4a9f7e7c-0000-4000-8000-000000000001',
              resource: parsed,
              request: { method: 'POST', url: parsed.resourceType },
            },
          ],
        });
        type = 'application/fhir+json';
      }
      const res = await h.request(h.clients.ehr, 'POST', '/fhir', body, { 'content-type': type });
      if (KNOWN_GAPS[file]) {
        expect({ file, status: res.status }).toEqual({ file, status: 200 });
        continue;
      }
      expect({ file, refused: res.status >= 400 && res.status < 500 }).toEqual({ file, refused: true });
      expectOutcome(res, res.status);
      if (file.endsWith('.xml')) expect(res.status).toBe(415);
    }
    await h.gateway.outbox.idle();
    const after = h.gateway.deliveries.counts();
    expect(after.committed + after.queued + after.failed).toBe(
      before.committed + before.queued + before.failed + Object.keys(KNOWN_GAPS).length,
    );
  });
});
