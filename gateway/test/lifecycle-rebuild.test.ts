import type { DeliveryPayload, DeliveryRecord, RebuildAnswer } from '@phr/common';
import { GatewayHarness, type TestPatient } from '@phr/test-support/gateway';
import {
  deliver,
  isOutcome,
  openGatewayDb,
  openMail,
  readPatient,
  restoreOnNewDevice,
  rootOf,
  rotateKeys,
} from './support/lifecycle';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(180_000);

describe('rebuild from the gateway (POST /rebuild/{pseudonym}) over mutual TLS', () => {
  let h: GatewayHarness;
  let patient: TestPatient;
  /** resent, not-kept, expired, not-committed — in delivery order. */
  let ids: string[];
  /** What the patient was first sent, opened with their first key. */
  let original: DeliveryPayload;

  beforeAll(async () => {
    h = await GatewayHarness.create();
    patient = await h.newPatient('rebuild');
    ids = [];
    for (let i = 0; i < 4; i++) ids.push(await deliver(h, patient));
    const mail = h.gateway.mailbox.pending(patient.pseudonym, { limit: 100 });
    expect(mail.map((m) => m.messageId)).toEqual(ids);
    original = openMail(patient, mail[0]!.body!, ids[0]!);
    // The phone took its mail, then was lost.
    for (const m of mail) h.gateway.mailbox.ack(patient.pseudonym, m.messageId);

    // As the file would hold them: one delivery from before the gateway kept any, one past its
    // retention, one the ledger refused.
    const db = openGatewayDb(h);
    try {
      db.prepare('DELETE FROM kept_delivery WHERE delivery_id = ?').run(ids[1]!);
      db.prepare('UPDATE kept_delivery SET kept_until = ? WHERE delivery_id = ?').run(
        '2001-01-01T00:00:00.000Z',
        ids[2]!,
      );
      db.prepare("UPDATE deliveries SET status = 'failed' WHERE delivery_id = ?").run(ids[3]!);
    } finally {
      db.close();
    }
  });
  afterAll(async () => {
    await h.close();
  });

  const rebuild = (p: TestPatient) => h.request(p.identity, 'POST', `/rebuild/${p.pseudonym}`);

  it("re-seals what it kept to the new device's key; the mail opens with it and verifies against the ledger root", async () => {
    const restored = await restoreOnNewDevice(h, patient, 'rebuild-new-phone');
    current = restored;
    const { keyVersion } = await readPatient(h, patient.pseudonym);
    const res = await rebuild(restored);
    expect(res.status).toBe(200);
    const answer = res.json as RebuildAnswer;
    expect(answer.deliveries).toEqual([
      { deliveryId: ids[0], status: 'resent', messageId: `${ids[0]}.rebuild-k${keyVersion}` },
      { deliveryId: ids[1], status: 'not-kept', reason: expect.stringMatching(/did not keep/) },
      { deliveryId: ids[2], status: 'expired', reason: expect.stringMatching(/2001-01-01/) },
      { deliveryId: ids[3], status: 'not-committed', reason: expect.stringMatching(/refused/) },
    ]);

    const mail = h.gateway.mailbox.pending(patient.pseudonym, { limit: 100 });
    expect(mail.map((m) => [m.messageId, m.kind])).toEqual([[`${ids[0]}.rebuild-k${keyVersion}`, 'delivery']]);
    const payload = openMail(restored, mail[0]!.body!, ids[0]!);
    expect(payload).toEqual(original); // exactly what the patient was first sent: elements, salts
    const onLedger = (await h.ledger.readDelivery(ids[0]!)) as DeliveryRecord;
    expect(rootOf(payload)).toBe(onLedger.merkleRoot);
    // the lost phone's key opens nothing
    expect(() => openMail(patient, mail[0]!.body!, ids[0]!)).toThrow(/cannot be decrypted/);
  });

  it('queues nothing twice for the same key, and sends again after a key rotation', async () => {
    const owner = await currentOwner();
    const again = await rebuild(owner);
    expect(again.status).toBe(200);
    expect((again.json as RebuildAnswer).deliveries[0]?.status).toBe('resent');
    expect(h.gateway.mailbox.pending(patient.pseudonym, { limit: 100 })).toHaveLength(1);

    const rotated = await rotateKeys(h, owner);
    current = rotated;
    const { keyVersion } = await readPatient(h, patient.pseudonym);
    const third = await rebuild(rotated);
    expect((third.json as RebuildAnswer).deliveries[0]).toEqual({
      deliveryId: ids[0],
      status: 'resent',
      messageId: `${ids[0]}.rebuild-k${keyVersion}`,
    });
    const mail = h.gateway.mailbox.pending(patient.pseudonym, { limit: 100 });
    expect(mail).toHaveLength(2);
    expect(rootOf(openMail(rotated, mail[1]!.body!, ids[0]!))).toBe(original.merkleRoot);
  });

  it('purges what is past its retention, and still says "expired" for it', async () => {
    expect(h.gateway.lifecycle.kept.purgeExpired()).toBe(1);
    const db = openGatewayDb(h);
    try {
      const row = db.prepare('SELECT body FROM kept_delivery WHERE delivery_id = ?').get(ids[2]!) as { body: unknown };
      expect(row.body).toBeNull();
    } finally {
      db.close();
    }
    const res = await rebuild(await currentOwner());
    expect((res.json as RebuildAnswer).deliveries.map((d) => d.status)).toEqual([
      'resent',
      'not-kept',
      'expired',
      'not-committed',
    ]);
  });

  it('refuses the old device, another patient and other roles (403), and answers 503 when the ledger is away', async () => {
    const other = await h.newPatient('rebuild-other');
    const refused = [
      await rebuild({ ...patient }),
      await h.request(other.identity, 'POST', `/rebuild/${patient.pseudonym}`),
      await h.request(h.clients.ehr, 'POST', `/rebuild/${patient.pseudonym}`),
    ];
    expect(refused.map((r) => r.status)).toEqual([403, 403, 403]);
    expect(refused.every((r) => isOutcome(r.json))).toBe(true);

    h.ledger.available = false;
    try {
      const away = await rebuild(await currentOwner());
      expect(away.status).toBe(503);
      expect(isOutcome(away.json)).toBe(true);
    } finally {
      h.ledger.available = true;
    }
  });

  it('keeps nothing when retention.rebuildDays is 0, and says so', async () => {
    const none = await GatewayHarness.create({ retention: { rebuildDays: 0 } });
    try {
      const p = await none.newPatient('keeps-nothing');
      const id = await deliver(none, p);
      const db = openGatewayDb(none);
      try {
        expect(db.prepare('SELECT COUNT(*) AS n FROM kept_delivery').get()).toEqual({ n: 0 });
        expect(db.prepare('SELECT COUNT(*) AS n FROM patient_key').get()).toEqual({ n: 0 });
      } finally {
        db.close();
      }
      const res = await none.request(p.identity, 'POST', `/rebuild/${p.pseudonym}`);
      expect(res.json).toEqual({
        deliveries: [{ deliveryId: id, status: 'not-kept', reason: expect.any(String) }],
      });
    } finally {
      await none.close();
    }
  });

  /** The device that owns the pseudonym now (the restored one, then its rotated keys). */
  let current: TestPatient | undefined;
  function currentOwner(): Promise<TestPatient> {
    if (!current) throw new Error('the restore test runs first');
    return Promise.resolve(current);
  }
});
