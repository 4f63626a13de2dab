import { existsSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { makePrivateDir, writePrivateFile } from '@phr/common';
import type { Vault, VaultDelivery, VaultElement } from '../vault/vault-types';
import {
  BackupError,
  BackupKeys,
  CHUNKS_DIR,
  MANIFEST_FILE,
  openManifest,
  sealArchive,
  sealChunk,
  sealManifest,
  sha256Hex,
  type BackupManifest,
  type ChunkEntry,
} from './backup-format';

/** A delivery the backup left out, and why (the vault could not read all of it back). */
export interface SkippedDelivery {
  deliveryId: string;
  reason: string;
}

export interface BackupInput {
  pseudonym: string;
  keys: BackupKeys;
  vault: Vault;
  /** The highest backup number this agent used; the new backup gets a higher one. */
  lastNumber: number;
  now?: () => Date;
}

export interface FolderBackupResult {
  /** `DIR/<pseudonym>`: what erase deletes later. */
  folder: string;
  manifest: BackupManifest;
  /** Chunks written now, and chunks already there (same id and hash) and kept. */
  written: number;
  reused: number;
  skipped: SkippedDelivery[];
}

export interface ArchiveResult {
  archive: Buffer;
  manifest: BackupManifest;
  skipped: SkippedDelivery[];
}

/** The folder a patient's backup lives in, inside the folder the patient named. */
export function backupFolder(dir: string, pseudonym: string): string {
  return join(resolve(dir), pseudonym);
}

/**
 * Writes the vault to `DIR/<pseudonym>/`: first every chunk that is new or no longer matches
 * (each to a temporary file renamed into place), then the manifest the same way. Until the new
 * manifest is renamed over the old one, the folder still holds the previous backup whole; chunks
 * it lists are never rewritten, so a backup that fails midway loses nothing.
 *
 * @throws BackupError CONFLICT when the folder holds a manifest this key does not open (another
 * patient's, or one made with another recovery secret): it is not overwritten.
 */
export async function writeFolderBackup(dir: string, input: BackupInput): Promise<FolderBackupResult> {
  const folder = backupFolder(dir, input.pseudonym);
  const chunksDir = join(folder, CHUNKS_DIR);
  const previous = readPreviousManifest(folder, input);
  makePrivateDir(chunksDir);

  const reusable = new Map((previous?.chunks ?? []).map((c) => [c.deliveryId, c]));
  let written = 0;
  let reused = 0;
  const { entries, skipped } = await eachChunk(
    input,
    (deliveryId) => {
      const before = reusable.get(deliveryId);
      if (before && chunkFileMatches(join(chunksDir, `${before.chunkId}.bin`), before)) {
        reused += 1;
        return before;
      }
      return undefined;
    },
    (entry, bytes) => {
      writePrivateFile(join(chunksDir, `${entry.chunkId}.bin`), bytes);
      written += 1;
    },
  );

  const manifest = newManifest(input, Math.max(input.lastNumber, previous?.backupNumber ?? 0) + 1, entries);
  writePrivateFile(join(folder, MANIFEST_FILE), sealManifest(input.keys, manifest));
  return { folder, manifest, written, reused, skipped };
}

/** The whole vault as one archive (manifest and chunks, sealed once more): what a gateway keeps. */
export async function buildArchive(input: BackupInput): Promise<ArchiveResult> {
  const chunks = new Map<string, Buffer>();
  const { entries, skipped } = await eachChunk(
    input,
    () => undefined,
    (entry, bytes) => {
      chunks.set(entry.chunkId, bytes);
    },
  );
  const manifest = newManifest(input, input.lastNumber + 1, entries);
  const archive = sealArchive(input.keys, input.pseudonym, {
    manifest: sealManifest(input.keys, manifest),
    chunks,
  });
  return { archive, manifest, skipped };
}

// ---- internals ----

function newManifest(input: BackupInput, backupNumber: number, chunks: ChunkEntry[]): BackupManifest {
  return {
    v: 1,
    pseudonym: input.pseudonym,
    backupNumber,
    createdAt: (input.now?.() ?? new Date()).toISOString(),
    chunks,
  };
}

/**
 * Every delivery of the vault as a chunk entry: `reuse` may answer one already written; otherwise
 * the delivery is read back whole, sealed and handed to `write`. A delivery with an element the
 * vault cannot read back is left out (and named), not backed up half.
 */
async function eachChunk(
  input: BackupInput,
  reuse: (deliveryId: string) => ChunkEntry | undefined,
  write: (entry: ChunkEntry, bytes: Buffer) => void,
): Promise<{ entries: ChunkEntry[]; skipped: SkippedDelivery[] }> {
  const entries: ChunkEntry[] = [];
  const skipped: SkippedDelivery[] = [];
  // Oldest first: the manifest lists deliveries in the order they came.
  for (const delivery of (await input.vault.deliveries()).reverse()) {
    const kept = reuse(delivery.deliveryId);
    if (kept) {
      entries.push(kept);
      continue;
    }
    const elements = await readWhole(input.vault, delivery);
    if (typeof elements === 'string') {
      skipped.push({ deliveryId: delivery.deliveryId, reason: elements });
      continue;
    }
    const chunkId = input.keys.chunkId(input.pseudonym, delivery.deliveryId);
    const bytes = sealChunk(input.keys, { v: 1, pseudonym: input.pseudonym, delivery, elements }, chunkId);
    const entry: ChunkEntry = {
      chunkId,
      deliveryId: delivery.deliveryId,
      sha256: sha256Hex(bytes),
      size: bytes.length,
      elementCount: elements.length,
    };
    write(entry, bytes);
    entries.push(entry);
  }
  return { entries, skipped };
}

/** The delivery's elements, or why they cannot all be read back. */
async function readWhole(vault: Vault, delivery: VaultDelivery): Promise<VaultElement[] | string> {
  const reads = await vault.readAll(delivery.deliveryId);
  const elements: VaultElement[] = [];
  for (const read of reads) {
    if (!read.ok) return `element ${read.elementId} ${read.error}`;
    elements.push(read.stored);
  }
  if (elements.length !== delivery.elementCount) {
    return `${delivery.elementCount - elements.length} of its elements are missing from the vault`;
  }
  return elements;
}

function readPreviousManifest(folder: string, input: BackupInput): BackupManifest | undefined {
  const file = join(folder, MANIFEST_FILE);
  if (!existsSync(file)) return undefined;
  try {
    return openManifest(input.keys, input.pseudonym, readFileSync(file));
  } catch (err) {
    throw new BackupError(
      'CONFLICT',
      `${file} holds a backup this recovery secret does not open; it is left as it is: choose another folder`,
      {},
      { cause: err },
    );
  }
}

function chunkFileMatches(file: string, entry: ChunkEntry): boolean {
  try {
    if (statSync(file).size !== entry.size) return false;
    return sha256Hex(readFileSync(file)) === entry.sha256;
  } catch {
    return false;
  }
}
