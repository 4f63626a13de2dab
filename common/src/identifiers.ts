import { randomBytes } from 'node:crypto';

/**
 * A patient pseudonym: "pt" + 26 base32 characters (130 bits, 128 of them random). Random, so it
 * says nothing about the person; lower case and URL-safe, so it can appear in FHIR search URLs.
 */
export const PSEUDONYM_PATTERN = /^pt[a-z2-7]{26}$/;

/** Client-chosen ids for deliveries, consents and access events (UUIDs fit). */
export const RECORD_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{7,127}$/;

/** A SHA-256 digest in lower-case hex: Merkle roots, query hashes. */
export const SHA256_HEX_PATTERN = /^[0-9a-f]{64}$/;

/** Coarse data category codes (e.g. "laboratory", "vital-signs"). */
export const CATEGORY_PATTERN = /^[a-z][a-z0-9-]{1,39}$/;

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';

export function newPseudonym(): string {
  const bytes = randomBytes(17);
  let bits = 0;
  let acc = 0;
  let out = '';
  for (const byte of bytes) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5 && out.length < 26) {
      out += BASE32[(acc >>> (bits - 5)) & 31];
      bits -= 5;
    }
    acc &= (1 << bits) - 1;
  }
  return `pt${out}`;
}

export function isPseudonym(value: unknown): value is string {
  return typeof value === 'string' && PSEUDONYM_PATTERN.test(value);
}

/**
 * An ISO 8601 date-time (a date alone is not one) rendered as `Date#toISOString`, as the ledger
 * keeps instants; undefined when `value` is not one.
 */
export function isoInstant(value: string): string | undefined {
  const t = Date.parse(value);
  return typeof value === 'string' && /^\d{4}-\d{2}-\d{2}T/.test(value) && !Number.isNaN(t)
    ? new Date(t).toISOString()
    : undefined;
}

export function isRecordId(value: unknown): value is string {
  return typeof value === 'string' && RECORD_ID_PATTERN.test(value);
}

export function isSha256Hex(value: unknown): value is string {
  return typeof value === 'string' && SHA256_HEX_PATTERN.test(value);
}
