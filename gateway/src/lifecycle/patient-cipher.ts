import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * What the gateway stores under a patient's key (backups, kept deliveries) and under its own key
 * (the patient keys): AES-256-GCM, one blob per row. The associated data names the table and the
 * row, so a blob copied into another row, or another patient's row, does not open there.
 *
 * Blob: version (1 byte, 1) || IV (12) || ciphertext || tag (16). Pure (node:crypto only), so the
 * ingest worker threads can seal a kept delivery without loading any store.
 */
export const PATIENT_KEY_BYTES = 32;
const VERSION = 1;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const OVERHEAD = 1 + IV_BYTES + TAG_BYTES;

export class PatientCipherError extends Error {
  override readonly name = 'PatientCipherError';
  readonly code = 'DECRYPTION_FAILED';
}

/** The associated data of a row: its table and its key, NUL-separated (no part may contain NUL). */
export function rowAad(table: string, ...key: (string | number)[]): Buffer {
  const parts = [table, ...key.map(String)];
  if (parts.some((p) => p.includes('\0'))) throw new TypeError('row key parts must not contain NUL');
  return Buffer.from(parts.join('\0'), 'utf8');
}

/** One AES-256-GCM pass over `plaintext`; a fresh random IV each time. */
export function encryptRow(key: Uint8Array, aad: Uint8Array, plaintext: Uint8Array): Buffer {
  if (key.length !== PATIENT_KEY_BYTES) throw new TypeError(`the key must be ${PATIENT_KEY_BYTES} bytes`);
  const iv = randomBytes(IV_BYTES);
  const cipher = createCipheriv('aes-256-gcm', key, iv, { authTagLength: TAG_BYTES });
  cipher.setAAD(aad);
  const head = Buffer.from([VERSION]);
  return Buffer.concat([head, iv, cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
}

/**
 * The plaintext of a blob `encryptRow` made with the same key and associated data.
 * @throws PatientCipherError when the blob is not one, or the key or the row differ.
 */
export function decryptRow(key: Uint8Array, aad: Uint8Array, blob: Uint8Array): Buffer {
  if (blob.length < OVERHEAD || blob[0] !== VERSION || key.length !== PATIENT_KEY_BYTES) {
    throw new PatientCipherError('the stored blob cannot be decrypted');
  }
  const bytes = Buffer.from(blob.buffer, blob.byteOffset, blob.byteLength);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, bytes.subarray(1, 1 + IV_BYTES), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(aad);
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    return Buffer.concat([decipher.update(bytes.subarray(1 + IV_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
  } catch (err) {
    throw new PatientCipherError('the stored blob cannot be decrypted', { cause: err });
  }
}

/** The associated data of a kept delivery's blob (kept-deliveries.ts; sealed on an ingest thread). */
export function keptDeliveryAad(deliveryId: string): Buffer {
  return rowAad('kept_delivery', deliveryId);
}
