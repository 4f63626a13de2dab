import type { MailboxStore } from './mailbox-store';

export type WaitOutcome = 'mail' | 'timeout' | 'aborted';

/**
 * Resolves when mail is announced for the patient, after `ms`, or when `signal` aborts (client gone,
 * gateway shutting down), whichever comes first, and always cleans up its listener and timer.
 */
export function waitForMail(
  mailbox: MailboxStore,
  pseudonym: string,
  ms: number,
  signal: AbortSignal,
): Promise<WaitOutcome> {
  if (signal.aborted) return Promise.resolve('aborted');
  return new Promise((resolve) => {
    const finish = (outcome: WaitOutcome) => {
      unsubscribe();
      clearTimeout(timer);
      signal.removeEventListener('abort', onAbort);
      resolve(outcome);
    };
    const onAbort = () => finish('aborted');
    const unsubscribe = mailbox.onEnqueuedFor(pseudonym, () => finish('mail'));
    const timer = setTimeout(() => finish('timeout'), ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
