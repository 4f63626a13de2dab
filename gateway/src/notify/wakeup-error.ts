export type WakeupErrorCode =
  /** The patient has no usable channel for this notifier (nothing registered, or token invalidated). */
  | 'no-channel'
  /** The push service says the device token is dead; it has been marked invalid. */
  | 'token-invalid'
  /** Push service overloaded or unreachable; a later wake-up may succeed. */
  | 'unavailable'
  /** Our credentials or project settings are wrong; no wake-up will succeed until fixed. */
  | 'misconfigured'
  | 'failed';

/** A wake-up could not be sent. Never fatal for mail: the mailbox keeps it until acknowledged. */
export class WakeupError extends Error {
  override readonly name = 'WakeupError';
  readonly code: WakeupErrorCode;

  constructor(code: WakeupErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
