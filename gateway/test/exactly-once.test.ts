/**
 * A retry is not a second delivery. An EHR that resends a bundle — with a new timestamp, a new
 * Bundle.id, re-stamped resource metadata, or as a new bundle that creates its resources
 * conditionally (If-None-Exist) — must not make a second delivery, mail or commitment.
 */
import { JsonNumber } from '@phr/common';
import { readReceipt } from '../src/ingest/bundle-response';
import { GatewayHarness, type OutcomeBody } from '@phr/test-support/gateway';
import {
  forNewPatient,
  isPatientBundleFile,
  loadBundle,
  mrnOf,
  smallBundle,
  syntheaFiles,
  type Bundle,
  type BundleEntry,
} from '@phr/test-support';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(120_000);

let h: GatewayHarness;
beforeAll(async () => {
  h = await GatewayHarness.create();
});
afterAll(async () => {
  await h.close();
});

const post = (bundle: unknown) =>
  h.request(h.clients.ehr, 'POST', '/fhir', bundle, { 'content-type': 'application/fhir+json' });

async function linkedBundle(tag: string, n = 8): Promise<{ bundle: Bundle; pseudonym: string }> {
  const files = syntheaFiles().filter(isPatientBundleFile);
  const bundle = forNewPatient(smallBundle(loadBundle(files[tag.length % files.length]!), n), tag);
  const patient = await h.newPatient(tag);
  await h.link(patient, mrnOf(bundle));
  return { bundle, pseudonym: patient.pseudonym };
}

/** Every resource's meta re-stamped, as a sending server does at each export. */
function restamped(bundle: Bundle, at: string): Bundle {
  const copy = structuredClone(bundle);
  const version = at.replace(/\D/g, '');
  for (const e of copy.entry) e.resource.meta = { ...(e.resource.meta as object), lastUpdated: at, versionId: version };
  return copy;
}

