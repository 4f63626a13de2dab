import { PhrSystems, type OperationOutcomeResource } from '@phr/common';

export const RECEIPT_EXTENSION_URL = 'https://phr-ledger.dev/fhir/StructureDefinition/delivery-receipt';
export const DELIVERY_IDENTIFIER_SYSTEM = PhrSystems.deliveryId;

/** What the EHR keeps to follow its delivery: the ledger transaction and the commitment. */
export interface DeliveryReceipt {
  deliveryId: string;
  transactionId: string;
  merkleRoot: string;
  elementCount: number;
  segmentCount: number;
  /** queued: accepted, waiting for the ledger; committed: on the ledger; failed: refused by it. */
  status: 'queued' | 'committed' | 'failed';
  receivedAt: string;
  committedAt?: string;
}

export interface ResponseEntry {
  status: string;
  location?: string;
  etag?: string;
  lastModified?: string;
  outcome?: OperationOutcomeResource;
}

export function receiptExtension(r: DeliveryReceipt): Record<string, unknown> {
  const ext: Record<string, unknown>[] = [
    { url: 'deliveryId', valueString: r.deliveryId },
    { url: 'transactionId', valueString: r.transactionId },
    { url: 'merkleRoot', valueString: r.merkleRoot },
    { url: 'elementCount', valueInteger: r.elementCount },
    { url: 'segmentCount', valueInteger: r.segmentCount },
    { url: 'status', valueCode: r.status },
    { url: 'receivedAt', valueInstant: r.receivedAt },
  ];
  if (r.committedAt) ext.push({ url: 'committedAt', valueInstant: r.committedAt });
  return { url: RECEIPT_EXTENSION_URL, extension: ext };
}

/** A transaction-response / batch-response Bundle with the receipt in `meta`, entries in request order. */
export function responseBundle(
  type: 'transaction-response' | 'batch-response',
  entries: readonly ResponseEntry[],
  receipt: DeliveryReceipt | undefined,
): Record<string, unknown> {
  return {
    resourceType: 'Bundle',
    type,
    ...(receipt
      ? {
          meta: { lastUpdated: receipt.receivedAt, extension: [receiptExtension(receipt)] },
          identifier: { system: DELIVERY_IDENTIFIER_SYSTEM, value: receipt.deliveryId },
        }
      : {}),
    entry: entries.map((response) => ({ response })),
  };
}

/** Reads the receipt back out of a response Bundle (clients and tests). */
export function readReceipt(bundle: unknown): DeliveryReceipt | undefined {
  const meta = (bundle as { meta?: { extension?: { url: string; extension?: Record<string, unknown>[] }[] } })?.meta;
  const ext = meta?.extension?.find((e) => e.url === RECEIPT_EXTENSION_URL);
  if (!ext?.extension) return undefined;
  const out: Record<string, unknown> = {};
  for (const e of ext.extension) {
    const value = Object.entries(e).find(([k]) => k.startsWith('value'))?.[1];
    out[String(e.url)] = value;
  }
  return out as unknown as DeliveryReceipt;
}
