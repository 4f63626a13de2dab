import { randomBytes } from 'node:crypto';
import type {
  AccessEventRecord,
  ConsentRecord,
  DeliveryRecord,
  InstitutionalExtractRecord,
  ParticipationRecord,
  PatientRecord,
  ResearchOfferRecord,
} from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import type { CommitResult, DeliveryCommitment, DeliverySlot, LedgerPort, PreparedCommit } from './ledger-port';

/**
 * No ledger at all: commits succeed at once and patients come from a fixed list. Only for the
 * ingest benchmark, which measures the ledger's overhead by running the same pipeline with and
 * without it; `ledger.mode: none` in a config says so loudly in the logs.
 */
export class NoLedger implements LedgerPort {
  readonly mode = 'none';
  private readonly deliveries = new Map<string, DeliveryRecord>();

  constructor(
    private readonly patients: ReadonlyMap<string, PatientRecord>,
    private readonly senderMspId: string,
  ) {}

  newDeliverySlot(): DeliverySlot {
    return { transactionId: randomBytes(32).toString('hex') };
  }

  /** Any id will do where no Fabric peer checks it. */
  ownsSlot(_slot?: DeliverySlot): boolean {
    return true;
  }

  prepareDeliveries(slot: DeliverySlot, _commitments?: readonly DeliveryCommitment[]): Promise<PreparedCommit> {
    return Promise.resolve({ transactionId: slot.transactionId });
  }

  submit(prepared: PreparedCommit, commitments: readonly DeliveryCommitment[]): Promise<CommitResult> {
    const now = new Date().toISOString();
    for (const c of commitments) {
      this.deliveries.set(c.deliveryId, {
        docType: 'delivery',
        ...c,
        categories: [...c.categories],
        sender: this.senderMspId,
        senderIdentity: 'none',
        status: 'waiting',
        recordedAt: now,
        updatedAt: now,
      });
    }
    return Promise.resolve({ transactionId: prepared.transactionId });
  }

  readDelivery(deliveryId: string): Promise<DeliveryRecord | undefined> {
    return Promise.resolve(this.deliveries.get(deliveryId));
  }

  readPatient(pseudonym: string): Promise<PatientRecord | undefined> {
    return Promise.resolve(this.patients.get(pseudonym));
  }

  /** Recovery with guardians needs the ledger: without one, nobody guards anybody. */
  isGuardian(): Promise<boolean> {
    return Promise.resolve(false);
  }

  /** No ledger holds no consents and no access events. */
  readConsent(): Promise<ConsentRecord | undefined> {
    return Promise.resolve(undefined);
  }

  listConsents(): Promise<ConsentRecord[]> {
    return Promise.resolve([]);
  }

  listAccessEvents(): Promise<AccessEventRecord[]> {
    return Promise.resolve([]);
  }

  /** Nowhere to keep a consent: say so as an outage, so `POST /fhir/Consent` answers 503. */
  grantSignedConsent(): Promise<ConsentRecord> {
    return Promise.reject(
      new LedgerError('UNAVAILABLE', 'ledger unavailable: this gateway runs without a ledger (ledger.mode none)'),
    );
  }

  /** Nowhere to record it: an outage, as for a consent. */
  recordErasure(): Promise<AccessEventRecord> {
    return Promise.reject(
      new LedgerError('UNAVAILABLE', 'ledger unavailable: this gateway runs without a ledger (ledger.mode none)'),
    );
  }

  /** Nobody's opt-out is known without the ledger: an outage, so no extract leaves unchecked. */
  /** No ledger holds no offers: nothing can be collected for one. */
  readOffer(): Promise<ResearchOfferRecord | undefined> {
    return Promise.resolve(undefined);
  }

  readParticipation(): Promise<ParticipationRecord | undefined> {
    return Promise.resolve(undefined);
  }

  optedOutAmong(): Promise<string[]> {
    return Promise.reject(
      new LedgerError('UNAVAILABLE', 'ledger unavailable: this gateway runs without a ledger (ledger.mode none)'),
    );
  }

  /** Nowhere to record it: an outage, as for a consent. */
  recordExtract(): Promise<InstitutionalExtractRecord> {
    return Promise.reject(
      new LedgerError('UNAVAILABLE', 'ledger unavailable: this gateway runs without a ledger (ledger.mode none)'),
    );
  }

  /** Whether an extract was recorded is unknown without the ledger: an outage, not "never recorded". */
  readExtract(): Promise<InstitutionalExtractRecord | undefined> {
    return Promise.reject(
      new LedgerError('UNAVAILABLE', 'ledger unavailable: this gateway runs without a ledger (ledger.mode none)'),
    );
  }

  close(): void {}
}
