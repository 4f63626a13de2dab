import type { DataElement, ElementProof } from '@phr/common';

/** One verified delivery as the vault keeps it: the ledger's commitment it was checked against. */
export interface VaultDelivery {
  deliveryId: string;
  /** MSP ID of the sending hospital. */
  sender: string;
  merkleRoot: string;
  categories: string[];
  segmentCount: number;
  elementCount: number;
  /** When the hospital built it (from the payload). */
  createdAt: string;
  /** When this device stored it. */
  storedAt: string;
}

/** One element with what proves it: its salt and its Merkle path to the delivery root. */
export interface VaultElement {
  deliveryId: string;
  segmentId: string;
  element: DataElement;
  salt: string;
  proof: ElementProof;
}

/** What `records` searches by. All given criteria must hold. */
export interface RecordQuery {
  resourceType?: string;
  /** Code system URI; with `code`, or alone. */
  system?: string;
  /** With `system` (blind-index lookup), or alone (matched after decrypting the coded rows). */
  code?: string;
  /** ISO 8601; elements whose clinical time is at or after. */
  from?: string;
  /** ISO 8601; elements whose clinical time is before. */
  to?: string;
  deliveryId?: string;
  /** Only the whole-resource elements (one per segment), e.g. for export. */
  kind?: DataElement['kind'];
  limit?: number;
}

/** An element read back from disk: decrypted and parsed, or named as unreadable. */
export type VaultRead =
  { ok: true; stored: VaultElement } | { ok: false; deliveryId: string; elementId: string; error: string };

/** `recovery`: a guardian's share kept, or a request to approve a recovery (issue 15); `research`: a study delivered (issue 16). */
export const NOTIFICATION_KINDS = [
  'access',
  'delivery-stored',
  'delivery-refused',
  'consent',
  'recovery',
  'research',
] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

export interface AgentNotification {
  id: number;
  kind: NotificationKind;
  /** Readable text; never more health data than the patient's own device may show. */
  message: string;
  /** Opaque reference (event id, delivery id, consent id). */
  ref: string;
  createdAt: string;
  read: boolean;
}

/** Where an accepted study stands; each step is kept so a retry carries on from it. */
export const RESEARCH_STAGES = ['prepared', 'consented', 'accepted', 'sealed', 'posted', 'delivered'] as const;
export type ResearchStage = (typeof RESEARCH_STAGES)[number];

/** What one study got, for the patient's history: codes and counts, never values. */
export interface ResearchShared {
  codes: { system: string; code: string; display?: string; count: number }[];
  demographics: string[];
  elementCount: number;
}

/** The secrets of an accepted study, sealed in the vault. The extract and envelope go once delivered. */
export interface ResearchSecret {
  studyPrivateKeyPem: string;
  studyCertificatePem: string;
  /** Canonical JSON of the ResearchExtract: the exact bytes sealed and hashed. */
  extractJson?: string;
  /** The sealed envelope, kept so a retry sends the very same one. */
  envelopeJson?: string;
  deliveryIds: string[];
  shared: ResearchShared;
}

/** The patient's decision on one offer, as this device keeps it (never on the ledger for a decline). */
export interface ResearchDecision {
  offerId: string;
  decision: 'accepted' | 'declined';
  decidedAt: string;
  /** The study's title when decided, for the history. */
  title: string;
  participationId?: string;
  consentId?: string;
  /**
   * Where it stood when decided; a decline keeps the stage it stopped at (past `prepared`, the
   * study consent reached the ledger and a place in the quota may be held).
   */
  stage?: ResearchStage;
  /**
   * The study consent is revoked on the ledger (or never reached it): set after delivery or a
   * decline, when nothing more may flow under it. Until then revoking is retried on accept and sync.
   */
  consentRevoked?: boolean;
  /** Credits the ledger paid on delivery. */
  credits: number;
  deliveredAt?: string;
  secret?: ResearchSecret;
}

/** The two keys the vault needs, both 32 bytes, both held only in the passphrase-sealed keystore. */
export interface VaultKeys {
  /** AES-256-GCM key for element contents at rest. */
  dataKey: Buffer;
  /** HMAC-SHA256 key for the blind index on code system + code (so searches need no plaintext codes on disk). */
  indexKey: Buffer;
}

/**
 * The patient's vault (layer 1 of the PHR): every verified element with its salt and Merkle path,
 * grouped by delivery and segment. Element contents are encrypted at rest.
 */
export interface Vault {
  hasDelivery(deliveryId: string): Promise<boolean>;
  /** Stores a delivery and all its elements in one transaction; false (and no change) if it was already stored. */
  storeDelivery(delivery: VaultDelivery, elements: readonly VaultElement[]): Promise<boolean>;
  /**
   * Stores several deliveries in one transaction (a restore): all of them or none. Deliveries
   * already stored are left as they are; returns the ids of those stored now.
   */
  storeDeliveries(items: readonly { delivery: VaultDelivery; elements: readonly VaultElement[] }[]): Promise<string[]>;
  delivery(deliveryId: string): Promise<VaultDelivery | undefined>;
  /** Newest first. */
  deliveries(): Promise<VaultDelivery[]>;
  /**
   * Readable elements matching every criterion, ordered by clinical time (newest first; elements
   * without one last), then by delivery and the element's place in it (segment, element index).
   */
  search(query: RecordQuery): Promise<VaultElement[]>;
  /** Every element row (of one delivery, or all), each decrypted or named as unreadable: for `verify`. */
  readAll(deliveryId?: string): Promise<VaultRead[]>;
  /** Adds a notification unless one with the same kind and ref exists; returns it when added. */
  addNotification(kind: NotificationKind, message: string, ref: string): Promise<AgentNotification | undefined>;
  /** Newest first. */
  notifications(options?: { unreadOnly?: boolean; limit?: number }): Promise<AgentNotification[]>;
  /** All, or the given ids. */
  markNotificationsRead(ids?: readonly number[]): Promise<void>;
  /** The decision on one offer, or undefined; @throws VaultError INVALID_INPUT when its row cannot be read. */
  researchDecision(offerId: string): Promise<ResearchDecision | undefined>;
  /** Every readable decision, newest first. */
  researchDecisions(): Promise<ResearchDecision[]>;
  /** Stores or replaces the decision on its offer. */
  putResearchDecision(decision: ResearchDecision): Promise<void>;
  getMeta(key: string): Promise<string | undefined>;
  setMeta(key: string, value: string): Promise<void>;
  /** Deletes the value (its bytes overwritten in the file); false when there was none. */
  deleteMeta(key: string): Promise<boolean>;
  close(): Promise<void>;
}
