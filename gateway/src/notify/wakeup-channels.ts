import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** What the agent registers with `PUT /mailbox/:pseudonym/wakeup`. */
export type WakeupChannel = { channel: 'local' } | { channel: 'fcm'; token: string };

export interface WakeupRegistration {
  pseudonym: string;
  channel: 'local' | 'fcm';
  /** The FCM registration token; a device identifier, so it is never logged or echoed back. */
  token?: string;
  /** Set when FCM reported the token dead; cleared when the agent registers a token again. */
  tokenInvalidAt?: string;
  updatedAt: string;
}

/** FCM tokens are opaque; this bounds size and charset so nothing odd reaches the database or FCM. */
export const FCM_TOKEN_PATTERN = /^[A-Za-z0-9_:.-]{16,4096}$/;

interface Row {
  pseudonym: string;
  channel: 'local' | 'fcm';
  fcm_token: string | null;
  token_invalid_at: string | null;
  updated_at: string;
}

/**
 * Each patient's chosen wake-up channel, in the gateway's SQLite database so it survives restarts.
 * Patients who never registered get the local channel (SSE).
 */
export class WakeupChannelStore {
  private readonly upsert: StatementSync;
  private readonly select: StatementSync;
  private readonly invalidate: StatementSync;
  private readonly now: () => Date;

  constructor(db: DatabaseSync, options: { now?: () => Date } = {}) {
    this.now = options.now ?? (() => new Date());
    // The table: store/migrations/ (openDatabase has applied them).
    this.upsert = db.prepare(`
      INSERT INTO wakeup_channel (pseudonym, channel, fcm_token, token_invalid_at, updated_at)
      VALUES ($pseudonym, $channel, $token, NULL, $now)
      ON CONFLICT (pseudonym) DO UPDATE SET
        channel = excluded.channel, fcm_token = excluded.fcm_token, token_invalid_at = NULL,
        updated_at = excluded.updated_at
      RETURNING *`);
    this.select = db.prepare('SELECT * FROM wakeup_channel WHERE pseudonym = ?');
    // Matching the token too: a report about an old token must not invalidate a newly registered one.
    this.invalidate = db.prepare(`
      UPDATE wakeup_channel SET token_invalid_at = $now
      WHERE pseudonym = $pseudonym AND fcm_token = $token AND token_invalid_at IS NULL`);
  }

  register(pseudonym: string, channel: WakeupChannel): WakeupRegistration {
    const row = this.upsert.get({
      $pseudonym: pseudonym,
      $channel: channel.channel,
      $token: channel.channel === 'fcm' ? channel.token : null,
      $now: this.now().toISOString(),
    }) as unknown as Row;
    return toRegistration(row);
  }

  get(pseudonym: string): WakeupRegistration | undefined {
    const row = this.select.get(pseudonym) as unknown as Row | undefined;
    return row ? toRegistration(row) : undefined;
  }

  /** The token to push to, or undefined when the patient uses the local channel or the token is dead. */
  fcmToken(pseudonym: string): string | undefined {
    const reg = this.get(pseudonym);
    return reg?.channel === 'fcm' && !reg.tokenInvalidAt ? reg.token : undefined;
  }

  /** Returns whether the token was current (and is now marked invalid). */
  markTokenInvalid(pseudonym: string, token: string): boolean {
    const result = this.invalidate.run({ $pseudonym: pseudonym, $token: token, $now: this.now().toISOString() });
    return Number(result.changes) > 0;
  }
}

function toRegistration(row: Row): WakeupRegistration {
  return {
    pseudonym: row.pseudonym,
    channel: row.channel,
    ...(row.fcm_token !== null ? { token: row.fcm_token } : {}),
    ...(row.token_invalid_at !== null ? { tokenInvalidAt: row.token_invalid_at } : {}),
    updatedAt: row.updated_at,
  };
}
