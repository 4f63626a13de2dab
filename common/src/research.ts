/**
 * The research wire contract (issue 16): offers, participations, credit accounts and institutional
 * extracts as the chaincode keeps them, and the extract an agent seals to a researcher. Shared by
 * the chaincode, the agent, the researcher's CLI and the gateway, so it lives here once.
 * No ledger record here may hold a health value, a name, an MRN or a date of a patient's care.
 */
import type { ConsentPeriod, IdentityRef } from './ledger-model';
import type { DataElement } from './data-element';
import type { ElementProof } from './merkle';
import type { SealedEnvelope } from './envelope';

/** The purpose of use every research consent and access event carries (HL7 v3 PurposeOfUse). */
export const RESEARCH_PURPOSE = 'HRESCH' as const;

/** A code an offer asks for; without `code`, any code of the system. */
export interface ResearchCode {
  system: string;
  code?: string;
}

/**
 * Who an offer is for. A patient matches when the vault holds at least one coded element with one
 * of `codes`, whose numeric value lies in `valueRange` (when given, in `unit` when given) and whose
 * time lies in `period` (when given); and when the patient's age today lies in `ageBand`.
 */
export interface OfferCriteria {
  codes: ResearchCode[];
  valueRange?: { min?: number; max?: number; unit?: string };
  /** Whole years, both bounds inclusive. */
  ageBand?: { min?: number; max?: number };
  period?: ConsentPeriod;
}

/** Demographics an offer may want, each in its Safe Harbor form (safe-harbor.ts). */
export const WANTED_DEMOGRAPHICS = ['age', 'gender', 'postalCode3'] as const;
export type WantedDemographic = (typeof WANTED_DEMOGRAPHICS)[number];

/** What a participant shares: coded elements with these codes, and these demographics. */
export interface WantedElements {
  codes: ResearchCode[];
  demographics: WantedDemographic[];
}

/** How dates leave the device: cut to the year (Safe Harbor), or shifted by a per-patient-per-study offset. */
export const DATE_RULES = ['year', 'shift'] as const;
export type DateRule = (typeof DATE_RULES)[number];

/** What a researcher posts (Research.PostOffer). */
export interface OfferTerms {
  /** Chosen by the researcher (a record id). */
  offerId: string;
  /** Study title: at most 200 characters of plain text. */
  title: string;
  criteria: OfferCriteria;
  wanted: WantedElements;
  dates: DateRule;
  /** Whole credits paid to each participant on delivery; > 0. */
  creditsPerParticipant: number;
  /** Participants wanted, 1..10,000. creditsPerParticipant × quota is taken from the institute's account. */
  quota: number;
  /** ISO 8601 instant; after it no one may accept or deliver. */
  expiresAt: string;
  /** MSP of the hospital whose gateway collects the sealed extracts for the researcher. */
  collectVia: string;
  /** PEM (SPKI) X25519 public key the extracts are sealed to; its private key stays with the researcher. */
  encryptionPublicKey: string;
}

export const OFFER_STATUSES = ['open', 'withdrawn'] as const;
export type OfferStatus = (typeof OFFER_STATUSES)[number];

export interface ResearchOfferRecord extends OfferTerms {
  docType: 'research-offer';
  purpose: typeof RESEARCH_PURPOSE;
  /** The posting researcher, from its certificate. */
  institute: IdentityRef;
  status: OfferStatus;
  /** Participations accepted so far (each holds a place in the quota). */
  accepted: number;
  delivered: number;
  /** Credits still held for this offer (funded, not yet paid or refunded). */
  escrow: number;
  postedAt: string;
  updatedAt: string;
}

export const PARTICIPATION_STATUSES = ['accepted', 'delivered'] as const;
export type ParticipationStatus = (typeof PARTICIPATION_STATUSES)[number];

export interface ParticipationRecord {
  docType: 'research-participation';
  /** Chosen by the agent at random per study: never derived from the pseudonym. */
  participationId: string;
  offerId: string;
  /** Only in the patient's own reads: the chaincode strips it for everyone else. */
  pseudonym?: string;
  consentId: string;
  /** Ed25519 or P-256 SPKI DER (base64) of the per-participation key that signs the extract. */
  studyKey: string;
  status: ParticipationStatus;
  /** Merkle roots of the patient's deliveries the extract's unchanged elements prove against. */
  roots: string[];
  /** SHA-256 hex of the extract's plaintext (ResearchExtract, canonical JSON; it holds a random nonce). */
  extractHash?: string;
  elementCount?: number;
  /** Credits paid to the patient (0 until delivered). */
  credits: number;
  acceptedAt: string;
  deliveredAt?: string;
}

/** Credit accounts: `pt…` pseudonym for a patient, the identity key (`id…`) for an institute's researcher. */
export const CREDIT_ACCOUNT_KINDS = ['patient', 'institute'] as const;
export type CreditAccountKind = (typeof CREDIT_ACCOUNT_KINDS)[number];

export interface CreditAccountRecord {
  docType: 'credit-account';
  accountId: string;
  kind: CreditAccountKind;
  /** MSP of the owner (PatientsMSP for patients); an admin of this MSP may fund an institute account. */
  mspId: string;
  balance: number;
  createdAt: string;
  updatedAt: string;
}

