import {
  canonicalJson,
  MAX_LEDGER_PAGE_SIZE,
  consentChangesOfEvent,
  deliveriesArgument,
  patientChangeOfEvent,
  readAllPages,
  type AccessEventRecord,
  type AccessRequest,
  type ConsentEvaluation,
  type ConsentGrantPayload,
  type ConsentRecord,
  type DeliveryRecord,
  type InstitutionalExtractRecord,
  type InstitutionalExtractSubmission,
  type Page,
  type ParticipationRecord,
  type PatientRecord,
  type ResearchOfferRecord,
} from '@phr/common';
import { LedgerClient, LedgerError, type LedgerIdentity, type PeerEndpoint } from '@phr/ledger-client';
import type { ConsentEventSource, ConsentEventStream } from '../pull/consent-feed';
import type { GatewayAccessEvent, PullLedger } from '../pull/pull-ledger';
import {
  type CommitResult,
  type DeliveryCommitment,
  type DeliverySlot,
  type ErasureAccessEvent,
  type LedgerPort,
  type PreparedCommit,
} from './ledger-port';

/** The hospital's own peer, under the hospital gateway identity. One gRPC channel for the process. */
export class FabricLedger implements LedgerPort, PullLedger, ConsentEventSource {
  readonly mode = 'fabric';
  private readonly client: LedgerClient;
  private readonly patientListeners = new Set<(pseudonym: string) => void>();

  constructor(options: { peer: PeerEndpoint; identity: LedgerIdentity; channel: string; chaincode: string }) {
    // Reads sit on the request path of an ingest only when the patient is not cached: keep them short.
    // A commit is awaited 20 s, not 60: a transaction an orderer lost when it died never commits, and
    // the outbox sends it again (the same transaction id, so it cannot commit twice) once this wait
    // ends — commits under load take well under a second (see Benchmarks in the README).
    this.client = LedgerClient.connect({
      ...options,
      deadlines: { evaluateMs: 3_000, endorseMs: 10_000, commitStatusMs: 20_000 },
    });
  }

  newDeliverySlot(): DeliverySlot {
    return this.client.newSlot();
  }

  ownsSlot(slot: DeliverySlot): boolean {
    return slot.nonce !== undefined && this.client.ownsSlot({ transactionId: slot.transactionId, nonce: slot.nonce });
  }

  prepareDeliveries(slot: DeliverySlot, commitments: readonly DeliveryCommitment[]): Promise<PreparedCommit> {
    const [first, ...more] = commitments;
    if (!slot.nonce) return Promise.reject(new Error(`transaction ${slot.transactionId} has no nonce`));
    if (!first) return Promise.reject(new Error(`transaction ${slot.transactionId} has no deliveries`));
    const options = { slot: { transactionId: slot.transactionId, nonce: slot.nonce } };
    // One delivery stays RecordDelivery (and its DeliveryRecorded event), as before transactions were shared.
    return more.length === 0
      ? this.client.prepare('Commitments', 'RecordDelivery', deliveryArgs(first), options)
      : this.client.prepare('Commitments', 'RecordDeliveries', [deliveriesArgument(commitments)], options);
  }

  async submit(prepared: PreparedCommit): Promise<CommitResult> {
    if (!prepared.proposal || !prepared.signature) {
      throw new LedgerError('LEDGER_ERROR', `transaction ${prepared.transactionId} has no signed proposal`);
    }
    const result = await this.client.submitPrepared({
      transactionId: prepared.transactionId,
      proposal: prepared.proposal,
      signature: prepared.signature,
    });
    return { transactionId: result.transactionId, blockNumber: result.blockNumber };
  }

  async readDelivery(deliveryId: string): Promise<DeliveryRecord | undefined> {
    return this.client.evaluateRecord<DeliveryRecord>('Commitments', 'ReadDelivery', [deliveryId]);
  }

  async readPatient(pseudonym: string): Promise<PatientRecord | undefined> {
    return this.client.evaluateRecord<PatientRecord>('PatientRegistry', 'ReadPatient', [pseudonym]);
  }

  async isGuardian(pseudonym: string, candidate: string): Promise<boolean> {
    return JSON.parse(await this.client.evaluate('PatientRegistry', 'IsGuardian', [pseudonym, candidate])) === true;
  }

