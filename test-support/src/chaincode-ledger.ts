import { randomBytes } from 'node:crypto';
import {
  consentChangesOfEvent,
  deliveriesArgument,
  MAX_LEDGER_PAGE_SIZE,
  parseChaincodeError,
  patientChangeOfEvent,
  readAllPages,
} from '@phr/common';
import type {
  AccessEventRecord,
  AccessRequest,
  ConsentEvaluation,
  ConsentGrantPayload,
  ConsentRecord,
  DeliveryRecord,
  InstitutionalExtractRecord,
  InstitutionalExtractSubmission,
  Page,
  ParticipationRecord,
  PatientRecord,
  ResearchOfferRecord,
} from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import {
  AccessLogContract,
  CommitmentsContract,
  ConsentContract,
  CreditsContract,
  DirectoryContract,
  PatientRegistryContract,
  ResearchContract,
  type PhrContract,
} from '@phr/chaincode';
import { FakeLedger } from '@phr/chaincode/testing';
import {
  deliveryArgs,
  type CommitResult,
  type ConsentEventSource,
  type ConsentEventStream,
  type DeliveryCommitment,
  type DeliverySlot,
  type ErasureAccessEvent,
  type GatewayAccessEvent,
  type LedgerPort,
  type PreparedCommit,
  type PullLedger,
} from '@phr/gateway/internal';

export interface Identity {
  mspId: string;
  certificatePem: string;
}

/**
 * The real chaincode contracts on chaincode's in-memory ledger (Fabric's transaction semantics,
 * real certificates), for gateway tests that must run where no Fabric network can. It can be
 * switched off to play a ledger outage, and it refuses a transaction id it has seen, as Fabric does.
 */
export class ChaincodeLedger implements LedgerPort, PullLedger, ConsentEventSource {
  readonly mode = 'fabric';
  readonly world = new FakeLedger();
  readonly registry = new PatientRegistryContract();
  readonly commitments = new CommitmentsContract();
  readonly consent = new ConsentContract();
  readonly accessLog = new AccessLogContract();
  readonly directory = new DirectoryContract();
  readonly research = new ResearchContract();
  readonly credits = new CreditsContract();
  /** Ledger reads the gateway made (listConsents counts one, listAccessEvents one per page). */
  reads = 0;
  /** Consent.EvaluateConsent calls the gateway made. */
  consentEvaluations = 0;
  /** Consent event streams the gateway opened. */
  consentStreams = 0;
  submissions = 0;
  /** The number of deliveries in each delivery transaction submitted, in order. */
  readonly transactionSizes: number[] = [];
  private up_ = true;
  private eventsUp = true;
  private readonly spent = new Set<string>();
  private readonly streams = new Set<EventStream>();
  private readonly patientListeners = new Set<(pseudonym: string) => void>();

  onPatientChanged(listener: (pseudonym: string) => void): void {
    this.patientListeners.add(listener);
  }

  /** Switching it off breaks the open event streams too, as a peer outage does. */
  get available(): boolean {
    return this.up_;
  }
  set available(value: boolean) {
    this.up_ = value;
    if (!value) this.breakConsentStreams();
  }

  /** Consent events of the in-memory chaincode, streamed as the peer streams them. */
  openConsentEvents(): Promise<ConsentEventStream> {
    this.up();
    if (!this.eventsUp) throw new LedgerError('UNAVAILABLE', 'event service unavailable: test outage');
    this.consentStreams += 1;
    const stream = new EventStream(() => {
      unsubscribe();
      this.streams.delete(stream);
    });
    const unsubscribe = this.world.onEvent((e) => {
      for (const consent of consentChangesOfEvent(e.name, JSON.stringify(e.payload))) stream.push(consent);
      const changed = patientChangeOfEvent(e.name, JSON.stringify(e.payload));
      if (changed) for (const listener of this.patientListeners) listener(changed);
    });
    this.streams.add(stream);
    return Promise.resolve(stream);
  }

  /**
   * Plays an outage of the peer's event service alone (the connection dropped, a proxy cut the
   * stream): open streams break, and new ones are refused until it is back.
   */
  set consentEventsAvailable(value: boolean) {
    this.eventsUp = value;
    if (!value) this.breakConsentStreams();
  }

  private breakConsentStreams(): void {
    for (const stream of [...this.streams]) stream.fail(new LedgerError('UNAVAILABLE', 'event stream broken: test'));
  }

  constructor(private readonly gateway: Identity) {}

  async registerPatient(patient: Identity, pseudonym: string, encryptionPublicKey: string): Promise<PatientRecord> {
    return this.world.call<PatientRecord>(
      this.registry,
      'Register',
      [pseudonym, encryptionPublicKey, 'X25519'],
      patient,
    );
  }

  newDeliverySlot(): DeliverySlot {
    return { transactionId: randomBytes(32).toString('hex') };
  }

  /** Any id will do where no Fabric peer checks it. */
  ownsSlot(_slot?: DeliverySlot): boolean {
    return true;
  }

