import type { AccessAction, AccessOutcome, ConsentRecord, ConsentScope, GranteeKind, PurposeOfUse } from '@phr/common';
import type { AgentNotification, RecordQuery, VaultDelivery, VaultElement } from './vault/vault-types';
import type { LastBackup } from './lifecycle/backup-meta';
import type { ErasureReport } from './lifecycle/erase';
import type { RebuildReport } from './lifecycle/rebuild';
import type { GuardianDecision } from './recovery/guardian-approval';
import type { KeptRequest, KeptShare } from './recovery/guardian-store';
import type { RecoverySetup, RecoverySetupSummary, SetupOptions } from './recovery/recovery-setup';
import type {
  ResearchAcceptResult,
  ResearchCredits,
  ResearchDeclineResult,
  ResearchHistoryEntry,
  ResearchOfferView,
  ResearchStatus,
} from './research/research-types';
import type { BackupVersion } from './transport/gateway-transport';

export type { LastBackup } from './lifecycle/backup-meta';
export type { ErasureReport, HospitalErasure } from './lifecycle/erase';
export type { RebuildReport, RebuildRow } from './lifecycle/rebuild';
export type { GuardianDecision } from './recovery/guardian-approval';
export type { KeptRequest as RecoveryRequest } from './recovery/guardian-store';
export type {
  RecoverySetup,
  RecoverySetupSummary,
  SetupOptions as RecoverySetupOptions,
} from './recovery/recovery-setup';
export type {
  ResearchAcceptResult,
  ResearchCredits,
  ResearchDeclineResult,
  ResearchHistoryEntry,
  ResearchOfferView,
  ResearchPreview,
  ResearchPreviewRow,
  ResearchStatus,
} from './research/research-types';
/** How many shares a recovery setup may make, and how few may rebuild the secret. */
export { MAX_SHARES as RECOVERY_MAX_SHARES, MIN_THRESHOLD as RECOVERY_MIN_THRESHOLD } from './recovery/shares';

/** What the patient asks to grant: everything a consent on the ledger holds except what the ledger sets. */
export interface ConsentRequest {
  grantee: { kind: GranteeKind; id: string };
  scope: ConsentScope;
  purposes: PurposeOfUse[];
  /** ISO 8601; default now. */
  start?: string;
  /** ISO 8601, exclusive. */
  end: string;
}

/** One access event as a person reads it. */
export interface AccessLogEntry {
  eventId: string;
  at: string;
  action: AccessAction;
  outcome: AccessOutcome;
  /** Who: organisation and role, e.g. "Hospital1MSP (clinician)". */
  who: string;
  /** The organisation (MSP ID) that acted. */
  organization: string;
  role: string;
  purpose?: PurposeOfUse;
  /** Readable purpose, e.g. "Treatment". */
  purposeText?: string;
  /** Readable scope ("Laboratory; LOINC 4548-4") or the references touched. */
  what: string;
  breakGlass: boolean;
  /** One sentence: "Hospital1MSP (clinician) read your Laboratory records for Treatment — allowed." */
  summary: string;
}

export interface AgentStatus {
  pseudonym: string;
  hospitals: { name: string; mspId: string }[];
  deliveries: number;
  elements: number;
  unreadNotifications: number;
}

export interface DeliveryOutcome {
  deliveryId: string;
  hospital: string;
  result: 'stored' | 'already-stored' | 'refused';
  /** For refused: the reason recorded on the ledger. */
  reason?: string;
  detail?: string;
}

export interface PullReport {
  requestId: string;
  hospital: string;
  result: 'answered' | 'declined' | 'ignored';
  elements: number;
  breakGlass: boolean;
  detail?: string;
}

export interface SyncReport {
  deliveries: DeliveryOutcome[];
  /** Data requests relayed by the gateways, answered or declined by this agent. */
  requests: PullReport[];
  /** Access events seen for the first time. */
  newAccessEvents: number;
  /** Hospitals that could not be reached; their mail waits there. */
  unreachable: string[];
  /** Open research offers that match the vault, announced for the first time (a notification each). */
  newStudies: number;
}

export interface VerifyReport {
  deliveriesChecked: number;
  elementsChecked: number;
  /** Every element that no longer matches the ledger, by id, with why. */
  mismatches: { deliveryId: string; elementId: string; reason: string }[];
}

/** Where `backup` writes: a folder (incremental), or one hospital's gateway (the first of the profile by default). */
export type BackupTarget = { to: 'folder'; dir: string } | { to: 'gateway'; hospital?: string };

