import { hkdfSync, randomBytes } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { LifecycleError } from './lifecycle-error';
import { decryptRow, encryptRow, PATIENT_KEY_BYTES, rowAad } from './patient-cipher';

const WRAP_SALT = 'phr-gateway patient keys v1';
const WRAP_INFO = 'patient-key-wrap';

/**
 * One random AES-256 key per patient, under which the gateway keeps that patient's backups and the
 * deliveries kept for a rebuild. Each key is stored wrapped (AES-256-GCM) under a key derived by
 * HKDF from the gateway's secret key file (`gateway.key`), so a copy of the database alone opens
 * nothing. Erasure deletes the patient's row: everything under it is then unreadable, also in
 * copies of the rows made before.
 */
export class PatientKeys {
  private readonly wrapKey: Buffer;
  private readonly insert: StatementSync;
  private readonly select: StatementSync;
  private readonly remove: StatementSync;
  private readonly erased: StatementSync;

  constructor(
    db: DatabaseSync,
    gatewaySecret: Uint8Array,
    private readonly now: () => Date = () => new Date(),
  ) {
    this.wrapKey = Buffer.from(hkdfSync('sha256', gatewaySecret, WRAP_SALT, WRAP_INFO, PATIENT_KEY_BYTES));
    // The tables: store/migrations/v2.ts.
    this.insert = db.prepare(
      'INSERT INTO patient_key (pseudonym, wrapped_key, created_at) VALUES (?, ?, ?) ON CONFLICT (pseudonym) DO NOTHING',
    );
    this.select = db.prepare('SELECT wrapped_key FROM patient_key WHERE pseudonym = ?');
    this.remove = db.prepare('DELETE FROM patient_key WHERE pseudonym = ?');
    this.erased = db.prepare('SELECT 1 AS erased FROM erasure_receipt WHERE pseudonym = ?');
  }

  /**
   * The patient's key, made (and stored) on first use. One statement makes it, so two requests
   * racing for a new patient end up with the same key.
   * @throws LifecycleError ERASED when the patient erased their records here: no new key is made.
   */
  keyFor(pseudonym: string): Buffer {
    const known = this.existing(pseudonym);
    if (known) return known;
    if (this.isErased(pseudonym)) throw new LifecycleError('ERASED', 'the patient erased their records here');
    const key = randomBytes(PATIENT_KEY_BYTES);
    this.insert.run(pseudonym, this.wrap(pseudonym, key), this.now().toISOString());
    key.fill(0);
    return this.existing(pseudonym) as Buffer;
  }

  /** The patient's key if one was made (and not destroyed). */
  existing(pseudonym: string): Buffer | undefined {
    const row = this.select.get(pseudonym) as { wrapped_key: Uint8Array } | undefined;
    return row ? decryptRow(this.wrapKey, rowAad('patient_key', pseudonym), row.wrapped_key) : undefined;
  }

  /** Whether the patient erased their records at this gateway (an erasure receipt exists). */
  isErased(pseudonym: string): boolean {
    return this.erased.get(pseudonym) !== undefined;
  }

  /**
   * Deletes the patient's key; the number of keys deleted (0 or 1). Inside the erasure's
   * transaction; the database's secure_delete overwrites the wrapped key in the file.
   */
  destroy(pseudonym: string): number {
    return Number(this.remove.run(pseudonym).changes);
  }

  private wrap(pseudonym: string, key: Buffer): Buffer {
    return encryptRow(this.wrapKey, rowAad('patient_key', pseudonym), key);
  }
}
