import type { SealedEnvelope } from '@phr/common';

export interface MailMessage {
  sequence: number;
  messageId: string;
  kind: string;
  /** For `delivery`: a sealed envelope (JSON). */
  body: string;
  createdAt: string;
  attempts: number;
}

export type PullReply =
  | { decision: 'answer'; envelope: SealedEnvelope; deliveryIds: string[]; elementCount: number }
  | { decision: 'decline'; reason: string };

export type WakeupRegistration = { channel: 'local' } | { channel: 'fcm'; token: string };

/**
 * One hospital gateway as the agent reaches it: its mailbox and its identity desk. Kept behind an
 * interface so a phone shell can bring its own HTTP stack.
 */
export interface GatewayTransport {
  /** Unacknowledged mail after `after`, oldest first; waits up to `waitMs` when there is none. */
  fetchMail(after: number, waitMs: number): Promise<{ messages: MailMessage[]; next: number }>;
  ack(messageId: string): Promise<void>;
  registerWakeup(registration: WakeupRegistration): Promise<{ effectiveChannel: string }>;
  issueLinkCode(): Promise<{ code: string; expiresAt: string }>;
  /** The answer to a relayed pull request (sealed to the requester), or that the patient declines. */
  replyPull(requestId: string, reply: PullReply): Promise<{ status: string }>;
  close(): Promise<void>;
}
