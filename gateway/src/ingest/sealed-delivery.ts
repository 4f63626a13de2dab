import { seal, type DataElement, type EnvelopeSigner, type RecipientKey } from '@phr/common';
import { isObject, ownValue } from '../fhir/validation/element-path';
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
  const envelope = seal(
    Buffer.from(JSON.stringify(built.payload)),
    request.recipient,
    { deliveryId: built.deliveryId, pseudonym: request.pseudonym, sender: request.senderMspId },
    signer,
  );
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
  };
}
