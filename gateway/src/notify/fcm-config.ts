import type { Agent } from 'node:http';
import { randomUUID } from 'node:crypto';
import { applicationDefault, cert, deleteApp, initializeApp, type Credential } from 'firebase-admin/app';
import { getMessaging, type Messaging } from 'firebase-admin/messaging';

/** The gateway's FCM settings (part of its typed config). Absent config means local wake-ups only. */
export interface FcmConfig {
  /** Firebase project that owns the agent app's registration tokens. */
  projectId: string;
  /**
   * Service-account JSON file with `cloudmessaging.messages.create` permission. Omitted: Google
   * application-default credentials (GOOGLE_APPLICATION_CREDENTIALS, metadata server).
   */
  credentialsFile?: string;
}

export interface FcmClient {
  messaging: Messaging;
  /** Releases the Firebase app (token refresh timers, sockets); call on gateway shutdown. */
  close(): Promise<void>;
}

/**
 * Builds a dedicated Firebase app for FCM. `httpAgent` and `credential` exist for tests, which route
 * firebase-admin's real HTTPS request to a local server; production passes neither.
 */
export function createFcmClient(
  config: FcmConfig,
  overrides: { httpAgent?: Agent; credential?: Credential } = {},
): FcmClient {
  const credential =
    overrides.credential ?? (config.credentialsFile ? cert(config.credentialsFile) : applicationDefault());
  // A unique name: the default app may belong to someone else, and tests create several.
  const app = initializeApp(
    {
      credential,
      projectId: config.projectId,
      ...(overrides.httpAgent ? { httpAgent: overrides.httpAgent } : {}),
    },
    `phr-gateway-fcm-${randomUUID()}`,
  );
  return { messaging: getMessaging(app), close: () => deleteApp(app) };
}