export const CREDIT_ENTRY_KINDS = ['fund', 'escrow', 'refund', 'payment'] as const;
export type CreditEntryKind = (typeof CREDIT_ENTRY_KINDS)[number];

/** One line of an account's statement. Amounts are signed whole credits. */
export interface CreditEntryRecord {
  docType: 'credit-entry';
  accountId: string;
  entryId: string;
  kind: CreditEntryKind;
  amount: number;
  balanceAfter: number;
  offerId?: string;
  participationId?: string;
  recordedAt: string;
  txId: string;
}

/** What a researcher may declare it did with research data; each use lands on every participant's access log. */
export const RESEARCH_USES = ['export', 'analysis', 'publication', 'sharing', 'archival'] as const;
export type ResearchUse = (typeof RESEARCH_USES)[number];

/** A de-identified extract a hospital produced from its standardized DB (Research.RecordExtract). */
export interface InstitutionalExtractRecord {
  docType: 'research-extract';
  extractId: string;
  /** The approved request it answers (the hospital's reference, a record id). */
  requestId: string;
  /** MSP of the producing hospital, from the caller. */
  hospital: string;
  /** Identity key of the researcher it is for: the only one, besides the hospital, who may declare uses. */
  researcher: string;
  /** SHA-256 hex of the extract file. */
  extractHash: string;
  /** The smallest equivalence class over the quasi-identifiers (≥ 5). */
  k: number;
  quasiIdentifiers: string[];
  rowCount: number;
  patientCount: number;
  recordedAt: string;
  txId: string;
}

/**
 * What a hospital submits to Research.RecordExtract (its first argument, as JSON); the patients in
 * the extract travel beside it (the second argument) and are kept apart from the record.
 */
export interface InstitutionalExtractSubmission {
  extractId: string;
  requestId: string;
  /** Identity key of the researcher the extract is for. */
  researcher: string;
  /** SHA-256 hex of the extract file (extract.csv). */
  extractHash: string;
  /** The smallest equivalence class over `quasiIdentifiers`, in patients (≥ 5). */
  k: number;
  quasiIdentifiers: string[];
  rowCount: number;
}

/** Chaincode events of the research flow; payloads hold ids and counts only, never a pseudonym. */
export const RESEARCH_EVENTS = [
  'OfferPosted',
  'OfferWithdrawn',
  'OfferAccepted',
  'ExtractDelivered',
  'CreditsFunded',
  'InstitutionalExtractRecorded',
  'ResearchUseDeclared',
] as const;
export type ResearchEventName = (typeof RESEARCH_EVENTS)[number];

export interface ResearchEventPayload {
  /** offerId or extractId. */
  subject: string;
  participationId?: string;
  useId?: string;
  count?: number;
  credits?: number;
}

// ---------------------------------------------------------------------------------------------
// The extract an agent seals to the researcher (never on the ledger; its hash is).

/** A field de-identification changed, and how. */
export interface ElementChange {
  /** `display`: a coding's display that did not read as a code label (removed as possible free text). */
  field: 'time' | 'value' | 'display';
  rule: 'year' | 'shift' | 'removed';
}

/** An element shared as committed: the researcher recomputes its leaf and proves it to `root`. */
export interface UnchangedExtractElement {
  status: 'unchanged';
  element: DataElement;
  salt: string;
  proof: ElementProof;
  /** One of the participation's `roots`. */
  root: string;
}

/** An element de-identification had to change: no proof (it could not verify), and what changed. */
export interface ChangedExtractElement {
  status: 'changed';
  /** The element after de-identification: no `id`-linked salt, `time` cut or shifted, no `resource`. */
  element: Omit<DataElement, 'id' | 'resource'>;
  changes: ElementChange[];
}

export type ExtractElement = UnchangedExtractElement | ChangedExtractElement;

/** Safe Harbor forms: age in years, 90 and over grouped as '90+'; postal code cut to 3 digits ('000' where restricted). */
export interface ExtractDemographics {
  age?: number | '90+';
  gender?: string;
  postalCode3?: string;
}

export interface ResearchExtract {
  version: 1;
  offerId: string;
  participationId: string;
  /** 128-bit random hex: salts the extract's hash on the ledger. */
  nonce: string;
  dates: DateRule;
  demographics: ExtractDemographics;
  elements: ExtractElement[];
}

/** The envelope's AAD `purpose` for a research extract. */
export const RESEARCH_EXTRACT_PURPOSE = 'phr-ledger/research-extract/v1';

/** The largest `POST /research/extracts` body a gateway takes: `{offerId, participationId, envelope}`. */
export const MAX_RESEARCH_EXTRACT_POST_BYTES = 2 * 1024 * 1024;

/** What a patient's agent posts to the collecting gateway (`POST /research/extracts`). */
export interface ResearchExtractPost {
  offerId: string;
  participationId: string;
  envelope: SealedEnvelope;
}

/** What the offer's researcher fetches (`GET /research/offers/{offerId}/extracts`). */
export interface ResearchExtractList {
  extracts: { participationId: string; envelope: SealedEnvelope; receivedAt: string }[];
  /** Extracts still waiting beyond this answer: acknowledge (DELETE) these and fetch again. */
  more: boolean;
  /** Opaque cursor past this page: pass it back as `?after=` to skip extracts left unacknowledged. */
  next?: string;
}
