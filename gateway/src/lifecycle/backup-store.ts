import { createHash } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { BackupVersion } from '@phr/common';
import { inTransaction } from '../store/database';
import { LifecycleError } from './lifecycle-error';
import { decryptRow, encryptRow, rowAad } from './patient-cipher';
import type { PatientKeys } from './patient-keys';

export interface StoredBackup extends BackupVersion {
  bytes: Buffer;
}

export interface BackupPut {
  version: BackupVersion;
  /** False when the bytes were those of the latest version, which is answered instead. */
  created: boolean;
}

interface VersionRow {
  version: number;
  size: number;
  sha256: string;
  stored_at: string;
}

/**
 * Patients' backups at this gateway (`PUT/GET /backup/{pseudonym}`). The agent sends an archive it
 * encrypted under a key only the patient's recovery secret gives; the gateway encrypts it again
 * under the patient's key (patient-keys.ts), so erasure makes every version unreadable, and keeps
 * the last `versionsKept` versions.
 */
export class BackupStore {
  private readonly latest: StatementSync;
  private readonly insert: StatementSync;
  private readonly prune: StatementSync;
  private readonly byVersion: StatementSync;
  private readonly list: StatementSync;
  private readonly removeAll: StatementSync;

  constructor(
    private readonly db: DatabaseSync,
    private readonly keys: PatientKeys,
    private readonly options: { versionsKept: number; now?: () => Date },
  ) {
    // The table: store/migrations/v2.ts.
    this.latest = db.prepare(
      'SELECT version, size, sha256, stored_at FROM backup_version WHERE pseudonym = ? ORDER BY version DESC LIMIT 1',
    );
    this.insert = db.prepare(
      'INSERT INTO backup_version (pseudonym, version, size, sha256, stored_at, body) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.prune = db.prepare('DELETE FROM backup_version WHERE pseudonym = ? AND version <= ?');
    this.byVersion = db.prepare('SELECT * FROM backup_version WHERE pseudonym = ? AND version = ?');
    this.list = db.prepare(
      'SELECT version, size, sha256, stored_at FROM backup_version WHERE pseudonym = ? ORDER BY version',
    );
    this.removeAll = db.prepare('DELETE FROM backup_version WHERE pseudonym = ?');
  }

  /**
   * Stores `bytes` as the patient's next version and drops the versions beyond the last
   * `versionsKept`. The same bytes as the latest version store nothing: that version is answered
   * (`created: false`), so an agent retrying an upload does not push its older versions out.
   * @throws LifecycleError ERASED when the patient erased their records here.
   */
  put(pseudonym: string, bytes: Buffer): BackupPut {
    const sha256 = createHash('sha256').update(bytes).digest('hex');
    return inTransaction(this.db, () => {
      const latest = this.latest.get(pseudonym) as VersionRow | undefined;
      if (latest && latest.sha256 === sha256 && latest.size === bytes.length) {
        return { version: toVersion(latest), created: false };
      }
      const key = this.keys.keyFor(pseudonym);
      const version = (latest?.version ?? 0) + 1;
      const storedAt = (this.options.now?.() ?? new Date()).toISOString();
      const body = encryptRow(key, rowAad('backup_version', pseudonym, version), bytes);
      this.insert.run(pseudonym, version, bytes.length, sha256, storedAt, body);
      this.prune.run(pseudonym, version - this.options.versionsKept);
      return { version: { version, size: bytes.length, sha256, storedAt }, created: true };
    });
  }

  /**
   * The latest version, or the one asked for, decrypted back into the bytes the agent sent.
   * @throws LifecycleError NO_BACKUP when there is none (or that version is no longer kept).
   */
  get(pseudonym: string, version?: number): StoredBackup {
    const wanted = version ?? (this.latest.get(pseudonym) as VersionRow | undefined)?.version;
    const row =
      wanted === undefined
        ? undefined
        : (this.byVersion.get(pseudonym, wanted) as (VersionRow & { body: Uint8Array }) | undefined);
    const key = row ? this.keys.existing(pseudonym) : undefined;
    if (!row || !key) {
      throw new LifecycleError(
        'NO_BACKUP',
        version === undefined
          ? 'no backup is stored here for this patient'
          : `backup version ${version} is not kept here`,
      );
    }
    const bytes = decryptRow(key, rowAad('backup_version', pseudonym, row.version), row.body);
    return { ...toVersion(row), bytes };
  }

  /** The versions kept, oldest first. */
  versions(pseudonym: string): BackupVersion[] {
    return (this.list.all(pseudonym) as unknown as VersionRow[]).map(toVersion);
  }

  /** Deletes every version (inside the erasure's transaction); how many there were. */
  destroyAll(pseudonym: string): number {
    return Number(this.removeAll.run(pseudonym).changes);
  }
}

function toVersion(row: VersionRow): BackupVersion {
  return { version: row.version, size: row.size, sha256: row.sha256, storedAt: row.stored_at };
}
