import type {
  AccessAction,
  AccessEventRecord,
  AccessOutcome,
  ConsentRecord,
  ConsentScope,
  DeliveryRecord,
  DeliveryRejectionReason,
  EncryptionAlgorithm,
  Grantee,
  HospitalRecord,
  IdentityRef,
  PatientRecord,
  PurposeOfUse,
} from '@phr/common';

/** What the agent itself may log about its own records (the chaincode refuses anything else from a patient). */
export interface OwnAccessEvent {
  eventId: string;
  pseudonym: string;
  action: Extract<AccessAction, 'backup' | 'restore' | 'export' | 'recovery' | 'delivery-failed'>;
  outcome: AccessOutcome;
  references: string[];
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
  close(): void;
}
