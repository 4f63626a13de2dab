/**
 * Deliveries share ledger transactions under load (Commitments.RecordDeliveries): each receipt
 * names its transaction at once, and the real chaincode records every delivery of it.
 */
import type { DeliveryRecord } from '@phr/common';
import { readReceipt } from '../src/ingest/bundle-response';
import { GatewayHarness } from '@phr/test-support/gateway';
import { forNewPatient, isPatientBundleFile, loadBundle, mrnOf, smallBundle, syntheaFiles } from '@phr/test-support';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(90_000);

let h: GatewayHarness;
beforeAll(async () => {
  // One transaction in flight makes the next collect; a long window (5 s, the most a config
  // allows): the collecting transaction closes when the one in flight ends.
  h = await GatewayHarness.create({ outbox: { batchSize: 50, eagerTransactions: 1, batchWindowMs: 5_000 } });
});
afterAll(async () => {
  await h.close();
});

const post = (b: unknown) => h.request(h.clients.ehr, 'POST', '/fhir', b, { 'content-type': 'application/fhir+json' });

it('records the deliveries stored while a transaction is in flight in one transaction, as their receipts say', async () => {
  const sources = syntheaFiles().filter(isPatientBundleFile);
  const tags = ['shared-a', 'shared-b', 'shared-c'];
  const bundles = [];
  for (const tag of tags) {
    const patient = await h.newPatient(tag);
    for (let i = 0; i < 2; i += 1) {
      const bundle = forNewPatient(smallBundle(loadBundle(sources[tags.indexOf(tag) + 1]!), 4 + i), tag);
      if (i === 0) await h.link(patient, mrnOf(bundle));
      bundles.push(bundle);
    }
  }
  await h.gateway.outbox.idle();
  const sizes = h.ledger.transactionSizes.length;
  const realSubmit = h.ledger.submit.bind(h.ledger);
  let release = () => {};
  const gate = new Promise<void>((r) => (release = r));
  h.ledger.submit = async (p, c) => {
    await gate;
    return realSubmit(p, c);
  };
  try {
    const [first, ...rest] = bundles;
    const lone = readReceipt((await post(first)).json)!;
    const receipts = (await Promise.all(rest.map(post))).map((r) => readReceipt(r.json)!);
    expect(new Set(receipts.map((r) => r.transactionId))).toEqual(new Set([receipts[0]!.transactionId]));
    expect(receipts[0]!.transactionId).not.toBe(lone.transactionId);
    release();
    await h.gateway.outbox.idle();
    expect(h.ledger.transactionSizes.slice(sizes)).toEqual([1, rest.length]);
    for (const r of [lone, ...receipts]) {
      const answer = await h.request(h.clients.ehr, 'GET', `/deliveries/${r.deliveryId}`);
      expect(answer.json).toMatchObject({ status: 'committed', transactionId: r.transactionId });
      const onLedger = (await h.ledger.readDelivery(r.deliveryId)) as DeliveryRecord;
      expect(onLedger).toMatchObject({ merkleRoot: r.merkleRoot, elementCount: r.elementCount, status: 'waiting' });
    }
    // One event for the shared transaction, naming each of its deliveries.
    const event = h.ledger.world.events.filter((e) => e.name === 'DeliveriesRecorded').at(-1);
    expect((event?.payload as { deliveryId: string }[]).map((e) => e.deliveryId)).toEqual(
      receipts.map((r) => r.deliveryId).sort((a, b) => seq(a) - seq(b)),
    );
  } finally {
    release();
    h.ledger.submit = realSubmit;
  }
});

/** Deliveries are recorded in the order they were stored (the outbox reads them by sequence). */
function seq(deliveryId: string): number {
  return h.gateway.deliveries.get(deliveryId)?.seq ?? -1;
}
