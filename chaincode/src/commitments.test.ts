import {
  deliveriesArgument,
  MAX_DELIVERIES_PER_TRANSACTION,
  type DeliveryHistoryEntry,
  type DeliveryRecord,
  type Page,
} from '@phr/common';
import { makeWorld, PSEUDONYM_A, PSEUDONYM_B, ROOT, withPatients, type World } from './testing/world';

const record = (id: string, pseudonym = PSEUDONYM_A, root = ROOT) => [
  id,
  pseudonym,
  root,
  20,
  3,
  '["vital-signs","laboratory","vital-signs"]',
];

describe('Commitments', () => {
  let w: World;
  beforeEach(async () => {
    w = await withPatients(await makeWorld());
  });

  it('records a delivery with the sender taken from the caller and status waiting', async () => {
    const rec = await w.ledger.call<DeliveryRecord>(
      w.commitments,
      'RecordDelivery',
      record('delivery-0001'),
      w.id.h1Gateway,
    );
    expect(rec).toMatchObject({
      deliveryId: 'delivery-0001',
      sender: 'Hospital1MSP',
      status: 'waiting',
      merkleRoot: ROOT,
      elementCount: 20,
      segmentCount: 3,
      categories: ['laboratory', 'vital-signs'],
      recordedAt: '2026-06-01T00:00:02.123Z', // two registrations ran first,
    });
    expect(w.ledger.events.at(-1)?.name).toBe('DeliveryRecorded');
    const read = await w.ledger.call<DeliveryRecord>(
      w.commitments,
      'ReadDelivery',
      ['delivery-0001'],
      w.id.h2Clinician,
    );
    expect(read).toEqual(rec);
  });

  it('only hospital gateways record, and a patient cannot pose as one', async () => {
    await expect(
      w.ledger.invoke(w.commitments, 'RecordDelivery', record('delivery-0001'), w.id.h2Clinician),
    ).rejects.toThrow(/FORBIDDEN/);
    await expect(
      w.ledger.invoke(w.commitments, 'RecordDelivery', record('delivery-0001'), w.id.patientA),
    ).rejects.toThrow(/FORBIDDEN/);
    await expect(
      w.ledger.invoke(w.commitments, 'RecordDelivery', record('delivery-0001'), w.id.patientPosingAsGateway),
    ).rejects.toThrow(/may only act as patients/);
  });

  it('is idempotent for a retried commitment and refuses a forged rewrite by another sender', async () => {
    const first = await w.ledger.invoke(w.commitments, 'RecordDelivery', record('delivery-0001'), w.id.h1Gateway);
    expect(await w.ledger.invoke(w.commitments, 'RecordDelivery', record('delivery-0001'), w.id.h1Gateway)).toBe(first);
    await expect(
      w.ledger.invoke(w.commitments, 'RecordDelivery', record('delivery-0001'), w.id.h2Gateway),
    ).rejects.toThrow(/CONFLICT/);
    await expect(
      w.ledger.invoke(
        w.commitments,
        'RecordDelivery',
        record('delivery-0001', PSEUDONYM_A, 'cd'.repeat(32)),
        w.id.h1Gateway,
      ),
    ).rejects.toThrow(/CONFLICT/);
  });

  describe('RecordDeliveries', () => {
    const entry = (id: string, pseudonym = PSEUDONYM_A, root = ROOT) => ({
      deliveryId: id,
      pseudonym,
      merkleRoot: root,
      elementCount: 20,
      segmentCount: 3,
      categories: ['vital-signs', 'laboratory'],
    });

    it('records several deliveries in one transaction with one event, as RecordDelivery would each', async () => {
      const batch = [entry('delivery-0001'), entry('delivery-0002', PSEUDONYM_B), entry('delivery-0003')];
      const events = w.ledger.events.length;
      const records = await w.ledger.call<DeliveryRecord[]>(
        w.commitments,
        'RecordDeliveries',
        [deliveriesArgument(batch)],
        w.id.h1Gateway,
      );
      expect(records.map((r) => [r.deliveryId, r.pseudonym, r.sender, r.status])).toEqual([
        ['delivery-0001', PSEUDONYM_A, 'Hospital1MSP', 'waiting'],
        ['delivery-0002', PSEUDONYM_B, 'Hospital1MSP', 'waiting'],
        ['delivery-0003', PSEUDONYM_A, 'Hospital1MSP', 'waiting'],
      ]);
      expect(w.ledger.events.slice(events)).toEqual([
        {
          name: 'DeliveriesRecorded',
          payload: records.map((r) => ({
            deliveryId: r.deliveryId,
            pseudonym: r.pseudonym,
            sender: r.sender,
            merkleRoot: r.merkleRoot,
            status: 'waiting',
          })),
        },
      ]);
      // The same records one at a time: the batch wrote what RecordDelivery writes.
      const single = await w.ledger.call<DeliveryRecord>(
        w.commitments,
        'ReadDelivery',
        ['delivery-0002'],
        w.id.h2Clinician,
      );
      expect(single).toEqual(records[1]);
      const listed = await w.ledger.call<Page<DeliveryRecord>>(
        w.commitments,
        'ListDeliveries',
        [PSEUDONYM_A, 10, ''],
        w.id.h1Gateway,
      );
      expect(listed.records.map((r) => r.deliveryId)).toEqual(['delivery-0001', 'delivery-0003']);
    });

    it('answers a retried batch with the stored records and no event, and a retried single entry too', async () => {
      const batch = deliveriesArgument([entry('delivery-0001'), entry('delivery-0002')]);
      const first = await w.ledger.invoke(w.commitments, 'RecordDeliveries', [batch], w.id.h1Gateway);
      const events = w.ledger.events.length;
      expect(await w.ledger.invoke(w.commitments, 'RecordDeliveries', [batch], w.id.h1Gateway)).toBe(first);
      expect(w.ledger.events.length).toBe(events);
      // A batch that split after a refusal sends its entries alone: each answers its stored record.
      const alone = await w.ledger.call<DeliveryRecord>(
        w.commitments,
        'RecordDelivery',
        record('delivery-0002'),
        w.id.h1Gateway,
      );
      expect(alone).toEqual((JSON.parse(first) as DeliveryRecord[])[1]);
      expect(w.ledger.events.length).toBe(events);
      // Only the new entry of a mixed batch is in the event.
      await w.ledger.invoke(
        w.commitments,
        'RecordDeliveries',
        [deliveriesArgument([entry('delivery-0001'), entry('delivery-0004')])],
        w.id.h1Gateway,
      );
      expect(w.ledger.events.at(-1)).toMatchObject({
        name: 'DeliveriesRecorded',
        payload: [{ deliveryId: 'delivery-0004' }],
      });
    });

    it('is all or nothing: one refused entry records none of the batch', async () => {
      const refusals: [unknown[], RegExp][] = [
        [[entry('delivery-0001'), entry('delivery-0002', 'ptzzzzzzzzzzzzzzzzzzzzzzzzzz')], /NOT_FOUND/],
        [[entry('delivery-0001'), { ...entry('delivery-0002'), elementCount: 0 }], /deliveries\[1\]\.elementCount/],
        [[entry('delivery-0001'), entry('delivery-0001')], /must not repeat a deliveryId/],
      ];
      for (const [batch, message] of refusals) {
        await expect(
          w.ledger.invoke(w.commitments, 'RecordDeliveries', [JSON.stringify(batch)], w.id.h1Gateway),
        ).rejects.toThrow(message);
      }
      await w.ledger.invoke(w.commitments, 'RecordDelivery', record('delivery-0009'), w.id.h2Gateway);
      await expect(
        w.ledger.invoke(
          w.commitments,
          'RecordDeliveries',
          [deliveriesArgument([entry('delivery-0001'), entry('delivery-0009')])],
          w.id.h1Gateway,
        ),
      ).rejects.toThrow(/CONFLICT: delivery delivery-0009/);
      await w.ledger.invoke(w.registry, 'Erase', [PSEUDONYM_B], w.id.patientB);
      await expect(
        w.ledger.invoke(
          w.commitments,
          'RecordDeliveries',
          [deliveriesArgument([entry('delivery-0001'), entry('delivery-0002', PSEUDONYM_B)])],
          w.id.h1Gateway,
        ),
      ).rejects.toThrow(/INVALID_STATE/);
      await expect(w.ledger.invoke(w.commitments, 'ReadDelivery', ['delivery-0001'], w.id.h1Gateway)).rejects.toThrow(
        /NOT_FOUND/,
      );
    });

    it('takes 1 to the maximum number of entries, each a plain object, from gateways only', async () => {
      const many = Array.from({ length: MAX_DELIVERIES_PER_TRANSACTION + 1 }, (_, i) =>
        entry(`delivery-${String(i).padStart(4, '0')}`),
      );
      const bad: [string, RegExp][] = [
        ['[]', /1 to 100 entries/],
        [deliveriesArgument(many), /1 to 100 entries/],
        ['{"deliveryId":"delivery-0001"}', /1 to 100 entries/],
        ['[null]', /deliveries\[0\]\.deliveryId must be a string/],
        ['[[]]', /deliveries\[0\]\.deliveryId must be a string/],
        ['{', /not valid JSON/],
      ];
      for (const [arg, message] of bad) {
        await expect(w.ledger.invoke(w.commitments, 'RecordDeliveries', [arg], w.id.h1Gateway)).rejects.toThrow(
          message,
        );
      }
      const full = await w.ledger.call<DeliveryRecord[]>(
        w.commitments,
        'RecordDeliveries',
        [deliveriesArgument(many.slice(1))],
        w.id.h1Gateway,
      );
      expect(full).toHaveLength(MAX_DELIVERIES_PER_TRANSACTION);
      await expect(
        w.ledger.invoke(
          w.commitments,
          'RecordDeliveries',
          [deliveriesArgument([entry('delivery-a001')])],
          w.id.patientA,
        ),
      ).rejects.toThrow(/FORBIDDEN/);
    });
  });

  it('validates the commitment', async () => {
    const bad: [unknown[], RegExp][] = [
      [['x', PSEUDONYM_A, ROOT, 1, 1, '[]'], /deliveryId/],
      [['delivery-0001', PSEUDONYM_A, 'ABC', 1, 1, '[]'], /merkleRoot/],
      [['delivery-0001', PSEUDONYM_A, ROOT, 0, 1, '[]'], /elementCount/],
      [['delivery-0001', PSEUDONYM_A, ROOT, 2, 3, '[]'], /segmentCount/],
      [['delivery-0001', PSEUDONYM_A, ROOT, 2, 1, '{'], /not valid JSON/],
      [['delivery-0001', PSEUDONYM_A, ROOT, 2, 1, '["Blood Glucose"]'], /category/],
      [['delivery-0001', 'ptzzzzzzzzzzzzzzzzzzzzzzzzzz', ROOT, 2, 1, '[]'], /NOT_FOUND/],
    ];
    for (const [args, message] of bad) {
      await expect(w.ledger.invoke(w.commitments, 'RecordDelivery', args, w.id.h1Gateway)).rejects.toThrow(message);
    }
  });

  it('moves waiting → complete → backup only for the patient, with history', async () => {
    await w.ledger.invoke(w.commitments, 'RecordDelivery', record('delivery-0001'), w.id.h1Gateway);
    await expect(
      w.ledger.invoke(w.commitments, 'AcknowledgeDelivery', ['delivery-0001'], w.id.patientB),
    ).rejects.toThrow(/only the delivery's patient/);
    await expect(
      w.ledger.invoke(w.commitments, 'AcknowledgeDelivery', ['delivery-0001'], w.id.h1Gateway),
    ).rejects.toThrow(/FORBIDDEN/);
    await expect(w.ledger.invoke(w.commitments, 'MarkBackedUp', ['delivery-0001'], w.id.patientA)).rejects.toThrow(
      /INVALID_STATE: .*waiting/,
    );

    const done = await w.ledger.call<DeliveryRecord>(
      w.commitments,
      'AcknowledgeDelivery',
      ['delivery-0001'],
      w.id.patientA,
    );
    expect(done.status).toBe('complete');
    const again = await w.ledger.call<DeliveryRecord>(
      w.commitments,
      'AcknowledgeDelivery',
      ['delivery-0001'],
      w.id.patientA,
    );
    expect(again).toEqual(done);
    await expect(
      w.ledger.invoke(w.commitments, 'RejectDelivery', ['delivery-0001', 'hash-mismatch'], w.id.patientA),
    ).rejects.toThrow(/INVALID_STATE/);
    const backedUp = await w.ledger.call<DeliveryRecord>(
      w.commitments,
      'MarkBackedUp',
      ['delivery-0001'],
      w.id.patientA,
    );
    expect(backedUp.status).toBe('backup');

    const history = await w.ledger.call<DeliveryHistoryEntry[]>(
      w.commitments,
      'DeliveryHistory',
      ['delivery-0001'],
      w.id.h2Gateway,
    );
    expect(history.map((h) => h.status)).toEqual(['backup', 'complete', 'waiting']);
  });

  it('lets the patient reject a delivery that failed verification', async () => {
    await w.ledger.invoke(w.commitments, 'RecordDelivery', record('delivery-0001'), w.id.h1Gateway);
    await expect(
      w.ledger.invoke(w.commitments, 'RejectDelivery', ['delivery-0001', 'because'], w.id.patientA),
    ).rejects.toThrow(/reason/);
    const rec = await w.ledger.call<DeliveryRecord>(
      w.commitments,
      'RejectDelivery',
      ['delivery-0001', 'root-mismatch'],
      w.id.patientA,
    );
    expect(rec).toMatchObject({ status: 'rejected', rejectionReason: 'root-mismatch' });
  });

  it("lists a patient's deliveries in pages; patients see only their own", async () => {
    for (let i = 1; i <= 5; i++) {
      await w.ledger.invoke(w.commitments, 'RecordDelivery', record(`delivery-000${i}`), w.id.h1Gateway);
    }
    await w.ledger.invoke(w.commitments, 'RecordDelivery', record('delivery-b001', PSEUDONYM_B), w.id.h2Gateway);
    const p1 = await w.ledger.call<Page<DeliveryRecord>>(
      w.commitments,
      'ListDeliveries',
      [PSEUDONYM_A, 2, ''],
      w.id.patientA,
    );
    expect(p1.records.map((r) => r.deliveryId)).toEqual(['delivery-0001', 'delivery-0002']);
    const p3 = await w.ledger.call<Page<DeliveryRecord>>(
      w.commitments,
      'ListDeliveries',
      [PSEUDONYM_A, 3, p1.bookmark],
      w.id.h1Gateway,
    );
    expect(p3.records.map((r) => r.deliveryId)).toEqual(['delivery-0003', 'delivery-0004', 'delivery-0005']);
    expect(p3.bookmark).toBe('');
    await expect(w.ledger.invoke(w.commitments, 'ListDeliveries', [PSEUDONYM_A, 2, ''], w.id.patientB)).rejects.toThrow(
      /only list their own/,
    );
    await expect(
      w.ledger.invoke(w.commitments, 'ListDeliveries', [PSEUDONYM_A, 1000, ''], w.id.patientA),
    ).rejects.toThrow(/pageSize/);
  });
});
