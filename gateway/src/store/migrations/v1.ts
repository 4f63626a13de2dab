import type { Migration } from '@phr/common';

/**
 * The schema as releases before schema versions (up to commit 322c8e3) created it at start-up,
 * statement for statement, so that their files are adopted as version 1. Frozen: a change to the
 * schema is a new migration, never an edit here.
 */
export const v1: Migration = {
  version: 1,
  description: 'the schema of releases before schema versions',
  statements: [
    // DeliveryStore: accepted deliveries; the rows still queued are the ledger outbox.
    `CREATE TABLE IF NOT EXISTS deliveries (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      delivery_id TEXT NOT NULL UNIQUE,
      idempotency_key TEXT NOT NULL UNIQUE,
      content_key TEXT NOT NULL,
      pseudonym TEXT NOT NULL,
      merkle_root TEXT NOT NULL,
      element_count INTEGER NOT NULL,
      segment_count INTEGER NOT NULL,
      categories TEXT NOT NULL,
      status TEXT NOT NULL CHECK (status IN ('queued', 'committed', 'failed')),
      tx_id TEXT NOT NULL,
      block_number TEXT,
      proposal BLOB,
      signature BLOB,
      attempts INTEGER NOT NULL DEFAULT 0,
      next_attempt_at INTEGER NOT NULL DEFAULT 0,
      last_error TEXT,
      created_at TEXT NOT NULL,
      committed_at TEXT,
      response_json TEXT NOT NULL
    )`,
    'CREATE INDEX IF NOT EXISTS deliveries_outbox ON deliveries (status, next_attempt_at, seq)',
    'CREATE INDEX IF NOT EXISTS deliveries_patient ON deliveries (pseudonym, seq)',

    // StandardizedDb: every coded element accepted, normalized.
    `CREATE TABLE IF NOT EXISTS std_element (
      seq            INTEGER PRIMARY KEY,
      element_id     TEXT NOT NULL UNIQUE,
      delivery_id    TEXT NOT NULL,
      segment_id     TEXT NOT NULL,
      pseudonym      TEXT NOT NULL,
      resource_type  TEXT NOT NULL,
      path           TEXT NOT NULL,
      system         TEXT NOT NULL,
      code           TEXT NOT NULL,
      display        TEXT,
      value_type     TEXT CHECK (value_type IN ('number', 'boolean', 'string')),
      value_text     TEXT,
      value_num      REAL,
      unit           TEXT,
      effective_time TEXT
    )`,
    'CREATE INDEX IF NOT EXISTS std_element_code ON std_element (system, code, effective_time)',
    'CREATE INDEX IF NOT EXISTS std_element_patient ON std_element (pseudonym, effective_time)',
    'CREATE INDEX IF NOT EXISTS std_element_delivery ON std_element (delivery_id)',

    // ResourceIndex: keyed hashes of delivered resources' identifiers, for conditional creates.
    `CREATE TABLE IF NOT EXISTS resource_identifier (
      key TEXT PRIMARY KEY,
      delivery_id TEXT NOT NULL,
      location TEXT NOT NULL
    ) WITHOUT ROWID`,

    // MailboxStore: sealed mail for patients' agents.
    `CREATE TABLE IF NOT EXISTS mailbox_message (
      message_id      TEXT PRIMARY KEY,
      pseudonym       TEXT NOT NULL,
      seq             INTEGER NOT NULL,
      kind            TEXT NOT NULL,
      body            TEXT,
      created_at      TEXT NOT NULL,
      attempts        INTEGER NOT NULL DEFAULT 0,
      last_fetched_at TEXT,
      acked_at        TEXT,
      UNIQUE (pseudonym, seq),
      CHECK ((acked_at IS NULL) = (body IS NOT NULL))
    ) STRICT`,
    `CREATE INDEX IF NOT EXISTS mailbox_message_pending
      ON mailbox_message (pseudonym, seq) WHERE acked_at IS NULL`,

    // IdentityStore: link codes and MRN links, as keyed hashes.
    `CREATE TABLE IF NOT EXISTS link_codes (
      code_hash TEXT PRIMARY KEY,
      pseudonym TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      used_at INTEGER
    )`,
    `CREATE TABLE IF NOT EXISTS patient_links (
      mrn_hash TEXT PRIMARY KEY,
      pseudonym TEXT NOT NULL,
      linked_at TEXT NOT NULL,
      linked_by TEXT NOT NULL
    )`,
    'CREATE INDEX IF NOT EXISTS patient_links_pseudonym ON patient_links (pseudonym)',

    // PatientDirectory: patients' ledger records as last seen.
    `CREATE TABLE IF NOT EXISTS patients (
      pseudonym TEXT PRIMARY KEY, record_json TEXT NOT NULL, fetched_at INTEGER NOT NULL)`,

    // WakeupChannelStore: each patient's wake-up channel.
    `CREATE TABLE IF NOT EXISTS wakeup_channel (
      pseudonym        TEXT PRIMARY KEY,
      channel          TEXT NOT NULL CHECK (channel IN ('local', 'fcm')),
      fcm_token        TEXT,
      token_invalid_at TEXT,
      updated_at       TEXT NOT NULL,
      CHECK ((channel = 'fcm') = (fcm_token IS NOT NULL))
    ) STRICT`,

    // PullStore: relayed requests and their answers. Releases before schema versions made it only
    // when the ledger could serve pulls; adopting their files makes it where it is missing.
    `CREATE TABLE IF NOT EXISTS pull_request (
      request_id          TEXT PRIMARY KEY,
      pseudonym           TEXT NOT NULL,
      requester_id        TEXT NOT NULL,
      requester_role      TEXT NOT NULL,
      requester_emergency INTEGER NOT NULL,
      purpose             TEXT NOT NULL,
      query               TEXT NOT NULL,
      permitted           TEXT NOT NULL,
      break_glass         INTEGER NOT NULL,
      query_hash          TEXT NOT NULL,
      status              TEXT NOT NULL CHECK (status IN ('waiting', 'answered', 'denied')),
      answer              TEXT,
      reason              TEXT,
      created_at          TEXT NOT NULL,
      updated_at          TEXT NOT NULL
    ) STRICT`,
    'CREATE INDEX IF NOT EXISTS pull_request_by_patient ON pull_request (pseudonym, status)',
  ],
};
