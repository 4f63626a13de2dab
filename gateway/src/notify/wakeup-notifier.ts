/** What a wake-up may carry: the mailbox position only, never anything about the mail itself. */
export interface WakeHint {
  /** Highest pending mailbox sequence for the patient when the wake-up was raised. */
  sequence: number;
}

/**
 * Tells a patient's device that its mailbox has mail. A wake-up is only a nudge: the mail is already
 * durable, so a lost or failed wake-up delays delivery until the agent's next poll but never loses it.
 */
export interface WakeupNotifier {
  wake(pseudonym: string, hint: WakeHint): Promise<void>;
}
