import type { SealedEnvelope } from './envelope';

/**
 * The wire contract of key recovery with guardians (issue 15 item 4) between the gateway and the
 * patients' agents: patient-to-patient mail relayed by a gateway, and the recovery requests a new
 * device opens there. Everything a guardian holds or sends is a sealed envelope; the gateway sees
 * who sent what to whom, never a share.
 */

/** A share of a patient's recovery secret, sealed by the patient to a guardian's registered key. */
export const GUARDIAN_SHARE_KIND = 'guardian-share';
/** A new device asks a guardian to approve its recovery request (sealed to the guardian). */
export const RECOVERY_REQUEST_KIND = 'recovery-request';
/**
 * An erasing patient tells a guardian to delete the share it keeps for them (sealed to the
 * guardian and signed by the patient, as the share was): the secret it helps rebuild guards nothing
 * any more.
 */
export const GUARDIAN_SHARE_WITHDRAWN_KIND = 'guardian-share-withdrawn';
export const RELAY_KINDS = [GUARDIAN_SHARE_KIND, RECOVERY_REQUEST_KIND, GUARDIAN_SHARE_WITHDRAWN_KIND] as const;
export type RelayKind = (typeof RELAY_KINDS)[number];

/** Largest relayed message or approval, the whole JSON body: a share is 33 bytes, the rest is envelope. */
export const MAX_RELAY_BYTES = 16 * 1024;

/** `POST /relay/{pseudonym}`: mail for another patient's mailbox, signed by the caller. */
export interface RelayPost {
  /** Chosen by the sender (RECORD_ID_PATTERN); posting it again is a no-op. */
  messageId: string;
  kind: RelayKind;
  envelope: SealedEnvelope;
}

export interface RelayAccepted {
  messageId: string;
  kind: RelayKind;
  queuedAt: string;
}

/** `POST /recovery`: a new, enrolled device asks for the guardians' shares of `pseudonym`. */
export interface RecoveryOpen {
  /** Chosen by the device (RECORD_ID_PATTERN). */
  requestId: string;
  pseudonym: string;
  /** X25519, base64 SPKI DER: the guardians seal their shares to it; its private half never leaves the device. */
  ephemeralPublicKey: string;
}

export interface RecoveryOpened {
  requestId: string;
  pseudonym: string;
  ephemeralPublicKey: string;
  createdAt: string;
  expiresAt: string;
}

/** `POST /recovery/{requestId}/approvals`: a guardian's share, sealed to the request's ephemeral key. */
export interface RecoveryApprovalPost {
  /** The guardian's own pseudonym: the caller must own it, and the patient must name it a guardian. */
  guardian: string;
  envelope: SealedEnvelope;
}

export interface RecoveryApproval {
  guardian: string;
  envelope: SealedEnvelope;
  approvedAt: string;
}

/** `GET /recovery/{requestId}/approvals`, for the device that opened the request only. */
export interface RecoveryApprovals {
  requestId: string;
  pseudonym: string;
  expiresAt: string;
  approvals: RecoveryApproval[];
}
