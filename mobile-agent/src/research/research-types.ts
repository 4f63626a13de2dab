/** What the agent's shells (CLI, page) see of research: offers with their preview, decisions, credits. */
import type {
  CreditEntryRecord,
  DateRule,
  ElementChange,
  ExtractDemographics,
  OfferCriteria,
  WantedElements,
} from '@phr/common';
import type { ResearchShared, ResearchStage } from '../vault/vault-types';

/** One element as it would leave the device, in the words of a table row. */
export interface ResearchPreviewRow {
  /** `withheld`: wanted but not shareable (its delivery is no longer in the vault): it stays on the device. */
  status: 'unchanged' | 'changed' | 'withheld';
  resourceType: string;
  system?: string;
  code?: string;
  display?: string;
  /** The value as text (numbers exactly as recorded). */
  value?: string;
  unit?: string;
  /** As it would be sent: the year, a shifted date, or the date itself for an unchanged element. */
  time?: string;
  changes: ElementChange[];
}

export interface ResearchPreview {
  demographics: ExtractDemographics;
  elements: ResearchPreviewRow[];
}

/** An offer as the patient reads it: the terms, whether the vault matches, and exactly what would be sent. */
export interface ResearchOfferView {
  offerId: string;
  title: string;
  /** The researcher's organisation (MSP ID). */
  institute: string;
  /** The hospital whose gateway collects the extracts. */
  collectVia: string;
  creditsPerParticipant: number;
  expiresAt: string;
  dates: DateRule;
  criteria: OfferCriteria;
  wanted: WantedElements;
  /** `closed`: expired or full. */
  status: 'open' | 'withdrawn' | 'closed';
  matches: boolean;
  /** Why it does not match, in words. */
  reasons: string[];
  preview: ResearchPreview;
  decision?: 'accepted' | 'declined';
  stage?: ResearchStage;
  /** Declined after the study consent reached the ledger: a place may stay taken, nothing is sent. */
  placeKept?: boolean;
  /**
   * Accepted, its place taken, delivery interrupted and the offer not expired: accepting again
   * finishes it, whatever the offer's status (the ledger keeps the place after the quota fills or
   * the offer is withdrawn).
   */
  finishable?: true;
}

export interface ResearchAcceptResult {
  offerId: string;
  participationId: string;
  credits: number;
  elementCount: number;
  /** True when it had been delivered before this call (nothing was sent again). */
  alreadyDelivered: boolean;
}

export interface ResearchDeclineResult {
  offerId: string;
  /**
   * Declined after accepting: the study consent was on the ledger (now revoked, or revoked on the
   * next sync) and the place in the study stays accepted there; still nothing is sent.
   */
  placeKept: boolean;
}

export interface ResearchHistoryEntry {
  offerId: string;
  title: string;
  decision: 'accepted' | 'declined';
  decidedAt: string;
  /** `pending`: accepted, not delivered yet (accept again to finish). */
  status: 'declined' | 'pending' | 'delivered';
  participationId?: string;
  credits: number;
  deliveredAt?: string;
  /** What the study got: codes and counts, and which demographics. */
  shared?: ResearchShared;
}

export interface ResearchCredits {
  accountId: string;
  balance: number;
  /** Newest first. */
  entries: CreditEntryRecord[];
}

export interface ResearchStatus {
  optedOut: boolean;
}
