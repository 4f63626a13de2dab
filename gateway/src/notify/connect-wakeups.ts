import type { MailboxStore } from '../mailbox/mailbox-store';
import type { WakeupNotifier } from './wakeup-notifier';

/**
 * Wires mailbox announcements to the wake-up notifier. The wake-up runs detached: the caller of
 * `announce` (the ingest pipeline, right after COMMIT) never waits for FCM. Give it a notifier that
 * never rejects (CompositeNotifier); a rejection is still caught here so it cannot crash the process.
 * Returns the disconnect function.
 */
export function connectWakeups(mailbox: MailboxStore, notifier: WakeupNotifier): () => void {
  return mailbox.onEnqueued(({ pseudonym, sequence }) => {
    notifier.wake(pseudonym, { sequence }).catch(() => undefined);
  });
}
