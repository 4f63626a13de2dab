import { canonicalJson } from './canonical-json';

/**
 * The most deliveries one `Commitments.RecordDeliveries` transaction records. The gateway's
 * `outbox.batchSize` cannot exceed it, and the chaincode refuses more.
 */
export const MAX_DELIVERIES_PER_TRANSACTION = 100;

/** One delivery's commitment as `RecordDeliveries` takes it: a Merkle root and counts, never data. */
export interface DeliveryCommitmentEntry {
  deliveryId: string;
  pseudonym: string;
  merkleRoot: string;
  elementCount: number;
  segmentCount: number;
  categories: readonly string[];
}

/**
 * The single argument of `Commitments.RecordDeliveries`: canonical JSON of the entries in the
 * given order, each with its categories sorted, so that the same batch is always the same bytes.
 */
export function deliveriesArgument(entries: readonly DeliveryCommitmentEntry[]): string {
  return canonicalJson(
    entries.map((e) => ({
      deliveryId: e.deliveryId,
      pseudonym: e.pseudonym,
      merkleRoot: e.merkleRoot,
      elementCount: e.elementCount,
      segmentCount: e.segmentCount,
      categories: [...e.categories].sort(),
    })),
  );
}
