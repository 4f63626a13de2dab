import type { Migration } from '@phr/common';

/**
 * The record's life cycle at the gateway (issue 15): per-patient keys, backups, the deliveries kept
 * for a rebuild, the rebuilds sent and the erasure receipts. Frozen once released: a change is a
 * new migration.
 */
export const v2: Migration = {
  version: 2,
  description: 'per-patient keys, backups, kept deliveries, rebuilds and erasure receipts',
  statements: [
    // PatientKeys: one random key per patient, wrapped under a key derived from the gateway's
    // secret key file. Destroying the row makes the patient's backups and kept deliveries unreadable.
    `CREATE TABLE IF NOT EXISTS patient_key (
      pseudonym   TEXT PRIMARY KEY,
      wrapped_key BLOB NOT NULL,
      created_at  TEXT NOT NULL
    ) STRICT`,

    // BackupStore: the agent's encrypted archives, encrypted again under the patient key.
    `CREATE TABLE IF NOT EXISTS backup_version (
      pseudonym TEXT NOT NULL,
      version   INTEGER NOT NULL,
      size      INTEGER NOT NULL,
      sha256    TEXT NOT NULL,
      stored_at TEXT NOT NULL,
      body      BLOB NOT NULL,
      PRIMARY KEY (pseudonym, version)
    ) STRICT`,

    // KeptDeliveries: what each patient was sent, encrypted under the patient key, until kept_until;
    // a purged row keeps its metadata with body NULL so that a rebuild can say "expired".
    `CREATE TABLE IF NOT EXISTS kept_delivery (
      delivery_id TEXT PRIMARY KEY,
      pseudonym   TEXT NOT NULL,
      kept_until  TEXT NOT NULL,
      body        BLOB
    ) STRICT`,
    'CREATE INDEX IF NOT EXISTS kept_delivery_patient ON kept_delivery (pseudonym)',
    'CREATE INDEX IF NOT EXISTS kept_delivery_expiry ON kept_delivery (kept_until) WHERE body IS NOT NULL',

    // RebuildService: one re-sent delivery per delivery and encryption key version.
    `CREATE TABLE IF NOT EXISTS rebuild_sent (
      delivery_id TEXT NOT NULL,
      key_version INTEGER NOT NULL,
      pseudonym   TEXT NOT NULL,
      message_id  TEXT NOT NULL,
      sent_at     TEXT NOT NULL,
      PRIMARY KEY (delivery_id, key_version)
    ) STRICT`,
    'CREATE INDEX IF NOT EXISTS rebuild_sent_patient ON rebuild_sent (pseudonym)',

    // ErasureService: the signed receipt answered (again) to every erasure request of a patient, and
    // whether its access event reached the ledger yet.
    `CREATE TABLE IF NOT EXISTS erasure_receipt (
      pseudonym         TEXT PRIMARY KEY,
      receipt_id        TEXT NOT NULL UNIQUE,
      answer_json       TEXT NOT NULL,
      erased_at         TEXT NOT NULL,
      event_recorded_at TEXT,
      event_attempts    INTEGER NOT NULL DEFAULT 0,
      event_last_error  TEXT
    ) STRICT`,
  ],
};