export interface BackupReport {
  kind: 'folder' | 'gateway';
  /** The folder (`DIR/<pseudonym>`) or the hospital's name. */
  target: string;
  backupNumber: number;
  /** Deliveries in the backup. */
  deliveries: number;
  /** Chunks written now, and (folder only) chunks already there and kept. */
  written: number;
  reused: number;
  /** Deliveries left out because the vault could not read all of them back. */
  skipped: { deliveryId: string; reason: string }[];
  /** Deliveries moved from `complete` to `backup` on the ledger by this backup. */
  markedBackedUp: string[];
  /** The version the gateway stored. */
  version?: BackupVersion;
  /** Only on the backup that made the recovery secret: the code to write down, shown this once. */
  recoveryCode?: string;
}

export interface BackupStatus {
  /** Whether a recovery secret exists (made by the first backup or recovery setup). */
  hasRecoverySecret: boolean;
  last?: LastBackup;
  /** Folders and hospitals holding a backup of this vault. */
  folders: string[];
  gateways: string[];
}

/** The patient's own recovery setup, and what this agent guards for other patients. */
export interface RecoveryStatus {
  /** The last `recovery setup`: who holds shares and how many rebuild the secret (never a share). */
  setup?: RecoverySetupSummary;
  /** The patients whose share this agent keeps (still sealed to it), without the share. */
  shares: Omit<KeptShare, 'envelope'>[];
  /** The recovery requests that reached this agent as a guardian, newest first. */
  requests: KeptRequest[];
}

/**
 * The agent as its shells (CLI, local web page, later a phone app) see it. Every method works on
 * the unlocked agent of one home directory.
 */
export interface AgentApi {
  status(): Promise<AgentStatus>;
  /** Fetches every hospital's mailbox, verifies, stores and acknowledges; refreshes the access log. */
  sync(options?: { waitMs?: number }): Promise<SyncReport>;
  records(query: RecordQuery): Promise<VaultElement[]>;
  deliveries(): Promise<VaultDelivery[]>;
  /** A FHIR R4 collection Bundle of the matching whole resources. */
  exportBundle(query: RecordQuery): Promise<Record<string, unknown>>;
  verify(): Promise<VerifyReport>;
  consents(): Promise<ConsentRecord[]>;
  grantConsent(request: ConsentRequest): Promise<ConsentRecord>;
  revokeConsent(consentId: string): Promise<ConsentRecord>;
  /** From the ledger, newest first. */
  accessLog(): Promise<AccessLogEntry[]>;
  notifications(options?: { unreadOnly?: boolean }): Promise<AgentNotification[]>;
  markNotificationsRead(ids?: readonly number[]): Promise<void>;
  /** A one-time code that a hospital's admin uses to link its MRN to this patient. */
  linkCode(hospital: string): Promise<{ code: string; expiresAt: string }>;
  /** An encrypted backup of the vault; the covered deliveries move to `backup` on the ledger. */
  backup(target: BackupTarget): Promise<BackupReport>;
  backupStatus(): Promise<BackupStatus>;
  /** Asks the hospitals that delivered to send again what the vault lacks; a row per delivery. */
  rebuild(): Promise<RebuildReport>;
  /** Destroys the records everywhere (hospitals, ledger registration, backups, this device). The agent is unusable after. */
  erase(): Promise<ErasureReport>;
  /** Splits the recovery secret among guardians and paper codes; the paper codes come back once, never stored. */
  setupRecovery(options: SetupOptions): Promise<RecoverySetup>;
  recoveryStatus(): Promise<RecoveryStatus>;
  /** As a guardian: sends this agent's share to the device that asked; the patient's log shows it. */
  approveRecovery(requestId: string): Promise<GuardianDecision>;
  /** As a guardian: refuses a request; nothing is sent and the patient's log shows the refusal. */
  denyRecovery(requestId: string): Promise<GuardianDecision>;
  /** Open study offers matched against the vault on this device, with what would be sent; non-matching ones only with `all`. */
  researchOffers(options?: { all?: boolean }): Promise<ResearchOfferView[]>;
  /** One offer, open or not. */
  researchOffer(offerId: string): Promise<ResearchOfferView>;
  /** Consents, takes part and delivers the de-identified extract; run again to finish one that stopped. */
  acceptResearch(offerId: string): Promise<ResearchAcceptResult>;
  /**
   * Declines; nothing is sent. On this device only, unless the study consent already reached the
   * ledger: then it is revoked there and a place already taken stays accepted (`placeKept`).
   */
  declineResearch(offerId: string): Promise<ResearchDeclineResult>;
  /** The studies decided on, what each got, the credits paid; newest first. */
  researchHistory(): Promise<ResearchHistoryEntry[]>;
  researchCredits(): Promise<ResearchCredits>;
  researchStatus(): Promise<ResearchStatus>;
  /** Opts out of (true) or back into (false) research altogether, on the ledger. */
  setResearchOptOut(optedOut: boolean): Promise<ResearchStatus>;
}
