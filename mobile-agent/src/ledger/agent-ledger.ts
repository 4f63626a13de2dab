import type {
  AccessAction,
  AccessEventRecord,
  AccessOutcome,
  ConsentRecord,
  ConsentScope,
  CreditAccountRecord,
  CreditEntryRecord,
  DeliveryRecord,
  DeliveryRejectionReason,
  EncryptionAlgorithm,
  Grantee,
  HospitalRecord,
  IdentityRef,
  ParticipationRecord,
  PatientRecord,
  PurposeOfUse,
  ResearchOfferRecord,
} from '@phr/common';

/** What the agent itself may log about its own records (the chaincode refuses anything else from a patient). */
export interface OwnAccessEvent {
  eventId: string;
  pseudonym: string;
  action: Extract<
    AccessAction,
    'backup' | 'restore' | 'export' | 'recovery' | 'rebuild' | 'erasure' | 'delivery-failed'
  >;
  outcome: AccessOutcome;
  references: string[];
}

/**
 * What a guardian's agent logs on the patient it guards (whose `guardians` list names the
 * guardian's pseudonym): its approval (`success`) or refusal (`denied`) of a recovery request, so
 * the patient sees every approval on their own access log.
 */
export interface GuardianAccessEvent {
  eventId: string;
  /** The guarded patient's pseudonym, not the guardian's own. */
  pseudonym: string;
  action: 'recovery';
  outcome: 'success' | 'denied';
  /** Opaque references, e.g. the recovery request id. */
  references: string[];
}

/** The patient's research opt-out as the ledger keeps it (Research.SetOptOut). */
export interface ResearchOptOut {
  pseudonym: string;
  optedOut: boolean;
  updatedAt: string;
}

export interface ConsentGrant {
  consentId: string;
  grantee: Grantee;
  scope: ConsentScope;
  purposes: PurposeOfUse[];
  start: string;
  end: string;
}

/**
 * The ledger as the patient's agent uses it. Every write is a transaction signed on this device by
 * the patient's own identity; the implementation never receives another identity's key.
 */
