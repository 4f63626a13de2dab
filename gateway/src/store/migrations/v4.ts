import type { Migration } from '@phr/common';

/**
 * Patient-to-patient relay (issue 15): a third kind of relayed mail, `guardian-share-withdrawn`
 * (an erasing patient tells each guardian to delete its share), and an index by target for the
 * per-target rate limit and for the erasure that deletes a patient's rows. SQLite cannot change a
 * CHECK constraint in place: the table is rebuilt by copy, rows unchanged. Frozen once released.
 */
export const v4: Migration = {
  version: 4,
  description: 'relayed guardian share withdrawals, and relayed mail by target',
  statements: [
    `CREATE TABLE relay_message_v4 (
      message_id TEXT PRIMARY KEY,
      sender_id  TEXT NOT NULL,
      sender_msp TEXT NOT NULL,
      target     TEXT NOT NULL,
      kind       TEXT NOT NULL CHECK (kind IN ('guardian-share', 'recovery-request', 'guardian-share-withdrawn')),
      bytes      INTEGER NOT NULL,
      created_at TEXT NOT NULL
    ) STRICT`,
    `INSERT INTO relay_message_v4 (message_id, sender_id, sender_msp, target, kind, bytes, created_at)
      SELECT message_id, sender_id, sender_msp, target, kind, bytes, created_at FROM relay_message`,
    'DROP TABLE relay_message',
    'ALTER TABLE relay_message_v4 RENAME TO relay_message',
    'CREATE INDEX relay_message_sender ON relay_message (sender_id, created_at)',
    'CREATE INDEX relay_message_target ON relay_message (target, created_at)',
  ],
};
