import type { Migration } from '@phr/common';

/**
 * Key recovery with guardians (issue 15): who relayed mail to whom, the recovery requests new
 * devices open, and the guardians' sealed approvals. Frozen once released: a change is a new
 * migration.
 */
export const v3: Migration = {
  version: 3,
  description: 'patient-to-patient relay and recovery requests with guardian approvals',
  statements: [
    // RecoveryStore: one row per relayed message (the mail itself is in mailbox_message): the
    // sender the TLS client certificate showed, for accountability and the sender's rate limit.
    `CREATE TABLE IF NOT EXISTS relay_message (
      message_id TEXT PRIMARY KEY,
      sender_id  TEXT NOT NULL,
      sender_msp TEXT NOT NULL,
      target     TEXT NOT NULL,
      kind       TEXT NOT NULL CHECK (kind IN ('guardian-share', 'recovery-request')),
      bytes      INTEGER NOT NULL,
      created_at TEXT NOT NULL
    ) STRICT`,
    'CREATE INDEX IF NOT EXISTS relay_message_sender ON relay_message (sender_id, created_at)',

    // A new device's request for the guardians' shares of a pseudonym; only its opener reads it.
    `CREATE TABLE IF NOT EXISTS recovery_request (
      request_id           TEXT PRIMARY KEY,
      pseudonym            TEXT NOT NULL,
      requester_id         TEXT NOT NULL,
      ephemeral_public_key TEXT NOT NULL,
      created_at           TEXT NOT NULL,
      expires_at           TEXT NOT NULL
    ) STRICT`,
    'CREATE INDEX IF NOT EXISTS recovery_request_requester ON recovery_request (requester_id, created_at)',
    'CREATE INDEX IF NOT EXISTS recovery_request_expiry ON recovery_request (expires_at)',

    // One approval per guardian and request: the share sealed to the request's ephemeral key.
    `CREATE TABLE IF NOT EXISTS recovery_approval (
      request_id  TEXT NOT NULL REFERENCES recovery_request (request_id) ON DELETE CASCADE,
      guardian    TEXT NOT NULL,
      guardian_id TEXT NOT NULL,
      envelope    TEXT NOT NULL,
      approved_at TEXT NOT NULL,
      PRIMARY KEY (request_id, guardian)
    ) STRICT`,
  ],
};