describe('exactly once, without Bundle.identifier', () => {
  it('a retry that changes only transport metadata is the same delivery: one commitment, one mail', async () => {
    const { bundle, pseudonym } = await linkedBundle('transport');
    const submissions = h.ledger.submissions;
    const first = await post({ ...bundle, id: 'send-1', timestamp: '2026-12-01T10:00:00Z' });
    expect(first.text).toContain('"resourceType":"Bundle"');
    expect(first.status).toBe(200);
    const retries = [
      { ...bundle, id: 'send-2', timestamp: '2026-12-01T10:05:00Z' },
      { ...bundle, meta: { lastUpdated: '2026-12-01T10:06:00Z' } },
      restamped({ ...bundle, timestamp: '2026-12-01T10:07:00Z' } as Bundle, '2026-12-01T10:07:00Z'),
    ];
    for (const retry of retries) {
      const again = await post(retry);
      expect(again.text).toContain('"resourceType":"Bundle"');
      expect(again.status).toBe(200);
      expect(readReceipt(again.json)?.deliveryId).toBe(readReceipt(first.json)?.deliveryId);
    }
    await h.gateway.outbox.idle();
    expect(h.ledger.submissions).toBe(submissions + 1);
    expect(h.gateway.mailbox.pending(pseudonym, { limit: 10 })).toHaveLength(1);
  });

  it('a value changed in its precision only (7.10 for 7.1) is other content: a second delivery', async () => {
    const { bundle } = await linkedBundle('precision', 3);
    const obs = (value: unknown) => ({
      ...bundle,
      entry: [
        ...bundle.entry,
        {
          fullUrl: 'urn:uuid:7a1e0000-0000-4000-8000-000000000001',
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { coding: [{ system: 'http://loinc.org', code: '2345-7' }] },
            subject: { reference: bundle.entry.find((e) => e.resource.resourceType === 'Patient')?.fullUrl },
            valueQuantity: { value, unit: 'mg/dL' },
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    });
    const a = await post(obs(7.1));
    const b = await post(obs(new JsonNumber('7.10')));
    expect(a.status).toBe(200);
    expect(b.status).toBe(200);
    expect(readReceipt(b.json)?.deliveryId).not.toBe(readReceipt(a.json)?.deliveryId);
  });
});

describe('conditional create (If-None-Exist)', () => {
  /** The bundle as a later export would send it: re-stamped, each resource created if none has its identifier. */
  function conditional(bundle: Bundle, export_: string): Bundle {
    const copy = restamped(bundle, export_);
    copy.entry.forEach((e) => {
      const ids = e.resource.identifier as { system?: string; value?: string }[] | undefined;
      const id = ids?.find((x) => x.system && x.value) ?? { system: 'urn:test:res', value: `${String(e.resource.id)}` };
      if (!ids) e.resource.identifier = [id];
      e.request = {
        method: 'POST',
        url: e.resource.resourceType,
        ifNoneExist: `identifier=${encodeURIComponent(`${id.system}|${id.value}`)}`,
      } as BundleEntry['request'];
    });
    return copy;
  }

  it('creates once: a later export of the same resources creates nothing and answers 200 with their locations', async () => {
    const { bundle, pseudonym } = await linkedBundle('ifnoneexist');
    const submissions = h.ledger.submissions;
    const first = await post(conditional(bundle, '2026-12-02T08:00:00Z'));
    expect(first.text).toContain('"resourceType":"Bundle"');
    expect(first.status).toBe(200);
    const created = (first.json as { entry: { response: { status: string; location?: string } }[] }).entry.map(
      (e) => e.response,
    );
    expect(created.every((r) => r.status === '201 Created')).toBe(true);

    // Not the same content (another order of entries): the conditional creates decide.
    const later = conditional(bundle, '2026-12-02T09:30:00Z');
    const second = await post({ ...later, entry: [...later.entry].reverse() });
    expect(second.status).toBe(200);
    const answered = (second.json as { entry: { response: { status: string; location?: string } }[] }).entry.map(
      (e) => e.response,
    );
    expect(answered.map((r) => r.status)).toEqual(created.map(() => '200 OK'));
    expect(answered.map((r) => r.location).reverse()).toEqual(created.map((r) => r.location));
    expect(readReceipt(second.json)?.deliveryId).toBe(readReceipt(first.json)?.deliveryId);
    await h.gateway.outbox.idle();
    expect(h.ledger.submissions).toBe(submissions + 1);
    expect(h.gateway.mailbox.pending(pseudonym, { limit: 10 })).toHaveLength(1);
  });

  it('delivers only what is new when an export adds a resource', async () => {
    const { bundle } = await linkedBundle('ifnoneexist-more', 6);
    const base = { ...bundle, entry: bundle.entry.slice(0, 5) };
    const first = await post(conditional(base, '2026-12-03T08:00:00Z'));
    const more = await post(conditional(bundle, '2026-12-03T09:00:00Z'));
    expect(first.status).toBe(200);
    expect(more.status).toBe(200);
    const statuses = (more.json as { entry: { response: { status: string } }[] }).entry.map((e) => e.response.status);
    expect(statuses).toEqual(['200 OK', '200 OK', '200 OK', '200 OK', '200 OK', '201 Created']);
    const receipt = readReceipt(more.json);
    expect(receipt?.deliveryId).not.toBe(readReceipt(first.json)?.deliveryId);
    expect(receipt?.segmentCount).toBe(1);
  });

  it('refuses the forms it does not support, naming request.ifNoneExist', async () => {
    const { bundle } = await linkedBundle('ifnoneexist-bad', 3);
    for (const criteria of ['name=smith', 'identifier=a&birthdate=2000-01-01', 'identifier=sys|', '']) {
      const b = structuredClone(bundle);
      const entry = b.entry[1]!;
      entry.request = { method: 'POST', url: entry.resource.resourceType, ifNoneExist: criteria } as never;
      const res = await post(b);
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(res.status).toBeLessThan(500);
      const issues = (res.json as OutcomeBody).issue;
      expect(issues.some((i) => i.expression?.some((x) => x.endsWith('request.ifNoneExist')))).toBe(true);
    }
  });
});
