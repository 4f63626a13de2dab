import { seal, type DataElement, type EnvelopeSigner, type RecipientKey } from '@phr/common';
import { isObject, ownValue } from '../fhir/validation/element-path';
import { decryptRow, encryptRow, keptDeliveryAad } from '../lifecycle/patient-cipher';
import { buildDelivery } from './delivery-builder';
import { SegmentError } from './segmenter';

/** Which entries of the posted bundle become the delivery, and for whom it is sealed. */
export interface SealRequest {
  /** Accepted entries, in bundle order: index into Bundle.entry and the resource's source id. */
  entries: { entryIndex: number; sourceId: string }[];
  pseudonym: string;
  senderMspId: string;
  /** Milliseconds since the epoch: the delivery's createdAt. */
  createdAt: number;
  recipient: RecipientKey;
  /**
   * The patient's key (lifecycle/patient-keys.ts) when the gateway keeps what it sends for a
   * rebuild: the sealed payload is then also encrypted under it, as `kept`.
   */
  keepKey?: Uint8Array | undefined;
}

/** A built and sealed delivery: what the ledger, the standardized DB and the mailbox get. */
export interface SealedDelivery {
  deliveryId: string;
  merkleRoot: string;
  elementCount: number;
  categories: string[];
  /** One per accepted entry, with only its coded elements (the standardized DB's rows). */
  segments: { entryIndex: number; segmentId: string; resourceType: string; coded: DataElement[] }[];
  /** The sealed envelope as the mailbox stores it. */
  envelopeJson: string;
  /** With `keepKey`: the very payload sealed in `envelopeJson`, encrypted under the patient's key. */
  kept?: Uint8Array;
}

/**
 * The CPU-heavy second step of an ingest: segments, salted hashes, the Merkle tree, and the
 * envelope sealed to the patient and signed by the gateway. Pure, so that it can run on a worker
 * thread (ingest-worker.ts); only the results cross back, never the plaintext payload.
 */
export function sealDelivery(bundle: unknown, request: SealRequest, signer: EnvelopeSigner): SealedDelivery {
  const entries = ownValue(bundle, 'entry');
  const built = buildDelivery(
    request.entries.map((e) => {
      const resource = ownValue(Array.isArray(entries) ? entries[e.entryIndex] : undefined, 'resource');
      if (!isObject(resource)) throw new SegmentError(`entry ${e.entryIndex} has no resource to deliver`);
      return { entryIndex: e.entryIndex, resource, sourceId: e.sourceId };
    }),
    request.pseudonym,
    request.senderMspId,
    new Date(request.createdAt),
  );
  const payload = Buffer.from(JSON.stringify(built.payload));
  const envelope = seal(
    payload,
    request.recipient,
    { deliveryId: built.deliveryId, pseudonym: request.pseudonym, sender: request.senderMspId },
    signer,
  );
  // The same bytes, not a second serialization: one more AES-GCM pass is all keeping costs.
  const kept = request.keepKey ? encryptRow(request.keepKey, keptDeliveryAad(built.deliveryId), payload) : undefined;
  return {
    deliveryId: built.deliveryId,
    merkleRoot: built.merkleRoot,
    elementCount: built.elementCount,
    categories: built.categories,
    segments: built.segments.map((s) => ({
      entryIndex: s.entryIndex,
      segmentId: s.segmentId,
      resourceType: s.resourceType,
      coded: s.elements.filter((e) => e.kind === 'coded'),
    })),
    envelopeJson: JSON.stringify(envelope),
    ...(kept ? { kept } : {}),
  };
}

/** A kept delivery to seal again, to the patient's current key (a rebuild). */
export interface ResealRequest {
  deliveryId: string;
  pseudonym: string;
  senderMspId: string;
  /** The kept blob (`SealedDelivery.kept`) and the patient key it is encrypted under. */
  kept: Uint8Array;
  key: Uint8Array;
  recipient: RecipientKey;
}

/**
 * The kept payload, sealed again with the first envelope's context: the agent opens it as the
 * delivery it was, and its elements verify against the same ledger root. Returns the envelope JSON.
 * @throws PatientCipherError when the kept blob does not open with the key.
 */
export function resealKept(request: ResealRequest, signer: EnvelopeSigner): string {
  const payload = decryptRow(request.key, keptDeliveryAad(request.deliveryId), request.kept);
  const envelope = seal(
    payload,
    request.recipient,
    { deliveryId: request.deliveryId, pseudonym: request.pseudonym, sender: request.senderMspId },
    signer,
  );
  return JSON.stringify(envelope);
}
