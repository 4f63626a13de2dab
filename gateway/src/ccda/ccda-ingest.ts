import { FhirError, type OutcomeIssue } from '@phr/common';
import type { Principal } from '../auth/principal';
import type { IngestPool } from '../ingest/ingest-pool';
import type { IngestResult, IngestService } from '../ingest/ingest-service';
import type { XmlGuardLimits } from './xml-guard';

export interface CcdaIngestDeps {
  pool: IngestPool;
  ingest: IngestService;
  limits: XmlGuardLimits;
}

/**
 * The C-CDA push flow: the document is checked and converted on a worker thread, then ingested
 * exactly as a posted FHIR transaction (validation, patient, commitment, sealing, mailbox). What the
 * converter left out is answered as warnings in the DocumentReference entry's `response.outcome`
 * (the entry that stands for the whole document), which a transaction-response allows per entry.
 *
 * @throws FhirError 400/413/415 for hostile or malformed XML, 422 for a document that cannot be
 *   delivered (no patient, no clinical content, unlinked patient), and the ingest's own errors
 */
export async function ingestCcda(d: CcdaIngestDeps, body: Uint8Array, principal: Principal): Promise<IngestResult> {
  const converted = await d.pool.convertCcda(body, d.limits);
  if (!converted.ok) throw new FhirError(converted.status, converted.issues);
  const bundleBytes = Buffer.from(converted.bundleJson, 'utf8');
  const bundle = JSON.parse(converted.bundleJson) as { entry: { resource: { resourceType: string } }[] };
  const result = await d.ingest.ingest({ bundle, body: bundleBytes, checked: converted.checked }, principal);
  if (converted.warnings.length > 0) addWarnings(result.body, bundle, converted.warnings);
  return result;
}

function addWarnings(
  response: Record<string, unknown>,
  posted: { entry: { resource: { resourceType: string } }[] },
  warnings: OutcomeIssue[],
): void {
  const at = posted.entry.findIndex((e) => e.resource.resourceType === 'DocumentReference');
  const entry = (response.entry as { response?: Record<string, unknown> }[] | undefined)?.[at];
  if (!entry?.response) return;
  const existing = (entry.response.outcome as { issue?: OutcomeIssue[] } | undefined)?.issue ?? [];
  entry.response.outcome = { resourceType: 'OperationOutcome', issue: [...existing, ...warnings] };
}
