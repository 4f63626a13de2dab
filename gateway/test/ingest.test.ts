import { DeliveryTree, elementLeafHash, type DeliveryPayload, type DeliveryRecord } from '@phr/common';
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
} from '@phr/test-support';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(120_000);

function rootOf(payload: DeliveryPayload): string {
  return new DeliveryTree(payload.segments.map((s) => s.elements.map((e) => elementLeafHash(e.element, e.salt)))).root;
}

describe('gateway ingest over HTTPS with fhir-kit-client', () => {
  let h: GatewayHarness;
  beforeAll(async () => {
    h = await GatewayHarness.create();
  });
  afterAll(async () => {
    await h.close();
  });

  it('accepts every Synthea patient bundle: receipts, one commitment each, standardized rows and sealed mail', async () => {
    const files = syntheaFiles();
    expect(files.length).toBe(32);
    let resources = 0;
    for (const file of files.filter(isPatientBundleFile)) {
      const bundle = loadBundle(file);
      const patient = await h.newPatient(file);
      await h.link(patient, mrnOf(bundle));
      const before = h.ledger.submissions;
      const response = (await h.fhir().transaction({ body: bundle as never })) as unknown as {
        type: string;
        entry: { response: { status: string; location?: string } }[];
      };
      expect(response.type).toBe('transaction-response');
      expect(response.entry).toHaveLength(bundle.entry.length);
      for (const [i, e] of response.entry.entries()) {
        expect(e.response.status).toBe('201 Created');
        expect(e.response.location).toMatch(
          new RegExp(`^${bundle.entry[i]?.resource.resourceType}/[0-9a-f-]{36}/_history/1$`),
        );
      }
      const receipt = readReceipt(response);
      expect(receipt?.merkleRoot).toMatch(/^[0-9a-f]{64}$/);
      expect(receipt?.transactionId).toMatch(/^[0-9a-f]{64}$/);
      expect(['queued', 'committed']).toContain(receipt?.status);
      await h.gateway.outbox.idle();
      expect(h.ledger.submissions).toBe(before + 1); // one transaction per delivery, never per resource

      const deliveryId = receipt!.deliveryId;
      const onLedger = JSON.parse(
        await h.ledger.world.invoke(h.ledger.commitments, 'ReadDelivery', [deliveryId], {
          mspId: 'Hospital1MSP',
          certificatePem: h.clients.gatewayIdentity.certificatePem,
        }),
      ) as DeliveryRecord;
      expect(onLedger).toMatchObject({
        pseudonym: patient.pseudonym,
        merkleRoot: receipt!.merkleRoot,
        segmentCount: bundle.entry.length,
        status: 'waiting',
        sender: 'Hospital1MSP',
      });

      const payload = h.openDelivery(patient, deliveryId);
      expect(payload.segments).toHaveLength(bundle.entry.length);
      expect(rootOf(payload)).toBe(onLedger.merkleRoot);
      const coded = payload.segments.flatMap((s) => s.elements).filter((e) => e.element.kind === 'coded').length;
      expect(h.gateway.standardized.countByDelivery(deliveryId)).toBe(coded);
      expect(onLedger.elementCount).toBe(payload.segments.reduce((n, s) => n + s.elements.length, 0));
      const stored = h.gateway.deliveries.get(deliveryId);
      expect(stored?.status).toBe('committed');
      resources += bundle.entry.length;
    }
    expect(resources).toBeGreaterThan(6000);
  });

  it('answers the two Synthea directory bundles (no patient) with 422', async () => {
    for (const file of syntheaFiles().filter((f) => !isPatientBundleFile(f))) {
      const res = await h.request(h.clients.ehr, 'POST', '/fhir', loadBundle(file), {
        'content-type': 'application/fhir+json',
      });
      expect(res.status).toBe(422);
      expect((res.json as OutcomeBody).resourceType).toBe('OperationOutcome');
      expect((res.json as OutcomeBody).issue[0]?.diagnostics).toMatch(/no Patient resource/);
    }
  });

  it('refuses a transaction with one bad entry in the middle and stores, commits and queues nothing', async () => {
    const bundle = forNewPatient(smallBundle(loadBundle(syntheaFiles().find(isPatientBundleFile)!), 21), 'atomic');
    const patient = await h.newPatient('atomic');
    await h.link(patient, mrnOf(bundle));
    const bad = structuredClone(bundle);
    const k = 10;
    (bad.entry[k]!.resource as Record<string, unknown>).notAnElement = true;
    const counts = h.gateway.deliveries.counts();
    const submissions = h.ledger.submissions;
    const res = await h.request(h.clients.ehr, 'POST', '/fhir', bad, { 'content-type': 'application/fhir+json' });
    expect(res.status).toBe(400);
    const outcome = res.json as OutcomeBody;
    expect(outcome.resourceType).toBe('OperationOutcome');
    expect(
      outcome.issue.some(
        (i) => i.severity === 'error' && i.expression?.some((x) => x.startsWith(`Bundle.entry[${k}].resource`)),
      ),
    ).toBe(true);
    expect(h.gateway.deliveries.counts()).toEqual(counts);
    expect(h.gateway.mailbox.pending(patient.pseudonym, { limit: 10 })).toHaveLength(0);
    expect(h.gateway.standardized.search({ pseudonym: patient.pseudonym, limit: 10 })).toHaveLength(0);
    await h.gateway.outbox.idle();
    expect(h.ledger.submissions).toBe(submissions);

    // the same bundle, fixed, goes through
    const ok = await h.request(h.clients.ehr, 'POST', '/fhir', bundle, { 'content-type': 'application/fhir+json' });
    expect(ok.status).toBe(200);
  });

  it('answers a batch entry by entry: the bad entry fails, the rest become one delivery', async () => {
    const source = forNewPatient(smallBundle(loadBundle(syntheaFiles().filter(isPatientBundleFile)[1]!), 8), 'batch');
    const patient = await h.newPatient('batch');
    await h.link(patient, mrnOf(source));
    const batch = { ...structuredClone(source), type: 'batch' };
    (batch.entry[3]!.resource as Record<string, unknown>).status = 42;
    const res = await h.request(h.clients.ehr, 'POST', '/fhir', batch, { 'content-type': 'application/fhir+json' });
    expect(res.status).toBe(200);
    const body = res.json as { type: string; entry: { response: { status: string; outcome?: OutcomeBody } }[] };
    expect(body.type).toBe('batch-response');
    expect(body.entry.map((e) => e.response.status)).toEqual(
      batch.entry.map((_, i) => (i === 3 ? '400 Bad Request' : '201 Created')),
    );
    expect(body.entry[3]?.response.outcome?.issue[0]?.expression?.[0]).toMatch(/^Bundle\.entry\[3\]\.resource/);
    const receipt = readReceipt(body)!;
    await h.gateway.outbox.idle();
    expect(h.gateway.deliveries.get(receipt.deliveryId)?.segmentCount).toBe(batch.entry.length - 1);
  });

  it('treats a resubmission as the same delivery: same receipt, one commitment, one mail', async () => {
    const bundle = forNewPatient(smallBundle(loadBundle(syntheaFiles().filter(isPatientBundleFile)[2]!), 20), 'retry');
    const patient = await h.newPatient('retry');
    await h.link(patient, mrnOf(bundle));
    const submissions = h.ledger.submissions;
    const first = await h.request(h.clients.ehr, 'POST', '/fhir', bundle, { 'content-type': 'application/fhir+json' });
    const reordered = JSON.parse(JSON.stringify(bundle, Object.keys(bundle).reverse())) as Bundle; // same content, other key order
    const second = await h.request(
      h.clients.ehr,
      'POST',
      '/fhir',
      { ...reordered, entry: bundle.entry },
      { 'content-type': 'application/fhir+json' },
    );
    expect(first.status).toBe(200);
    expect(second.status).toBe(200);
    expect(readReceipt(second.json)?.deliveryId).toBe(readReceipt(first.json)?.deliveryId);
    await h.gateway.outbox.idle();
    expect(h.ledger.submissions).toBe(submissions + 1);
    expect(h.gateway.mailbox.pending(patient.pseudonym, { limit: 10 })).toHaveLength(1);
    expect(
      readReceipt(
        (await h.request(h.clients.ehr, 'POST', '/fhir', bundle, { 'content-type': 'application/fhir+json' })).json,
      )?.status,
    ).toBe('committed');

    // Bundle.identifier names a delivery: reusing it for other content is a conflict
    const withId = { ...bundle, identifier: { system: 'urn:ehr:sends', value: 'send-0001' } };
    expect(
      (await h.request(h.clients.ehr, 'POST', '/fhir', withId, { 'content-type': 'application/fhir+json' })).status,
    ).toBe(200);
    const other = { ...withId, entry: bundle.entry.slice(0, 5) };
    const clash = await h.request(h.clients.ehr, 'POST', '/fhir', other, { 'content-type': 'application/fhir+json' });
    expect(clash.status).toBe(409);
    expect((clash.json as OutcomeBody).issue[0]?.code).toBe('conflict');
  });

  it('answers 422 for a patient the hospital has not linked', async () => {
    const bundle = forNewPatient(
      smallBundle(loadBundle(syntheaFiles().filter(isPatientBundleFile)[3]!), 5),
      'unlinked',
    );
    const res = await h.request(h.clients.ehr, 'POST', '/fhir', bundle, { 'content-type': 'application/fhir+json' });
    expect(res.status).toBe(422);
    expect((res.json as OutcomeBody).issue[0]?.expression?.[0]).toBe('Bundle.entry[0].resource.identifier');
  });
});
