/**
 * An ingest worker thread (run by IngestPool, one per core): validation, canonical content keys,
 * segmentation, hashing and sealing, so that the gateway's event loop keeps serving HTTP, SQLite
 * and the ledger while bundles are checked and sealed in parallel.
 *
 * Tasks carry the request body as bytes, not the parsed bundle: re-parsing them here costs this
 * thread one JSON.parse, while cloning the parsed object would cost the event loop about as much.
 */
import { threadId, workerData } from 'node:worker_threads';
import type { EnvelopeSigner } from '@phr/common';
import { FhirValidator, fhirJsonText } from '../fhir/validation';
import { KeyedHash } from '../identity/keyed-hash';
import { checkBundle, type BundleCheck } from './bundle-check';
import { sealDelivery, type SealedDelivery, type SealRequest } from './sealed-delivery';

export interface IngestWorkerData {
  keyedHashKey: Uint8Array;
  signer: EnvelopeSigner;
}

const data = workerData as IngestWorkerData;
// Loaded when the thread starts (~3 s), before the pool's warm-up task can be answered.
const validator = FhirValidator.create();
const keyed = KeyedHash.fromKey(Buffer.from(data.keyedHashKey));

function parse(body: Uint8Array): unknown {
  return JSON.parse(fhirJsonText(body));
}

export function check(body: Uint8Array): BundleCheck {
  return checkBundle(validator, keyed, parse(body));
}

export function seal(task: { body: Uint8Array; request: SealRequest }): SealedDelivery {
  return sealDelivery(parse(task.body), task.request, data.signer);
}

/** Answers once this thread's validator is loaded; the pool waits for every thread's answer. */
export function warm(): number {
  return threadId;
}
