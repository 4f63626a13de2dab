import { randomInt } from 'node:crypto';
import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { conflictError, FhirError, notFoundError } from '@phr/common';
import type { KeyedHash } from './keyed-hash';

export interface MrnIdentifier {
  system: string;
  value: string;
}

export interface LinkCode {
  code: string;
  expiresAt: string;
}

export interface PatientLink {
  pseudonym: string;
  linkedAt: string;
  /** True when this call created it (false: it already existed). */
  created: boolean;
}

/** Crockford base32 without I, L, O, U: easy to read aloud and type. */
const CODE_ALPHABET = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
const CODE_LENGTH = 10; // 50 bits: guessing within a code's lifetime is hopeless
export const LINK_CODE_TTL_MS = 15 * 60 * 1000;

/**
 * The identity layer: which of this hospital's MRNs belongs to which pseudonym. MRNs are stored
 * only as keyed hashes; link codes only as keyed hashes; nothing here leaves the hospital.
 */
export class IdentityStore {
  private readonly insertCode: StatementSync;
  private readonly takeCode: StatementSync;
  private readonly findLink: StatementSync;
  private readonly insertLink: StatementSync;
  private readonly deleteLink: StatementSync;

  constructor(
    db: DatabaseSync,
    private readonly keyed: KeyedHash,
    private readonly now: () => number = Date.now,
  ) {
    // The tables: store/migrations/ (openDatabase has applied them).
    this.insertCode = db.prepare('INSERT INTO link_codes (code_hash, pseudonym, expires_at) VALUES (?, ?, ?)');
    this.takeCode = db.prepare(
      'UPDATE link_codes SET used_at = ? WHERE code_hash = ? AND used_at IS NULL AND expires_at > ? RETURNING pseudonym',
    );
    this.findLink = db.prepare('SELECT pseudonym, linked_at FROM patient_links WHERE mrn_hash = ?');
    this.insertLink = db.prepare(
      'INSERT INTO patient_links (mrn_hash, pseudonym, linked_at, linked_by) VALUES (?, ?, ?, ?)',
    );
    this.deleteLink = db.prepare('DELETE FROM patient_links WHERE mrn_hash = ?');
  }

  /** A one-time code the patient's agent shows at the registration desk. */
  issueLinkCode(pseudonym: string): LinkCode {
    let code = '';
    for (let i = 0; i < CODE_LENGTH; i++) code += CODE_ALPHABET[randomInt(CODE_ALPHABET.length)];
    const expires = this.now() + LINK_CODE_TTL_MS;
    this.insertCode.run(this.keyed.hash('link-code', code), pseudonym, expires);
    return { code: `${code.slice(0, 5)}-${code.slice(5)}`, expiresAt: new Date(expires).toISOString() };
  }

  /**
   * Links an MRN to the pseudonym behind a valid, unused code. Linking the same MRN to the same
   * patient again is answered, not refused; to another patient it is a conflict.
   */
  link(mrn: MrnIdentifier, code: string, linkedBy: string): PatientLink {
    const normalized = normalizeCode(code);
    const mrnHash = this.mrnHash(mrn);
    const row = this.takeCode.get(this.now(), this.keyed.hash('link-code', normalized), this.now()) as
      { pseudonym: string } | undefined;
    if (!row)
      throw new FhirError(422, [
        {
          severity: 'error',
          code: 'business-rule',
          diagnostics: 'the link code is unknown, used or expired',
          expression: ['code'],
        },
      ]);
    const existing = this.findLink.get(mrnHash) as { pseudonym: string; linked_at: string } | undefined;
    if (existing) {
      if (existing.pseudonym === row.pseudonym)
        return { pseudonym: row.pseudonym, linkedAt: existing.linked_at, created: false };
      throw conflictError('this MRN is already linked to another patient; unlink it first');
    }
    const linkedAt = new Date(this.now()).toISOString();
    this.insertLink.run(mrnHash, row.pseudonym, linkedAt, linkedBy);
    return { pseudonym: row.pseudonym, linkedAt, created: true };
  }

  unlink(mrn: MrnIdentifier): void {
    if (this.deleteLink.run(this.mrnHash(mrn)).changes === 0) throw notFoundError('this MRN is not linked');
  }

  /** The pseudonym an identifier is linked to, if any. */
  resolve(mrn: MrnIdentifier): string | undefined {
    return (this.findLink.get(this.mrnHash(mrn)) as { pseudonym: string } | undefined)?.pseudonym;
  }

  private mrnHash(mrn: MrnIdentifier): string {
    return this.keyed.hash('mrn', `${mrn.system}|${mrn.value}`);
  }
}

function normalizeCode(code: string): string {
  return code.toUpperCase().replace(/[\s-]/g, '').replace(/[IL]/g, '1').replace(/O/g, '0');
}
