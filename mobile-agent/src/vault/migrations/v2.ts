import type { Migration } from '@phr/common';

/**
 * The patient's research decisions (issue 16), local only: a declined study is never sent
 * anywhere, and an accepted one keeps its participation, study key and extract here until it is
 * delivered. Everything but the offer id and the time of the decision is sealed (sqlite-vault.ts).
 */
export const v2: Migration = {
  version: 2,
  description: 'research decisions kept on the device',
  statements: [
    `CREATE TABLE research_decisions (
      offer_id   TEXT PRIMARY KEY,
      decided_at TEXT NOT NULL,
      sealed     BLOB NOT NULL
    )`,
  ],
};
