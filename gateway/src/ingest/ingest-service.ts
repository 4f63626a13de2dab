import type { DatabaseSync } from 'node:sqlite';
import {
  CanonicalJsonError,
  conflictError,
  FhirError,
  operationOutcome,
  unprocessable,
  type OutcomeIssue,
  type PatientRecord,
} from '@phr/common';
import type { Principal } from '../auth/principal';
import { isObject, ownValue } from '../fhir/validation/element-path';
import type { IdentityStore } from '../identity/identity-store';
import type { KeyedHash } from '../identity/keyed-hash';
import type { PatientDirectory } from '../identity/patient-directory';
import type { LedgerPort } from '../ledger/ledger-port';
import type { KeptDeliveries } from '../lifecycle/kept-deliveries';
import { LifecycleError } from '../lifecycle/lifecycle-error';
import type { OutboxWorker } from '../ledger/outbox-worker';
import type { Logger } from '../logger';
import type { MailboxStore } from '../mailbox';
import { inTransaction } from '../store/database';
import type { DeliveryStore, StoredDelivery } from '../store/delivery-store';
import type { ResourceIndex } from '../store/resource-index';
import type { StandardizedDb } from '../store/standardized-db';
import { coarseDemographics, type StandardizedPatients } from '../store/standardized-patients';
import { responseBundle, type DeliveryReceipt, type ResponseEntry } from './bundle-response';
import type { BundleCheck } from './bundle-check';
import type { AcceptedResource } from './delivery-builder';
import type { IngestPool } from './ingest-pool';
import type { SealedDelivery } from './sealed-delivery';

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
  /** The patient's coarse demographics (birth year, gender, 3-digit postal area), for research extracts. */
  standardizedPatients: StandardizedPatients;
  /** Identifiers of accepted resources, for conditional creates (If-None-Exist). */
  resources: ResourceIndex;
  mailbox: MailboxStore;
  outbox: OutboxWorker;
  /** What each patient is sent, kept encrypted for a rebuild (lifecycle/); absent: nothing kept. */
  kept?: KeptDeliveries;
  keyed: KeyedHash;
  hospitalMspId: string;
  maxEntries: number;
  log: Logger;
}

/** A posted bundle: parsed, and the exact bytes it was parsed from (what the worker threads get). */
export interface PostedBundle {
  bundle: unknown;
  body: Uint8Array;
  /** The worker's check of `body`, when it was made already (a converted C-CDA document). */
  checked?: BundleCheck;
}

export interface IngestResult {
  status: number;
  body: Record<string, unknown>;
  /** A resubmission answered from the first delivery's record. */
  replayed: boolean;
  deliveryId?: string;
}

/**
 * An entry as the ingest reads it: only own properties, only of the JSON type FHIR gives them
 * (anything else reads as absent; the validator has reported it). Never the body's objects indexed
 * by the body's keys.
 */
interface Entry {
  fullUrl?: string;
  resource?: Record<string, unknown>;
  request?: Record<string, unknown>;
}

/** Conditional request elements the gateway does not support (If-None-Exist on POST it does). */
const UNSUPPORTED_CONDITIONS = ['ifMatch', 'ifNoneMatch', 'ifModifiedSince'] as const;

const ENTRY_PATTERN = /^Bundle\.entry\[(\d+)\]/;
const MRN_SYSTEM_HINT = 'http://terminology.hl7.org/CodeSystem/v2-0203';

/**
 * The push flow at the hospital (SPEC flow 2): validate, resolve the patient, segment, commit one
 * Merkle root per delivery, keep the standardized copy, and seal the segments into the patient's
 * mailbox. Everything local happens in one SQLite transaction; the ledger follows from the outbox.
 */
export class IngestService {
  constructor(private readonly d: IngestDeps) {}

