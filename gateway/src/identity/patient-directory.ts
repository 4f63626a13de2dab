import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { FhirError, forbiddenError, Roles, unprocessable, type PatientRecord } from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import type { Principal } from '../auth/principal';
import type { LedgerPort } from '../ledger/ledger-port';
import { isStorageFull } from '../store/storage-full';

/**
 * Patients' ledger records (public keys, owner) as this gateway last saw them. Fresh records come
 * from the ledger; when the ledger is away, the last stored copy keeps ingest going.
 */
export class PatientDirectory {
  private readonly upsert: StatementSync;
  private readonly select: StatementSync;
  private readonly memory = new Map<string, { record: PatientRecord; fetchedAt: number }>();

  constructor(
    db: DatabaseSync,
    private readonly ledger: LedgerPort,
    private readonly maxAgeMs = 30_000,
    private readonly now: () => number = Date.now,
  ) {
    // The table: store/migrations/ (openDatabase has applied them).
    this.upsert = db.prepare(
      `INSERT INTO patients (pseudonym, record_json, fetched_at) VALUES (?, ?, ?)
       ON CONFLICT (pseudonym) DO UPDATE SET record_json = excluded.record_json, fetched_at = excluded.fetched_at`,
    );
    this.select = db.prepare('SELECT record_json, fetched_at FROM patients WHERE pseudonym = ?');
  }

  /** The patient's record: cached if fresh, else the ledger's, else (ledger away) the last copy. */
  async get(pseudonym: string): Promise<PatientRecord | undefined> {
    const cached = this.memory.get(pseudonym) ?? this.stored(pseudonym);
    if (cached && this.now() - cached.fetchedAt < this.maxAgeMs) return cached.record;
    try {
      const record = await this.ledger.readPatient(pseudonym);
      if (record) this.remember(record);
      return record;
    } catch (err) {
      if (cached && err instanceof LedgerError && err.code !== 'NOT_FOUND') return cached.record;
      throw err;
    }
  }

  /** For the ingest path: a registered patient, or a 422/503 that says why not. */
  async require(pseudonym: string): Promise<PatientRecord> {
    let record: PatientRecord | undefined;
    try {
      record = await this.get(pseudonym);
    } catch (err) {
      throw new FhirError(
        503,
        [
          {
            severity: 'error',
            code: 'transient',
            diagnostics: 'the ledger is unreachable and this patient is not known here yet; retry later',
          },
        ],
        { cause: err },
      );
    }
    if (!record) throw unprocessable('the linked patient is not registered on the ledger');
    return record;
  }

  /**
   * A patient principal acting for `pseudonym` must be the identity that owns it on the ledger. A
   * cached record that names another owner is read again from the ledger first: a restore or a
   * recovery moves the pseudonym to the new device's identity (PatientRegistry.RotateKeys), and the
   * new device must not be refused for up to `maxAgeMs` after it.
   */
  async authorizeOwner(principal: Principal, pseudonym: string): Promise<PatientRecord> {
    if (principal.role !== Roles.Patient) throw forbiddenError('only the patient may do this');
    let record: PatientRecord | undefined;
    try {
      record = await this.get(pseudonym);
      if (record && record.owner !== principal.id) record = await this.fresh(pseudonym);
    } catch (err) {
      throw new FhirError(503, 'the ledger is unreachable; retry later', { cause: err });
    }
    if (!record || record.owner !== principal.id) throw forbiddenError('this pseudonym is not yours');
    return record;
  }

  /**
   * Marks the patient's cached record stale (its keys or owner changed on the ledger): the next
   * `get` reads the ledger, and the copy is kept only for a ledger outage.
   */
  forget(pseudonym: string): void {
    const entry = this.memory.get(pseudonym) ?? this.stored(pseudonym);
    if (entry) this.memory.set(pseudonym, { record: entry.record, fetchedAt: Number.NEGATIVE_INFINITY });
  }

  /**
   * The patient's record read from the ledger now, never from a cache (and remembered), for what
   * must not act on an old one: the encryption key a rebuild seals to, ownership after a restore.
   * @throws `LedgerError` when the ledger cannot be read.
   */
  async fresh(pseudonym: string): Promise<PatientRecord | undefined> {
    const record = await this.ledger.readPatient(pseudonym);
    if (record) this.remember(record);
    return record;
  }

  private stored(pseudonym: string): { record: PatientRecord; fetchedAt: number } | undefined {
    const row = this.select.get(pseudonym) as { record_json: string; fetched_at: number } | undefined;
    if (!row) return undefined;
    const entry = { record: JSON.parse(row.record_json) as PatientRecord, fetchedAt: row.fetched_at };
    this.memory.set(pseudonym, entry);
    return entry;
  }

  private remember(record: PatientRecord): void {
    const fetchedAt = this.now();
    this.memory.set(record.pseudonym, { record, fetchedAt });
    try {
      this.upsert.run(record.pseudonym, JSON.stringify(record), fetchedAt);
    } catch (err) {
      // The stored copy only serves ledger outages: a full disk must not fail the request that read it.
      if (!isStorageFull(err)) throw err;
    }
  }
}
