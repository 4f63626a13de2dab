import type { DatabaseSync } from 'node:sqlite';
import {
  CanonicalJsonError,
  conflictError,
  FhirError,
  operationOutcome,
  unprocessable,
  type OutcomeIssue,
} from '@phr/common';
import type { Principal } from '../auth/principal';
import type { IdentityStore } from '../identity/identity-store';
import type { KeyedHash } from '../identity/keyed-hash';
import type { PatientDirectory } from '../identity/patient-directory';
import type { LedgerPort } from '../ledger/ledger-port';
import type { OutboxWorker } from '../ledger/outbox-worker';
import type { Logger } from '../logger';
import type { MailboxStore } from '../mailbox';
import { inTransaction } from '../store/database';
import type { DeliveryStore, StoredDelivery } from '../store/delivery-store';
import type { StandardizedDb } from '../store/standardized-db';
import { responseBundle, type DeliveryReceipt, type ResponseEntry } from './bundle-response';
import type { AcceptedResource } from './delivery-builder';
import type { IngestPool } from './ingest-pool';

export const ACCEPTED_BUNDLE_TYPES = ['transaction', 'batch', 'collection'] as const;
type BundleType = (typeof ACCEPTED_BUNDLE_TYPES)[number];

export interface IngestDeps {
  db: DatabaseSync;
  /** Validation, content keys and sealing run on its worker threads. */
  pool: IngestPool;
  identities: IdentityStore;
  patients: PatientDirectory;
  ledger: LedgerPort;
  deliveries: DeliveryStore;
  standardized: StandardizedDb;
  mailbox: MailboxStore;
  outbox: OutboxWorker;
  keyed: KeyedHash;
  hospitalMspId: string;
  maxEntries: number;
  log: Logger;
}

/** A posted bundle: parsed, and the exact bytes it was parsed from (what the worker threads get). */
export interface PostedBundle {
  bundle: unknown;
  body: Uint8Array;
}

export interface IngestResult {
  status: number;
  body: Record<string, unknown>;
  /** A resubmission answered from the first delivery's record. */
  replayed: boolean;
  deliveryId?: string;
}

interface Entry {
  fullUrl?: string;
  resource?: Record<string, unknown>;
  request?: { method?: string; url?: string; ifNoneExist?: string; ifMatch?: string; ifNoneMatch?: string };
}

const ENTRY_PATTERN = /^Bundle\.entry\[(\d+)\]/;
const MRN_SYSTEM_HINT = 'http://terminology.hl7.org/CodeSystem/v2-0203';

/**
 * The push flow at the hospital (SPEC flow 2): validate, resolve the patient, segment, commit one
 * Merkle root per delivery, keep the standardized copy, and seal the segments into the patient's
 * mailbox. Everything local happens in one SQLite transaction; the ledger follows from the outbox.
 */
export class IngestService {
  constructor(private readonly d: IngestDeps) {}

