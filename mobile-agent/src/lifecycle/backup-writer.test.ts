import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { newPseudonym } from '@phr/common';
import type { Vault, VaultDelivery, VaultElement, VaultRead } from '../vault/vault-types';
import { BackupError, BackupKeys, CHUNKS_DIR, MANIFEST_FILE, openManifest } from './backup-format';
import { archiveSource, folderSource, openBackup } from './backup-reader';
import { buildArchive, writeFolderBackup, type BackupInput } from './backup-writer';

const pseudonym = newPseudonym();
const keys = BackupKeys.derive(randomBytes(32));
let dir: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'phr-backup-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

function delivery(n: number): { delivery: VaultDelivery; elements: VaultElement[] } {
  const deliveryId = `delivery-000${n}`;
  return {
    delivery: {
      deliveryId,
      sender: 'Hospital1MSP',
      merkleRoot: 'a'.repeat(64),
      categories: ['laboratory'],
      segmentCount: 1,
      elementCount: 1,
      createdAt: '2025-01-01T00:00:00.000Z',
      storedAt: `2025-01-0${n}T00:00:00.000Z`,
    },
    elements: [
      {
        deliveryId,
        segmentId: `segment-000${n}`,
        element: { id: `segment-000${n}.0`, kind: 'resource', resourceType: 'Observation', path: 'Observation' },
        salt: 'c2FsdA==',
        proof: { segmentIndex: 0, elementIndex: 0, elementPath: [], segmentPath: [] },
      },
    ],
  };
}

/** The two calls the writer makes of a vault: its deliveries (newest first) and their rows. */
function vaultOf(items: ReturnType<typeof delivery>[], unreadable = new Set<string>()): Vault {
  return {
    deliveries: async () => items.map((i) => i.delivery).reverse(),
    readAll: async (deliveryId?: string): Promise<VaultRead[]> => {
      if (deliveryId !== undefined && unreadable.has(deliveryId)) {
        return [{ ok: false, deliveryId, elementId: 'x', error: 'cannot be decrypted (altered or wrong key)' }];
      }
      return items
        .filter((i) => i.delivery.deliveryId === deliveryId)
        .flatMap((i) => i.elements.map((stored) => ({ ok: true as const, stored })));
    },
  } as unknown as Vault;
}

function input(vault: Vault, lastNumber = 0): BackupInput {
  return { pseudonym, keys, vault, lastNumber };
}

describe('writeFolderBackup', () => {
  it('writes a chunk per delivery and a manifest that lists them, oldest first, numbered after the last', async () => {
    const result = await writeFolderBackup(dir, input(vaultOf([delivery(1), delivery(2)]), 4));
    expect(result).toMatchObject({ folder: join(dir, pseudonym), written: 2, reused: 0, skipped: [] });
    expect(result.manifest.backupNumber).toBe(5);
    expect(result.manifest.chunks.map((c) => c.deliveryId)).toEqual(['delivery-0001', 'delivery-0002']);
    expect(readdirSync(join(dir, pseudonym, CHUNKS_DIR)).sort()).toEqual(
      result.manifest.chunks.map((c) => `${c.chunkId}.bin`).sort(),
    );
    const opened = openBackup(keys, pseudonym, folderSource(dir, pseudonym));
    expect(opened.deliveries.map((d) => d.delivery)).toEqual([delivery(1).delivery, delivery(2).delivery]);
  });

  it('leaves out, and names, a delivery the vault cannot read back whole', async () => {
    const result = await writeFolderBackup(dir, input(vaultOf([delivery(1), delivery(2)], new Set(['delivery-0001']))));
    expect(result.skipped).toEqual([
      { deliveryId: 'delivery-0001', reason: expect.stringContaining('cannot be decrypted') as string },
    ]);
    expect(result.manifest.chunks.map((c) => c.deliveryId)).toEqual(['delivery-0002']);
  });

  it('loses nothing when a backup fails midway: the previous manifest and its chunks stay whole', async () => {
    await writeFolderBackup(dir, input(vaultOf([delivery(1)])));
    const manifestBefore = readFileSync(join(dir, pseudonym, MANIFEST_FILE));
    const failing = vaultOf([delivery(1), delivery(2), delivery(3)]);
    let reads = 0;
    const readAll = failing.readAll.bind(failing);
    failing.readAll = async (id?: string) => {
      reads += 1;
      if (reads === 2) throw new Error('the disk went away');
      return readAll(id);
    };
    await expect(writeFolderBackup(dir, input(failing, 1))).rejects.toThrow('the disk went away');
    expect(readFileSync(join(dir, pseudonym, MANIFEST_FILE)).equals(manifestBefore)).toBe(true);
    const opened = openBackup(keys, pseudonym, folderSource(dir, pseudonym));
    expect(opened.manifest.backupNumber).toBe(1);
    expect(opened.deliveries.map((d) => d.delivery.deliveryId)).toEqual(['delivery-0001']);
    expect(readdirSync(join(dir, pseudonym)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('refuses a folder whose manifest another secret wrote, and leaves it as it is', async () => {
    await writeFolderBackup(dir, { ...input(vaultOf([delivery(1)])), keys: BackupKeys.derive(randomBytes(32)) });
    const before = readFileSync(join(dir, pseudonym, MANIFEST_FILE));
    await expect(writeFolderBackup(dir, input(vaultOf([delivery(1)])))).rejects.toMatchObject({
      name: 'BackupError',
      code: 'CONFLICT',
    });
    expect(readFileSync(join(dir, pseudonym, MANIFEST_FILE)).equals(before)).toBe(true);
  });

  it('counts on from the folder’s own number when the vault remembers a lower one', async () => {
    await writeFolderBackup(dir, input(vaultOf([delivery(1)]), 6));
    const again = await writeFolderBackup(dir, input(vaultOf([delivery(1)]), 0));
    expect(again).toMatchObject({ written: 0, reused: 1 });
    expect(again.manifest.backupNumber).toBe(8);
    expect(openManifest(keys, pseudonym, readFileSync(join(dir, pseudonym, MANIFEST_FILE))).backupNumber).toBe(8);
  });
});

describe('buildArchive', () => {
  it('makes one sealed archive of every delivery that opens back whole', async () => {
    const { archive, manifest } = await buildArchive(input(vaultOf([delivery(1), delivery(2)]), 2));
    expect(manifest.backupNumber).toBe(3);
    const opened = openBackup(keys, pseudonym, archiveSource(keys, pseudonym, archive, 'test'));
    expect(opened.deliveries.map((d) => d.elements[0]?.element.id)).toEqual(['segment-0001.0', 'segment-0002.0']);
    expect(() => archiveSource(BackupKeys.derive(randomBytes(32)), pseudonym, archive, 'test')).toThrow(BackupError);
  });
});
