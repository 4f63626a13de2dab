import type { Migration } from '@phr/common';

/**
 * The research extract mailbox's retention (issue 16): each extract keeps its offer's expiry, so
 * that the gateway's periodic purge drops what nobody acknowledged once the offer is over,
 * without asking the ledger. Rows kept before this version have none and wait for their
 * acknowledgement as before. Frozen once released: a change is a new migration.
 */
export const v7: Migration = {
  version: 7,
  description: 'research extracts keep their offer expiry',
  statements: [
    'ALTER TABLE research_extract ADD COLUMN offer_expires_at TEXT',
    'CREATE INDEX IF NOT EXISTS research_extract_expiry ON research_extract (offer_expires_at)',
  ],
};
