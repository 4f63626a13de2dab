import type { FcmNotifier } from './fcm-notifier';
import type { LocalNotifier } from './local-notifier';
import type { Logger } from './logger';
import { WakeupError } from './wakeup-error';
import type { WakeHint, WakeupNotifier } from './wakeup-notifier';

interface InFlight {
  done: Promise<void>;
  /** Another wake-up arrived while this one was being sent: send one more afterwards. */
  again: WakeHint | undefined;
}

/**
 * Picks each patient's channels. The local channel (open SSE streams in this process) always hears
 * about new mail: it costs nothing and reaches a device that is online right now. FCM is used in
 * addition when the gateway has FCM configured and the patient registered a live token.
 *
 * `wake` never rejects: mail is already durable when a wake-up is raised, so a failed wake-up is
 * logged (pseudonym and error code only, never the token or the mail) and the agent finds the mail
 * on its next fetch. Bursts are coalesced per patient, at most one FCM request in flight plus one
 * queued, so a bulk import does not flood FCM (which drops collapsed messages anyway).
 */
export class CompositeNotifier implements WakeupNotifier {
  private readonly local: LocalNotifier;
  private readonly fcm: FcmNotifier | undefined;
  private readonly logger: Logger;
  private readonly inFlight = new Map<string, InFlight>();

  constructor(deps: { local: LocalNotifier; fcm?: FcmNotifier; logger: Logger }) {
    this.local = deps.local;
    this.fcm = deps.fcm;
    this.logger = deps.logger;
  }

  async wake(pseudonym: string, hint: WakeHint): Promise<void> {
    await Promise.all([this.wakeLocal(pseudonym, hint), this.wakeFcm(pseudonym, hint)]);
  }

  /** Resolves when every wake-up started so far has finished (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) {
      await Promise.all([...this.inFlight.values()].map((f) => f.done));
    }
  }

  private async wakeLocal(pseudonym: string, hint: WakeHint): Promise<void> {
    try {
      await this.local.wake(pseudonym, hint);
    } catch (err) {
      this.logFailure(pseudonym, 'local', err);
    }
  }

  private wakeFcm(pseudonym: string, hint: WakeHint): Promise<void> {
    const fcm = this.fcm;
    if (!fcm || !fcm.canWake(pseudonym)) return Promise.resolve();
    const current = this.inFlight.get(pseudonym);
    if (current) {
      current.again = hint;
      return current.done;
    }
    const entry: InFlight = { done: Promise.resolve(), again: undefined };
    entry.done = (async () => {
      let next: WakeHint | undefined = hint;
      while (next) {
        entry.again = undefined;
        await this.sendFcm(fcm, pseudonym, next);
        next = entry.again;
      }
      this.inFlight.delete(pseudonym);
    })();
    this.inFlight.set(pseudonym, entry);
    return entry.done;
  }

  private async sendFcm(fcm: FcmNotifier, pseudonym: string, hint: WakeHint): Promise<void> {
    try {
      await fcm.wake(pseudonym, hint);
      this.logger.debug({ pseudonym, channel: 'fcm' }, 'wake-up sent');
    } catch (err) {
      this.logFailure(pseudonym, 'fcm', err);
    }
  }

  private logFailure(pseudonym: string, channel: 'local' | 'fcm', err: unknown): void {
    const code = err instanceof WakeupError ? err.code : 'failed';
    const fields = { pseudonym, channel, code };
    if (code === 'misconfigured') this.logger.error(fields, 'wake-up failed; check the FCM configuration');
    else if (code === 'token-invalid') this.logger.info(fields, 'FCM token is dead; falling back to local wake-ups');
    else this.logger.warn(fields, 'wake-up failed; mail stays in the mailbox');
  }
}
