import { Info, Returns, Transaction } from 'fabric-contract-api';
import {
  canonicalJson,
  DELIVERY_REJECTION_REASONS,
  MAX_DELIVERIES_PER_TRANSACTION,
  Roles,
  type DeliveryHistoryEntry,
  type DeliveryRecord,
  type DeliveryCommitmentEntry,
  type DeliveryStatus,
  type PatientRecord,
} from '@phr/common';
import { PhrContext } from './context';
import { conflict, forbidden, invalidArgument, invalidState, notFound } from './errors';
import { Indexes, Keys } from './keys';
import { requireNotErased, requirePatient, requirePatientFor } from './patients';
import { PhrContract, type AccessRules } from './phr-contract';
import {
  parseJson,
  requireCategories,
  requireInt,
  requireOneOf,
  requirePseudonym,
  requireRecordId,
  requireSha256,
} from './validate';

const ALL = Object.values(Roles);
const MAX_ELEMENTS = 1_000_000;

/**
 * Delivery commitments and their status (seed 003 SC-1 and SC-2): one record per delivery holding
 * the Merkle root over salted element hashes, never the data.
 */
@Info({ title: 'Commitments', description: 'Delivery commitments (Merkle roots) and delivery status' })
export class CommitmentsContract extends PhrContract {
  protected readonly rules: AccessRules = {
    RecordDelivery: [Roles.HospitalGateway],
    RecordDeliveries: [Roles.HospitalGateway],
    AcknowledgeDelivery: [Roles.Patient],
    MarkBackedUp: [Roles.Patient],
    RejectDelivery: [Roles.Patient],
    ReadDelivery: ALL,
    DeliveryHistory: ALL,
    ListDeliveries: [Roles.Patient, Roles.HospitalGateway, Roles.Admin],
  };

  constructor() {
    super('Commitments');
  }

  /** The sender is the caller's organisation; the delivery starts as "waiting" for the patient. */
  @Transaction()
  @Returns('string')
  async RecordDelivery(
    ctx: PhrContext,
    deliveryId: string,
    pseudonym: string,
    merkleRoot: string,
    elementCount: number,
    segmentCount: number,
    categoriesJson: string,
  ): Promise<string> {
    const entry = checkEntry({
      deliveryId,
      pseudonym,
      merkleRoot,
      elementCount,
      segmentCount,
      categories: parseJson(categoriesJson, 'categories'),
    });
    const record = await this.record(ctx, entry, new Map());
    if (record.created) {
      ctx.stub.setEvent('DeliveryRecorded', Buffer.from(canonicalJson(deliveryEvent(record.value))));
    }
    return canonicalJson(record.value);
  }

  /**
   * Several deliveries of the calling gateway in one transaction, all or none: the gateway's outbox
   * groups what queued up under load, so the endorsement, ordering and validation of one
   * transaction are shared. Each entry is checked and recorded as `RecordDelivery` would (a retried
   * entry answers its stored record); one `DeliveriesRecorded` event lists those newly recorded,
   * because a transaction carries a single event. Returns the records in the order given.
   */
  @Transaction()
  @Returns('string')
  async RecordDeliveries(ctx: PhrContext, deliveriesJson: string): Promise<string> {
    const raw = parseJson(deliveriesJson, 'deliveries');
    if (!Array.isArray(raw) || raw.length < 1 || raw.length > MAX_DELIVERIES_PER_TRANSACTION) {
      throw invalidArgument(`deliveries must be an array of 1 to ${MAX_DELIVERIES_PER_TRANSACTION} entries`);
    }
    const entries = raw.map((e: unknown, i) => checkEntry(isPlainObject(e) ? e : {}, `deliveries[${i}].`));
    const ids = new Set(entries.map((e) => e.deliveryId));
    // A transaction's reads do not see its own writes: a repeated id would be written twice.
    if (ids.size !== entries.length) throw invalidArgument('deliveries must not repeat a deliveryId');
    const patients = new Map<string, PatientRecord>();
    const records: DeliveryRecord[] = [];
    const created: DeliveryRecord[] = [];
    for (const entry of entries) {
      const record = await this.record(ctx, entry, patients);
      records.push(record.value);
      if (record.created) created.push(record.value);
    }
    if (created.length > 0) {
      ctx.stub.setEvent('DeliveriesRecorded', Buffer.from(canonicalJson(created.map(deliveryEvent))));
    }
    return canonicalJson(records);
  }

