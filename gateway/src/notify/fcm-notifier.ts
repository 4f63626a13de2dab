import { randomBytes } from 'node:crypto';
import type { Message, Messaging } from 'firebase-admin/messaging';
import type { WakeupChannelStore } from './wakeup-channels';
import { WakeupError, type WakeupErrorCode } from './wakeup-error';
import type { WakeHint, WakeupNotifier } from './wakeup-notifier';

/** Collapse key: only the newest wake-up matters, FCM may drop older undelivered ones. */
const COLLAPSE_KEY = 'phr-mailbox';
/** Past a day the device has surely polled by itself; the mail waits in the mailbox regardless. */
const TTL_MS = 24 * 60 * 60 * 1000;

/** FCM answers meaning "this token will never work for us again" (stop pushing to it). */
const DEAD_TOKEN_CODES = new Set([
  'messaging/registration-token-not-registered', // UNREGISTERED / NOT_FOUND (404): app uninstalled, token rotated
  'messaging/invalid-registration-token',
  'messaging/invalid-argument', // INVALID_ARGUMENT (400): our payload is fixed, so it is the token
  'messaging/mismatched-credential', // SENDER_ID_MISMATCH: token belongs to another Firebase project
]);
const TRANSIENT_CODES = new Set([
  'messaging/server-unavailable',
  'messaging/internal-error',
  'messaging/message-rate-exceeded',
  'messaging/device-message-rate-exceeded',
  'app/network-error',
  'app/network-timeout',
]);
const CONFIG_CODES = new Set([
  'messaging/third-party-auth-error',
  'messaging/authentication-error',
  'app/invalid-credential',
]);

/**
 * Wakes the agent through Firebase Cloud Messaging with a data-only message: a random id and nothing
 * else, so neither Google nor Apple learns anything about the mail (no delivery ids, no hospital, no
 * codes). The app reacts by fetching its mailbox over the authenticated channel.
 */
export class FcmNotifier implements WakeupNotifier {
  private readonly messaging: Messaging;
  private readonly channels: WakeupChannelStore;

  constructor(deps: { messaging: Messaging; channels: WakeupChannelStore }) {
    this.messaging = deps.messaging;
    this.channels = deps.channels;
  }

  /** Whether this notifier can reach the patient at all (a live token is registered). */
  canWake(pseudonym: string): boolean {
    return this.channels.fcmToken(pseudonym) !== undefined;
  }

  async wake(pseudonym: string, _hint: WakeHint): Promise<void> {
    const token = this.channels.fcmToken(pseudonym);
    if (token === undefined) throw new WakeupError('no-channel', 'no live FCM token registered');
    try {
      await this.messaging.send(wakeMessage(token));
    } catch (err) {
      const fcmCode = firebaseCode(err);
      const code = classify(fcmCode);
      if (code === 'token-invalid') this.channels.markTokenInvalid(pseudonym, token);
      // The firebase error message may quote the request; keep only the code so no token is logged.
      throw new WakeupError(code, `FCM send failed (${fcmCode ?? 'no code'})`, { cause: err });
    }
  }
}

/** The whole FCM payload. Exported so tests can check it carries nothing but a random id. */
export function wakeMessage(token: string): Message {
  return {
    token,
    data: { type: 'phr.mailbox', wakeId: randomBytes(16).toString('base64url') },
    android: { priority: 'high', collapseKey: COLLAPSE_KEY, ttl: TTL_MS },
    apns: {
      // A background (content-available) push must use priority 5, or APNs rejects it.
      headers: { 'apns-push-type': 'background', 'apns-priority': '5', 'apns-collapse-id': COLLAPSE_KEY },
      payload: { aps: { contentAvailable: true } },
    },
  };
}

function firebaseCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

function classify(fcmCode: string | undefined): WakeupErrorCode {
  if (fcmCode === undefined) return 'failed';
  if (DEAD_TOKEN_CODES.has(fcmCode)) return 'token-invalid';
  if (TRANSIENT_CODES.has(fcmCode)) return 'unavailable';
  if (CONFIG_CODES.has(fcmCode)) return 'misconfigured';
  return 'failed';
}
