import { randomUUID } from 'node:crypto';
import {
  categoriesOfAll,
  DeliveryTree,
  elementLeafHash,
  newSalts,
  type DataElement,
  type DeliveredSegment,
  type DeliveryPayload,
} from '@phr/common';
import { v7 as timeOrderedUuid } from 'uuid';
import { segmentResource } from './segmenter';

export interface AcceptedResource {
  /** Index of the entry in the posted bundle. */
  entryIndex: number;
  resource: Record<string, unknown>;
  sourceId: string;
}

export interface BuiltSegment {
  entryIndex: number;
  segmentId: string;
  resourceType: string;
  elements: DataElement[];
}

export interface BuiltDelivery {
  deliveryId: string;
  merkleRoot: string;
  elementCount: number;
  categories: string[];
  segments: BuiltSegment[];
  payload: DeliveryPayload;
}

/**
 * Splits resources into segments of data elements, salts and hashes every element, and builds the
 * element → segment → delivery Merkle tree. Only the root leaves the gateway in the clear.
 */
export function buildDelivery(
  resources: readonly AcceptedResource[],
  pseudonym: string,
  senderMspId: string,
  now: Date,
): BuiltDelivery {
  // The delivery id goes to the ledger: random (v4), so that it tells nothing but itself.
  const deliveryId = randomUUID();
  const segments: BuiltSegment[] = [];
  const delivered: DeliveredSegment[] = [];
  const leaves: string[][] = [];
  let elementCount = 0;
  for (const r of resources) {
    // Segment ids never leave the gateway and the patient's mail. Time-ordered (RFC 9562 v7, 74
    // random bits), they give std_element's unique element_id index (`<segment>.<n>`) appends
    // instead of one random page per segment: a CCD's ~70 segments dirtied ~70 index pages in
    // each ingest's commit, ~1 ms of the event loop per document in the ingest benchmark.
    const segmentId = timeOrderedUuid();
    const elements = segmentResource({ segmentId, resource: r.resource, sourceId: r.sourceId });
    const salts = newSalts(elements.length);
    const salted = elements.map((element, i) => ({ element, salt: salts[i] as string }));
    leaves.push(salted.map((e) => elementLeafHash(e.element, e.salt)));
    const resourceType = String(r.resource.resourceType);
    segments.push({ entryIndex: r.entryIndex, segmentId, resourceType, elements });
    delivered.push({ segmentId, resourceType, sourceId: r.sourceId, elements: salted });
    elementCount += elements.length;
  }
  const tree = new DeliveryTree(leaves);
  const sortedCategories = categoriesOfAll(resources.map((r) => r.resource));
  return {
    deliveryId,
    merkleRoot: tree.root,
    elementCount,
    categories: sortedCategories,
    segments,
    payload: {
      version: 1,
      deliveryId,
      pseudonym,
      sender: senderMspId,
      createdAt: now.toISOString(),
      merkleRoot: tree.root,
      categories: sortedCategories,
      segments: delivered,
    },
  };
}