  /** The patient's own identity confirms it received and verified the delivery: waiting → complete. */
  @Transaction()
  @Returns('string')
  async AcknowledgeDelivery(ctx: PhrContext, deliveryId: string): Promise<string> {
    return canonicalJson(await this.transition(ctx, deliveryId, 'complete', ['waiting']));
  }

  /** The patient's encrypted backup now holds the delivery: complete → backup. */
  @Transaction()
  @Returns('string')
  async MarkBackedUp(ctx: PhrContext, deliveryId: string): Promise<string> {
    return canonicalJson(await this.transition(ctx, deliveryId, 'backup', ['complete']));
  }

  /** The patient's agent refused the delivery (bad signature, hash or root): waiting → rejected. */
  @Transaction()
  @Returns('string')
  async RejectDelivery(ctx: PhrContext, deliveryId: string, reason: string): Promise<string> {
    const why = requireOneOf(reason, DELIVERY_REJECTION_REASONS, 'reason');
    return canonicalJson(await this.transition(ctx, deliveryId, 'rejected', ['waiting'], why));
  }

  @Transaction(false)
  @Returns('string')
  async ReadDelivery(ctx: PhrContext, deliveryId: string): Promise<string> {
    return canonicalJson(await this.get(ctx, requireRecordId(deliveryId, 'deliveryId')));
  }

  @Transaction(false)
  @Returns('string')
  async DeliveryHistory(ctx: PhrContext, deliveryId: string): Promise<string> {
    await this.get(ctx, requireRecordId(deliveryId, 'deliveryId'));
    const history = await ctx.state.history(Keys.delivery(deliveryId));
    const entries: DeliveryHistoryEntry[] = history.map((h) => ({
      txId: h.txId,
      timestamp: h.timestamp,
      status: h.isDelete ? 'deleted' : (h.value as DeliveryRecord).status,
    }));
    return canonicalJson(entries);
  }

  /** One patient's deliveries. Patients see only their own. */
  @Transaction(false)
  @Returns('string')
  async ListDeliveries(ctx: PhrContext, pseudonym: string, pageSize: number, bookmark: string): Promise<string> {
    requirePseudonym(pseudonym);
    await requirePatientFor(ctx, pseudonym, 'a patient may only list their own deliveries');
    const page = await ctx.state.pageByIndex<DeliveryRecord>(
      Indexes.deliveryByPatient,
      [pseudonym],
      pageSize,
      bookmark,
      ([, id]) => ctx.state.get<DeliveryRecord>(Keys.delivery(id ?? '')),
    );
    return canonicalJson(page);
  }

  /** Records one checked entry, or answers the stored record of a retry; anything else is a clash. */
  private async record(
    ctx: PhrContext,
    entry: CheckedEntry,
    patients: Map<string, PatientRecord>,
  ): Promise<{ value: DeliveryRecord; created: boolean }> {
    const patient = patients.get(entry.pseudonym) ?? (await requirePatient(ctx, entry.pseudonym));
    patients.set(entry.pseudonym, patient);
    requireNotErased(patient);
    const caller = ctx.caller;
    const existing = await ctx.state.get<DeliveryRecord>(Keys.delivery(entry.deliveryId));
    if (existing) {
      if (
        existing.sender === caller.mspId &&
        existing.merkleRoot === entry.merkleRoot &&
        existing.pseudonym === entry.pseudonym
      ) {
        return { value: existing, created: false };
      }
      throw conflict(`delivery ${entry.deliveryId} is already recorded`);
    }
    const now = ctx.now;
    const record: DeliveryRecord = {
      docType: 'delivery',
      deliveryId: entry.deliveryId,
      pseudonym: entry.pseudonym,
      sender: caller.mspId,
      senderIdentity: caller.id,
      merkleRoot: entry.merkleRoot,
      elementCount: entry.elementCount,
      segmentCount: entry.segmentCount,
      categories: entry.categories,
      status: 'waiting',
      recordedAt: now,
      updatedAt: now,
    };
    await ctx.state.put(Keys.delivery(entry.deliveryId), record);
    await ctx.state.putIndex(Indexes.deliveryByPatient, [entry.pseudonym, entry.deliveryId]);
    return { value: record, created: true };
  }

