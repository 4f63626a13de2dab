import type {
  AccessEventRecord,
  ConsentGrantPayload,
  ConsentRecord,
  DeliveryCommitmentEntry,
  DeliveryRecord,
  InstitutionalExtractRecord,
  InstitutionalExtractSubmission,
  ParticipationRecord,
  PatientRecord,
  ResearchOfferRecord,
} from '@phr/common';

/** What one delivery puts on the ledger: a Merkle root and counts, never data. */
export interface DeliveryCommitment extends DeliveryCommitmentEntry {
  categories: string[];
}

/**
 * A ledger transaction's id, taken while the request is still open so that the receipt names it
 * at once; the deliveries that queue up until the outbox sends it join it. The nonce (absent
 * without a ledger) is what the id derives from: the proposal built later carries the same id.
 */
export interface DeliverySlot {
  transactionId: string;
  nonce?: Uint8Array;
}

/**
 * A transaction of commitments made ready to send: the same signed bytes are what the outbox
 * sends, however late and however often.
 */
export interface PreparedCommit {
  transactionId: string;
  proposal?: Uint8Array;
  signature?: Uint8Array;
}

export interface CommitResult {
  transactionId: string;
  blockNumber?: bigint;
}

/**
 * The gateway's record that it destroyed a patient's copies (`POST /erasure/{pseudonym}`): an
 * `erasure` access event whose reference is the receipt id, so the patient's access log shows the
 * signed receipt. It is recorded before the patient's own `PatientRegistry.Erase`, and is accepted
 * after it too.
 */
export interface ErasureAccessEvent {
  eventId: string;
  pseudonym: string;
  outcome: 'success' | 'failed';
  /** The receipt id (and nothing that names the patient). */
  references: string[];
}

/**
 * The gateway's view of the ledger. Errors are `LedgerError`s from @phr/ledger-client, whose
 * `retryable` flag tells the outbox whether to try again later.
 */
