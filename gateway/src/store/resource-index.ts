import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { KeyedHash } from '../identity/keyed-hash';

/** Where an earlier delivery put a resource: its delivery and the location the EHR was given. */
export interface IndexedResource {
  deliveryId: string;
  location: string;
}

/**
 * The identifiers of the resources this gateway accepted, as keyed hashes (never in clear: an
 * identifier may be an MRN or an accession number), so that a conditional create
 * (`request.ifNoneExist: identifier=system|value`) finds a resource an earlier delivery holds.
 */
export class ResourceIndex {
  private readonly getStmt: StatementSync;
  private readonly putStmt: StatementSync;

  constructor(
    db: DatabaseSync,
    private readonly keyed: KeyedHash,
  ) {
    // The table: store/migrations/ (openDatabase has applied them).
    this.getStmt = db.prepare('SELECT delivery_id, location FROM resource_identifier WHERE key = ?');
    this.putStmt = db.prepare(
      'INSERT OR IGNORE INTO resource_identifier (key, delivery_id, location) VALUES (?, ?, ?)',
    );
  }

  /** The key of a resource type and identifier; `system` undefined matches any system (FHIR token search). */
  key(resourceType: string, system: string | undefined, value: string): string {
    return this.keyed.hash(
      'resource-identifier',
      `${resourceType}|${system === undefined ? '*' : `=${system}`}|${value}`,
    );
  }

  find(key: string): IndexedResource | undefined {
    const row = this.getStmt.get(key) as { delivery_id: string; location: string } | undefined;
    return row ? { deliveryId: row.delivery_id, location: row.location } : undefined;
  }

  /** Records keys for a delivered resource (the first delivery to hold a key keeps it). In the caller's transaction. */
  record(keys: Iterable<string>, at: IndexedResource): void {
    for (const k of keys) this.putStmt.run(k, at.deliveryId, at.location);
  }
}
