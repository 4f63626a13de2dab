import type { Migration } from '@phr/common';

/**
 * Institutional research extracts (issue 16): each patient's coarse demographics beside their
 * standardized elements, and the log of the extracts produced. Frozen once released: a change is
 * a new migration.
 */
export const v6: Migration = {
  version: 6,
  description: 'coarse patient demographics for research, and the research extract log',
  statements: [
    // StandardizedPatients: the quasi-identifiers an extract may release, and nothing finer: the
    // birth YEAR (no month or day) and the 3-digit postal area (Safe Harbor's postalCode3).
    // Written at ingest in the delivery's transaction, from the bundle's Patient resource.
    `CREATE TABLE IF NOT EXISTS std_patient (
      pseudonym    TEXT PRIMARY KEY,
      birth_year   INTEGER CHECK (birth_year IS NULL OR birth_year BETWEEN 1000 AND 9999),
      gender       TEXT CHECK (gender IS NULL OR gender IN ('male', 'female', 'other', 'unknown')),
      postal_code3 TEXT CHECK (postal_code3 IS NULL OR (length(postal_code3) = 3 AND postal_code3 NOT GLOB '*[^0-9]*')),
      updated_at   TEXT NOT NULL
    ) STRICT`,

    // ResearchExtractLog: every extract this hospital produced (its hash is on the ledger too).
    // Ids and counts only: which patients it holds is on the ledger, not here.
    `CREATE TABLE IF NOT EXISTS research_extract_log (
      extract_id        TEXT PRIMARY KEY,
      request_id        TEXT NOT NULL,
      researcher        TEXT NOT NULL,
      approval          TEXT NOT NULL,
      extract_hash      TEXT NOT NULL,
      k                 INTEGER NOT NULL,
      quasi_identifiers TEXT NOT NULL,
      row_count         INTEGER NOT NULL,
      patient_count     INTEGER NOT NULL,
      tx_id             TEXT NOT NULL,
      created_at        TEXT NOT NULL
    ) STRICT`,
    'CREATE INDEX IF NOT EXISTS research_extract_log_request ON research_extract_log (request_id, created_at)',
  ],
};
