import { createHash } from 'node:crypto';
import {
  GUARDIAN_SHARE_KIND,
  GUARDIAN_SHARE_WITHDRAWN_KIND,
  isPseudonym,
  isRecordId,
  RECOVERY_REQUEST_KIND,
} from '@phr/common';
import { z } from 'zod';
import { SHARE_BYTES } from './shares';

/**
 * What the agents seal to each other for key recovery, and the associated data that binds each
 * envelope to its place: a share sealed for one guardian and one patient does not open as
 * anyone else's, and an approval for one request is no approval for another. The gateway sees
 * only the associated data (ids), never a share.
 */

export const RECOVERY_APPROVAL_KIND = 'recovery-approval';

const base64Share = z
  .string()
  .refine((s) => Buffer.from(s, 'base64').toString('base64') === s && Buffer.from(s, 'base64').length === SHARE_BYTES, {
    message: `not a ${SHARE_BYTES}-byte share in base64`,
  });
const pseudonym = z.string().refine(isPseudonym, { message: 'not a pseudonym' });
const recordId = z.string().refine(isRecordId, { message: 'not an id' });
const instant = z.string().refine((s) => !Number.isNaN(Date.parse(s)), { message: 'not an instant' });
const count = z.number().int().min(2).max(10);

/** What a guardian keeps for a patient (sealed to the guardian by the patient). */
export const GuardianSharePayloadSchema = z.strictObject({
  v: z.literal(1),
  pseudonym,
  guardian: pseudonym,
  setupId: recordId,
  threshold: count,
  shareCount: count,
  share: base64Share,
  createdAt: instant,
});
export type GuardianSharePayload = z.infer<typeof GuardianSharePayloadSchema>;

/**
 * An erasing patient withdraws the share a guardian keeps (sealed to the guardian by the patient):
 * a share made after `withdrawnAt` is not touched by it.
 */
export const GuardianShareWithdrawnPayloadSchema = z.strictObject({
  v: z.literal(1),
  pseudonym,
  guardian: pseudonym,
  withdrawnAt: instant,
  reason: z.literal('erased'),
});
export type GuardianShareWithdrawnPayload = z.infer<typeof GuardianShareWithdrawnPayloadSchema>;

/** A new device's request, sealed to each guardian by the device. */
export const RecoveryRequestPayloadSchema = z.strictObject({
  v: z.literal(1),
  requestId: recordId,
  pseudonym,
  guardian: pseudonym,
  /** X25519 base64 SPKI DER: what the guardian seals its share to. */
  ephemeralPublicKey: z.string().min(40).max(100),
  /** MSP of the gateway that holds the request: where to approve. */
  hospital: z.string().min(1).max(100),
  requestedAt: instant,
  expiresAt: instant,
});
export type RecoveryRequestPayload = z.infer<typeof RecoveryRequestPayloadSchema>;

/** A guardian's approval: its share, sealed to the request's ephemeral key. */
export const RecoveryApprovalPayloadSchema = z.strictObject({
  v: z.literal(1),
  requestId: recordId,
  pseudonym,
  guardian: pseudonym,
  setupId: recordId,
  threshold: count,
  shareCount: count,
  share: base64Share,
});
export type RecoveryApprovalPayload = z.infer<typeof RecoveryApprovalPayloadSchema>;

export function guardianShareAad(p: { pseudonym: string; guardian: string; setupId: string }): Record<string, string> {
  return { kind: GUARDIAN_SHARE_KIND, pseudonym: p.pseudonym, guardian: p.guardian, setupId: p.setupId };
}

export function guardianShareWithdrawnAad(p: { pseudonym: string; guardian: string }): Record<string, string> {
  return { kind: GUARDIAN_SHARE_WITHDRAWN_KIND, pseudonym: p.pseudonym, guardian: p.guardian };
}

export function recoveryRequestAad(p: {
  requestId: string;
  pseudonym: string;
  guardian: string;
}): Record<string, string> {
  return { kind: RECOVERY_REQUEST_KIND, requestId: p.requestId, pseudonym: p.pseudonym, guardian: p.guardian };
}

export function recoveryApprovalAad(p: {
  requestId: string;
  pseudonym: string;
  guardian: string;
}): Record<string, string> {
  return { kind: RECOVERY_APPROVAL_KIND, requestId: p.requestId, pseudonym: p.pseudonym, guardian: p.guardian };
}

/**
 * Six digits the new device shows and each guardian sees with the request: the patient reads
 * them to a guardian (in person, by phone) so that the guardian approves the patient's own
 * request, not one someone else opened for the same pseudonym. Made from the request id and the
 * device's ephemeral key, so a request carrying another key shows other digits.
 */
export function recoveryCheckCode(requestId: string, ephemeralPublicKey: string): string {
  const digest = createHash('sha256').update(`phr-recovery-check\n${requestId}\n${ephemeralPublicKey}`).digest();
  const n = digest.readUInt32BE(0) % 1_000_000;
  const digits = String(n).padStart(6, '0');
  return `${digits.slice(0, 3)}-${digits.slice(3)}`;
}

/**
 * A sealed recovery message that opened but is not what its kind must be: it will never be any
 * better, so mail carrying it is dropped (acknowledged), not tried again.
 */
export class MalformedRecoveryMessage extends Error {
  override readonly name = 'MalformedRecoveryMessage';
  readonly code = 'MALFORMED';
}

/**
 * Parses decrypted JSON with `schema`; `what` names it in the error.
 * @throws MalformedRecoveryMessage when it is not JSON or not of the schema.
 */
export function parsePayload<T>(schema: z.ZodType<T>, bytes: Buffer, what: string): T {
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch (err) {
    throw new MalformedRecoveryMessage(`${what} is not JSON`, { cause: err });
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    throw new MalformedRecoveryMessage(`${what} is malformed: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  }
  return parsed.data;
}