  async evaluateConsent(pseudonym: string, request: AccessRequest): Promise<ConsentEvaluation> {
    return JSON.parse(
      await this.client.evaluate('Consent', 'EvaluateConsent', [pseudonym, JSON.stringify(request)]),
    ) as ConsentEvaluation;
  }

  async recordAccess(event: GatewayAccessEvent): Promise<AccessEventRecord> {
    const result = await this.client.submit('AccessLog', 'RecordAccess', [JSON.stringify(event)]);
    return JSON.parse(result.result) as AccessEventRecord;
  }

  close(): void {
    this.client.close();
  }

  async openConsentEvents(): Promise<ConsentEventStream> {
    // The height counts blocks stored; the peer applies a stored block to the state reads see a
    // moment later. Starting two blocks back covers that gap, and replayed changes merge harmlessly.
    const height = await this.client.chainHeight();
    const events = await this.client.chaincodeEvents(height > 2n ? height - 2n : 0n);
    const listeners = this.patientListeners;
    return {
      async *[Symbol.asyncIterator]() {
        for await (const event of events) {
          // An erasure revokes the patient's consents in its own transaction and event.
          yield* consentChangesOfEvent(event.eventName, event.payload);
          const changed = patientChangeOfEvent(event.eventName, event.payload);
          if (changed) for (const listener of listeners) listener(changed);
        }
      },
      close: () => events.close(),
    };
  }

  onPatientChanged(listener: (pseudonym: string) => void): void {
    this.patientListeners.add(listener);
  }

  async readConsent(consentId: string): Promise<ConsentRecord | undefined> {
    return this.client.evaluateRecord<ConsentRecord>('Consent', 'ReadConsent', [consentId]);
  }

  async listConsents(pseudonym: string): Promise<ConsentRecord[]> {
    return JSON.parse(await this.client.evaluate('Consent', 'ListConsents', [pseudonym])) as ConsentRecord[];
  }

  async grantSignedConsent(payload: ConsentGrantPayload, signature: string): Promise<ConsentRecord> {
    const result = await this.client.submit('Consent', 'GrantSignedConsent', [JSON.stringify(payload), signature]);
    return JSON.parse(result.result) as ConsentRecord;
  }

  async recordErasure(event: ErasureAccessEvent): Promise<AccessEventRecord> {
    const result = await this.client.submit('AccessLog', 'RecordAccess', [
      JSON.stringify({ ...event, action: 'erasure' }),
    ]);
    return JSON.parse(result.result) as AccessEventRecord;
  }

  async readOffer(offerId: string): Promise<ResearchOfferRecord | undefined> {
    return this.client.evaluateRecord<ResearchOfferRecord>('Research', 'ReadOffer', [offerId]);
  }

  async readParticipation(participationId: string): Promise<ParticipationRecord | undefined> {
    return this.client.evaluateRecord<ParticipationRecord>('Research', 'ReadParticipation', [participationId]);
  }

  async optedOutAmong(pseudonyms: readonly string[]): Promise<string[]> {
    return JSON.parse(
      await this.client.evaluate('Research', 'OptedOutAmong', [JSON.stringify(pseudonyms)]),
    ) as string[];
  }

  async recordExtract(
    extract: InstitutionalExtractSubmission,
    pseudonyms: readonly string[],
  ): Promise<InstitutionalExtractRecord> {
    const result = await this.client.submit('Research', 'RecordExtract', [
      JSON.stringify(extract),
      JSON.stringify(pseudonyms),
    ]);
    return JSON.parse(result.result) as InstitutionalExtractRecord;
  }

  async readExtract(extractId: string): Promise<InstitutionalExtractRecord | undefined> {
    return this.client.evaluateRecord<InstitutionalExtractRecord>('Research', 'ReadExtract', [extractId]);
  }

  listAccessEvents(pseudonym: string, from: string, to: string): Promise<AccessEventRecord[]> {
    return readAllPages(
      async (bookmark) =>
        JSON.parse(
          await this.client.evaluate('AccessLog', 'ListAccessEvents', [
            pseudonym,
            from,
            to,
            String(MAX_LEDGER_PAGE_SIZE),
            bookmark,
          ]),
        ) as Page<AccessEventRecord>,
    );
  }
}

export function deliveryArgs(c: DeliveryCommitment): string[] {
  return [
    c.deliveryId,
    c.pseudonym,
    c.merkleRoot,
    String(c.elementCount),
    String(c.segmentCount),
    canonicalJson([...c.categories].sort()),
  ];
}