export interface AgentLedger {
  whoAmI(): Promise<IdentityRef & { pseudonym?: string }>;
  register(pseudonym: string, encryptionPublicKey: string, algorithm: EncryptionAlgorithm): Promise<PatientRecord>;
  readPatient(pseudonym: string): Promise<PatientRecord>;
  /** Undefined when the ledger has no such delivery. */
  readDelivery(deliveryId: string): Promise<DeliveryRecord | undefined>;
  acknowledgeDelivery(deliveryId: string): Promise<DeliveryRecord>;
  rejectDelivery(deliveryId: string, reason: DeliveryRejectionReason): Promise<DeliveryRecord>;
  recordAccess(event: OwnAccessEvent): Promise<AccessEventRecord>;
  /**
   * Logs a guardian's answer to a recovery on the guarded patient (AccessLog.RecordAccess).
   * @throws LedgerError FORBIDDEN when this patient is not among the guarded patient's guardians.
   */
  recordGuardianAccess(event: GuardianAccessEvent): Promise<AccessEventRecord>;
  /**
   * Registers (or replaces) the public key of the recovery secret (PatientRegistry.SetRecoveryKey):
   * what later authorizes a new device to take the pseudonym over.
   * @throws LedgerError FORBIDDEN when the caller does not own the pseudonym, INVALID_ARGUMENT for a
   * key that is not Ed25519 SPKI base64, INVALID_STATE when the patient is erased.
   */
  setRecoveryKey(pseudonym: string, recoveryPublicKey: string): Promise<PatientRecord>;
  /**
   * Names the guardians (0 to 10 registered pseudonyms; empty removes them; PatientRegistry.SetGuardians).
   * @throws LedgerError FORBIDDEN for a non-owner, INVALID_ARGUMENT for a malformed list or the
   * patient's own pseudonym, NOT_FOUND for an unregistered guardian, INVALID_STATE when the patient
   * or a guardian is erased.
   */
  setGuardians(pseudonym: string, guardians: string[]): Promise<PatientRecord>;
  /**
   * Replaces the encryption key (PatientRegistry.RotateKeys) and records this identity's signing
   * certificate. Without `recoverySignature` only the owner may; with one (see `rotationPayload`
   * and `signRotation` in @phr/common, signed over this identity's key as `newOwner` and the
   * record's current keyVersion), this identity becomes the owner.
   * @throws LedgerError FORBIDDEN when not the owner or the signature does not verify (wrong secret,
   * or a signature made for an older key version), CONFLICT when this identity already owns
   * another pseudonym, INVALID_STATE when the patient is erased.
   */
  rotateKeys(
    pseudonym: string,
    encryptionPublicKey: string,
    algorithm: EncryptionAlgorithm,
    recoverySignature?: string,
  ): Promise<PatientRecord>;
  /**
   * The delivery is in the patient's backup (Commitments.MarkBackedUp: complete → backup; a retry
   * on a delivery already `backup` answers it unchanged).
   * @throws LedgerError FORBIDDEN when not the delivery's patient, INVALID_STATE when the delivery
   * is neither complete nor backup, NOT_FOUND when it is not recorded.
   */
  markBackedUp(deliveryId: string): Promise<DeliveryRecord>;
  /**
   * Marks the pseudonym erased (PatientRegistry.Erase): guardians and recovery key dropped, every
   * consent revoked, nothing new accepted for it afterwards. A retry answers the erased record.
   * @throws LedgerError FORBIDDEN when the caller does not own the pseudonym.
   */
  erasePatient(pseudonym: string): Promise<PatientRecord>;
  /** Every delivery recorded for the pseudonym, all pages (Commitments.ListDeliveries). */
  listDeliveries(pseudonym: string): Promise<DeliveryRecord[]>;
  grantConsent(grant: ConsentGrant): Promise<ConsentRecord>;
  revokeConsent(consentId: string): Promise<ConsentRecord>;
  listConsents(pseudonym: string): Promise<ConsentRecord[]>;
  /** Every event recorded at or after `from` (ISO 8601; all when absent), oldest first. */
  listAccessEvents(pseudonym: string, from?: string): Promise<AccessEventRecord[]>;
  /**
   * The hospitals in the ledger's directory (`Directory:ListHospitals`), as the ledger holds them:
   * the agent checks each entry before it uses one.
   */
  listHospitals(): Promise<HospitalRecord[]>;

  // ---- research (issue 16): Research and Credits contracts ----

  /** Every offer open now (open, not expired, quota not full), all pages (Research.ListOffers 'open'). */
  listOpenOffers(): Promise<ResearchOfferRecord[]>;
  /** Undefined when the ledger has no such offer (Research.ReadOffer). */
  readOffer(offerId: string): Promise<ResearchOfferRecord | undefined>;
  /**
   * Takes a place in the offer (Research.Accept); a retry with the same participationId answers the record.
   * @throws LedgerError INVALID_STATE when the offer is closed, expired or full or the patient opted
   * out, FORBIDDEN when the consent does not cover the study, CONFLICT when this patient already
   * took part under another participationId.
   */
  acceptOffer(
    offerId: string,
    participationId: string,
    consentId: string,
    studyKey: string,
  ): Promise<ParticipationRecord>;
  /**
   * Records the delivery of the extract and pays its credits, in one transaction (Research.Deliver);
   * a retry after success answers the record.
   * @throws LedgerError INVALID_STATE when the offer expired or was withdrawn, FORBIDDEN when not the owner.
   */
  deliverExtract(
    participationId: string,
    deliveryIds: readonly string[],
    extractHash: string,
    elementCount: number,
  ): Promise<ParticipationRecord>;
  /** This patient's participations, with its pseudonym (Research.ListMyParticipations). */
  listMyParticipations(): Promise<ParticipationRecord[]>;
  setResearchOptOut(optedOut: boolean): Promise<ResearchOptOut>;
  isResearchOptedOut(pseudonym: string): Promise<boolean>;
  /** This patient's credit account (a zero balance before the first payment; Credits.ReadAccount). */
  readCreditAccount(): Promise<CreditAccountRecord>;
  /** This patient's statement, all pages (Credits.ListEntries). */
  listCreditEntries(): Promise<CreditEntryRecord[]>;
  close(): void;
}
