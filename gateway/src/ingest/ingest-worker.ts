/**
 * An ingest worker thread (run by IngestPool, one per core): validation, canonical content keys,
 * segmentation, hashing and sealing, so that the gateway's event loop keeps serving HTTP, SQLite
 * and the ledger while bundles are checked and sealed in parallel.
 *
 * Tasks carry the request body as bytes, not the parsed bundle: re-parsing them here costs this
 * thread one JSON.parse, while cloning the parsed object would cost the event loop about as much.
 * Validation reads plain JSON numbers; what is sealed and hashed is parsed keeping each number's
 * text (`parseExactJson`), which costs nothing more unless a number's text would change.
 */
import { getPriority, setPriority } from 'node:os';
import { threadId, workerData } from 'node:worker_threads';
import { hasInexactNumber, parseExactJson, type EnvelopeSigner } from '@phr/common';
import { FhirError, type OutcomeIssue } from '@phr/common';
import { convertCcda } from '../ccda/ccda-converter';
import { guardXml, type XmlGuardLimits } from '../ccda/xml-guard';
import { FhirValidator, fhirJsonText } from '../fhir/validation';
import { KeyedHash } from '../identity/keyed-hash';
import { ccdaContentKey, checkBundle, type BundleCheck } from './bundle-check';
import { resealKept, sealDelivery, type ResealRequest, type SealedDelivery, type SealRequest } from './sealed-delivery';

export interface IngestWorkerData {
  keyedHashKey: Uint8Array;
  signer: EnvelopeSigner;
  /** Added to this thread's nice value (Linux only), so that the event loop goes first. */
  niceness: number;
}

const data = workerData as IngestWorkerData;
// Linux keeps a nice value per thread (setpriority on "this process" from a thread changes only
// that thread; elsewhere it would change the whole gateway, so it is left alone). When the cores
// are short, the event loop (HTTP, SQLite, the ledger's gRPC) and a peer on the same machine then
// run before bulk validation, which still gets every cycle they leave: in the ingest benchmark this
// cut the commit p95 under sustained load by ~20% and did not lower throughput.
if (process.platform === 'linux' && data.niceness > 0) {
  try {
    setPriority(0, Math.min(19, getPriority(0) + data.niceness));
  } catch {
    // only an optimization: keep the default priority
  }
}
// Loaded when the thread starts (~3 s), before the pool's warm-up task can be answered.
const validator = FhirValidator.create();
const keyed = KeyedHash.fromKey(Buffer.from(data.keyedHashKey));

export function check(body: Uint8Array): BundleCheck {
  const text = fhirJsonText(body);
  const plain = JSON.parse(text) as unknown;
  // The content key sees numbers as written; validation reads JavaScript numbers.
  return checkBundle(validator, keyed, plain, hasInexactNumber(text) ? parseExactJson(text) : plain);
}

export function seal(task: { body: Uint8Array; request: SealRequest }): SealedDelivery {
  // What is sealed and hashed keeps every number as the EHR wrote it (7.10 stays 7.10).
  return sealDelivery(parseExactJson(fhirJsonText(task.body)), task.request, data.signer);
}

/** A kept delivery sealed again to the patient's current key (a rebuild): the envelope JSON. */
export function reseal(request: ResealRequest): string {
  return resealKept(request, data.signer);
}

/** What a thread answers for a C-CDA document: the Bundle to ingest, or why it is refused. */
export type CcdaConversion =
  | { ok: true; bundleJson: string; warnings: OutcomeIssue[]; checked: BundleCheck }
  | { ok: false; status: number; issues: OutcomeIssue[] };

/**
 * Checks a posted C-CDA document for hostile XML before any parser sees it, then converts it.
 * Refusals travel as data: an exception's class does not survive the way back to the event loop.
 */
export function convertCcdaDocument(task: { body: Uint8Array; limits: XmlGuardLimits }): CcdaConversion {
  try {
    const { text } = guardXml(task.body, task.limits);
    const { bundle, warnings } = convertCcda(text, task.body);
    const bundleJson = JSON.stringify(bundle);
    // Checked here too, on the same thread: one hop from the event loop instead of two.
    // The converted Bundle already keeps each decimal's text (JsonNumber): no lossless re-parse.
    // Its content key is the document's: the same bytes are one delivery whatever the converter makes.
    const checked = checkBundle(
      validator,
      keyed,
      JSON.parse(bundleJson) as unknown,
      bundle,
      ccdaContentKey(keyed, task.body),
    );
    return { ok: true, bundleJson, warnings, checked };
  } catch (err) {
    if (err instanceof FhirError) return { ok: false, status: err.status, issues: err.issues };
    throw err;
  }
}

/** Answers once this thread's validator is loaded; the pool waits for every thread's answer. */
export function warm(): number {
  return threadId;
}