  async ingest({ bundle, body: bytes }: PostedBundle, principal: Principal): Promise<IngestResult> {
    const type = bundleType(bundle);
    const entries = ((bundle as { entry?: Entry[] }).entry ?? []) as Entry[];
    if (entries.length === 0)
      throw new FhirError(400, [issue('required', 'the bundle has no entries', 'Bundle.entry')]);
    if (entries.length > this.d.maxEntries) {
      throw new FhirError(413, [
        issue(
          'too-costly',
          `the bundle has ${entries.length} entries; the limit is ${this.d.maxEntries}`,
          'Bundle.entry',
        ),
      ]);
    }

    const checked = await this.d.pool.check(bytes);
    const { bundleIssues, byEntry } = splitIssues(checked.issues);
    for (const [i, entry] of entries.entries()) {
      for (const problem of requestProblems(entry, type, i))
        (byEntry.get(i) ?? byEntry.set(i, []).get(i))!.push(problem);
    }
    const entryErrors = [...byEntry.values()].flat().filter(isError);
    if (bundleIssues.some(isError) || (type !== 'batch' && entryErrors.length > 0)) {
      // All-or-nothing: one bad entry refuses the whole bundle, and nothing was written.
      throw new FhirError(400, [...bundleIssues, ...[...byEntry.values()].flat()].filter(isError));
    }

    const accepted: AcceptedResource[] = [];
    for (const [i, entry] of entries.entries()) {
      if ((byEntry.get(i) ?? []).some(isError) || !entry.resource) continue;
      accepted.push({ entryIndex: i, resource: entry.resource, sourceId: sourceIdOf(entry, i) });
    }
    if (accepted.length === 0) {
      return {
        status: 200,
        body: responseBundle('batch-response', entryResponses(entries, byEntry, undefined, []), undefined),
        replayed: false,
      };
    }

    if (checked.contentKey === undefined) throw new CanonicalJsonError(checked.contentKeyError ?? 'no content key');
    const contentKey = checked.contentKey;
    const identifier = (bundle as { identifier?: { system?: string; value?: string } }).identifier;
    const idempotencyKey = identifier?.value
      ? this.d.keyed.hash('bundle-identifier', `${identifier.system ?? ''}|${identifier.value}`)
      : contentKey;
    const earlier = this.d.deliveries.byIdempotencyKey(idempotencyKey);
    if (earlier) return this.replay(earlier, contentKey);

    const pseudonym = this.resolvePatient(accepted);
    const patient = await this.d.patients.require(pseudonym);
    const now = new Date();
    const built = await this.d.pool.seal(bytes, {
      entries: accepted.map((r) => ({ entryIndex: r.entryIndex, sourceId: r.sourceId })),
      pseudonym,
      senderMspId: this.d.hospitalMspId,
      createdAt: now.getTime(),
      recipient: { algorithm: patient.encryptionAlgorithm, publicKey: patient.encryptionPublicKey },
    });
    const commitment = {
      deliveryId: built.deliveryId,
      pseudonym,
      merkleRoot: built.merkleRoot,
      elementCount: built.elementCount,
      segmentCount: built.segments.length,
      categories: built.categories,
    };
    const prepared = await this.d.ledger.prepareDelivery(commitment);
    const receipt: DeliveryReceipt = {
      deliveryId: built.deliveryId,
      transactionId: prepared.transactionId,
      merkleRoot: built.merkleRoot,
      elementCount: built.elementCount,
      segmentCount: built.segments.length,
      status: 'queued',
      receivedAt: now.toISOString(),
    };
    const segmentOf = new Map(built.segments.map((s) => [s.entryIndex, s]));
    const responses = entryResponses(
      entries,
      byEntry,
      now,
      [...segmentOf.entries()].map(([i, s]) => [i, `${s.resourceType}/${s.segmentId}`] as const),
    );
    const responseType = type === 'transaction' ? 'transaction-response' : 'batch-response';
    const body = responseBundle(responseType, responses, receipt);

    const raced = inTransaction(this.d.db, () => {
      const again = this.d.deliveries.byIdempotencyKey(idempotencyKey);
      if (again) return again;
      this.d.deliveries.insert(
        commitment,
        { idempotencyKey, contentKey },
        prepared,
        JSON.stringify(body),
        receipt.receivedAt,
      );
      this.d.standardized.insertElements(
        built.segments.flatMap((s) =>
          s.coded.map((element) => ({ element, pseudonym, segmentId: s.segmentId, deliveryId: built.deliveryId })),
        ),
      );
      this.d.mailbox.enqueue({
        pseudonym,
        messageId: built.deliveryId,
        kind: 'delivery',
        body: built.envelopeJson,
      });
      return undefined;
    });
    if (raced) return this.replay(raced, contentKey);

    this.d.outbox.kick();
    this.d.mailbox.announce(pseudonym);
    this.d.log.info(
      {
        deliveryId: built.deliveryId,
        client: principal.id,
        segments: built.segments.length,
        elements: built.elementCount,
        type,
      },
      'delivery accepted',
    );
    return { status: 200, body, replayed: false, deliveryId: built.deliveryId };
  }

  /** The receipt of a delivery this gateway accepted, with its current status. */
  receipt(deliveryId: string): DeliveryReceipt | undefined {
    const d = this.d.deliveries.get(deliveryId);
    return d ? receiptOf(d) : undefined;
  }

  private replay(earlier: StoredDelivery, contentKey: string): IngestResult {
    if (earlier.contentKey !== contentKey) {
      throw conflictError('a different bundle with this Bundle.identifier was already accepted');
    }
    const body = JSON.parse(earlier.responseJson) as Record<string, unknown>;
    const current = responseBundle(
      body.type as 'transaction-response' | 'batch-response',
      ((body.entry as { response: ResponseEntry }[]) ?? []).map((e) => e.response),
      receiptOf(earlier),
    );
    return { status: 200, body: current, replayed: true, deliveryId: earlier.deliveryId };
  }

  /** Exactly one patient per delivery, found through this hospital's own MRN links. */
  private resolvePatient(accepted: readonly AcceptedResource[]): string {
    const patients = accepted.filter((r) => r.resource.resourceType === 'Patient');
    if (patients.length === 0) {
      throw unprocessable('the bundle has no Patient resource, so its patient cannot be resolved', ['Bundle.entry']);
    }
    const found = new Set<string>();
    for (const p of patients) {
      const identifiers =
        (p.resource.identifier as
          | { system?: string; value?: string; type?: { coding?: { system?: string; code?: string }[] } }[]
          | undefined) ?? [];
      // MRN-typed identifiers first: other identifiers (SSN, licences) are not what hospitals link.
      const ordered = [...identifiers].sort((a, b) => Number(isMrn(b)) - Number(isMrn(a)));
      const match = ordered
        .filter((id) => id.system && id.value)
        .map((id) => this.d.identities.resolve({ system: id.system as string, value: id.value as string }))
        .find((x): x is string => x !== undefined);
      if (!match) {
        throw unprocessable(
          "the patient is not linked at this hospital: link the MRN with the code from the patient's agent first",
          [`Bundle.entry[${p.entryIndex}].resource.identifier`],
        );
      }
      found.add(match);
    }
    if (found.size > 1)
      throw unprocessable('the bundle holds more than one patient; send one bundle per patient', ['Bundle.entry']);
    return [...found][0] as string;

    function isMrn(id: { type?: { coding?: { system?: string; code?: string }[] } }): boolean {
      return (id.type?.coding ?? []).some((c) => c.system === MRN_SYSTEM_HINT && c.code === 'MR');
    }
  }
}

