import { PhrSystems, type OperationOutcomeResource } from '@phr/common';
import { isObject, ownValue } from '../fhir/validation/element-path';

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

const RECEIPT_FIELDS: ReadonlySet<string> = new Set<keyof DeliveryReceipt>([
  'deliveryId',
  'transactionId',
  'merkleRoot',
  'elementCount',
  'segmentCount',
  'status',
  'receivedAt',
  'committedAt',
]);

/**
 * Reads the receipt back out of a response Bundle (clients and tests). The bundle comes from a
 * server, so it is read like any untrusted JSON: own properties only, and only the receipt's fields.
 */
export function readReceipt(bundle: unknown): DeliveryReceipt | undefined {
  const extensions = ownValue(ownValue(bundle, 'meta'), 'extension');
  const ext: unknown = Array.isArray(extensions)
    ? extensions.find((e) => ownValue(e, 'url') === RECEIPT_EXTENSION_URL)
    : undefined;
  const parts = ownValue(ext, 'extension');
  if (!Array.isArray(parts)) return undefined;
  const fields = new Map<string, unknown>();
  for (const part of parts) {
    const url = ownValue(part, 'url');
    if (typeof url !== 'string' || !RECEIPT_FIELDS.has(url) || !isObject(part)) continue;
    fields.set(url, Object.entries(part).find(([k]) => k.startsWith('value'))?.[1]);
  }
  return Object.fromEntries(fields) as unknown as DeliveryReceipt;
}
