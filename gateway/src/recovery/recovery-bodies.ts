import { createPublicKey, X509Certificate } from 'node:crypto';
import {
  badRequest,
  EnvelopeError,
  forbiddenError,
  isPseudonym,
  isRecordId,
  RELAY_KINDS,
  verifyEnvelope,
  type RecoveryApprovalPost,
  type RecoveryOpen,
  type RelayKind,
  type RelayPost,
  type SealedEnvelope,
} from '@phr/common';
import type { Principal } from '../auth/principal';

/**
 * The bodies of the recovery routes, checked field by field before anything is stored. An
 * envelope must be well formed, its signature must verify, and it must be signed by the caller's
 * own certificate: the gateway vouches for who sent each message and approval, so a sealed
 * message cannot be passed on under someone else's name.
 */

export function parseRelayPost(body: unknown, caller: Principal): RelayPost {
  const b = object(body);
  onlyFields(b, ['messageId', 'kind', 'envelope']);
  if (!isRecordId(b.messageId)) throw badRequest('messageId is required (8–128 letters, digits, . _ -)', ['messageId']);
  if (!(RELAY_KINDS as readonly unknown[]).includes(b.kind)) {
    throw badRequest(`kind must be one of ${RELAY_KINDS.join(', ')}`, ['kind']);
  }
  return { messageId: b.messageId, kind: b.kind as RelayKind, envelope: callersEnvelope(b.envelope, caller) };
}

export function parseRecoveryOpen(body: unknown): RecoveryOpen {
  const b = object(body);
  onlyFields(b, ['requestId', 'pseudonym', 'ephemeralPublicKey']);
  if (!isRecordId(b.requestId)) throw badRequest('requestId is required (8–128 letters, digits, . _ -)', ['requestId']);
  if (!isPseudonym(b.pseudonym)) throw badRequest('pseudonym is required', ['pseudonym']);
  if (!isX25519Spki(b.ephemeralPublicKey)) {
    throw badRequest('ephemeralPublicKey must be an X25519 public key (base64 SPKI DER)', ['ephemeralPublicKey']);
  }
  return { requestId: b.requestId, pseudonym: b.pseudonym, ephemeralPublicKey: b.ephemeralPublicKey };
}

/** The approval, bound to this request: its envelope's associated data names the request and guardian. */
export function parseApprovalPost(
  body: unknown,
  caller: Principal,
  request: { requestId: string; pseudonym: string },
): RecoveryApprovalPost {
  const b = object(body);
  onlyFields(b, ['guardian', 'envelope']);
  if (!isPseudonym(b.guardian)) throw badRequest('guardian (your own pseudonym) is required', ['guardian']);
  const envelope = callersEnvelope(b.envelope, caller);
  const aad = envelope.aad;
  if (aad.requestId !== request.requestId || aad.pseudonym !== request.pseudonym || aad.guardian !== b.guardian) {
    throw badRequest('the envelope is sealed for another request, patient or guardian', ['envelope.aad']);
  }
  return { guardian: b.guardian, envelope };
}

function callersEnvelope(value: unknown, caller: Principal): SealedEnvelope {
  let signer: string;
  try {
    signer = verifyEnvelope(value as SealedEnvelope).senderCertificate;
  } catch (err) {
    if (err instanceof EnvelopeError) throw badRequest(`envelope: ${err.message}`, ['envelope']);
    throw err;
  }
  if (!sameCertificate(signer, caller.certificatePem)) {
    throw forbiddenError('the envelope must be signed with your own certificate, the one this connection shows');
  }
  return value as SealedEnvelope;
}

function sameCertificate(a: string, b: string): boolean {
  try {
    return new X509Certificate(a).raw.equals(new X509Certificate(b).raw);
  } catch {
    return false;
  }
}

function isX25519Spki(value: unknown): value is string {
  if (typeof value !== 'string' || value.length > 100) return false;
  const der = Buffer.from(value, 'base64');
  if (der.toString('base64') !== value) return false;
  try {
    return createPublicKey({ key: der, format: 'der', type: 'spki' }).asymmetricKeyType === 'x25519';
  } catch {
    return false;
  }
}

function object(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw badRequest('body must be a JSON object');
  return body as Record<string, unknown>;
}

function onlyFields(b: Record<string, unknown>, allowed: readonly string[]): void {
  const extra = Object.keys(b).find((k) => !allowed.includes(k));
  if (extra !== undefined) throw badRequest(`unknown field: ${extra}`, [extra]);
}
