import type { Migration } from '@phr/common';

/**
 * The research extract mailbox (issue 16): sealed extracts patients' agents leave for the
 * researcher of an offer this hospital collects for, until the researcher fetches and
 * acknowledges them. The gateway cannot open them (they are sealed to the researcher's key) and
 * keeps no pseudonym beside them: only the offer and the participation, both random ids. Frozen
 * once released: a change is a new migration.
 */
export const v5: Migration = {
  version: 5,
  description: 'research extract mailbox',
  statements: [
    `CREATE TABLE IF NOT EXISTS research_extract (
      participation_id TEXT PRIMARY KEY,
      offer_id         TEXT NOT NULL,
      envelope         TEXT NOT NULL,
      bytes            INTEGER NOT NULL,
      received_at      TEXT NOT NULL
    ) STRICT`,
    'CREATE INDEX IF NOT EXISTS research_extract_offer ON research_extract (offer_id, received_at)',
  ],
};
