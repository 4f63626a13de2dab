import type { Migration } from '@phr/common';

/**
 * Deliveries share ledger transactions (`Commitments.RecordDeliveries`): a delivery is stored with
 * the transaction id its receipt names and the nonce that id derives from, and the transaction's
 * signed proposal is kept once, in `ledger_transactions`, when the outbox closes it (no delivery
 * joins it after that). Rows queued before this version keep their own proposal and are sent as
 * they were. Frozen once released: a change is a new migration.
 */
export const v8: Migration = {
  version: 8,
  description: 'deliveries share ledger transactions',
  statements: [
    'ALTER TABLE deliveries ADD COLUMN tx_nonce BLOB',
    'CREATE INDEX IF NOT EXISTS deliveries_tx ON deliveries (tx_id)',
    `CREATE TABLE IF NOT EXISTS ledger_transactions (
      tx_id TEXT PRIMARY KEY,
      proposal BLOB,
      signature BLOB,
      prepared_at TEXT NOT NULL
    )`,
  ],
};
