import { chmodSync, existsSync } from 'node:fs';
import type { DatabaseSync } from 'node:sqlite';
import { inTransaction, openStore, type Migration } from '../store/sqlite';

/** One attribute of an identity, as Fabric CA registers it (`ecert`: put in certificates by default). */
export interface IdentityAttribute {
  name: string;
  value: string;
  ecert: boolean;
}

export interface IdentityRecord {
  id: string;
  /** scrypt hash of the enrollment secret (`secret-hash.ts`); never the secret. */
  secretHash: string;
  /** client | peer | admin | orderer (or another type a registrar chose); becomes the certificate's OU. */
  type: string;
  /** Dotted affiliation, "" for the root. */
  affiliation: string;
  attributes: IdentityAttribute[];
  /** -1: unlimited. */
  maxEnrollments: number;
  /**
   * Successful enrollments so far (Fabric CA's `state`); -1 once the identity is revoked
   * ({@link REVOKED_STATE}), after which it can never enroll again.
   */
  enrollments: number;
}

/** Fabric CA's `state` of a revoked identity. */
export const REVOKED_STATE = -1;

/** Whether the identity has been revoked (revoke by enrollment id). */
export function isRevokedIdentity(identity: Pick<IdentityRecord, 'enrollments'>): boolean {
  return identity.enrollments === REVOKED_STATE;
}

export interface IssuedCertificate {
  /** Lower-case hex without leading zeros, as Fabric CA indexes it. */
  serial: string;
  /** Authority key identifier, same form. */
  aki: string;
  enrollmentId: string;
  pem: string;
  notBefore: Date;
  notAfter: Date;
}

export interface CertificateRecord extends IssuedCertificate {
  status: 'good' | 'revoked';
  /** When it was revoked; undefined while good. */
  revokedAt?: Date;
  /** RFC 5280 reason code given at revocation (0 unspecified). */
  reason: number;
}

/** Which revoked certificates a CRL lists (Fabric CA's `gencrl` filters); each bound exclusive. */
export interface RevokedCertificateFilter {
  revokedAfter?: Date;
  revokedBefore?: Date;
  expireAfter?: Date;
  expireBefore?: Date;
}

