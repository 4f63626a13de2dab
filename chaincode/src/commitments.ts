import { Info, Returns, Transaction } from 'fabric-contract-api';
import {
  canonicalJson,
  DELIVERY_REJECTION_REASONS,
  Roles,
  type DeliveryHistoryEntry,
  type DeliveryRecord,
  type DeliveryStatus,
} from '@phr/common';
import { PhrContext } from './context';
import { conflict, forbidden, invalidState, notFound } from './errors';
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
    requireRecordId(deliveryId, 'deliveryId');
    requirePseudonym(pseudonym);
    requireSha256(merkleRoot, 'merkleRoot');
    requireInt(elementCount, 'elementCount', 1, MAX_ELEMENTS);
    requireInt(segmentCount, 'segmentCount', 1, elementCount);
    const categories = requireCategories(parseJson(categoriesJson, 'categories'), 'categories');
    requireNotErased(await requirePatient(ctx, pseudonym));

    const caller = ctx.caller;
    const existing = await ctx.state.get<DeliveryRecord>(Keys.delivery(deliveryId));
    if (existing) {
      // A retry of the same commitment is answered with the stored record; anything else is a clash.
      if (existing.sender === caller.mspId && existing.merkleRoot === merkleRoot && existing.pseudonym === pseudonym) {
        return canonicalJson(existing);
      }
      throw conflict(`delivery ${deliveryId} is already recorded`);
    }
    const now = ctx.now;
    const record: DeliveryRecord = {
      docType: 'delivery',
      deliveryId,
      pseudonym,
      sender: caller.mspId,
      senderIdentity: caller.id,
      merkleRoot,
      elementCount,
      segmentCount,
      categories,
      status: 'waiting',
      recordedAt: now,
      updatedAt: now,
    };
    await ctx.state.put(Keys.delivery(deliveryId), record);
    await ctx.state.putIndex(Indexes.deliveryByPatient, [pseudonym, deliveryId]);
    ctx.stub.setEvent(
      'DeliveryRecorded',
      Buffer.from(canonicalJson({ deliveryId, pseudonym, sender: caller.mspId, merkleRoot, status: record.status })),
    );
    return canonicalJson(record);
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
