import { createPrivateKey, sign, verify, X509Certificate } from 'node:crypto';
import { canonicalJson } from './canonical-json';

/**
 * The wire contract of the record's life cycle at a hospital gateway (issue 15) between the
 * gateway and the patient's agent: backups (`PUT/GET /backup/{pseudonym}`), rebuilds
 * (`POST /rebuild/{pseudonym}`) and erasure (`POST /erasure/{pseudonym}`), with the signed erasure
 * receipt and how to check it.
 */

/** Media type of a backup archive (the agent's own ciphertext, opaque to the gateway). */
export const BACKUP_MEDIA_TYPE = 'application/octet-stream';
/** Response headers of `GET /backup/{pseudonym}`: which version the bytes are, and their SHA-256. */
export const BACKUP_VERSION_HEADER = 'x-backup-version';
export const BACKUP_SHA256_HEADER = 'x-backup-sha256';

/** One stored backup: the answer of `PUT /backup/{pseudonym}` and an entry of the versions list. */
export interface BackupVersion {
  /** 1, 2, 3… per patient at this gateway, never reused. */
  version: number;
  /** Bytes the agent sent. */
  size: number;
  /** SHA-256 (lower-case hex) of the bytes the agent sent. */
  sha256: string;
  storedAt: string;
}

/** `GET /backup/{pseudonym}/versions`, oldest first. */
export interface BackupVersions {
  versions: BackupVersion[];
}

/**
 * What a rebuild did with one delivery of the patient at this gateway:
 * - resent: sealed again to the patient's current key and queued in the mailbox (kind `delivery`);
 * - not-kept: the gateway did not keep it (delivered before it kept deliveries, or keeping is off);
 * - expired: it was kept, but its retention (`retention.rebuildDays`) is over;
 * - not-committed: it is not on the ledger (yet, or refused), so it could not be verified.
 */
export const REBUILD_STATUSES = ['resent', 'not-kept', 'expired', 'not-committed'] as const;
export type RebuildStatus = (typeof REBUILD_STATUSES)[number];

export interface RebuiltDelivery {
  deliveryId: string;
  status: RebuildStatus;
  /** In words, for the patient's table, when not resent. */
  reason?: string;
  /** resent: the id of the mail that carries it (the delivery id is in the envelope's context). */
  messageId?: string;
}

/** `POST /rebuild/{pseudonym}`. */
export interface RebuildAnswer {
  /** Every delivery this gateway made to the patient, oldest first. */
  deliveries: RebuiltDelivery[];
}

/** What the gateway destroyed: a kind of copy and how many. */
export interface ErasedItem {
  what: string;
  count: number;
}

/** What the gateway must keep, how much, until when (when its policy says), and on what basis. */
export interface KeptItem {
  what: string;
  count: number;
  until?: string;
  basis: string;
}

export interface ErasureReceipt {
  receiptId: string;
  pseudonym: string;
  /** The hospital's MSP id. */
  hospital: string;
  erasedAt: string;
  destroyed: ErasedItem[];
  kept: KeptItem[];
}

/** `POST /erasure/{pseudonym}`: the receipt, signed by the gateway's envelope signing identity. */
export interface ErasureAnswer {
  receipt: ErasureReceipt;
  /** base64 DER ECDSA-SHA256 over `erasureReceiptSignedBytes(receipt)`. */
  signature: string;
  /** The signer: the gateway's Fabric identity (the one that signs sealed deliveries). */
  certificatePem: string;
  /**
   * The `erasure` access event on the ledger (reference: the receipt id). `recorded` false: the
   * ledger could not be reached; the gateway keeps trying, and a repeated erasure request says so.
   */
  accessEvent: { eventId: string; recorded: boolean };
}

/** Names what a receipt signature is for: it is over these bytes and no others. */
export const ERASURE_RECEIPT_PURPOSE = 'phr-ledger/erasure-receipt/v1';

/**
 * What the gateway signs for a receipt: the receipt under a purpose label. The key that signs it
 * also signs sealed deliveries (and may sign more later), so a signature over the receipt's bare
 * JSON could be taken for a signature over some other JSON of the same shape; with the label it
 * is a signature over an erasure receipt and nothing else.
 */
export function erasureReceiptSignedBytes(receipt: ErasureReceipt): Buffer {
  return Buffer.from(canonicalJson({ purpose: ERASURE_RECEIPT_PURPOSE, receipt }), 'utf8');
}

/** The signature of a receipt, by the gateway's signing key (PKCS#8 PEM, ECDSA P-256). */
export function signErasureReceipt(receipt: ErasureReceipt, privateKeyPem: string): string {
  return sign('sha256', erasureReceiptSignedBytes(receipt), createPrivateKey(privateKeyPem)).toString('base64');
}

/**
 * Whether `signature` is the certificate's signature over the receipt. Never throws. Says nothing
 * about who the certificate belongs to: the caller checks its issuer as it does for a sealed delivery.
 */
export function verifyErasureReceipt(receipt: ErasureReceipt, signature: string, certificatePem: string): boolean {
  try {
    const key = new X509Certificate(certificatePem).publicKey;
    return verify('sha256', erasureReceiptSignedBytes(receipt), key, Buffer.from(signature, 'base64'));
  } catch {
    return false;
  }
}
