import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import { canonicalJson, isPseudonym, isRecordId, isSha256Hex, parseExactJson } from '@phr/common';
import { z } from 'zod';
import type { VaultDelivery, VaultElement } from '../vault/vault-types';

/**
 * The backup format: what a backup holds and how it is sealed, independent of where it is kept.
 *
 * A backup of one patient is a manifest and one chunk per delivery. A chunk holds the delivery
 * as the vault keeps it (the commitment it was checked against) and every element with its salt
 * and Merkle path, so a restore can check each element against the ledger again before storing
 * it. The manifest lists every chunk (its id, delivery, SHA-256 of the sealed bytes, element
 * count) and a backup number that grows with every backup.
 *
 * Sealing: every piece is `MAGIC ‖ version ‖ kind ‖ 96-bit IV ‖ AES-256-GCM(gzip(canonical JSON)) ‖
 * 128-bit tag`, with the header and `{pseudonym, kind, chunkId}` as associated data, so a chunk
 * copied under another name or into another patient's backup does not open. The keys come from
 * the recovery secret's backup key through HKDF (one for sealing, one for chunk ids), never from
 * the device: a lost device does not lose its backups, and the passphrase plays no part.
 *
 * In a folder: `<pseudonym>/manifest.bin` and `<pseudonym>/chunks/<chunkId>.bin`. Chunk ids are
 * keyed hashes of the delivery id, so the same delivery keeps its file from one backup to the
 * next (incremental) and the names say nothing to whoever holds the folder. For a gateway, one
 * archive: the sealed manifest and chunks framed together and sealed once more as a whole.
 */

export const MANIFEST_FILE = 'manifest.bin';
export const CHUNKS_DIR = 'chunks';

/** A chunk's file name without `.bin`: 64 hex digits. */
export const CHUNK_ID_PATTERN = /^[0-9a-f]{64}$/;

export type BackupErrorCode =
  /** Nothing to restore from: no backup there, or none for this patient. */
  | 'NOT_FOUND'
  /** The manifest does not open with this key: a wrong recovery code, or a damaged manifest. */
  | 'WRONG_KEY'
  /** A piece was cut short or altered (its hash or authentication tag does not match). */
  | 'ALTERED'
  /** The manifest lists a chunk that is not there. */
  | 'MISSING'
  /** Opened, but not what a backup holds. */
  | 'MALFORMED'
  | 'TOO_LARGE'
  /** A backup of another patient. */
  | 'WRONG_PATIENT'
  /** An element or delivery that does not match the ledger. */
  | 'UNVERIFIED'
  /** Deliveries the ledger says were backed up are not in this backup (an older or truncated one). */
  | 'INCOMPLETE'
  /** The folder already holds a backup that is not this patient's under this key. */
  | 'CONFLICT';