  async ingest({ bundle, body: bytes, checked: known }: PostedBundle, principal: Principal): Promise<IngestResult> {
    const type = bundleType(bundle);
    // Before validation, only what bounds its cost: whether there are entries, and how many.
    const rawEntries = ownValue(bundle, 'entry');
    if (rawEntries === undefined || (Array.isArray(rawEntries) && rawEntries.length === 0))
      throw new FhirError(400, [issue('required', 'the bundle has no entries', 'Bundle.entry')]);
    if (Array.isArray(rawEntries) && rawEntries.length > this.d.maxEntries) {
      throw new FhirError(413, [
        issue(
          'too-costly',
          `the bundle has ${rawEntries.length} entries; the limit is ${this.d.maxEntries}`,
          'Bundle.entry',
        ),
      ]);
    }

    // The validator's verdict comes before anything walks the bundle: a bundle it finds malformed
    // as a whole (Bundle.entry not an array, a bad Bundle.type...) is refused here, unread.
    const checked = known ?? (await this.d.pool.check(bytes));
    const { bundleIssues, byEntry } = splitIssues(checked.issues);
    if (!Array.isArray(rawEntries) && !bundleIssues.some((i) => isError(i) && names(i, 'Bundle.entry'))) {
      bundleIssues.push(issue('structure', 'Bundle.entry must be an array of entries', 'Bundle.entry'));
    }
    if (bundleIssues.some(isError) || !Array.isArray(rawEntries)) {
      throw new FhirError(400, [...bundleIssues, ...[...byEntry.values()].flat()].filter(isError));
    }

    const entries = rawEntries.map(readEntry);
    for (const [i, entry] of entries.entries()) {
      for (const problem of requestProblems(entry, type, i))
        (byEntry.get(i) ?? byEntry.set(i, []).get(i))!.push(problem);
    }
    const entryErrors = [...byEntry.values()].flat().filter(isError);
    if (type !== 'batch' && entryErrors.length > 0) {
      // All-or-nothing: one bad entry refuses the whole bundle, and nothing was written.
      throw new FhirError(400, entryErrors);
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
    const identifier = ownValue(bundle, 'identifier');
    const identifierSystem = ownValue(identifier, 'system');
    const identifierValue = ownValue(identifier, 'value');
    const idempotencyKey =
      typeof identifierValue === 'string' && identifierValue !== ''
        ? this.d.keyed.hash(
            'bundle-identifier',
            `${typeof identifierSystem === 'string' ? identifierSystem : ''}|${identifierValue}`,
          )
        : contentKey;
    const earlier = this.d.deliveries.byIdempotencyKey(idempotencyKey);
    if (earlier) return this.replay(earlier, contentKey);

    // The Patient entry resolves the patient even when a conditional create finds it delivered before.
    const pseudonym = this.resolvePatient(accepted, entryErrors);
    const responseType = type === 'transaction' ? 'transaction-response' : 'batch-response';
    const conditions = this.conditionalCreates(accepted, entries);
    const toDeliver = accepted.filter((r) => !conditions.existing.has(r.entryIndex));
    if (toDeliver.length === 0) {
      // Every resource is already delivered (a retry with conditional creates): nothing is created,
      // and the answer is the earlier delivery's when it was one delivery.
      const [only, ...more] = conditions.deliveries;
      const first = only !== undefined && more.length === 0 ? this.d.deliveries.get(only) : undefined;
      const responses = entryResponses(entries, byEntry, undefined, [], conditions.existing);
      return {
        status: 200,
        body: responseBundle(responseType, responses, first ? receiptOf(first) : undefined),
        replayed: true,
        ...(first ? { deliveryId: first.deliveryId } : {}),
      };
    }
    const patient = await this.d.patients.require(pseudonym);
    const keepKey = this.keepKeyFor(patient);
    const now = new Date();
    const built = await this.d.pool.seal(bytes, {
      entries: toDeliver.map((r) => ({ entryIndex: r.entryIndex, sourceId: r.sourceId })),
      pseudonym,
      senderMspId: this.d.hospitalMspId,
      createdAt: now.getTime(),
      recipient: { algorithm: patient.encryptionAlgorithm, publicKey: patient.encryptionPublicKey },
      keepKey,
    });
    const commitment = {
      deliveryId: built.deliveryId,
      pseudonym,
      merkleRoot: built.merkleRoot,
      elementCount: built.elementCount,
      segmentCount: built.segments.length,
      categories: built.categories,
    };
    // From here to the database transaction nothing awaits: the outbox cannot close the ledger
    // transaction this delivery joins before the delivery is stored in it.
    const slot = this.d.outbox.joinTransaction();
    const receipt: DeliveryReceipt = {
      deliveryId: built.deliveryId,
      transactionId: slot.transactionId,
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
      conditions.existing,
    );
    const body = responseBundle(responseType, responses, receipt);

    const raced = inTransaction(this.d.db, () => {
      const again = this.d.deliveries.byIdempotencyKey(idempotencyKey);
      if (again) return again;
      // A concurrent post delivered a conditionally created resource first: start over, to find it.
      const delivering = toDeliver.map((r) => conditions.keys.get(r.entryIndex)).filter((k) => k !== undefined);
      if (delivering.some((k) => this.d.resources.find(k))) return 'conditions-raced' as const;
      for (const r of toDeliver) {
        const segment = segmentOf.get(r.entryIndex);
        if (!segment) continue;
        const type = String(r.resource.resourceType);
        const keys = identifiersOf(r.resource).flatMap((id) => [
          this.d.resources.key(type, id.system, id.value),
          this.d.resources.key(type, undefined, id.value),
        ]);
        const condition = conditions.keys.get(r.entryIndex);
        if (condition) keys.push(condition);
        this.d.resources.record(keys, { deliveryId: built.deliveryId, location: `${type}/${segment.segmentId}` });
      }
      this.d.deliveries.insert(
        commitment,
        { idempotencyKey, contentKey },
        slot,
        JSON.stringify(body),
        receipt.receivedAt,
      );
      this.d.standardized.insertElements(
        built.segments.flatMap((s) =>
          s.coded.map((element) => ({ element, pseudonym, segmentId: s.segmentId, deliveryId: built.deliveryId })),
        ),
      );
      const patientResource = accepted.find((r) => r.resource.resourceType === 'Patient')?.resource;
      if (patientResource) this.d.standardizedPatients.record(pseudonym, coarseDemographics(patientResource), now);
      this.d.mailbox.enqueue({
        pseudonym,
        messageId: built.deliveryId,
        kind: 'delivery',
        body: built.envelopeJson,
      });
      this.keep(pseudonym, built, now);
      return undefined;
    });
    if (raced === 'conditions-raced') return this.ingest({ bundle, body: bytes, checked }, principal);
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

  /**
   * The accepted entries' conditional creates (`request.ifNoneExist`): their keys, and those whose
   * resource an earlier delivery holds, with its location and delivery.
   */
  private conditionalCreates(
    accepted: readonly AcceptedResource[],
    entries: readonly Entry[],
  ): { keys: Map<number, string>; existing: Map<number, string>; deliveries: Set<string> } {
    const keys = new Map<number, string>();
    const existing = new Map<number, string>();
    const deliveries = new Set<string>();
    for (const r of accepted) {
      const criteria = ifNoneExistOf(entries[r.entryIndex] as Entry);
      if (criteria === undefined || typeof criteria === 'string') continue;
      const key = this.d.resources.key(String(r.resource.resourceType), criteria.system, criteria.value);
      keys.set(r.entryIndex, key);
      const found = this.d.resources.find(key);
      if (found) {
        existing.set(r.entryIndex, found.location);
        deliveries.add(found.deliveryId);
      }
    }
    return { keys, existing, deliveries };
  }

  /**
   * The key the delivery's kept copy is encrypted under (lifecycle/kept-deliveries.ts), or
   * undefined when the gateway keeps none. A patient who erased their records gets nothing more.
   */
  private keepKeyFor(patient: PatientRecord): Uint8Array | undefined {
    if (patient.erasedAt !== undefined) throw erased();
    return unlessErased(() => this.d.kept?.keyForIngest(patient.pseudonym));
  }

  /** Inside the delivery's transaction: keeps its sealed copy; refuses it if the patient erased meanwhile. */
  private keep(pseudonym: string, built: SealedDelivery, at: Date): void {
    unlessErased(() => this.d.kept?.keep(pseudonym, built.deliveryId, built.kept, at));
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

  /**
   * Exactly one patient per delivery, found through this hospital's own MRN links. `refused`: the
   * errors of the entries a batch refused, which explain a missing Patient when its entry was one.
   */
  private resolvePatient(accepted: readonly AcceptedResource[], refused: readonly OutcomeIssue[]): string {
    const patients = accepted.filter((r) => r.resource.resourceType === 'Patient');
    if (patients.length === 0) {
      throw new FhirError(422, [
        issue(
          'business-rule',
          refused.length > 0
            ? 'the bundle has no valid Patient resource, so its patient cannot be resolved (the refused entries follow)'
            : 'the bundle has no Patient resource, so its patient cannot be resolved',
          'Bundle.entry',
        ),
        ...refused,
      ]);
    }
    const found = new Set<string>();
    for (const p of patients) {
      const listed = ownValue(p.resource, 'identifier');
      const identifiers = (Array.isArray(listed) ? listed : []).filter(isObject);
      // MRN-typed identifiers first: other identifiers (SSN, licences) are not what hospitals link.
      const ordered = [...identifiers].sort((a, b) => Number(isMrn(b)) - Number(isMrn(a)));
      const match = ordered
        .map((id) => ({ system: ownValue(id, 'system'), value: ownValue(id, 'value') }))
        .filter((id): id is { system: string; value: string } => isText(id.system) && isText(id.value))
        .map((id) => this.d.identities.resolve(id))
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

    function isMrn(id: Record<string, unknown>): boolean {
      const coding = ownValue(ownValue(id, 'type'), 'coding');
      return (
        Array.isArray(coding) &&
        coding.some((c) => ownValue(c, 'system') === MRN_SYSTEM_HINT && ownValue(c, 'code') === 'MR')
      );
    }
  }
}

/** Runs `fn`; a patient who erased their records here makes the delivery a 422 (nothing is written). */
function unlessErased<T>(fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    if (err instanceof LifecycleError && err.code === 'ERASED') throw erased(err);
    throw err;
  }
}

function erased(cause?: unknown): FhirError {
  return new FhirError(
    422,
    [issue('business-rule', 'the patient has erased their records: nothing more is delivered to them', 'Bundle.entry')],
    { cause },
  );
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
  if (!isObject(bundle))
    throw new FhirError(400, [issue('structure', 'the body must be a FHIR resource (a JSON object)', 'Bundle')]);
  const resourceType = ownValue(bundle, 'resourceType');
  if (resourceType !== 'Bundle') {
    throw new FhirError(400, [
      issue(
        'not-supported',
        `POST /fhir takes a Bundle, not ${typeof resourceType === 'string' && RESOURCE_TYPE.test(resourceType) ? resourceType : 'this'}`,
        'Bundle.resourceType',
      ),
    ]);
  }
  const type = ownValue(bundle, 'type');
  if (!(ACCEPTED_BUNDLE_TYPES as readonly unknown[]).includes(type)) {
    throw new FhirError(400, [
      issue('not-supported', `Bundle.type must be one of ${ACCEPTED_BUNDLE_TYPES.join(', ')}`, 'Bundle.type'),
    ]);
  }
  return type as BundleType;
}

function readEntry(value: unknown): Entry {
  const fullUrl = ownValue(value, 'fullUrl');
  const resource = ownValue(value, 'resource');
  const request = ownValue(value, 'request');
  return {
    ...(typeof fullUrl === 'string' ? { fullUrl } : {}),
    ...(isObject(resource) ? { resource } : {}),
    ...(isObject(request) ? { request } : {}),
  };
}

function requestProblems(entry: Entry, type: BundleType, i: number): OutcomeIssue[] {
  const at = `Bundle.entry[${i}]`;
  if (!entry.resource) return [issue('required', 'each entry needs a resource', `${at}.resource`)];
  if (type === 'collection') return [];
  const method = ownValue(entry.request, 'method');
  if (method === undefined)
    return [issue('required', 'transaction and batch entries need request.method', `${at}.request.method`)];
  if (method !== 'POST' && method !== 'PUT') {
    const named = typeof method === 'string' && HTTP_METHOD.test(method) ? `${method} ` : '';
    return [
      issue(
        'not-supported',
        `request.method ${named}is not supported: this gateway accepts new and updated resources (POST, PUT)`,
        `${at}.request.method`,
      ),
    ];
  }
  const problems = UNSUPPORTED_CONDITIONS.filter((name) => Object.hasOwn(entry.request ?? {}, name)).map((name) =>
    issue(
      'not-supported',
      'this conditional request is not supported (conditional create, request.ifNoneExist on POST, is)',
      `${at}.request.${name}`,
    ),
  );
  if (Object.hasOwn(entry.request ?? {}, 'ifNoneExist')) {
    const criteria = ifNoneExistOf(entry);
    if (method !== 'POST') {
      problems.push(issue('not-supported', 'ifNoneExist goes with request.method POST', `${at}.request.ifNoneExist`));
    } else if (typeof criteria === 'string') {
      problems.push(issue('not-supported', criteria, `${at}.request.ifNoneExist`));
    }
  }
  return problems;
}

/** A conditional create's search: one identifier token, as FHIR token search reads it. */
interface IdentifierCriteria {
  /** undefined: any system (`identifier=value`); '' : no system (`identifier=|value`). */
  system: string | undefined;
  value: string;
}

/**
 * The entry's `request.ifNoneExist` as identifier criteria; a string saying what is wrong when it
 * is not of the supported form; undefined when the entry has none.
 */
function ifNoneExistOf(entry: Entry): IdentifierCriteria | string | undefined {
  const raw = ownValue(entry.request, 'ifNoneExist');
  if (raw === undefined) return undefined;
  const supported = 'ifNoneExist supports one identifier search: identifier=[system|]value';
  if (typeof raw !== 'string' || raw === '') return supported;
  // The query part only, though some clients send "Type?query": accept that for the entry's own type.
  const type = ownValue(entry.resource, 'resourceType');
  const query = typeof type === 'string' && raw.startsWith(`${type}?`) ? raw.slice(type.length + 1) : raw;
  const params = [...new URLSearchParams(query)];
  const [first] = params;
  if (params.length !== 1 || !first || first[0] !== 'identifier' || first[1] === '') return supported;
  const token = first[1];
  const bar = token.indexOf('|');
  if (bar < 0) return { system: undefined, value: token };
  const value = token.slice(bar + 1);
  return value === '' ? supported : { system: token.slice(0, bar), value };
}

/** Own `identifier[]` tokens of a resource: what a later conditional create may match. */
function identifiersOf(resource: Record<string, unknown>): { system: string | undefined; value: string }[] {
  const list = ownValue(resource, 'identifier');
  if (!Array.isArray(list)) return [];
  const out: { system: string | undefined; value: string }[] = [];
  for (const id of list) {
    const value = ownValue(id, 'value');
    const system = ownValue(id, 'system');
    if (typeof value !== 'string' || value === '') continue;
    out.push({ system: typeof system === 'string' ? system : '', value });
  }
  return out;
}

/** Echoed in diagnostics only when they look like what they should be (never arbitrary body text). */
const RESOURCE_TYPE = /^[A-Z][A-Za-z]{0,63}$/;
const HTTP_METHOD = /^[A-Z]{1,10}$/;

function isText(value: unknown): value is string {
  return typeof value === 'string' && value !== '';
}

/** `issue` names `expression` itself (not an element inside it). */
function names(i: OutcomeIssue, expression: string): boolean {
  return i.expression?.includes(expression) ?? false;
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
  existing: ReadonlyMap<number, string> = new Map(),
): ResponseEntry[] {
  const where = new Map(locations);
  return entries.map((_, i) => {
    const errors = (byEntry.get(i) ?? []).filter(isError);
    if (errors.length > 0) {
      const status = errors.some((e) => e.code === 'not-supported') ? '405 Method Not Allowed' : '400 Bad Request';
      return { status, outcome: operationOutcome(errors) };
    }
    // A conditional create whose resource an earlier delivery holds: nothing is created again.
    const found = existing.get(i);
    if (found) return { status: '200 OK', location: `${found}/_history/1`, etag: 'W/"1"' };
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
