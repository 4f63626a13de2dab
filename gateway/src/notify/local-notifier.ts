import { WakeupError } from './wakeup-error';
import type { WakeHint, WakeupNotifier } from './wakeup-notifier';

export type LocalWakeListener = (hint: WakeHint) => void;

/**
 * The in-process wake-up channel: delivers wake-ups to whoever is listening for a patient in this
 * gateway process, i.e. the agent's open server-sent-event stream (`GET /mailbox/:pseudonym/events`).
 * A patient with no open stream simply misses the nudge and finds the mail on the next fetch.
 */
export class LocalNotifier implements WakeupNotifier {
  private readonly listeners = new Map<string, Set<LocalWakeListener>>();

  /** Returns the unsubscribe function; call it when the stream closes. */
  subscribe(pseudonym: string, listener: LocalWakeListener): () => void {
    let set = this.listeners.get(pseudonym);
    if (!set) {
      set = new Set();
      this.listeners.set(pseudonym, set);
    }
    set.add(listener);
    return () => {
      const current = this.listeners.get(pseudonym);
      if (!current) return;
      current.delete(listener);
      if (current.size === 0) this.listeners.delete(pseudonym);
    };
  }

  subscriberCount(pseudonym: string): number {
    return this.listeners.get(pseudonym)?.size ?? 0;
  }

  /** Calls the listeners synchronously; the promise rejects if one of them threw. */
  wake(pseudonym: string, hint: WakeHint): Promise<void> {
    // Copy: a listener may unsubscribe (stream closed) while we iterate. One broken stream must not
    // keep the patient's other streams from hearing about the mail, so failures are reported after.
    let failure: unknown;
    for (const listener of [...(this.listeners.get(pseudonym) ?? [])]) {
      try {
        listener({ sequence: hint.sequence });
      } catch (err) {
        failure ??= err;
      }
    }
    return failure === undefined
      ? Promise.resolve()
      : Promise.reject(new WakeupError('failed', 'a local wake-up listener failed', { cause: failure }));
  }
}
