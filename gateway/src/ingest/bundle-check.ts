import { canonicalJson, type OutcomeIssue } from '@phr/common';
import type { FhirValidator } from '../fhir/validation';
import type { KeyedHash } from '../identity/keyed-hash';
import { deliveredContent } from './delivered-content';

/** What the ingest pipeline learns about a posted bundle before it reads or writes any state. */
export interface BundleCheck {
  /** Every issue FhirValidator.validateBundle reports, in its order. */
  issues: OutcomeIssue[];
  /**
   * Keyed hash of the canonical JSON of what the bundle delivers (deliveredContent: transport
   * metadata a retry may change is left out), so the same content is one delivery.
   * When the content has no canonical form, `contentKeyError` says why instead; the pipeline raises
   * it only where it needs the key, so a bundle refused for its issues is refused as before.
   */
  contentKey?: string;
  contentKeyError?: string;
}

/**
 * The CPU-heavy first step of an ingest (validation ~75% of it, then canonical JSON of the whole
 * bundle): pure, so that it can run on a worker thread (ingest-worker.ts).
 */
export function checkBundle(
  validator: FhirValidator,
  keyed: KeyedHash,
  bundle: unknown,
  /** The same bundle with each number kept as written (parseExactJson), when that differs. */
  exact: unknown = bundle,
  /**
   * The content key when the bundle was made from a document whose own bytes say what it delivers
   * (a converted C-CDA: `ccdaContentKey`), instead of one from the bundle's canonical JSON.
   */
  contentKey?: string,
): BundleCheck {
  const issues = validator.validateBundle(bundle);
  if (contentKey !== undefined) return { issues, contentKey };
  try {
    // v2: what the bundle delivers, numbers as written (7.10 and 7.1 are different content).
    return { issues, contentKey: keyed.hash('bundle-content-v2', canonicalJson(deliveredContent(exact))) };
  } catch (err) {
    return { issues, contentKeyError: err instanceof Error ? err.message : String(err) };
  }
}

/**
 * The content key of a C-CDA document: its bytes as posted. The converted bundle is made from them
 * alone (ids included), so the same bytes are the same delivery, and stay so when a newer converter
 * would turn them into other resources: a retry across a gateway upgrade is not a second delivery.
 */
export function ccdaContentKey(keyed: KeyedHash, body: Uint8Array): string {
  return keyed.hash('ccda-document-v1', body);
}