export function receiptOf(d: StoredDelivery): DeliveryReceipt {
  return {
    deliveryId: d.deliveryId,
    transactionId: d.transactionId,
    merkleRoot: d.merkleRoot,
    elementCount: d.elementCount,
    segmentCount: d.segmentCount,
    status: d.status,
    receivedAt: d.createdAt,
    ...(d.committedAt ? { committedAt: d.committedAt } : {}),
  };
}

function bundleType(bundle: unknown): BundleType {
  if (!bundle || typeof bundle !== 'object' || Array.isArray(bundle))
    throw new FhirError(400, [issue('structure', 'the body must be a FHIR resource (a JSON object)')]);
  const b = bundle as { resourceType?: unknown; type?: unknown };
  if (b.resourceType !== 'Bundle') {
    throw new FhirError(400, [
      issue(
        'not-supported',
        `POST /fhir takes a Bundle, not ${typeof b.resourceType === 'string' ? b.resourceType : 'this'}`,
        'Bundle.resourceType',
      ),
    ]);
  }
  if (!(ACCEPTED_BUNDLE_TYPES as readonly unknown[]).includes(b.type)) {
    throw new FhirError(400, [
      issue('not-supported', `Bundle.type must be one of ${ACCEPTED_BUNDLE_TYPES.join(', ')}`, 'Bundle.type'),
    ]);
  }
  return b.type as BundleType;
}

function requestProblems(entry: Entry, type: BundleType, i: number): OutcomeIssue[] {
  const at = `Bundle.entry[${i}]`;
  if (!entry.resource) return [issue('required', 'each entry needs a resource', `${at}.resource`)];
  if (type === 'collection') return [];
  const r = entry.request;
  if (!r?.method)
    return [issue('required', 'transaction and batch entries need request.method', `${at}.request.method`)];
  if (r.method !== 'POST' && r.method !== 'PUT') {
    return [
      issue(
        'not-supported',
        `request.method ${r.method} is not supported: this gateway accepts new and updated resources (POST, PUT)`,
        `${at}.request.method`,
      ),
    ];
  }
  if (r.ifNoneExist || r.ifMatch || r.ifNoneMatch) {
    return [issue('not-supported', 'conditional requests are not supported', `${at}.request`)];
  }
  return [];
}

function splitIssues(issues: readonly OutcomeIssue[]): {
  bundleIssues: OutcomeIssue[];
  byEntry: Map<number, OutcomeIssue[]>;
} {
  const bundleIssues: OutcomeIssue[] = [];
  const byEntry = new Map<number, OutcomeIssue[]>();
  for (const i of issues) {
    const m = ENTRY_PATTERN.exec(i.expression?.[0] ?? '');
    if (!m) bundleIssues.push(i);
    else {
      const k = Number(m[1]);
      (byEntry.get(k) ?? byEntry.set(k, []).get(k))!.push(i);
    }
  }
  return { bundleIssues, byEntry };
}

function entryResponses(
  entries: readonly Entry[],
  byEntry: ReadonlyMap<number, OutcomeIssue[]>,
  now: Date | undefined,
  locations: readonly (readonly [number, string])[],
): ResponseEntry[] {
  const where = new Map(locations);
  return entries.map((_, i) => {
    const errors = (byEntry.get(i) ?? []).filter(isError);
    if (errors.length > 0) {
      const status = errors.some((e) => e.code === 'not-supported') ? '405 Method Not Allowed' : '400 Bad Request';
      return { status, outcome: operationOutcome(errors) };
    }
    const location = where.get(i);
    return {
      status: '201 Created',
      ...(location ? { location: `${location}/_history/1`, etag: 'W/"1"' } : {}),
      ...(now ? { lastModified: now.toISOString() } : {}),
    };
  });
}

function sourceIdOf(entry: Entry, i: number): string {
  const id = entry.resource?.id;
  return typeof id === 'string' ? id : (entry.fullUrl ?? `entry-${i}`);
}

function isError(i: OutcomeIssue): boolean {
  return i.severity === 'error' || i.severity === 'fatal';
}

function issue(code: OutcomeIssue['code'], diagnostics: string, expression?: string): OutcomeIssue {
  return { severity: 'error', code, diagnostics, ...(expression ? { expression: [expression] } : {}) };
}
