/**
 * The plaintext a participant seals to the researcher: the de-identified elements, the
 * demographics and a random nonce, as canonical JSON. Its SHA-256 goes on the ledger with the
 * delivery, so the researcher can tell the extract it opened is the one that was paid for.
 */
import { createHash, randomBytes } from 'node:crypto';
import { canonicalJson, RESEARCH_EXTRACT_PURPOSE, type DateRule, type ResearchExtract } from '@phr/common';
import type { Deidentified } from './deidentify';

export function buildExtract(input: {
  offerId: string;
  participationId: string;
  dates: DateRule;
  deidentified: Deidentified;
  /** Tests pin it; 128 random bits otherwise. */
  nonce?: string;
}): ResearchExtract {
  return {
    version: 1,
    offerId: input.offerId,
    participationId: input.participationId,
    nonce: input.nonce ?? randomBytes(16).toString('hex'),
    dates: input.dates,
    demographics: input.deidentified.demographics,
    elements: input.deidentified.elements,
  };
}

/** The exact bytes that are sealed and hashed. */
export function extractBytes(extract: ResearchExtract): Buffer {
  return Buffer.from(canonicalJson(extract), 'utf8');
}

export function extractHash(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/** The envelope's associated data: binds it to one offer and one participation. */
export function extractAad(offerId: string, participationId: string): Record<string, string> {
  return { purpose: RESEARCH_EXTRACT_PURPOSE, offerId, participationId };
}
