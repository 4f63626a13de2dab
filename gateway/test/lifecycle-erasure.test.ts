import { hkdfSync, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  PATIENTS_MSP_ID,
  verifyErasureReceipt,
  type ErasureAnswer,
  type RebuildAnswer,
  type SealedEnvelope,
} from '@phr/common';
import { forNewPatient, isPatientBundleFile, loadBundle, mrnOf, smallBundle, syntheaFiles } from '@phr/test-support';
import { GatewayHarness, type TestPatient } from '@phr/test-support/gateway';
import { decryptRow, rowAad } from '../src/lifecycle/patient-cipher';
import { deliver, isOutcome, openGatewayDb } from './support/lifecycle';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(180_000);

const OCTETS = { 'content-type': 'application/octet-stream' };

/** Everything of one patient the gateway's file holds, read directly from it. */
interface Snapshot {
  wrappedKey: Buffer;
  backups: Buffer[];
  kept: Buffer[];
  /** The ciphertext of each pending mail (base64, as the file holds it). */
  mail: string[];
}

describe('erasure at the gateway (POST /erasure/{pseudonym}) over mutual TLS', () => {
  let h: GatewayHarness;
  let erin: TestPatient;
  let frank: TestPatient;
  let before: Snapshot;
  let answer: ErasureAnswer;
  const backupBytes = [randomBytes(4000), randomBytes(4000)];

  beforeAll(async () => {
    h = await GatewayHarness.create();
    erin = await h.newPatient('erin');
    frank = await h.newPatient('frank');
    for (const p of [erin, frank]) {
      await deliver(h, p);
      await deliver(h, p);
      for (const bytes of backupBytes) {
        const put = await h.request(p.identity, 'PUT', `/backup/${p.pseudonym}`, bytes, OCTETS);
        expect(put.status).toBe(201);
      }
      const wake = await h.request(p.identity, 'PUT', `/mailbox/${p.pseudonym}/wakeup`, { channel: 'local' });
      expect(wake.status).toBe(200);
      const code = await h.request(p.identity, 'POST', '/identity/link-codes', { pseudonym: p.pseudonym });
      expect(code.status).toBe(201);
    }
    before = snapshot(erin);
    expect(before.backups).toHaveLength(2);
    expect(before.kept).toHaveLength(2);
    expect(before.mail).toHaveLength(2);
  });
  afterAll(async () => {
    await h.close();
  });

  const erase = (caller: TestPatient['identity'], p: TestPatient) =>
    h.request(caller, 'POST', `/erasure/${p.pseudonym}`);

  it('refuses another patient and other roles (403), and erases nothing', async () => {
    const refused = [await erase(frank.identity, erin), await erase(h.clients.admin, erin)];
    expect(refused.map((r) => r.status)).toEqual([403, 403]);
    expect(refused.every((r) => isOutcome(r.json))).toBe(true);
    expect(snapshot(erin)).toEqual(before);
  });

  it('answers a receipt signed by the gateway identity, saying what it destroyed and what it keeps', async () => {
    const res = await erase(erin.identity, erin);
    expect(res.status).toBe(200);
    answer = res.json as ErasureAnswer;
    const { receipt } = answer;
    expect(verifyErasureReceipt(receipt, answer.signature, answer.certificatePem)).toBe(true);
    expect(answer.certificatePem).toBe(h.clients.gatewayIdentity.certificatePem);
    expect(verifyErasureReceipt({ ...receipt, kept: [] }, answer.signature, answer.certificatePem)).toBe(false);
    expect(receipt).toMatchObject({ pseudonym: erin.pseudonym, hospital: 'Hospital1MSP' });
    const destroyed = Object.fromEntries(receipt.destroyed.map((d) => [d.what, d.count]));
    expect(destroyed).toEqual({
      'patient-key': 1,
      'backup-versions': 2,
      'kept-deliveries': 2,
      'pending-mail': 2,
      'wakeup-registrations': 1,
      'link-codes': 3, // two used to link the MRNs, one not used
      'mrn-links': 2,
      'pull-requests': 0,
      'recovery-requests': 0,
      'relayed-mail-records': 0,
    });
    const elements = countRows('std_element', erin);
    expect(elements).toBeGreaterThan(0);
    expect(receipt.kept).toEqual([
      { what: 'standardized-elements', count: elements, basis: 'hospital record retention law' },
      { what: 'resource-identifier-hashes', count: expect.any(Number), basis: 'hospital record retention law' },
      { what: 'delivery-records', count: 2, basis: expect.stringMatching(/no content/) },
    ]);
    expect(answer.accessEvent).toEqual({ eventId: `erasure-${receipt.receiptId}`, recorded: true });
  });

  it('records an erasure access event on the ledger, referencing the receipt', async () => {
    const events = await h.ledger.listAccessEvents(erin.pseudonym, '', '');
    const erasure = events.filter((e) => e.action === 'erasure');
    expect(erasure).toHaveLength(1);
    expect(erasure[0]).toMatchObject({
      eventId: answer.accessEvent.eventId,
      outcome: 'success',
      references: [answer.receipt.receiptId],
      actor: { mspId: 'Hospital1MSP', role: 'hospital-gateway' },
    });
  });

  it('leaves no row of the patient in the stores it erased, and the other patient untouched', () => {
    const db = openGatewayDb(h);
    try {
      const count = (table: string, column = 'pseudonym', p = erin) =>
        (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE ${column} = ?`).get(p.pseudonym) as { n: number }).n;
      const tables = [
        'patient_key',
        'backup_version',
        'kept_delivery',
        'mailbox_message',
        'wakeup_channel',
        'link_codes',
        'patient_links',
      ];
      expect(tables.map((t) => [t, count(t)])).toEqual(tables.map((t) => [t, 0]));
      expect(tables.map((t) => [t, count(t, 'pseudonym', frank) > 0])).toEqual(tables.map((t) => [t, true]));
      expect(count('std_element')).toBeGreaterThan(0); // kept by the retention policy, as the receipt says
    } finally {
      db.close();
    }
    expect(snapshot(frank).backups).toHaveLength(2);
  });

  it('leaves no copy in the database file or its log, and copies taken before open with nothing the gateway has', () => {
    const dir = h.config.dataDir;
    const files = ['gateway.db', 'gateway.db-wal'].map((f) => {
      try {
        return readFileSync(join(dir, f));
      } catch {
        return Buffer.alloc(0);
      }
    });
    const anywhere = (needle: Buffer) => files.some((f) => f.includes(needle));
    // Sanity: the search finds what is still there (frank's copies).
    expect(anywhere(snapshot(frank).wrappedKey)).toBe(true);
    expect(anywhere(before.wrappedKey)).toBe(false);
    for (const blob of [...before.backups, ...before.kept]) expect(anywhere(blob.subarray(0, 48))).toBe(false);
    // Not even stale copies SQLite left in free space when it moved rows (secure_delete).
    for (const ciphertext of before.mail) expect(anywhere(Buffer.from(ciphertext.slice(0, 64)))).toBe(false);

    // The copies taken before open with erin's key, which only the destroyed row held...
    const secret = readFileSync(join(dir, 'gateway.key'));
    const wrapKey = Buffer.from(hkdfSync('sha256', secret, 'phr-gateway patient keys v1', 'patient-key-wrap', 32));
    const erinKey = decryptRow(wrapKey, rowAad('patient_key', erin.pseudonym), before.wrappedKey);
    expect(decryptRow(erinKey, rowAad('backup_version', erin.pseudonym, 2), before.backups[1]!)).toEqual(
      backupBytes[1],
    );
    // ...and with no key the gateway still holds.
    const db = openGatewayDb(h);
    try {
      const rows = db.prepare('SELECT pseudonym, wrapped_key FROM patient_key').all() as {
        pseudonym: string;
        wrapped_key: Uint8Array;
      }[];
      expect(rows.length).toBeGreaterThan(0);
      for (const row of rows) {
        const key = decryptRow(wrapKey, rowAad('patient_key', row.pseudonym), row.wrapped_key);
        expect(() => decryptRow(key, rowAad('backup_version', erin.pseudonym, 2), before.backups[1]!)).toThrow();
        expect(() => decryptRow(key, rowAad('backup_version', row.pseudonym, 2), before.backups[1]!)).toThrow();
      }
    } finally {
      db.close();
    }
    expect(h.gateway.lifecycle.keys.existing(erin.pseudonym)).toBeUndefined();
  });

  it('answers the same receipt again, also after the patient erased themselves on the ledger', async () => {
    const again = await erase(erin.identity, erin);
    expect([again.status, again.json]).toEqual([200, answer]);
    await h.ledger.world.call(h.ledger.registry, 'Erase', [erin.pseudonym], {
      mspId: PATIENTS_MSP_ID,
      certificatePem: erin.identity.certificatePem,
    });
    const third = await erase(erin.identity, erin);
    expect([third.status, third.json]).toEqual([200, answer]);
    const events = await h.ledger.listAccessEvents(erin.pseudonym, '', '');
    expect(events.filter((e) => e.action === 'erasure')).toHaveLength(1);
  });

  it('keeps nothing new afterwards: backup and rebuild answer 410, a delivery 422', async () => {
    const refused = [
      await h.request(erin.identity, 'PUT', `/backup/${erin.pseudonym}`, randomBytes(100), OCTETS),
      await h.request(erin.identity, 'GET', `/backup/${erin.pseudonym}`),
      await h.request(erin.identity, 'GET', `/backup/${erin.pseudonym}/versions`),
      await h.request(erin.identity, 'POST', `/rebuild/${erin.pseudonym}`),
    ];
    expect(refused.map((r) => r.status)).toEqual([410, 410, 410, 410]);
    expect(refused.every((r) => isOutcome(r.json))).toBe(true);

    // Even relinked (the MRN links are gone), the gateway takes nothing more for the patient.
    const bundle = forNewPatient(smallBundle(loadBundle(syntheaFiles().filter(isPatientBundleFile)[3]!), 4), 'erased');
    await h.link(erin, mrnOf(bundle));
    const res = await h.request(h.clients.ehr, 'POST', '/fhir', bundle, { 'content-type': 'application/fhir+json' });
    expect(res.status).toBe(422);
    expect(isOutcome(res.json)).toBe(true);
    expect(h.gateway.lifecycle.keys.existing(erin.pseudonym)).toBeUndefined();
    const frankStill = await h.request(frank.identity, 'POST', `/rebuild/${frank.pseudonym}`);
    expect((frankStill.json as RebuildAnswer).deliveries.map((d) => d.status)).toEqual(['resent', 'resent']);
  });

  it('erases while the ledger is away, and records the access event once it is back', async () => {
    const gina = await h.newPatient('gina');
    await deliver(h, gina); // the directory now has gina's record
    h.ledger.available = false;
    let first: ErasureAnswer;
    try {
      const res = await erase(gina.identity, gina);
      expect(res.status).toBe(200);
      first = res.json as ErasureAnswer;
      expect(first.accessEvent.recorded).toBe(false);
      expect(verifyErasureReceipt(first.receipt, first.signature, first.certificatePem)).toBe(true);
      expect(h.gateway.lifecycle.keys.existing(gina.pseudonym)).toBeUndefined();
    } finally {
      h.ledger.available = true;
    }
    // the background retry (outbox backoff: 50..200 ms in the harness)
    const deadline = Date.now() + 10_000;
    let events = await h.ledger.listAccessEvents(gina.pseudonym, '', '');
    while (!events.some((e) => e.action === 'erasure') && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 50));
      events = await h.ledger.listAccessEvents(gina.pseudonym, '', '');
    }
    expect(events.filter((e) => e.action === 'erasure').map((e) => e.references)).toEqual([[first.receipt.receiptId]]);
    const again = (await erase(gina.identity, gina)).json as ErasureAnswer;
    expect(again).toEqual({ ...first, accessEvent: { ...first.accessEvent, recorded: true } });
  });

  function countRows(table: string, p: TestPatient): number {
    const db = openGatewayDb(h);
    try {
      return (db.prepare(`SELECT COUNT(*) AS n FROM ${table} WHERE pseudonym = ?`).get(p.pseudonym) as { n: number }).n;
    } finally {
      db.close();
    }
  }

  function snapshot(p: TestPatient): Snapshot {
    const db = openGatewayDb(h);
    try {
      const key = db.prepare('SELECT wrapped_key FROM patient_key WHERE pseudonym = ?').get(p.pseudonym) as
        { wrapped_key: Uint8Array } | undefined;
      const blobs = (sql: string) =>
        (db.prepare(sql).all(p.pseudonym) as { body: Uint8Array }[]).map((r) => Buffer.from(r.body));
      const mail = db
        .prepare('SELECT body FROM mailbox_message WHERE pseudonym = ? AND acked_at IS NULL ORDER BY seq')
        .all(p.pseudonym) as { body: string }[];
      return {
        wrappedKey: Buffer.from(key?.wrapped_key ?? []),
        backups: blobs('SELECT body FROM backup_version WHERE pseudonym = ? ORDER BY version'),
        kept: blobs('SELECT body FROM kept_delivery WHERE pseudonym = ? ORDER BY delivery_id'),
        mail: mail.map((m) => (JSON.parse(m.body) as SealedEnvelope).ciphertext),
      };
    } finally {
      db.close();
    }
  }
});
