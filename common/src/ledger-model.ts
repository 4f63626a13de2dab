/**
 * Shapes of the records the chaincode keeps and returns. They are the wire contract between the
 * chaincode and every client (gateway, agent, requester), so they live here, once.
 * No field may ever hold health data, names or MRNs.
 */

export interface CodeRef {
  /** Code system URI, e.g. http://loinc.org */
  system: string;
  code: string;
}

export interface IdentityRef {
  mspId: string;
  /** Role attribute of the identity's certificate. */
  role: string;
  /** Opaque, stable identity key (hash of MSP ID and certificate subject/issuer). */
  id: string;
}

export interface PatientRecord {
  docType: 'patient';
  pseudonym: string;
  /** Owner identity key: only this identity may act as the patient. */
  owner: string;
  encryptionPublicKey: string;
  encryptionAlgorithm: EncryptionAlgorithm;
  /** PEM of the patient's current signing certificate (public). */
  signingCertificate: string;
  keyVersion: number;
  registeredAt: string;
  updatedAt: string;
  /**
   * Ed25519 SPKI DER (base64) of the key derived from the patient's recovery secret
   * (recovery-secret.ts): its signature lets a new device take the pseudonym over (RotateKeys).
   */
  recoveryPublicKey?: string;
  /** Pseudonyms of the patients who may approve a recovery (and log `recovery` on this one); sorted, unique. */
  guardians?: string[];
  /** When the patient erased the record (PatientRegistry.Erase); from then on nothing new may be written for it. */
  erasedAt?: string;
}

export const ENCRYPTION_ALGORITHMS = ['X25519', 'RSA-OAEP-256'] as const;
export type EncryptionAlgorithm = (typeof ENCRYPTION_ALGORITHMS)[number];

export const DELIVERY_STATUSES = ['waiting', 'complete', 'backup', 'rejected'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export const DELIVERY_REJECTION_REASONS = [
  'signature-invalid',
  'decryption-failed',
  'hash-mismatch',
  'root-mismatch',
  'malformed',
] as const;
export type DeliveryRejectionReason = (typeof DELIVERY_REJECTION_REASONS)[number];

export interface DeliveryRecord {
  docType: 'delivery';
  deliveryId: string;
  pseudonym: string;
  /** Sending hospital, taken from the submitter's MSP, never from arguments. */
  sender: string;
  senderIdentity: string;
  /** Merkle root (SHA-256 hex) over the delivery's salted element hashes. */
  merkleRoot: string;
  elementCount: number;
  segmentCount: number;
  /** Coarse category codes, sorted and unique. */
  categories: string[];
  status: DeliveryStatus;
  rejectionReason?: DeliveryRejectionReason;
  recordedAt: string;
  updatedAt: string;
}

export interface DeliveryHistoryEntry {
  txId: string;
  timestamp: string;
  status: DeliveryStatus | 'deleted';
}

/**
 * Who a consent is for. `study` is a patient's consent to one research offer (id = the offerId):
 * it authorizes that study's Research.Accept and Deliver and never a pull or request, so a
 * researcher reaches a patient's data only through what the patient's agent delivers.
 */
export const GRANTEE_KINDS = ['organization', 'identity', 'study'] as const;
export type GranteeKind = (typeof GRANTEE_KINDS)[number];

export interface Grantee {
  kind: GranteeKind;
  /** MSP ID for an organisation; identity key for a single identity; offerId for a study. */
  id: string;
}

export interface ConsentScope {
  categories: string[];
  codes: CodeRef[];
}

/** HL7 v3 PurposeOfUse codes we accept. */
export const PURPOSES_OF_USE = [
  'TREAT',
  'ETREAT',
  'HPAYMT',
  'HOPERAT',
  'HRESCH',
  'PUBHLTH',
  'PATRQT',
  'FAMRQT',
] as const;
export type PurposeOfUse = (typeof PURPOSES_OF_USE)[number];

export interface ConsentPeriod {
  /** ISO 8601 instant, inclusive. */
  start: string;
  /** ISO 8601 instant, exclusive. */
  end: string;
}

export const CONSENT_STATUSES = ['active', 'revoked'] as const;
export type ConsentStatus = (typeof CONSENT_STATUSES)[number];

export interface ConsentRecord {
  docType: 'consent';
  consentId: string;
  pseudonym: string;
  grantee: Grantee;
  scope: ConsentScope;
  purposes: PurposeOfUse[];
  period: ConsentPeriod;
  status: ConsentStatus;
  grantedAt: string;
  revokedAt?: string;
  /** A consent the patient signed offline (GrantSignedConsent): base64 DER ECDSA-SHA256. */
  signature?: string;
  /** MSP of the gateway that relayed a signed consent onto the ledger. */
  relayedBy?: string;
}

export const ACCESS_ACTIONS = [
  'push',
  'pull',
  'backup',
  'restore',
  'export',
  'recovery',
  'delivery-failed',
  'rebuild',
  'erasure',
  /** Research use of the patient's data (issue 16): written only by the Research contract. */
  'research',
] as const;
export type AccessAction = (typeof ACCESS_ACTIONS)[number];

export const ACCESS_OUTCOMES = ['success', 'denied', 'failed'] as const;
export type AccessOutcome = (typeof ACCESS_OUTCOMES)[number];

export interface AccessEventRecord {
  docType: 'access-event';
  eventId: string;
  pseudonym: string;
  action: AccessAction;
  outcome: AccessOutcome;
  /** The submitting identity, from its certificate. */
  actor: IdentityRef;
  /** The person or system the submitter acts for (same organisation as the submitter). */
  requester: IdentityRef;
  purpose?: PurposeOfUse;
  scope?: ConsentScope;
  /** Opaque references: delivery ids, element ids. */
  references: string[];
  /** SHA-256 hex of the salted, canonical query (seed 003 SC-3). */
  queryHash?: string;
  breakGlass: boolean;
  /** Consents that covered a successful pull. */
  consentIds: string[];
  recordedAt: string;
  txId: string;
}

export interface HospitalRecord {
  docType: 'hospital';
  mspId: string;
  displayName: string;
  gatewayUrl: string;
  /** PEM certificate of the hospital gateway's signing identity. */
  signingCertificate: string;
  /**
   * PEM root certificate of the hospital's CA: it issues the gateway's TLS and signing
   * certificates, so an agent that learns of the hospital from the directory can authenticate its
   * gateway. The chaincode accepts it only if it issued both the signing certificate and the
   * registering admin's own certificate.
   */
  caCertificate: string;
  updatedAt: string;
}

export interface Page<T> {
  records: T[];
  /** Pass back to get the next page; empty when there is none. */
  bookmark: string;
  fetchedCount: number;
}
