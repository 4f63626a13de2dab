import type { DatabaseSync } from 'node:sqlite';
import type { MailboxStore } from '../mailbox/mailbox-store';
import { CompositeNotifier } from './composite-notifier';
import { connectWakeups } from './connect-wakeups';
import { createFcmClient, type FcmClient, type FcmConfig } from './fcm-config';
import { FcmNotifier } from './fcm-notifier';
import { LocalNotifier } from './local-notifier';
import type { Logger } from './logger';
import { WakeupChannelStore } from './wakeup-channels';

/** What the mailbox routes need from the wake-up side: registrations and the local (SSE) channel. */
export interface WakeupRegistry {
  channels: WakeupChannelStore;
  local: LocalNotifier;
  /** Whether FCM wake-ups can be sent at all (config present). */
  fcmEnabled: boolean;
}

export interface Notifier {
  notifier: CompositeNotifier;
  wakeups: WakeupRegistry;
  /** Stops wake-ups, waits for those in flight, releases the Firebase app. Call before closing the db. */
  close(): Promise<void>;
}

/**
 * Assembles the wake-up side for one gateway: channel registry (in the gateway's database), the
 * local SSE channel, FCM when configured, and the subscription to the mailbox's post-commit
 * announcements. `fcmClient` replaces the one built from `fcm` (tests); the caller then closes it.
 */
export function createNotifier(deps: {
  db: DatabaseSync;
  mailbox: MailboxStore;
  log: Logger;
  fcm?: FcmConfig;
  fcmClient?: FcmClient;
}): Notifier {
  const channels = new WakeupChannelStore(deps.db);
  const local = new LocalNotifier();
  const client = deps.fcmClient ?? (deps.fcm ? createFcmClient(deps.fcm) : undefined);
  const notifier = new CompositeNotifier({
    local,
    logger: deps.log,
    ...(client ? { fcm: new FcmNotifier({ messaging: client.messaging, channels }) } : {}),
  });
  const disconnect = connectWakeups(deps.mailbox, notifier);
  return {
    notifier,
    wakeups: { channels, local, fcmEnabled: client !== undefined },
    async close() {
      disconnect();
      await notifier.idle();
      // A client passed in belongs to the caller; only the one built here is ours to release.
      if (!deps.fcmClient) await client?.close();
    },
  };
}
