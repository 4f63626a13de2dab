import {
  createCipheriv,
  createDecipheriv,
  createHmac,
  createSecretKey,
  randomBytes,
  type KeyObject,
} from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import {
  canonicalJson,
  DatabaseSchemaError,
  ELEMENT_KINDS,
  JsonNumber,
  migrateAsync,
  normalizeTime,
  parseExactJson,
  type DatabaseSchemaErrorCode,
  type Migration,
} from '@phr/common';
import { z } from 'zod';
import { VAULT_MIGRATIONS } from './migrations';
import { AsyncDatabase, Mutex, type SqlValue } from './sqlite-async';
import {
  NOTIFICATION_KINDS,
  type AgentNotification,
  type NotificationKind,
  type RecordQuery,
  type ResearchDecision,
  type Vault,
  type VaultDelivery,
  type VaultElement,
  type VaultKeys,
  type VaultRead,
} from './vault-types';

/**
 * The vault on disk: one SQLite file, element contents sealed with AES-256-GCM.
 *
 * What is in the clear, and why:
 * - Delivery metadata (sender, Merkle root, categories, counts, times): the root is public on the
 *   ledger anyway, and the agent lists deliveries without unlocking every element.
 * - Per element: its ids and position, `resource_type`, `kind` and the clinical time
 *   (`clinical_time`). Type and time stay plain because searches filter and sort on them with
 *   range comparisons (`from <= time < to`, newest first), which neither ciphertext nor a blind
 *   index supports. Someone holding the file thus learns "an Observation on 2024-03-01", never
 *   which one or its value.
 * - Code system and code only as blind indexes: HMAC-SHA256 under `indexKey` of `system|code`
 *   and of `system`. Equality search works without plaintext codes on disk; the price is that
 *   equal codes have equal index values, so the file shows how often a (hidden) code recurs.
 *
 * `sealed` = 0x01 (format) || 96-bit random IV || AES-256-GCM(dataKey, canonicalJson({element,
 * salt, proof})) || 128-bit tag, with the row's identity (delivery, segment and element id) as
 * associated data: a sealed value copied onto another row does not decrypt. The other plain
 * columns are checked against the decrypted content on every read, so altering one (say, a
 * code index to surface an element in the wrong search) makes the row unreadable too.
 *
 * Concurrency: one connection, and every operation runs under one async mutex. A write
 * transaction spans several awaited statements; without the mutex another call's statement would
 * run inside it (and be rolled back with it), and a read would see rows not yet committed.
 */

/** The schema codes come from opening: a vault of a newer release, or a migration that failed (rolled back). */
export type VaultErrorCode = 'INVALID_KEYS' | 'INVALID_INPUT' | 'INVALID_QUERY' | 'CLOSED' | DatabaseSchemaErrorCode;