  /** The deliveries of each prepared transaction, as its proposal would hold them. */
  private readonly preparedContent = new Map<string, string[]>();

  prepareDeliveries(slot: DeliverySlot, commitments: readonly DeliveryCommitment[]): Promise<PreparedCommit> {
    this.preparedContent.set(
      slot.transactionId,
      commitments.map((c) => c.deliveryId),
    );
    return Promise.resolve({ transactionId: slot.transactionId });
  }

  async submit(prepared: PreparedCommit, commitments: readonly DeliveryCommitment[]): Promise<CommitResult> {
    this.up();
    if (this.spent.has(prepared.transactionId)) {
      throw new LedgerError('LEDGER_ERROR', `duplicate transaction found [${prepared.transactionId}]`);
    }
    const content = this.preparedContent.get(prepared.transactionId);
    const sent = commitments.map((c) => c.deliveryId);
    // A signed proposal cannot change: sending other deliveries under its id would be a gateway bug.
    if (content && content.join() !== sent.join()) {
      throw new Error(
        `transaction ${prepared.transactionId} was prepared with ${content.join()}, sent with ${sent.join()}`,
      );
    }
    this.submissions += 1;
    this.transactionSizes.push(commitments.length);
    const [first, ...more] = commitments;
    if (!first) throw new Error('a transaction of no deliveries');
    if (more.length === 0) {
      // Fabric's contract runtime turns string arguments into the declared parameter types; the
      // in-memory ledger calls the function directly, so the numbers are converted here.
      const args = deliveryArgs(first).map((a, i) => (i === 3 || i === 4 ? Number(a) : a));
      await this.run(() => this.world.invoke(this.commitments, 'RecordDelivery', args, this.gateway));
    } else {
      const args = [deliveriesArgument(commitments)];
      await this.run(() => this.world.invoke(this.commitments, 'RecordDeliveries', args, this.gateway));
    }
    this.spent.add(prepared.transactionId);
    return { transactionId: prepared.transactionId, blockNumber: BigInt(this.submissions) };
  }

  async readDelivery(deliveryId: string): Promise<DeliveryRecord | undefined> {
    this.up();
    return this.readOrUndefined<DeliveryRecord>(() =>
      this.world.invoke(this.commitments, 'ReadDelivery', [deliveryId], this.gateway),
    );
  }

  async evaluateConsent(pseudonym: string, request: AccessRequest): Promise<ConsentEvaluation> {
    this.up();
    this.consentEvaluations += 1;
    return JSON.parse(
      await this.run(() =>
        this.world.invoke(this.consent, 'EvaluateConsent', [pseudonym, JSON.stringify(request)], this.gateway),
      ),
    ) as ConsentEvaluation;
  }

  async recordAccess(event: GatewayAccessEvent): Promise<AccessEventRecord> {
    this.up();
    return JSON.parse(
      await this.run(() => this.world.invoke(this.accessLog, 'RecordAccess', [JSON.stringify(event)], this.gateway)),
    ) as AccessEventRecord;
  }

  async recordErasure(event: ErasureAccessEvent): Promise<AccessEventRecord> {
    this.up();
    return JSON.parse(
      await this.run(() =>
        this.world.invoke(
          this.accessLog,
          'RecordAccess',
          [JSON.stringify({ ...event, action: 'erasure' })],
          this.gateway,
        ),
      ),
    ) as AccessEventRecord;
  }

  async readPatient(pseudonym: string): Promise<PatientRecord | undefined> {
    this.up();
    return this.readOrUndefined<PatientRecord>(() =>
      this.world.invoke(this.registry, 'ReadPatient', [pseudonym], this.gateway),
    );
  }

  async isGuardian(pseudonym: string, candidate: string): Promise<boolean> {
    this.up();
    return (
      JSON.parse(
        await this.run(() => this.world.invoke(this.registry, 'IsGuardian', [pseudonym, candidate], this.gateway)),
      ) === true
    );
  }

  async readConsent(consentId: string): Promise<ConsentRecord | undefined> {
    this.up();
    this.reads += 1;
    return this.readOrUndefined<ConsentRecord>(() =>
      this.world.invoke(this.consent, 'ReadConsent', [consentId], this.gateway),
    );
  }

  async listConsents(pseudonym: string): Promise<ConsentRecord[]> {
    this.up();
    this.reads += 1;
    return JSON.parse(
      await this.run(() => this.world.invoke(this.consent, 'ListConsents', [pseudonym], this.gateway)),
    ) as ConsentRecord[];
  }

  async listAccessEvents(pseudonym: string, from: string, to: string): Promise<AccessEventRecord[]> {
    this.up();
    return readAllPages(async (bookmark) => {
      this.reads += 1;
      return JSON.parse(
        await this.run(() =>
          this.world.invoke(
            this.accessLog,
            'ListAccessEvents',
            [pseudonym, from, to, MAX_LEDGER_PAGE_SIZE, bookmark],
            this.gateway,
          ),
        ),
      ) as Page<AccessEventRecord>;
    });
  }

