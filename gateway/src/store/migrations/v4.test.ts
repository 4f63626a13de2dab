import { DatabaseSync } from 'node:sqlite';
import { migrateSync } from '@phr/common';
import { GATEWAY_MIGRATIONS } from './index';

/** Migration 4 rebuilds relay_message for a new kind: the rows already there come through unchanged. */
describe('migration 4: relayed share withdrawals', () => {
  const insert = (db: DatabaseSync, messageId: string, kind: string) =>
    db
      .prepare(
        `INSERT INTO relay_message (message_id, sender_id, sender_msp, target, kind, bytes, created_at)
         VALUES (?, 'x509::sender', 'PatientsMSP', 'ptaaaaaaaaaaaaaaaaaaaaaaaaaa', ?, 10, '2026-05-01T00:00:00.000Z')`,
      )
      .run(messageId, kind);

  it('keeps the relayed mail of version 3, takes the new kind, and still refuses others', () => {
    const db = new DatabaseSync(':memory:');
    try {
      expect(migrateSync(db, 'gateway.db', GATEWAY_MIGRATIONS.slice(0, 3)).to).toBe(3);
      insert(db, 'share-0001', 'guardian-share');
      expect(() => insert(db, 'withdrawn-0001', 'guardian-share-withdrawn')).toThrow(/CHECK constraint/);

      expect(migrateSync(db, 'gateway.db', GATEWAY_MIGRATIONS.slice(0, 4))).toMatchObject({ from: 3, to: 4 });
      expect(db.prepare('SELECT message_id, kind, bytes FROM relay_message').all()).toEqual([
        { message_id: 'share-0001', kind: 'guardian-share', bytes: 10 },
      ]);
      insert(db, 'withdrawn-0001', 'guardian-share-withdrawn');
      expect(() => insert(db, 'other-0001', 'delivery')).toThrow(/CHECK constraint/);
      const indexes = db
        .prepare(
          "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'relay_message' AND sql IS NOT NULL",
        )
        .all()
        .map((r) => (r as { name: string }).name)
        .sort();
      expect(indexes).toEqual(['relay_message_sender', 'relay_message_target']);
    } finally {
      db.close();
    }
  });
});