export class VaultError extends Error {
  override readonly name = 'VaultError';
  constructor(
    readonly code: VaultErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface VaultOptions {
  /** How long a statement waits for another process's lock on the file. Default 5000 ms. */
  busyTimeoutMs?: number;
  /** Clock for notification times; tests pin it. */
  now?: () => Date;
  /** Tests only: another list than the vault's. */
  migrations?: readonly Migration[];
}

/** Reasons `readAll` gives for an unreadable row. */
export const UNREADABLE = {
  decrypt: 'cannot be decrypted (altered or wrong key)',
  format: 'malformed (the sealed value is not a vault ciphertext)',
  content: 'malformed (the decrypted content is not a vault element)',
  columns: 'does not match its index columns (altered)',
} as const;

const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SEALED_FORMAT = 0x01;
/** Rows fetched per page while a limited search skips unreadable rows. */
const MIN_PAGE = 100;

const ELEMENT_COLUMN_NAMES = [
  'element_id',
  'delivery_id',
  'segment_id',
  'segment_index',
  'element_index',
  'resource_type',
  'kind',
  'clinical_time',
  'system_index',
  'code_index',
  'sealed',
] as const;
const ELEMENT_COLUMNS = ELEMENT_COLUMN_NAMES.join(', ');
const INSERT_ELEMENT = `INSERT INTO elements (${ELEMENT_COLUMNS}) VALUES (${ELEMENT_COLUMN_NAMES.map(() => '?').join(', ')})`;
const DELIVERY_COLUMNS = `delivery_id, sender, merkle_root, categories, segment_count, element_count, created_at,
  stored_at`;
/** Clinical time newest first (no time last), then the element's place in its delivery. */
const ELEMENT_ORDER = 'clinical_time DESC, delivery_id, segment_index, element_index, element_id';

interface ElementRow {
  element_id: string;
  delivery_id: string;
  segment_id: string;
  segment_index: number;
  element_index: number;
  resource_type: string;
  kind: string;
  clinical_time: string | null;
  system_index: string | null;
  code_index: string | null;
  sealed: unknown;
}

interface DeliveryRow {
  delivery_id: string;
  sender: string;
  merkle_root: string;
  categories: string;
  segment_count: number;
  element_count: number;
  created_at: string;
  stored_at: string;
}

interface NotificationRow {
  id: number;
  kind: NotificationKind;
  message: string;
  ref: string;
  created_at: string;
  read: number;
}

const stepSchema = z.object({ hash: z.string(), left: z.boolean() });
const indexSchema = z.int().nonnegative();
/**
 * What a sealed value holds, checked on the way in and on the way out. Only checked: callers get
 * the parsed JSON itself, never zod's output, which would drop unknown keys and so change the
 * element's leaf hash.
 */
const sealedContentSchema = z.object({
  element: z.object({
    id: z.string().min(1),
    kind: z.enum(ELEMENT_KINDS),
    resourceType: z.string().min(1),
    path: z.string(),
    system: z.string().optional(),
    code: z.string().optional(),
    display: z.string().optional(),
    value: z.union([z.string(), z.number(), z.boolean(), z.instanceof(JsonNumber)]).optional(),
    unit: z.string().optional(),
    time: z.string().optional(),
    resource: z.record(z.string(), z.unknown()).optional(),
  }),
  salt: z.string(),
  proof: z.object({
    segmentIndex: indexSchema,
    elementIndex: indexSchema,
    elementPath: z.array(stepSchema),
    segmentPath: z.array(stepSchema),
  }),
});
type SealedContent = Pick<VaultElement, 'element' | 'salt' | 'proof'>;

const deliverySchema = z.object({
  deliveryId: z.string().min(1),
  sender: z.string().min(1),
  merkleRoot: z.string().min(1),
  categories: z.array(z.string()),
  segmentCount: indexSchema,
  elementCount: indexSchema,
  createdAt: z.string(),
  storedAt: z.string(),
});

const querySchema = z.object({
  resourceType: z.string().optional(),
  system: z.string().optional(),
  code: z.string().optional(),
  from: z.string().optional(),
  to: z.string().optional(),
  deliveryId: z.string().optional(),
  kind: z.enum(ELEMENT_KINDS).optional(),
  limit: z.int().nonnegative().optional(),
});

export class SqliteVault implements Vault {
  private readonly mutex = new Mutex();
  private closed = false;

  private constructor(
    private readonly db: AsyncDatabase,
    private readonly dataKey: KeyObject,
    private readonly indexKey: KeyObject,
    private readonly now: () => Date,
  ) {}

  /** Opens (creating if needed) the vault file. The file is created readable by its owner only. */
  static async open(file: string, keys: VaultKeys, options: VaultOptions = {}): Promise<SqliteVault> {
    const dataKey = secretKey(keys?.dataKey, 'dataKey');
    const indexKey = secretKey(keys?.indexKey, 'indexKey');
    if (file !== ':memory:' && file !== '') {
      // SQLite gives the -wal and -shm files the mode of the database file.
      closeSync(openSync(file, 'a', 0o600));
    }
    const db = await AsyncDatabase.open(file);
    try {
      db.configureBusyTimeout(options.busyTimeoutMs ?? 5000);
      await db.get('PRAGMA journal_mode = WAL');
      await db.exec('PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;');
      // The schema: ./migrations, applied here, each in its own transaction.
      await migrateAsync(db, file, options.migrations ?? VAULT_MIGRATIONS);
    } catch (err) {
      await db.close().catch(() => undefined);
      if (err instanceof DatabaseSchemaError) throw new VaultError(err.code, err.message, { cause: err });
      throw err;
    }
    return new SqliteVault(db, dataKey, indexKey, options.now ?? (() => new Date()));
  }

  async hasDelivery(deliveryId: string): Promise<boolean> {
    return this.exclusive(async (db) => {
      const row = await db.get('SELECT 1 AS found FROM deliveries WHERE delivery_id = ?', [deliveryId]);
      return row !== undefined;
    });
  }

  async storeDelivery(delivery: VaultDelivery, elements: readonly VaultElement[]): Promise<boolean> {
    const d = checkInput(deliverySchema, delivery, 'delivery');
    if (!Array.isArray(elements)) throw new VaultError('INVALID_INPUT', 'elements must be an array');
    if (await this.hasDelivery(d.deliveryId)) return false;
    return (await this.storeAll([{ delivery: d, elements }])).length === 1;
  }

  async storeDeliveries(
    items: readonly { delivery: VaultDelivery; elements: readonly VaultElement[] }[],
  ): Promise<string[]> {
    if (!Array.isArray(items)) throw new VaultError('INVALID_INPUT', 'items must be an array');
    const checked = items.map((item: { delivery: VaultDelivery; elements: readonly VaultElement[] }, i: number) => {
      const delivery = checkInput(deliverySchema, item?.delivery, `items[${i}].delivery`);
      if (!Array.isArray(item.elements)) throw new VaultError('INVALID_INPUT', `items[${i}].elements must be an array`);
      return { delivery, elements: item.elements };
    });
    return this.storeAll(checked);
  }

  /** One transaction for all: a delivery already stored is skipped, anything else failing rolls everything back. */
  private async storeAll(
    items: readonly { delivery: VaultDelivery; elements: readonly VaultElement[] }[],
  ): Promise<string[]> {
    // Encrypt before taking the write lock: the transaction only writes.
    const rows = items.map(({ delivery, elements }) => ({
      delivery,
      rows: elements.map((stored: VaultElement, i) => this.elementRow(delivery.deliveryId, stored, i)),
    }));
    return this.exclusive(async (db) => {
      await db.exec('BEGIN IMMEDIATE');
      try {
        const stored: string[] = [];
        const insert = await db.prepare(INSERT_ELEMENT);
        try {
          for (const { delivery: d, rows: elementRows } of rows) {
            const inserted = await db.run(
              `INSERT INTO deliveries (${DELIVERY_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (delivery_id) DO NOTHING`,
              [
                d.deliveryId,
                d.sender,
                d.merkleRoot,
                JSON.stringify(d.categories),
                d.segmentCount,
                d.elementCount,
                d.createdAt,
                d.storedAt,
              ],
            );
            if (inserted.changes === 0) continue;
            for (const row of elementRows) await insert.run(row);
            stored.push(d.deliveryId);
          }
        } finally {
          await insert.finalize();
        }
        await db.exec('COMMIT');
        return stored;
      } catch (err) {
        // Fails harmlessly when SQLite already rolled back on its own (e.g. a full disk).
        await db.exec('ROLLBACK').catch(() => undefined);
        throw err;
      }
    });
  }

  async delivery(deliveryId: string): Promise<VaultDelivery | undefined> {
    return this.exclusive(async (db) => {
      const row = await db.get<DeliveryRow>(`SELECT ${DELIVERY_COLUMNS} FROM deliveries WHERE delivery_id = ?`, [
        deliveryId,
      ]);
      return row === undefined ? undefined : toDelivery(row);
    });
  }

  async deliveries(): Promise<VaultDelivery[]> {
    return this.exclusive(async (db) => {
      const rows = await db.all<DeliveryRow>(
        `SELECT ${DELIVERY_COLUMNS} FROM deliveries ORDER BY stored_at DESC, rowid DESC`,
      );
      return rows.map(toDelivery);
    });
  }

  async search(query: RecordQuery): Promise<VaultElement[]> {
    const q = checkQuery(query);
    const where: string[] = [];
    const params: SqlValue[] = [];
    if (q.resourceType !== undefined) {
      where.push('resource_type = ?');
      params.push(q.resourceType);
    }
    if (q.system !== undefined && q.code !== undefined) {
      where.push('code_index = ?');
      params.push(this.codeIndex(q.system, q.code));
    } else if (q.system !== undefined) {
      where.push('system_index = ?');
      params.push(this.systemIndex(q.system));
    } else if (q.code !== undefined) {
      // A code without its system has no blind index: narrow to coded rows, match after decrypting.
      where.push('code_index IS NOT NULL');
    }
    if (q.from !== undefined) {
      where.push('clinical_time >= ?');
      params.push(q.from);
    }
    if (q.to !== undefined) {
      where.push('clinical_time < ?');
      params.push(q.to);
    }
    if (q.deliveryId !== undefined) {
      where.push('delivery_id = ?');
      params.push(q.deliveryId);
    }
    if (q.kind !== undefined) {
      where.push('kind = ?');
      params.push(q.kind);
    }
    const sql =
      `SELECT ${ELEMENT_COLUMNS} FROM elements` +
      (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
      ` ORDER BY ${ELEMENT_ORDER} LIMIT ? OFFSET ?`;
    const limit = q.limit;
    // Unreadable rows are skipped, so a limited search may need more rows than it returns.
    const page = limit === undefined ? -1 : Math.max(limit, MIN_PAGE);

    return this.exclusive(async (db) => {
      const found: VaultElement[] = [];
      if (limit === 0) return found;
      for (let offset = 0; ;) {
        const rows = await db.all<ElementRow>(sql, [...params, page, offset]);
        for (const row of rows) {
          const read = this.readRow(row);
          // Matching the decrypted content again also settles code-only queries and `|` in systems.
          if (!read.ok || !matches(read.stored, q)) continue;
          found.push(read.stored);
          if (found.length === limit) return found;
        }
        if (page < 0 || rows.length < page) return found;
        offset += rows.length;
      }
    });
  }

  async readAll(deliveryId?: string): Promise<VaultRead[]> {
    return this.exclusive(async (db) => {
      const rows = await db.all<ElementRow>(
        `SELECT ${ELEMENT_COLUMN_NAMES.map((c) => `e.${c}`).join(', ')} FROM elements e JOIN deliveries d USING (delivery_id)
         ${deliveryId === undefined ? '' : 'WHERE e.delivery_id = ?'}
         ORDER BY d.rowid, e.segment_index, e.element_index`,
        deliveryId === undefined ? [] : [deliveryId],
      );
      return rows.map((row) => this.readRow(row));
    });
  }

  async addNotification(kind: NotificationKind, message: string, ref: string): Promise<AgentNotification | undefined> {
    if (!(NOTIFICATION_KINDS as readonly string[]).includes(kind)) {
      throw new VaultError('INVALID_INPUT', `unknown notification kind ${String(kind)}`);
    }
    if (typeof message !== 'string' || typeof ref !== 'string') {
      throw new VaultError('INVALID_INPUT', 'notification message and ref must be strings');
    }
    const createdAt = this.now().toISOString();
    return this.exclusive(async (db) => {
      const result = await db.run(
        `INSERT INTO notifications (kind, message, ref, created_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (kind, ref) DO NOTHING`,
        [kind, message, ref, createdAt],
      );
      if (result.changes === 0) return undefined;
      return { id: result.lastID, kind, message, ref, createdAt, read: false };
    });
  }

  async notifications(options: { unreadOnly?: boolean; limit?: number } = {}): Promise<AgentNotification[]> {
    const limit = options.limit ?? -1;
    if (!Number.isInteger(limit) || limit < -1) {
      throw new VaultError('INVALID_QUERY', 'limit must be a non-negative integer');
    }
    return this.exclusive(async (db) => {
      const rows = await db.all<NotificationRow>(
        `SELECT id, kind, message, ref, created_at, read FROM notifications
         ${options.unreadOnly === true ? 'WHERE read = 0' : ''} ORDER BY id DESC LIMIT ?`,
        [limit],
      );
      return rows.map((r) => ({
        id: r.id,
        kind: r.kind,
        message: r.message,
        ref: r.ref,
        createdAt: r.created_at,
        read: r.read === 1,
      }));
    });
  }

  async markNotificationsRead(ids?: readonly number[]): Promise<void> {
    if (ids !== undefined && (!Array.isArray(ids) || !ids.every((id) => Number.isSafeInteger(id)))) {
      throw new VaultError('INVALID_INPUT', 'notification ids must be integers');
    }
    return this.exclusive(async (db) => {
      if (ids === undefined) await db.run('UPDATE notifications SET read = 1 WHERE read = 0');
      else if (ids.length > 0) {
        await db.run('UPDATE notifications SET read = 1 WHERE id IN (SELECT value FROM json_each(?))', [
          JSON.stringify(ids),
        ]);
      }
    });
  }

  async researchDecision(offerId: string): Promise<ResearchDecision | undefined> {
    return this.exclusive(async (db) => {
      const row = await db.get<{ offer_id: string; sealed: unknown }>(
        'SELECT offer_id, sealed FROM research_decisions WHERE offer_id = ?',
        [offerId],
      );
      if (row === undefined) return undefined;
      const decision = this.openDecision(row.offer_id, row.sealed);
      if (!decision) throw new VaultError('INVALID_INPUT', `the research decision on ${offerId} cannot be read`);
      return decision;
    });
  }

  async researchDecisions(): Promise<ResearchDecision[]> {
    return this.exclusive(async (db) => {
      const rows = await db.all<{ offer_id: string; sealed: unknown }>(
        'SELECT offer_id, sealed FROM research_decisions ORDER BY decided_at DESC, offer_id',
      );
      return rows.map((r) => this.openDecision(r.offer_id, r.sealed)).filter((d) => d !== undefined);
    });
  }

  async putResearchDecision(decision: ResearchDecision): Promise<void> {
    if (typeof decision?.offerId !== 'string' || decision.offerId === '' || typeof decision.decidedAt !== 'string') {
      throw new VaultError('INVALID_INPUT', 'a research decision needs an offerId and decidedAt');
    }
    const sealed = this.sealValue(Buffer.from(canonicalJson(decision), 'utf8'), decisionAad(decision.offerId));
    return this.exclusive(async (db) => {
      await db.run(
        `INSERT INTO research_decisions (offer_id, decided_at, sealed) VALUES (?, ?, ?)
         ON CONFLICT (offer_id) DO UPDATE SET decided_at = excluded.decided_at, sealed = excluded.sealed`,
        [decision.offerId, decision.decidedAt, sealed],
      );
    });
  }

  async getMeta(key: string): Promise<string | undefined> {
    return this.exclusive(async (db) => {
      const row = await db.get<{ value: string }>('SELECT value FROM meta WHERE key = ?', [key]);
      return row?.value;
    });
  }

  async setMeta(key: string, value: string): Promise<void> {
    if (typeof key !== 'string' || typeof value !== 'string') {
      throw new VaultError('INVALID_INPUT', 'meta key and value must be strings');
    }
    return this.exclusive(async (db) => {
      await db.run(
        'INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
        [key, value],
      );
    });
  }

  async deleteMeta(key: string): Promise<boolean> {
    return this.exclusive(async (db) => {
      // What is deleted this way is meant to be gone (a guardian's withdrawn share): zeroed in the
      // page, not left in the file's free space.
      await db.exec('PRAGMA secure_delete = ON');
      return (await db.run('DELETE FROM meta WHERE key = ?', [key])).changes > 0;
    });
  }

  /** Waits for running calls, then closes the file. Later calls fail with VaultError CLOSED; closing twice is fine. */
  close(): Promise<void> {
    return this.mutex.run(async () => {
      if (this.closed) return;
      this.closed = true;
      await this.db.close();
    });
  }

  // ---- internals ----

  private exclusive<T>(section: (db: AsyncDatabase) => Promise<T>): Promise<T> {
    return this.mutex.run(() => {
      if (this.closed) return Promise.reject(new VaultError('CLOSED', 'the vault is closed'));
      return section(this.db);
    });
  }

  private codeIndex(system: string, code: string): string {
    return createHmac('sha256', this.indexKey).update(`${system}|${code}`, 'utf8').digest('hex');
  }

  private systemIndex(system: string): string {
    return createHmac('sha256', this.indexKey).update(system, 'utf8').digest('hex');
  }

  /** The plain columns an element's content implies: written on store, compared on read. */
  private indexColumns(content: SealedContent) {
    const { element, proof } = content;
    const hasSystem = typeof element.system === 'string';
    const hasCode = hasSystem && typeof element.code === 'string';
    return {
      segmentIndex: proof.segmentIndex,
      elementIndex: proof.elementIndex,
      resourceType: element.resourceType,
      kind: element.kind as string,
      clinicalTime: typeof element.time === 'string' ? normalizeTime(element.time) : null,
      systemIndex: hasSystem ? this.systemIndex(element.system as string) : null,
      codeIndex: hasCode ? this.codeIndex(element.system as string, element.code as string) : null,
    };
  }

  /** 0x01 || IV || AES-256-GCM(dataKey, plaintext) || tag, as element contents are sealed; the plaintext is zeroed. */
  private sealValue(plaintext: Buffer, aad: Buffer): Buffer {
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', this.dataKey, iv, { authTagLength: TAG_BYTES });
    cipher.setAAD(aad);
    const sealed = Buffer.concat([
      Buffer.of(SEALED_FORMAT),
      iv,
      cipher.update(plaintext),
      cipher.final(),
      cipher.getAuthTag(),
    ]);
    plaintext.fill(0);
    return sealed;
  }

  /** The plaintext of a value in the sealed format, or undefined when it does not decrypt (wrong key, altered, moved). */
  private openValue(sealed: Buffer, aad: Buffer): Buffer | undefined {
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.dataKey, sealed.subarray(1, 1 + IV_BYTES), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(aad);
      decipher.setAuthTag(sealed.subarray(sealed.length - TAG_BYTES));
      return Buffer.concat([
        decipher.update(sealed.subarray(1 + IV_BYTES, sealed.length - TAG_BYTES)),
        decipher.final(),
      ]);
    } catch {
      return undefined;
    }
  }

  /** The decision in a row, or undefined when it does not decrypt or is not one for this offer. */
  private openDecision(offerId: string, sealed: unknown): ResearchDecision | undefined {
    if (!isSealedValue(sealed)) return undefined;
    const plaintext = this.openValue(sealed, decisionAad(offerId));
    if (!plaintext) return undefined;
    try {
      const decision = JSON.parse(plaintext.toString('utf8')) as ResearchDecision;
      return decision.offerId === offerId ? decision : undefined;
    } catch {
      return undefined;
    } finally {
      plaintext.fill(0);
    }
  }

  private elementRow(deliveryId: string, stored: VaultElement, i: number): SqlValue[] {
    const what = `elements[${i}]`;
    if (typeof stored !== 'object' || stored === null)
      throw new VaultError('INVALID_INPUT', `${what} is not an object`);
    if (stored.deliveryId !== deliveryId) {
      throw new VaultError('INVALID_INPUT', `${what} belongs to another delivery`);
    }
    if (typeof stored.segmentId !== 'string' || stored.segmentId === '') {
      throw new VaultError('INVALID_INPUT', `${what}.segmentId must be a non-empty string`);
    }
    const content: SealedContent = { element: stored.element, salt: stored.salt, proof: stored.proof };
    checkInput(sealedContentSchema, content, what);
    let plaintext: Buffer;
    try {
      plaintext = Buffer.from(canonicalJson(content), 'utf8');
    } catch (err) {
      throw new VaultError('INVALID_INPUT', `${what} cannot be written as JSON`, { cause: err });
    }
    const elementId = content.element.id;
    const sealed = this.sealValue(plaintext, rowAad(deliveryId, stored.segmentId, elementId));
    const c = this.indexColumns(content);
    return [
      elementId,
      deliveryId,
      stored.segmentId,
      c.segmentIndex,
      c.elementIndex,
      c.resourceType,
      c.kind,
      c.clinicalTime,
      c.systemIndex,
      c.codeIndex,
      sealed,
    ];
  }

  private readRow(row: ElementRow): VaultRead {
    const unreadable = (error: string): VaultRead => ({
      ok: false,
      deliveryId: row.delivery_id,
      elementId: row.element_id,
      error,
    });
    if (!isSealedValue(row.sealed)) return unreadable(UNREADABLE.format);
    const plaintext = this.openValue(row.sealed, rowAad(row.delivery_id, row.segment_id, row.element_id));
    if (!plaintext) return unreadable(UNREADABLE.decrypt);
    let content: SealedContent;
    try {
      const parsed: unknown = parseExactJson(plaintext.toString('utf8'));
      if (!sealedContentSchema.safeParse(parsed).success) return unreadable(UNREADABLE.content);
      content = parsed as SealedContent;
    } catch {
      return unreadable(UNREADABLE.content);
    } finally {
      plaintext.fill(0);
    }
    const c = this.indexColumns(content);
    if (
      content.element.id !== row.element_id ||
      c.segmentIndex !== row.segment_index ||
      c.elementIndex !== row.element_index ||
      c.resourceType !== row.resource_type ||
      c.kind !== row.kind ||
      c.clinicalTime !== row.clinical_time ||
      c.systemIndex !== row.system_index ||
      c.codeIndex !== row.code_index
    ) {
      return unreadable(UNREADABLE.columns);
    }
    return {
      ok: true,
      stored: { deliveryId: row.delivery_id, segmentId: row.segment_id, ...content },
    };
  }
}

function secretKey(key: unknown, what: string): KeyObject {
  if (!Buffer.isBuffer(key) || key.length !== KEY_BYTES) {
    throw new VaultError('INVALID_KEYS', `vault ${what} must be a ${KEY_BYTES}-byte Buffer`);
  }
  return createSecretKey(Buffer.from(key));
}

/** Whether a column holds the sealed format at all: then a wrong key or an edit shows as a failure to decrypt. */
function isSealedValue(value: unknown): value is Buffer {
  return Buffer.isBuffer(value) && value.length >= 1 + IV_BYTES + TAG_BYTES && value[0] === SEALED_FORMAT;
}

function rowAad(deliveryId: string, segmentId: string, elementId: string): Buffer {
  return Buffer.from(canonicalJson({ v: 1, deliveryId, segmentId, elementId }), 'utf8');
}

function decisionAad(offerId: string): Buffer {
  return Buffer.from(canonicalJson({ v: 1, table: 'research_decisions', offerId }), 'utf8');
}

function checkInput<T>(schema: z.ZodType<T>, value: unknown, what: string): T {
  const result = schema.safeParse(value);
  if (!result.success) {
    const issue = result.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : `.${issue.path.join('.')}`;
    throw new VaultError('INVALID_INPUT', `${what}${where}: ${issue?.message ?? 'invalid'}`);
  }
  return value as T;
}

type CheckedQuery = Omit<RecordQuery, 'from' | 'to'> & { from?: string; to?: string };

function checkQuery(query: RecordQuery): CheckedQuery {
  const result = querySchema.safeParse(query ?? {});
  if (!result.success) {
    const issue = result.error.issues[0];
    throw new VaultError('INVALID_QUERY', `query.${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`);
  }
  const q: CheckedQuery = { ...result.data };
  if (q.from !== undefined) q.from = normalizeTime(q.from);
  if (q.to !== undefined) q.to = normalizeTime(q.to);
  return q;
}

function matches(stored: VaultElement, q: CheckedQuery): boolean {
  const { element } = stored;
  const time = typeof element.time === 'string' ? normalizeTime(element.time) : undefined;
  return (
    (q.resourceType === undefined || element.resourceType === q.resourceType) &&
    (q.system === undefined || element.system === q.system) &&
    (q.code === undefined || (typeof element.system === 'string' && element.code === q.code)) &&
    (q.from === undefined || (time !== undefined && time >= q.from)) &&
    (q.to === undefined || (time !== undefined && time < q.to)) &&
    (q.deliveryId === undefined || stored.deliveryId === q.deliveryId) &&
    (q.kind === undefined || element.kind === q.kind)
  );
}

function toDelivery(row: DeliveryRow): VaultDelivery {
  return {
    deliveryId: row.delivery_id,
    sender: row.sender,
    merkleRoot: row.merkle_root,
    categories: JSON.parse(row.categories) as string[],
    segmentCount: row.segment_count,
    elementCount: row.element_count,
    createdAt: row.created_at,
    storedAt: row.stored_at,
  };
}
