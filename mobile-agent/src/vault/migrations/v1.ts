import type { Migration } from '@phr/common';

/**
 * The vault's schema as it was before numbered migrations (up to commit 322c8e3), when the vault
 * already recorded it as `user_version` 1. Frozen: a change to the schema is a new migration,
 * never an edit here. What each column holds, and what is in the clear: sqlite-vault.ts.
 */
export const v1: Migration = {
  version: 1,
  description: 'the vault schema of releases before numbered migrations',
  statements: [
    `CREATE TABLE IF NOT EXISTS deliveries (
      delivery_id   TEXT PRIMARY KEY,
      sender        TEXT NOT NULL,
      merkle_root   TEXT NOT NULL,
      categories    TEXT NOT NULL,
      segment_count INTEGER NOT NULL,
      element_count INTEGER NOT NULL,
      created_at    TEXT NOT NULL,
      stored_at     TEXT NOT NULL
    )`,
    `CREATE TABLE IF NOT EXISTS elements (
      element_id    TEXT PRIMARY KEY,
      delivery_id   TEXT NOT NULL REFERENCES deliveries (delivery_id) ON DELETE CASCADE,
      segment_id    TEXT NOT NULL,
      segment_index INTEGER NOT NULL,
      element_index INTEGER NOT NULL,
      resource_type TEXT NOT NULL,
      kind          TEXT NOT NULL,
      clinical_time TEXT,
      system_index  TEXT,
      code_index    TEXT,
      sealed        BLOB NOT NULL,
      UNIQUE (delivery_id, segment_index, element_index)
    )`,
    'CREATE INDEX IF NOT EXISTS elements_time ON elements (clinical_time)',
    'CREATE INDEX IF NOT EXISTS elements_type_time ON elements (resource_type, clinical_time)',
    'CREATE INDEX IF NOT EXISTS elements_code ON elements (code_index)',
    'CREATE INDEX IF NOT EXISTS elements_system ON elements (system_index)',
    `CREATE TABLE IF NOT EXISTS notifications (
      id         INTEGER PRIMARY KEY AUTOINCREMENT,
      kind       TEXT NOT NULL,
      message    TEXT NOT NULL,
      ref        TEXT NOT NULL,
      created_at TEXT NOT NULL,
      read       INTEGER NOT NULL DEFAULT 0 CHECK (read IN (0, 1)),
      UNIQUE (kind, ref)
    )`,
    `CREATE TABLE IF NOT EXISTS meta (
      key   TEXT PRIMARY KEY,
      value TEXT NOT NULL
    )`,
  ],
};
