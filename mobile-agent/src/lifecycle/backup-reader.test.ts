import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeliveryTree, elementLeafHash, newPseudonym, newSalt, type DeliveryRecord } from '@phr/common';
import type { VaultElement } from '../vault/vault-types';
import { BackupError, BackupKeys, MANIFEST_FILE, sealManifest } from './backup-format';
import { findBackupPseudonym, verifyAgainstLedger, type OpenedBackup } from './backup-reader';

const pseudonym = newPseudonym();

/** A delivery of two segments of two elements each, with real salts and Merkle paths, and its commitment. */
function committed(): { backup: OpenedBackup; record: DeliveryRecord } {
  const deliveryId = 'delivery-0001';
  const segments = ['segment-0001', 'segment-0002'].map((segmentId) => ({
    segmentId,
    salted: [0, 1].map((i) => ({
      element: {
        id: `${segmentId}.${i}`,
        kind: 'coded' as const,
        resourceType: 'Observation',
        path: `Observation.code.coding[${i}]`,
        system: 'http://loinc.org',
        code: '4548-4',
        value: 6.1 + i,
      },
      salt: newSalt(),
    })),
  }));
  const tree = new DeliveryTree(segments.map((s) => s.salted.map((e) => elementLeafHash(e.element, e.salt))));
  const elements: VaultElement[] = segments.flatMap((s, si) =>
    s.salted.map((e, ei) => ({ deliveryId, segmentId: s.segmentId, ...e, proof: tree.proof(si, ei) })),
  );
  const delivery = {
    deliveryId,
    sender: 'Hospital1MSP',
    merkleRoot: tree.root,
    categories: ['laboratory'],
    segmentCount: 2,
    elementCount: 4,
    createdAt: '2025-01-01T00:00:00.000Z',
    storedAt: '2025-01-02T00:00:00.000Z',
  };
  const record: DeliveryRecord = {
    docType: 'delivery',
    deliveryId,
    pseudonym,
    sender: 'Hospital1MSP',
    senderIdentity: 'x509::gateway',
    merkleRoot: tree.root,
    elementCount: 4,
    segmentCount: 2,
    categories: ['laboratory'],
    status: 'backup',
    recordedAt: '2025-01-01T00:00:00.000Z',
    updatedAt: '2025-01-02T00:00:00.000Z',
  };
  const manifest = { v: 1 as const, pseudonym, backupNumber: 1, createdAt: '2025-01-03T00:00:00.000Z', chunks: [] };
  return { backup: { manifest, deliveries: [{ delivery, elements }] }, record };
}

async function refusal(backup: OpenedBackup, record: DeliveryRecord | undefined): Promise<BackupError> {
  const err = await verifyAgainstLedger(backup, pseudonym, async () => record).catch((e: unknown) => e);
  expect(err).toBeInstanceOf(BackupError);
  return err as BackupError;
}

describe('verifyAgainstLedger', () => {
  it('lets through a delivery whose every element leads to the committed root', async () => {
    const { backup, record } = committed();
    await expect(verifyAgainstLedger(backup, pseudonym, async () => record)).resolves.toBeUndefined();
  });

  it('names the element whose content changed', async () => {
    const { backup, record } = committed();
    const changed = backup.deliveries[0]?.elements[2] as VaultElement;
    changed.element.value = 9.9;
    expect(await refusal(backup, record)).toMatchObject({
      code: 'UNVERIFIED',
      where: { deliveryId: 'delivery-0001', elementId: 'segment-0002.0' },
    });
  });

  it('refuses an element given twice in place of another (the count alone would match)', async () => {
    const { backup, record } = committed();
    const elements = backup.deliveries[0]?.elements as VaultElement[];
    elements[3] = { ...(elements[2] as VaultElement) };
    expect(await refusal(backup, record)).toMatchObject({ code: 'UNVERIFIED', where: { elementId: 'segment-0002.0' } });
  });

  it('refuses a delivery the ledger does not have, has for another patient, or with other counts or sender', async () => {
    const { backup, record } = committed();
    expect((await refusal(backup, undefined)).message).toMatch(/delivery-0001: it is not on the ledger/);
    expect((await refusal(backup, { ...record, pseudonym: newPseudonym() })).message).toMatch(/another patient/);
    expect((await refusal(backup, { ...record, elementCount: 5 })).message).toMatch(/committed 5/);
    expect((await refusal(backup, { ...record, sender: 'Hospital2MSP' })).message).toMatch(/from Hospital2MSP/);
    expect((await refusal(backup, { ...record, status: 'rejected' })).message).toMatch(/refused/);
    expect((await refusal(backup, { ...record, merkleRoot: 'b'.repeat(64) })).message).toMatch(/another Merkle root/);
  });
});

describe('findBackupPseudonym', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'phr-find-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  function backupOf(p: string, keys: BackupKeys): void {
    mkdirSync(join(dir, p));
    writeFileSync(
      join(dir, p, MANIFEST_FILE),
      sealManifest(keys, { v: 1, pseudonym: p, backupNumber: 1, createdAt: '2025-01-01T00:00:00.000Z', chunks: [] }),
    );
  }

  it('finds the one backup in the folder, or among several the one this key opens', () => {
    const mine = BackupKeys.derive(randomBytes(32));
    expect(() => findBackupPseudonym(dir, mine)).toThrow(/holds no backup/);
    backupOf(pseudonym, mine);
    mkdirSync(join(dir, 'not-a-pseudonym'));
    expect(findBackupPseudonym(dir, mine)).toBe(pseudonym);
    const other = newPseudonym();
    backupOf(other, BackupKeys.derive(randomBytes(32)));
    expect(findBackupPseudonym(dir, mine)).toBe(pseudonym);
    expect(() => findBackupPseudonym(dir, BackupKeys.derive(randomBytes(32)))).toThrow(/none of the 2 backups/);
  });
});