  private async get(ctx: PhrContext, deliveryId: string): Promise<DeliveryRecord> {
    const record = await ctx.state.get<DeliveryRecord>(Keys.delivery(deliveryId));
    if (!record) throw notFound(`delivery ${deliveryId} is not recorded`);
    return record;
  }

  private async transition(
    ctx: PhrContext,
    deliveryId: string,
    to: DeliveryStatus,
    from: DeliveryStatus[],
    rejectionReason?: DeliveryRecord['rejectionReason'],
  ): Promise<DeliveryRecord> {
    requireRecordId(deliveryId, 'deliveryId');
    const record = await this.get(ctx, deliveryId);
    const patient = await requirePatient(ctx, record.pseudonym);
    if (patient.owner !== ctx.caller.id) throw forbidden("only the delivery's patient may change its status");
    // An erased patient's deliveries stay as they were: their status is the last thing known of them.
    requireNotErased(patient);
    if (record.status === to) return record; // a retried acknowledgement changes nothing
    if (!from.includes(record.status)) {
      throw invalidState(`delivery ${deliveryId} is ${record.status}; it cannot become ${to}`);
    }
    const updated: DeliveryRecord = { ...record, status: to, updatedAt: ctx.now };
    if (rejectionReason) updated.rejectionReason = rejectionReason;
    await ctx.state.put(Keys.delivery(deliveryId), updated);
    ctx.stub.setEvent(
      'DeliveryStatusChanged',
      Buffer.from(canonicalJson({ deliveryId, pseudonym: record.pseudonym, sender: record.sender, status: to })),
    );
    return updated;
  }
}

/** An entry whose fields passed the checks (the shape of `DeliveryCommitmentEntry`, shared with the gateway). */
interface CheckedEntry extends DeliveryCommitmentEntry {
  categories: string[];
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The checks of one delivery's commitment, the same for `RecordDelivery` and `RecordDeliveries`. */
function checkEntry(e: Record<string, unknown>, where = ''): CheckedEntry {
  const text = (key: string): string => {
    const v = Object.hasOwn(e, key) ? e[key] : undefined;
    if (typeof v !== 'string') throw invalidArgument(`${where}${key} must be a string`);
    return v;
  };
  const int = (key: string): number => (Object.hasOwn(e, key) && typeof e[key] === 'number' ? e[key] : NaN);
  const deliveryId = requireRecordId(text('deliveryId'), `${where}deliveryId`);
  const pseudonym = text('pseudonym');
  requirePseudonym(pseudonym);
  const merkleRoot = requireSha256(text('merkleRoot'), `${where}merkleRoot`);
  const elementCount = requireInt(int('elementCount'), `${where}elementCount`, 1, MAX_ELEMENTS);
  const segmentCount = requireInt(int('segmentCount'), `${where}segmentCount`, 1, elementCount);
  const categories = requireCategories(Object.hasOwn(e, 'categories') ? e.categories : undefined, `${where}categories`);
  return { deliveryId, pseudonym, merkleRoot, elementCount, segmentCount, categories };
}

function deliveryEvent(r: DeliveryRecord): Record<string, string> {
  return {
    deliveryId: r.deliveryId,
    pseudonym: r.pseudonym,
    sender: r.sender,
    merkleRoot: r.merkleRoot,
    status: r.status,
  };
}