const MIGRATIONS: Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE identities (
        id              TEXT PRIMARY KEY,
        secret_hash     TEXT NOT NULL,
        type            TEXT NOT NULL,
        affiliation     TEXT NOT NULL,
        attributes      TEXT NOT NULL,
        max_enrollments INTEGER NOT NULL,
        enrollments     INTEGER NOT NULL DEFAULT 0,
        registered_at   TEXT NOT NULL
      );
      CREATE TABLE certificates (
        serial        TEXT NOT NULL,
        aki           TEXT NOT NULL,
        enrollment_id TEXT NOT NULL,
        pem           TEXT NOT NULL,
        not_before    TEXT NOT NULL,
        not_after     TEXT NOT NULL,
        status        TEXT NOT NULL DEFAULT 'good',
        issued_at     TEXT NOT NULL,
        PRIMARY KEY (serial, aki)
      );
      CREATE INDEX certificates_by_id ON certificates (enrollment_id);
    `,
  },
  {
    // Revocation (Fabric CA's `revoked_at` and `reason` columns of its certificates table).
    version: 2,
    sql: `
      ALTER TABLE certificates ADD COLUMN revoked_at TEXT;
      ALTER TABLE certificates ADD COLUMN reason INTEGER NOT NULL DEFAULT 0;
      CREATE INDEX certificates_by_status ON certificates (status);
    `,
  },
];

interface IdentityRow {
  id: string;
  secret_hash: string;
  type: string;
  affiliation: string;
  attributes: string;
  max_enrollments: number;
  enrollments: number;
}

interface CertificateRow {
  serial: string;
  aki: string;
  enrollment_id: string;
  pem: string;
  not_before: string;
  not_after: string;
  status: string;
  revoked_at: string | null;
  reason: number;
}

/**
 * The CA's registry and certificate store: one SQLite file in the CA home (WAL, full fsync), so
 * registrations and enrollment counts survive a restart and `kill -9`.
 */
export class CaDatabase {
  private constructor(private readonly db: DatabaseSync) {}

  /** Opens the database, readable by its owner only (it holds secret hashes). */
  static open(file: string): CaDatabase {
    const db = openStore(file, MIGRATIONS);
    if (file !== ':memory:') {
      for (const f of [file, `${file}-wal`, `${file}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
    }
    return new CaDatabase(db);
  }

  getIdentity(id: string): IdentityRecord | undefined {
    const row = this.db.prepare('SELECT * FROM identities WHERE id = ?').get(id) as IdentityRow | undefined;
    return row && toIdentity(row);
  }

  /** Adds an identity; false (and nothing changed) when the id is already registered. */
  insertIdentity(identity: Omit<IdentityRecord, 'enrollments'>): boolean {
    const result = this.db
      .prepare(
        `INSERT INTO identities (id, secret_hash, type, affiliation, attributes, max_enrollments, registered_at)
         VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`,
      )
      .run(
        identity.id,
        identity.secretHash,
        identity.type,
        identity.affiliation,
        JSON.stringify(identity.attributes),
        identity.maxEnrollments,
        new Date().toISOString(),
      );
    return result.changes === 1;
  }

  /**
   * Counts one enrollment of `id` and stores the certificate it was given, atomically: false (and
   * nothing stored) when the identity has reached its maximum meanwhile.
   */
  recordEnrollment(id: string, certificate: IssuedCertificate): boolean {
    return inTransaction(this.db, () => {
      const counted = this.db
        .prepare(
          `UPDATE identities SET enrollments = enrollments + 1
           WHERE id = ? AND enrollments >= 0 AND (max_enrollments = -1 OR enrollments < max_enrollments)`,
        )
        .run(id);
      if (counted.changes !== 1) return false;
      this.insertCertificate(certificate);
      return true;
    });
  }

  /** Stores a certificate issued without counting an enrollment (re-enrollment). */
  storeCertificate(certificate: IssuedCertificate): void {
    this.insertCertificate(certificate);
  }

  getCertificate(serial: string, aki: string): CertificateRecord | undefined {
    const row = this.db.prepare('SELECT * FROM certificates WHERE serial = ? AND aki = ?').get(serial, aki) as
      CertificateRow | undefined;
    return row && toCertificate(row);
  }

  /**
   * Revokes an identity as Fabric CA's revoke by enrollment id does, in one transaction: its state
   * becomes -1 (no further enrollment) and every certificate of it not yet revoked is marked revoked
   * now with `reason`. Returns those certificates; undefined when the identity does not exist.
   */
  revokeIdentity(id: string, reason: number, now = new Date()): CertificateRecord[] | undefined {
    return inTransaction(this.db, () => {
      const marked = this.db.prepare('UPDATE identities SET enrollments = ? WHERE id = ?').run(REVOKED_STATE, id);
      if (marked.changes !== 1) return undefined;
      const rows = this.db
        .prepare(
          "SELECT * FROM certificates WHERE enrollment_id = ? AND status != 'revoked' ORDER BY issued_at, serial",
        )
        .all(id) as unknown as CertificateRow[];
      this.db
        .prepare(
          `UPDATE certificates SET status = 'revoked', revoked_at = ?, reason = ?
           WHERE enrollment_id = ? AND status != 'revoked'`,
        )
        .run(now.toISOString(), reason, id);
      return rows.map((row) => ({ ...toCertificate(row), status: 'revoked' as const, revokedAt: now, reason }));
    });
  }

  /** Revokes one certificate; false (nothing changed) when it does not exist or is already revoked. */
  revokeCertificate(serial: string, aki: string, reason: number, now = new Date()): boolean {
    const result = this.db
      .prepare(
        `UPDATE certificates SET status = 'revoked', revoked_at = ?, reason = ?
         WHERE serial = ? AND aki = ? AND status != 'revoked'`,
      )
      .run(now.toISOString(), reason, serial, aki);
    return result.changes === 1;
  }

  /** The revoked certificates a CRL lists, oldest revocation first. */
  revokedCertificates(filter: RevokedCertificateFilter = {}): CertificateRecord[] {
    const conditions = ["status = 'revoked'"];
    const args: string[] = [];
    const bound = (column: string, op: '>' | '<', value: Date | undefined) => {
      if (value === undefined) return;
      conditions.push(`${column} ${op} ?`);
      args.push(value.toISOString());
    };
    bound('not_after', '>', filter.expireAfter);
    bound('not_after', '<', filter.expireBefore);
    bound('revoked_at', '>', filter.revokedAfter);
    bound('revoked_at', '<', filter.revokedBefore);
    const rows = this.db
      .prepare(`SELECT * FROM certificates WHERE ${conditions.join(' AND ')} ORDER BY revoked_at, serial`)
      .all(...args) as unknown as CertificateRow[];
    return rows.map(toCertificate);
  }

  /** Throws when the database cannot be read: the health check. */
  check(): void {
    this.db.prepare('SELECT count(*) FROM identities').get();
  }

  close(): void {
    if (this.db.isOpen) this.db.close();
  }

  private insertCertificate(c: IssuedCertificate): void {
    this.db
      .prepare(
        `INSERT INTO certificates (serial, aki, enrollment_id, pem, not_before, not_after, issued_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
      )
      .run(
        c.serial,
        c.aki,
        c.enrollmentId,
        c.pem,
        c.notBefore.toISOString(),
        c.notAfter.toISOString(),
        new Date().toISOString(),
      );
  }
}

function toCertificate(row: CertificateRow): CertificateRecord {
  const revoked = row.status === 'revoked';
  return {
    serial: row.serial,
    aki: row.aki,
    enrollmentId: row.enrollment_id,
    pem: row.pem,
    notBefore: new Date(row.not_before),
    notAfter: new Date(row.not_after),
    status: revoked ? 'revoked' : 'good',
    ...(revoked && row.revoked_at !== null ? { revokedAt: new Date(row.revoked_at) } : {}),
    reason: row.reason,
  };
}

function toIdentity(row: IdentityRow): IdentityRecord {
  return {
    id: row.id,
    secretHash: row.secret_hash,
    type: row.type,
    affiliation: row.affiliation,
    attributes: JSON.parse(row.attributes) as IdentityAttribute[],
    maxEnrollments: row.max_enrollments,
    enrollments: row.enrollments,
  };
}