export interface LedgerPort {
  readonly mode: 'fabric' | 'none';
  /** A new transaction id for deliveries not known yet. */
  newDeliverySlot(): DeliverySlot;
  /**
   * Whether a transaction prepared now under the slot would carry its id. False for a slot drawn
   * under an identity the gateway no longer has (a renewed certificate), or without its nonce: its
   * deliveries move to a new slot, which is safe because nothing was ever sent under the old id.
   */
  ownsSlot(slot: DeliverySlot): boolean;
  /**
   * Builds and signs the transaction recording `commitments` (at most MAX_DELIVERIES_PER_TRANSACTION)
   * under the slot's id: Commitments.RecordDelivery for one, RecordDeliveries for several.
   * @throws Error when it cannot be built or signed (a Fabric slot without its nonce); never reaches the ledger.
   */
  prepareDeliveries(slot: DeliverySlot, commitments: readonly DeliveryCommitment[]): Promise<PreparedCommit>;
  /**
   * Endorses, orders and awaits the commit of a prepared transaction of `commitments`.
   * @throws `LedgerError` as `LedgerClient.submitPrepared` throws: a chaincode refusal of any
   * commitment refuses the whole transaction.
   */
  submit(prepared: PreparedCommit, commitments: readonly DeliveryCommitment[]): Promise<CommitResult>;
  readDelivery(deliveryId: string): Promise<DeliveryRecord | undefined>;
  /** The patient's record; its `guardians` are not shown to a gateway (see `isGuardian`). */
  readPatient(pseudonym: string): Promise<PatientRecord | undefined>;
  /**
   * Whether the patient names `candidate` among their guardians (PatientRegistry.IsGuardian): the
   * ledger answers one candidate at a time and never lists them to a gateway.
   * @throws `LedgerError` NOT_FOUND for an unregistered pseudonym, or as `LedgerClient.evaluate` throws.
   */
  isGuardian(pseudonym: string, candidate: string): Promise<boolean>;
  /** One consent (Consent.ReadConsent as the gateway identity); undefined when there is none. */
  readConsent(consentId: string): Promise<ConsentRecord | undefined>;
  /** Every consent the patient ever granted (revoked ones too), read as the gateway identity. */
  listConsents(pseudonym: string): Promise<ConsentRecord[]>;
  /**
   * The patient's access events with `from <= recordedAt < to`, oldest first (empty bounds: no
   * bound), all pages. An unregistered pseudonym is a `LedgerError` NOT_FOUND.
   */
  listAccessEvents(pseudonym: string, from: string, to: string): Promise<AccessEventRecord[]>;
  /**
   * Relays a consent the patient signed (Consent.GrantSignedConsent, as the gateway identity): the
   * chaincode checks the signature against the patient's registered certificate.
   * @throws `LedgerError` with the chaincode's code when it refuses the grant (e.g. FORBIDDEN for a
   * signature that does not verify), or as `LedgerClient.submit` throws.
   */
  grantSignedConsent(payload: ConsentGrantPayload, signature: string): Promise<ConsentRecord>;
  /**
   * Records an `erasure` access event as the gateway identity (AccessLog.RecordAccess). A retry
   * with the same event id is answered with the event already recorded.
   * @throws `LedgerError` NOT_FOUND for an unregistered pseudonym, CONFLICT when the event id is
   * taken by another event, or as `LedgerClient.submit` throws (UNAVAILABLE is `retryable`).
   */
  recordErasure(event: ErasureAccessEvent): Promise<AccessEventRecord>;
  /**
   * Those of `pseudonyms` (at most 10,000) who opted out of research (Research.OptedOutAmong), sorted.
   * @throws `LedgerError` as `LedgerClient.evaluate` throws (UNAVAILABLE is `retryable`).
   */
  optedOutAmong(pseudonyms: readonly string[]): Promise<string[]>;
  /**
   * Records an institutional research extract and the patients in it (Research.RecordExtract): one
   * `research` access event per patient. A retry with the same extract id and hash answers the record.
   * @throws `LedgerError` INVALID_STATE when a patient is erased or opted out meanwhile, NOT_FOUND for
   * an unregistered one, CONFLICT for an extract id taken by another extract, or as `LedgerClient.submit` throws.
   */
  recordExtract(
    extract: InstitutionalExtractSubmission,
    pseudonyms: readonly string[],
  ): Promise<InstitutionalExtractRecord>;
  /**
   * An institutional extract this hospital recorded (Research.ReadExtract, as the gateway identity);
   * undefined when there is none. A re-run of a request reads it to learn whether its first run
   * reached the ledger.
   * @throws `LedgerError` FORBIDDEN for another hospital's extract, or as `LedgerClient.evaluate` throws.
   */
  readExtract(extractId: string): Promise<InstitutionalExtractRecord | undefined>;
  /**
   * A research offer (Research.ReadOffer, as the gateway identity); undefined when there is none.
   * The extract mailbox reads it to know which gateway collects for it and which researcher may fetch.
   * @throws `LedgerError` as `LedgerClient.evaluate` throws (UNAVAILABLE is `retryable`).
   */
  readOffer(offerId: string): Promise<ResearchOfferRecord | undefined>;
  /**
   * A participation in an offer (Research.ReadParticipation, as the gateway identity: no pseudonym
   * in it); undefined when there is none. Its `studyKey` says who may post the participation's extract.
   * @throws `LedgerError` as `LedgerClient.evaluate` throws (UNAVAILABLE is `retryable`).
   */
  readParticipation(participationId: string): Promise<ParticipationRecord | undefined>;
  /**
   * Calls `listener` with the pseudonym of each registry record whose keys or owner changed, or
   * that was erased, as the ledger's events report it (while the consent event stream is open),
   * so caches of patient records do not seal to a rotated key. Optional: without it, caches age out.
   */
  onPatientChanged?(listener: (pseudonym: string) => void): void;
  close(): void;
}