/** A refused backup or restore, naming the delivery and element when one is to blame. */
export class BackupError extends Error {
  override readonly name = 'BackupError';
  constructor(
    readonly code: BackupErrorCode,
    message: string,
    readonly where: { deliveryId?: string; elementId?: string } = {},
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ChunkEntry {
  chunkId: string;
  deliveryId: string;
  /** SHA-256 (hex) of the sealed chunk bytes. */
  sha256: string;
  /** Bytes of the sealed chunk. */
  size: number;
  elementCount: number;
}

export interface BackupManifest {
  v: 1;
  pseudonym: string;
  /** Grows with every backup of this patient (whatever its target). */
  backupNumber: number;
  createdAt: string;
  chunks: ChunkEntry[];
}

/** One delivery as a chunk holds it. */
export interface ChunkContent {
  v: 1;
  pseudonym: string;
  delivery: VaultDelivery;
  elements: VaultElement[];
}

/** An archive as the gateway keeps it: the sealed manifest and sealed chunks, sealed once more. */
export interface ArchiveParts {
  manifest: Buffer;
  chunks: Map<string, Buffer>;
}

const MAGIC = Buffer.from('PHRB', 'ascii');
const FORMAT = 1;
const KINDS = { manifest: 1, chunk: 2, archive: 3 } as const;
type Kind = keyof typeof KINDS;
const HEADER_BYTES = MAGIC.length + 2;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_BYTES = 32;
/** Bounds what a hostile file can make us inflate. */
const MAX_PLAINTEXT: Record<Kind, number> = {
  manifest: 16 * 1024 * 1024,
  chunk: 512 * 1024 * 1024,
  archive: 1024 * 1024 * 1024,
};
const HKDF_SALT = 'phr-ledger backup v1';

/** The two keys a backup is made with, both from the recovery secret's backup key. */
export class BackupKeys {
  private constructor(
    private readonly sealKey: Buffer,
    private readonly idKey: Buffer,
  ) {}

  /** @throws BackupError MALFORMED unless `backupKey` is 32 bytes. */
  static derive(backupKey: Uint8Array): BackupKeys {
    if (!(backupKey instanceof Uint8Array) || backupKey.length !== KEY_BYTES) {
      throw new BackupError('MALFORMED', `the backup key must be ${KEY_BYTES} bytes`);
    }
    const derive = (info: string) => Buffer.from(hkdfSync('sha256', backupKey, HKDF_SALT, info, KEY_BYTES));
    return new BackupKeys(derive('seal'), derive('chunk-id'));
  }

  /** The same id for the same patient and delivery, every time: what makes a backup incremental. */
  chunkId(pseudonym: string, deliveryId: string): string {
    return createHmac('sha256', this.idKey).update(canonicalJson({ pseudonym, deliveryId }), 'utf8').digest('hex');
  }

  /** @internal the sealing key, for this module only. */
  get seal(): Buffer {
    return this.sealKey;
  }

  toJSON(): string {
    return '[backup keys]';
  }
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

// ---- chunks ----

export function sealChunk(keys: BackupKeys, content: ChunkContent, chunkId: string): Buffer {
  return sealPiece(keys, 'chunk', { pseudonym: content.pseudonym, chunkId }, content);
}

/**
 * Opens one chunk the manifest lists, checking its hash first, then that it holds the delivery
 * and element count the manifest says.
 * @throws BackupError MISSING (no bytes), ALTERED, MALFORMED, TOO_LARGE, each naming the delivery.
 */
export function openChunk(
  keys: BackupKeys,
  pseudonym: string,
  entry: ChunkEntry,
  bytes: Buffer | undefined,
): ChunkContent {
  const where = { deliveryId: entry.deliveryId };
  const name = `the chunk of delivery ${entry.deliveryId}`;
  if (bytes === undefined) throw new BackupError('MISSING', `${name} is missing from the backup`, where);
  if (bytes.length !== entry.size || sha256Hex(bytes) !== entry.sha256) {
    throw new BackupError(
      'ALTERED',
      `${name} was ${bytes.length < entry.size ? 'cut short' : 'altered'}: it does not have the hash the manifest lists`,
      where,
    );
  }
  const json = openPiece(keys, 'chunk', { pseudonym, chunkId: entry.chunkId }, bytes, name, where);
  const parsed = chunkSchema.safeParse(json);
  if (!parsed.success)
    throw new BackupError('MALFORMED', `${name} does not hold a delivery: ${issueText(parsed.error)}`, where);
  const content = json as ChunkContent;
  if (content.pseudonym !== pseudonym) throw new BackupError('WRONG_PATIENT', `${name} is another patient's`, where);
  if (content.delivery.deliveryId !== entry.deliveryId) {
    throw new BackupError('MALFORMED', `${name} holds another delivery`, where);
  }
  if (content.elements.length !== entry.elementCount || content.elements.length !== content.delivery.elementCount) {
    throw new BackupError(
      'MALFORMED',
      `${name} holds ${content.elements.length} elements; the manifest lists ${entry.elementCount} and the delivery ${content.delivery.elementCount}`,
      where,
    );
  }
  const stray = content.elements.find((e) => e.deliveryId !== entry.deliveryId);
  if (stray) {
    throw new BackupError('MALFORMED', `element ${stray.element.id} in ${name} belongs to another delivery`, {
      ...where,
      elementId: stray.element.id,
    });
  }
  return content;
}

// ---- manifest ----

export function sealManifest(keys: BackupKeys, manifest: BackupManifest): Buffer {
  return sealPiece(keys, 'manifest', { pseudonym: manifest.pseudonym }, manifest);
}

/**
 * @throws BackupError WRONG_KEY when it does not open (a wrong key and a damaged manifest look the
 * same here; the restore tells them apart with the ledger's recovery key), MALFORMED, WRONG_PATIENT.
 */
export function openManifest(keys: BackupKeys, pseudonym: string, bytes: Buffer): BackupManifest {
  const json = openPiece(keys, 'manifest', { pseudonym }, bytes, MANIFEST_FILE);
  const parsed = manifestSchema.safeParse(json);
  if (!parsed.success) {
    throw new BackupError('MALFORMED', `${MANIFEST_FILE} does not list a backup: ${issueText(parsed.error)}`);
  }
  if (parsed.data.pseudonym !== pseudonym)
    throw new BackupError('WRONG_PATIENT', `${MANIFEST_FILE} is another patient's`);
  const seen = new Set<string>();
  for (const c of parsed.data.chunks) {
    if (seen.has(c.deliveryId)) {
      throw new BackupError('MALFORMED', `${MANIFEST_FILE} lists delivery ${c.deliveryId} twice`, {
        deliveryId: c.deliveryId,
      });
    }
    seen.add(c.deliveryId);
    if (c.chunkId !== keys.chunkId(pseudonym, c.deliveryId)) {
      throw new BackupError('MALFORMED', `${MANIFEST_FILE} names a wrong chunk for delivery ${c.deliveryId}`, {
        deliveryId: c.deliveryId,
      });
    }
  }
  return parsed.data;
}

// ---- archive (one blob, for a gateway) ----

/** Frame: u32 manifest length, manifest, u32 chunk count, then per chunk: 32-byte id, u32 length, bytes. */
export function sealArchive(keys: BackupKeys, pseudonym: string, parts: ArchiveParts): Buffer {
  const frames: Buffer[] = [u32(parts.manifest.length), parts.manifest, u32(parts.chunks.size)];
  for (const [chunkId, bytes] of parts.chunks) {
    if (!CHUNK_ID_PATTERN.test(chunkId)) throw new BackupError('MALFORMED', `chunk id ${chunkId} is malformed`);
    frames.push(Buffer.from(chunkId, 'hex'), u32(bytes.length), bytes);
  }
  return sealBytes(keys, 'archive', { pseudonym }, Buffer.concat(frames));
}

/** @throws BackupError WRONG_KEY (wrong key, or the archive was cut short or altered), MALFORMED. */
export function openArchive(keys: BackupKeys, pseudonym: string, bytes: Buffer): ArchiveParts {
  const framed = openBytes(keys, 'archive', { pseudonym }, bytes, 'the backup archive');
  const bad = () => new BackupError('MALFORMED', 'the backup archive opened but its framing is broken');
  let at = 0;
  const take = (n: number): Buffer => {
    if (at + n > framed.length) throw bad();
    const part = framed.subarray(at, at + n);
    at += n;
    return part;
  };
  const manifest = Buffer.from(take(take(4).readUInt32BE(0)));
  const count = take(4).readUInt32BE(0);
  const chunks = new Map<string, Buffer>();
  for (let i = 0; i < count; i++) {
    const id = take(32).toString('hex');
    chunks.set(id, Buffer.from(take(take(4).readUInt32BE(0))));
  }
  if (at !== framed.length) throw bad();
  return { manifest, chunks };
}

// ---- internals ----

function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n, 0);
  return b;
}

function header(kind: Kind): Buffer {
  return Buffer.concat([MAGIC, Buffer.of(FORMAT, KINDS[kind])]);
}

function aad(kind: Kind, context: Record<string, string>): Buffer {
  return Buffer.concat([header(kind), Buffer.from(canonicalJson({ ...context, kind }), 'utf8')]);
}

function sealPiece(keys: BackupKeys, kind: Kind, context: Record<string, string>, value: unknown): Buffer {
  const plain = gzipSync(Buffer.from(canonicalJson(value), 'utf8'));
  return sealBytes(keys, kind, context, plain, true);
}

function sealBytes(
  keys: BackupKeys,
  kind: Kind,
  context: Record<string, string>,
  plaintext: Buffer,
  wipe = false,
): Buffer {
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', keys.seal, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad(kind, context));
  const sealed = Buffer.concat([header(kind), iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  if (wipe) plaintext.fill(0);
  return sealed;
}

function openPiece(
  keys: BackupKeys,
  kind: Kind,
  context: Record<string, string>,
  bytes: Buffer,
  name: string,
  where: BackupError['where'] = {},
): unknown {
  const compressed = openBytes(keys, kind, context, bytes, name, where);
  let text: Buffer;
  try {
    text = gunzipSync(compressed, { maxOutputLength: MAX_PLAINTEXT[kind] });
  } catch (err) {
    const tooLarge = (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
    throw new BackupError(
      tooLarge ? 'TOO_LARGE' : 'MALFORMED',
      tooLarge ? `${name} is larger than a backup may be` : `${name} opened but is not compressed JSON`,
      where,
      { cause: err },
    );
  }
  try {
    return parseExactJson(text.toString('utf8'));
  } catch (err) {
    throw new BackupError('MALFORMED', `${name} opened but is not JSON`, where, { cause: err });
  } finally {
    text.fill(0);
  }
}

function openBytes(
  keys: BackupKeys,
  kind: Kind,
  context: Record<string, string>,
  bytes: Buffer,
  name: string,
  where: BackupError['where'] = {},
): Buffer {
  if (!Buffer.isBuffer(bytes) || bytes.length < HEADER_BYTES + IV_BYTES + TAG_BYTES) {
    throw new BackupError('ALTERED', `${name} is cut short`, where);
  }
  if (!bytes.subarray(0, HEADER_BYTES).equals(header(kind))) {
    throw new BackupError('MALFORMED', `${name} is not a ${kind} of a PHR Ledger backup (or of a newer format)`, where);
  }
  try {
    const decipher = createDecipheriv('aes-256-gcm', keys.seal, bytes.subarray(HEADER_BYTES, HEADER_BYTES + IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(aad(kind, context));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([
      decipher.update(bytes.subarray(HEADER_BYTES + IV_BYTES, bytes.length - TAG_BYTES)),
      decipher.final(),
    ]);
  } catch (err) {
    // For a chunk the hash was checked first, so only the manifest and the archive get here with a good key.
    throw new BackupError(
      kind === 'chunk' ? 'ALTERED' : 'WRONG_KEY',
      kind === 'chunk'
        ? `${name} does not open: it was altered`
        : `${name} does not open with this recovery code: the code is wrong, or the file was cut short or altered`,
      where,
      { cause: err },
    );
  }
}

function issueText(error: z.ZodError): string {
  const issue = error.issues[0];
  return `${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`;
}

const count = z.int().nonnegative();

const manifestSchema = z.object({
  v: z.literal(1),
  pseudonym: z.string().refine(isPseudonym, 'not a pseudonym'),
  backupNumber: z.int().positive(),
  createdAt: z.string(),
  chunks: z.array(
    z.object({
      chunkId: z.string().regex(CHUNK_ID_PATTERN),
      deliveryId: z.string().refine(isRecordId, 'not a delivery id'),
      sha256: z.string().refine(isSha256Hex, 'not a SHA-256'),
      size: count,
      elementCount: count,
    }),
  ),
});

const step = z.object({ hash: z.string(), left: z.boolean() });

/** Checked only: the caller keeps the parsed JSON itself, whose elements must hash as they were. */
const chunkSchema = z.object({
  v: z.literal(1),
  pseudonym: z.string(),
  delivery: z.object({
    deliveryId: z.string().refine(isRecordId, 'not a delivery id'),
    sender: z.string().min(1),
    merkleRoot: z.string().refine(isSha256Hex, 'not a SHA-256'),
    categories: z.array(z.string()),
    segmentCount: count,
    elementCount: count,
    createdAt: z.string(),
    storedAt: z.string(),
  }),
  elements: z.array(
    z.object({
      deliveryId: z.string(),
      segmentId: z.string().min(1),
      element: z.looseObject({ id: z.string().min(1) }),
      salt: z.string(),
      proof: z.object({
        segmentIndex: count,
        elementIndex: count,
        elementPath: z.array(step),
        segmentPath: z.array(step),
      }),
    }),
  ),
});
