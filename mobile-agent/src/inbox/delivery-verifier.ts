import {
  parseExactJson,
  DeliveryTree,
  elementLeafHash,
  EnvelopeError,
  fabricX509Id,
  identityKey,
  openEnvelope,
  verifyEnvelope,
  type VerifiedEnvelope,
  type DeliveryPayload,
  type DeliveryRecord,
  type DeliveryRejectionReason,
  type SealedEnvelope,
} from '@phr/common';
import type { VaultDelivery, VaultElement } from '../vault/vault-types';
import { gatewayCertificateProblem, type ExpectedSender } from './gateway-certificate';

export type Verification =
  | { ok: true; delivery: VaultDelivery; elements: VaultElement[] }
  | { ok: false; reason: DeliveryRejectionReason; detail: string };

/** A delivery that cannot be judged yet: its commitment is not on the ledger (the gateway's outbox may still be sending it). */
export class NotYetCommitted extends Error {
  override readonly name = 'NotYetCommitted';
  constructor(readonly deliveryId: string) {
    super(`delivery ${deliveryId} is not on the ledger yet`);
  }
}

export interface VerifyInput {
  /** The mailbox message id: the gateway names mail after its delivery. */
  deliveryId: string;
  body: string;
  pseudonym: string;
  encryptionPrivateKeyPem: string;
  sender: ExpectedSender;
  /** Reads the commitment; undefined when the ledger has none. */
  readCommitment(deliveryId: string): Promise<DeliveryRecord | undefined>;
  now?: () => Date;
}

const refuse = (reason: DeliveryRejectionReason, detail: string): Verification => ({ ok: false, reason, detail });

/**
 * Everything a delivery must pass before it may enter the vault (SPEC flow 2):
 * the envelope is signed by the very gateway identity that committed the delivery on the ledger,
 * whose certificate the sending hospital's CA issued for the hospital-gateway role; it decrypts
 * under this patient's key with this delivery and patient bound as associated data; and every
 * element, salted and hashed again, rebuilds the Merkle root that is on the ledger.
 */
export async function verifyDelivery(input: VerifyInput): Promise<Verification> {
  let envelope: SealedEnvelope;
  try {
    envelope = JSON.parse(input.body) as SealedEnvelope;
    if (typeof envelope !== 'object' || envelope === null) throw new Error('not an object');
  } catch {
    return refuse('malformed', 'the message is not a sealed envelope');
  }

  let verified: VerifiedEnvelope;
  try {
    verified = verifyEnvelope(envelope);
  } catch (err) {
    return err instanceof EnvelopeError && err.code !== 'SIGNATURE_INVALID'
      ? refuse('malformed', `the envelope is malformed: ${err.message}`)
      : refuse('signature-invalid', 'the envelope signature does not verify');
  }
  const senderPem = verified.senderCertificate;
  const issuerProblem = gatewayCertificateProblem(senderPem, input.sender, input.now?.() ?? new Date());
  if (issuerProblem) return refuse('signature-invalid', issuerProblem);

  // The ledger is the judge of what was sent; without its commitment nothing can be decided yet.
  const commitment = await input.readCommitment(input.deliveryId);
  if (!commitment) throw new NotYetCommitted(input.deliveryId);
  if (commitment.pseudonym !== input.pseudonym) return refuse('malformed', 'the commitment is for another patient');
  if (commitment.sender !== input.sender.mspId) {
    return refuse('signature-invalid', `the commitment was sent by ${commitment.sender}, not ${input.sender.mspId}`);
  }
  if (identityKey(commitment.sender, fabricX509Id(senderPem)) !== commitment.senderIdentity) {
    return refuse('signature-invalid', 'the envelope was signed by another identity than the one that committed it');
  }

  let plaintext: Buffer;
  try {
    plaintext = openEnvelope(verified, input.encryptionPrivateKeyPem, {
      deliveryId: input.deliveryId,
      pseudonym: input.pseudonym,
      sender: input.sender.mspId,
    });
  } catch (err) {
    if (err instanceof EnvelopeError && err.code === 'DECRYPTION_FAILED') {
      return refuse('decryption-failed', 'the envelope cannot be decrypted with this device key');
    }
    return refuse('malformed', `the envelope cannot be opened: ${err instanceof Error ? err.message : String(err)}`);
  }

  let payload: DeliveryPayload;
  try {
    // Numbers keep the text the hospital hashed (7.10 stays 7.10), or the leaf hashes would not match.
    payload = parseExactJson(plaintext.toString('utf8')) as DeliveryPayload;
  } catch {
    return refuse('malformed', 'the delivery is not JSON');
  }
  const shape = payloadProblem(payload, input.deliveryId, input.pseudonym, input.sender.mspId);
  if (shape) return refuse('malformed', shape);

  let tree: DeliveryTree;
  try {
    tree = new DeliveryTree(payload.segments.map((s) => s.elements.map((e) => elementLeafHash(e.element, e.salt))));
  } catch (err) {
    return refuse('malformed', `an element cannot be hashed: ${err instanceof Error ? err.message : String(err)}`);
  }
  const elementCount = payload.segments.reduce((n, s) => n + s.elements.length, 0);
  if (tree.root !== commitment.merkleRoot) {
    // Which side moved: the elements (their root no longer matches what the sender says it sent) or the root.
    return tree.root !== payload.merkleRoot
      ? refuse('hash-mismatch', 'the elements do not hash to the root committed on the ledger')
      : refuse('root-mismatch', 'the delivery names another root than the one committed on the ledger');
  }
  if (elementCount !== commitment.elementCount || payload.segments.length !== commitment.segmentCount) {
    return refuse('malformed', 'the delivery does not have the element and segment counts committed on the ledger');
  }

  const delivery: VaultDelivery = {
    deliveryId: payload.deliveryId,
    sender: commitment.sender,
    merkleRoot: commitment.merkleRoot,
    categories: [...commitment.categories],
    segmentCount: commitment.segmentCount,
    elementCount: commitment.elementCount,
    createdAt: payload.createdAt,
    storedAt: (input.now?.() ?? new Date()).toISOString(),
  };
  const elements: VaultElement[] = payload.segments.flatMap((segment, s) =>
    segment.elements.map((e, i) => ({
      deliveryId: payload.deliveryId,
      segmentId: segment.segmentId,
      element: e.element,
      salt: e.salt,
      proof: tree.proof(s, i),
    })),
  );
  return { ok: true, delivery, elements };
}

function payloadProblem(p: DeliveryPayload, deliveryId: string, pseudonym: string, sender: string): string | undefined {
  if (typeof p !== 'object' || p === null || p.version !== 1) return 'the delivery has an unknown format';
  if (p.deliveryId !== deliveryId) return 'the delivery id inside does not match the message';
  if (p.pseudonym !== pseudonym) return 'the delivery is for another patient';
  if (p.sender !== sender) return 'the delivery names another sender';
  if (!Array.isArray(p.segments) || p.segments.length === 0) return 'the delivery has no segments';
  for (const s of p.segments) {
    if (typeof s !== 'object' || s === null || typeof s.segmentId !== 'string' || !Array.isArray(s.elements)) {
      return 'a segment is malformed';
    }
    if (s.elements.length === 0) return `segment ${s.segmentId} has no elements`;
    for (const e of s.elements) {
      if (typeof e !== 'object' || e === null || typeof e.element?.id !== 'string' || typeof e.salt !== 'string') {
        return `an element of segment ${s.segmentId} is malformed`;
      }
      if (!e.element.id.startsWith(`${s.segmentId}.`)) return `element ${e.element.id} does not belong to its segment`;
    }
  }
  return undefined;
}
