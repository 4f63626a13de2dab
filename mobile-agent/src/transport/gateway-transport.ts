import type { BackupVersion, ErasureAnswer, RebuildAnswer, SealedEnvelope } from '@phr/common';

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

/** The body of `POST /research/extracts`: ids and the envelope sealed to the researcher, nothing else. */
export interface ResearchExtractPost {
  offerId: string;
  participationId: string;
  envelope: SealedEnvelope;
}

export type WakeupRegistration = { channel: 'local' } | { channel: 'fcm'; token: string };

/** The life-cycle wire types (backups, rebuilds, erasure receipts) are the gateway's, in @phr/common. */
export type { BackupVersion, ErasureReceipt, RebuildAnswer, RebuildStatus } from '@phr/common';

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
  /** Stores a backup archive (already encrypted by the agent); the same bytes as the latest answer that version. */
  putBackup(archive: Uint8Array): Promise<BackupVersion>;
  /** The latest backup, or the given version. @throws TransportError NOT_FOUND when there is none. */
  getBackup(version?: number): Promise<Buffer>;
  /** The versions kept, as the gateway lists them. */
  listBackups(): Promise<BackupVersion[]>;
  /** Asks the gateway to seal again, to the patient's current key, every delivery it kept, and mail them. */
  requestRebuild(): Promise<RebuildAnswer>;
  /**
   * Hands a sealed research extract to the gateway that collects for the offer (`POST
   * /research/extracts`); sending the same envelope again is answered as the first time.
   * @throws TransportError HTTP_ERROR 409 when another envelope was sent for this participation.
   */
  postResearchExtract(extract: ResearchExtractPost): Promise<void>;
  /** Asks the gateway to destroy what it holds for the patient; answers its signed receipt (the same one when asked again). */
  requestErasure(): Promise<ErasureAnswer>;
  close(): Promise<void>;
}