  /** Relayed as the gateway identity, as FabricLedger submits it. */
  async grantSignedConsent(payload: ConsentGrantPayload, signature: string): Promise<ConsentRecord> {
    this.up();
    return JSON.parse(
      await this.run(() =>
        this.world.invoke(this.consent, 'GrantSignedConsent', [JSON.stringify(payload), signature], this.gateway),
      ),
    ) as ConsentRecord;
  }

  async optedOutAmong(pseudonyms: readonly string[]): Promise<string[]> {
    this.up();
    return JSON.parse(
      await this.run(() =>
        this.world.invoke(this.research, 'OptedOutAmong', [JSON.stringify(pseudonyms)], this.gateway),
      ),
    ) as string[];
  }

  async recordExtract(
    extract: InstitutionalExtractSubmission,
    pseudonyms: readonly string[],
  ): Promise<InstitutionalExtractRecord> {
    this.up();
    return JSON.parse(
      await this.run(() =>
        this.world.invoke(
          this.research,
          'RecordExtract',
          [JSON.stringify(extract), JSON.stringify(pseudonyms)],
          this.gateway,
        ),
      ),
    ) as InstitutionalExtractRecord;
  }

  async readExtract(extractId: string): Promise<InstitutionalExtractRecord | undefined> {
    this.up();
    return this.readOrUndefined<InstitutionalExtractRecord>(() =>
      this.world.invoke(this.research, 'ReadExtract', [extractId], this.gateway),
    );
  }

  async readOffer(offerId: string): Promise<ResearchOfferRecord | undefined> {
    this.up();
    return this.readOrUndefined<ResearchOfferRecord>(() =>
      this.world.invoke(this.research, 'ReadOffer', [offerId], this.gateway),
    );
  }

  async readParticipation(participationId: string): Promise<ParticipationRecord | undefined> {
    this.up();
    return this.readOrUndefined<ParticipationRecord>(() =>
      this.world.invoke(this.research, 'ReadParticipation', [participationId], this.gateway),
    );
  }

  /**
   * Any transaction as any identity (a researcher posting an offer, an admin funding it), with the
   * refusal mapped to a LedgerError as for the gateway's own calls. Numbers travel as numbers: the
   * contract runtime's conversion is not here.
   */
  async invokeAs<T>(contract: PhrContract, fn: string, args: unknown[], as: Identity): Promise<T> {
    this.up();
    return JSON.parse(await this.run(() => this.world.invoke(contract, fn, args, as))) as T;
  }

  close(): void {}

  private up(): void {
    if (!this.available) throw new LedgerError('UNAVAILABLE', 'ledger unavailable: test outage');
  }

  private async readOrUndefined<T>(fn: () => Promise<string>): Promise<T | undefined> {
    try {
      return JSON.parse(await this.run(fn)) as T;
    } catch (err) {
      if (err instanceof LedgerError && err.code === 'NOT_FOUND') return undefined;
      throw err;
    }
  }

  private async run(fn: () => Promise<string>): Promise<string> {
    try {
      return await fn();
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      // the text as a peer relays it, read by the same parser as ledger-client's
      const refusal = parseChaincodeError(message);
      throw new LedgerError(refusal?.code ?? 'LEDGER_ERROR', message, undefined, { cause: err });
    }
  }
}

/** An async iterable fed by pushes, ended by `close()` or broken by `fail()`. */
class EventStream implements ConsentEventStream {
  private readonly queue: ConsentRecord[] = [];
  private waiting: { resolve: (r: IteratorResult<ConsentRecord>) => void; reject: (e: Error) => void } | undefined;
  private ended: { error?: Error } | undefined;

  constructor(private readonly onClose: () => void) {}

  push(consent: ConsentRecord): void {
    if (this.ended) return;
    if (this.waiting) {
      this.waiting.resolve({ value: consent, done: false });
      this.waiting = undefined;
    } else this.queue.push(consent);
  }

  fail(error: Error): void {
    this.end({ error });
  }

  close(): void {
    this.end({});
  }

  [Symbol.asyncIterator](): AsyncIterator<ConsentRecord> {
    return {
      next: () => {
        const value = this.queue.shift();
        if (value) return Promise.resolve({ value, done: false });
        if (this.ended) {
          return this.ended.error === undefined
            ? Promise.resolve({ value: undefined, done: true })
            : Promise.reject(this.ended.error);
        }
        return new Promise((resolve, reject) => (this.waiting = { resolve, reject }));
      },
      return: () => {
        this.close();
        return Promise.resolve({ value: undefined, done: true });
      },
    };
  }

  private end(how: { error?: Error }): void {
    if (this.ended) return;
    this.ended = how;
    this.onClose();
    const waiting = this.waiting;
    this.waiting = undefined;
    if (!waiting) return;
    if (how.error === undefined) waiting.resolve({ value: undefined, done: true });
    else waiting.reject(how.error);
  }
}
