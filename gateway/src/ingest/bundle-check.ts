import { canonicalJson, type OutcomeIssue } from '@phr/common';
import type { FhirValidator } from '../fhir/validation';
import type { KeyedHash } from '../identity/keyed-hash';

/** What the ingest pipeline learns about a posted bundle before it reads or writes any state. */
export interface BundleCheck {
  /** Every issue FhirValidator.validateBundle reports, in its order. */
  issues: OutcomeIssue[];
  /**
   * Keyed hash of the bundle's canonical JSON (same content, same key: idempotent resubmission).
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
export function checkBundle(validator: FhirValidator, keyed: KeyedHash, bundle: unknown): BundleCheck {
  const issues = validator.validateBundle(bundle);
  try {
    return { issues, contentKey: keyed.hash('bundle-content', canonicalJson(bundle)) };
  } catch (err) {
    return { issues, contentKeyError: err instanceof Error ? err.message : String(err) };
  }
}
