import { closeSync, existsSync, fstatSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { isPseudonym, verifyElementProof, type DeliveryRecord } from '@phr/common';
import type { VaultDelivery, VaultElement } from '../vault/vault-types';
import {
  BackupError,
  BackupKeys,
  CHUNKS_DIR,
  MANIFEST_FILE,
  openArchive,
  openChunk,
  openManifest,
  type BackupManifest,
} from './backup-format';

/**
 * Reading a backup back: from a folder or from a gateway's archive, opened with the recovery
 * secret's keys, then every element checked against the ledger's commitment for its delivery.
 * Nothing here writes: a restore stores only what all of this let through.
 */

/** Where the sealed pieces of one patient's backup are read from. */
export interface BackupSource {
  /** For messages: the folder, or the gateway's name. */
  readonly description: string;
  manifest(): Buffer | undefined;
  chunk(chunkId: string): Buffer | undefined;
}

/** A backup opened: its manifest and every delivery, each with all its elements. */
export interface OpenedBackup {
  manifest: BackupManifest;
  deliveries: { delivery: VaultDelivery; elements: VaultElement[] }[];
}

/** A chunk is at most what the format inflates to; a larger file is not read into memory. */
const MAX_FILE_BYTES = 1024 * 1024 * 1024;

/** `DIR/<pseudonym>/` as a patient's backup folder. */
export function folderSource(dir: string, pseudonym: string): BackupSource {
  const folder = join(resolve(dir), pseudonym);
  return {
    description: folder,
    manifest: () => readIfThere(join(folder, MANIFEST_FILE)),
    chunk: (chunkId) => readIfThere(join(folder, CHUNKS_DIR, `${chunkId}.bin`)),
  };
}

/** An archive from a gateway, opened as a whole first (a cut-short or altered archive does not open). */
export function archiveSource(keys: BackupKeys, pseudonym: string, archive: Buffer, description: string): BackupSource {
  const parts = openArchive(keys, pseudonym, archive);
  return { description, manifest: () => parts.manifest, chunk: (chunkId) => parts.chunks.get(chunkId) };
}

/**
 * The pseudonyms `DIR` holds a backup for (a sub-folder named after one, with a manifest), and
 * among them the one whose manifest opens with `keys` when there are several.
 * @throws BackupError NOT_FOUND when there is none, or when several and none opens.
 */
export function findBackupPseudonym(dir: string, keys: BackupKeys): string {
  let names: string[];
  try {
    names = readdirSync(resolve(dir));
  } catch (err) {
    throw new BackupError('NOT_FOUND', `${dir} cannot be read`, {}, { cause: err });
  }
  const candidates = names.filter((n) => isPseudonym(n) && existsSync(join(resolve(dir), n, MANIFEST_FILE)));
  if (candidates.length === 0) throw new BackupError('NOT_FOUND', `${dir} holds no backup`);
  if (candidates.length === 1) return candidates[0] as string;
  for (const pseudonym of candidates) {
    try {
      openManifest(keys, pseudonym, readFileSync(join(resolve(dir), pseudonym, MANIFEST_FILE)));
      return pseudonym;
    } catch {
      // another patient's, or damaged: the next one
    }
  }
  throw new BackupError(
    'NOT_FOUND',
    `none of the ${candidates.length} backups in ${dir} opens with this recovery code`,
  );
}

/**
 * Opens the manifest and every chunk it lists. Structure only: what each element is worth is
 * `verifyAgainstLedger`'s to say.
 * @throws BackupError NOT_FOUND, WRONG_KEY, MISSING, ALTERED, MALFORMED (chunk errors name the delivery).
 */
export function openBackup(keys: BackupKeys, pseudonym: string, source: BackupSource): OpenedBackup {
  const manifestBytes = source.manifest();
  if (manifestBytes === undefined) throw new BackupError('NOT_FOUND', `${source.description} holds no backup`);
  const manifest = openManifest(keys, pseudonym, manifestBytes);
  const deliveries = manifest.chunks.map((entry) => {
    const content = openChunk(keys, pseudonym, entry, source.chunk(entry.chunkId));
    return { delivery: content.delivery, elements: content.elements };
  });
  return { manifest, deliveries };
}

/**
 * Every delivery of the backup against the ledger, before anything is stored: the commitment is
 * there, for this patient, with the root, counts and sender the backup names, and every element,
 * salted and hashed again, leads through its Merkle path to that root; each place in the tree is
 * taken once, so no element is missing or repeated.
 * @throws BackupError UNVERIFIED naming the delivery, and the element when one is to blame.
 */
export async function verifyAgainstLedger(
  backup: OpenedBackup,
  pseudonym: string,
  readDelivery: (deliveryId: string) => Promise<DeliveryRecord | undefined>,
): Promise<void> {
  for (const { delivery, elements } of backup.deliveries) {
    const id = delivery.deliveryId;
    const refuse = (why: string, elementId?: string): never => {
      throw new BackupError(
        'UNVERIFIED',
        elementId === undefined ? `delivery ${id}: ${why}` : `element ${elementId} of delivery ${id}: ${why}`,
        elementId === undefined ? { deliveryId: id } : { deliveryId: id, elementId },
      );
    };
    const onLedger = await readDelivery(id);
    if (!onLedger) refuse('it is not on the ledger');
    const c = onLedger as DeliveryRecord;
    if (c.pseudonym !== pseudonym) refuse('the ledger records it for another patient');
    if (c.status === 'rejected') refuse('the ledger records it as refused');
    if (c.merkleRoot !== delivery.merkleRoot) refuse('the backup names another Merkle root than the ledger');
    if (c.sender !== delivery.sender) refuse(`the ledger records it from ${c.sender}, not ${delivery.sender}`);
    if (c.elementCount !== elements.length || c.segmentCount !== delivery.segmentCount) {
      refuse(`the backup holds ${elements.length} elements; the ledger committed ${c.elementCount}`);
    }
    const places = new Set<string>();
    const ids = new Set<string>();
    for (const e of elements) {
      const elementId = typeof e.element?.id === 'string' ? e.element.id : '(unnamed)';
      let ok = false;
      try {
        ok = verifyElementProof(e.element, e.salt, e.proof, c.merkleRoot);
      } catch {
        refuse('its salt or Merkle path is malformed', elementId);
      }
      if (!ok) refuse('it does not hash to the root committed on the ledger', elementId);
      // The path's turns fix a leaf's place in the tree; the indices are what the vault sorts by.
      const turns = (path: { left: boolean }[]) => path.map((step) => (step.left ? 'l' : 'r')).join('');
      const place = `${turns(e.proof.segmentPath)}/${turns(e.proof.elementPath)}`;
      const index = `${e.proof.segmentIndex}/${e.proof.elementIndex}`;
      if (places.has(place) || places.has(index) || ids.has(elementId)) {
        refuse('it takes the place of another element', elementId);
      }
      places.add(place).add(index);
      ids.add(elementId);
    }
  }
}

function readIfThere(file: string): Buffer | undefined {
  let fd: number;
  try {
    fd = openSync(file, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    if (fstatSync(fd).size > MAX_FILE_BYTES)
      throw new BackupError('TOO_LARGE', `${file} is larger than a backup may be`);
    return readFileSync(fd);
  } finally {
    closeSync(fd);
  }
}
