import {
  evaluateConsent,
  laterConsent,
  type AccessRequest,
  type ConsentEvaluation,
  type ConsentRecord,
} from '@phr/common';
import type { PullLedger } from './pull-ledger';

export interface ConsentCacheOptions {
  /** Longest a patient's consents are used without a fresh ledger read, whatever the events say. */
  maxAgeMs: number;
  /** Patients kept; the least recently used are dropped first. */
  maxPatients: number;
  /**
   * How long a change reported by an event is laid over later ledger reads. A peer reports a
   * block's events once the block is stored, and may apply it to the state a read sees a moment
   * later; within this window a read that missed the change cannot undo it.
   */
  changeMemoryMs?: number;
  /** Milliseconds since the epoch; tests move it by hand. */
  now?: () => number;
}

export interface ConsentCacheStats {
  hits: number;
  misses: number;
  changes: number;
  patients: number;
  live: boolean;
}

interface Entry {
  byId: Map<string, ConsentRecord>;
  list: ConsentRecord[];
  /** When the ledger read behind this entry started. */
  readAt: number;
}

interface RecentChanges {
  byId: Map<string, ConsentRecord>;
  lastAt: number;
}

/**
 * Each patient's consents as the ledger holds them, kept current by the Consent contract's events
 * (`ConsentFeed`), so that the consent decision of a pull costs no ledger round trip.
 *
 * It only keeps what it reads while the event feed is live: when the feed breaks, everything is
 * dropped and every decision reads the ledger until the feed is back. Every view of a consent is
 * merged with `laterConsent`, so a ledger read that lags an event can never bring back a revoked
 * consent. Staleness is bounded even if events stop silently (`maxAgeMs`), and the cache is not
 * where consent is enforced: the patient's agent re-checks it, and AccessLog.RecordAccess refuses
 * to record a successful pull that the patient's consent does not cover.
 */
export class ConsentCache {
  private readonly entries = new Map<string, Entry>();
  private readonly loading = new Map<string, Promise<ConsentRecord[]>>();
  private readonly recent = new Map<string, RecentChanges>();
  private readonly now: () => number;
  private readonly changeMemoryMs: number;
  private live = false;
  /** Bumped whenever the feed goes live or is lost: a read begun in another epoch is not kept. */
  private epoch = 0;
  private hits = 0;
  private misses = 0;
  private changes = 0;

  constructor(
    private readonly source: { listConsents(pseudonym: string): Promise<ConsentRecord[]> },
    private readonly o: ConsentCacheOptions,
  ) {
    this.now = o.now ?? Date.now;
    this.changeMemoryMs = o.changeMemoryMs ?? 60_000;
  }

  /** The feed reports every change from now on: reads begun from now on may be kept. */
  markLive(): void {
    this.live = true;
    this.epoch += 1;
  }

  /** The feed broke: a change may go unreported, so nothing kept can be trusted. */
  markLost(): void {
    this.live = false;
    this.epoch += 1;
    this.entries.clear();
  }

  /** A consent as an event reports it. */
  apply(consent: ConsentRecord): void {
    const at = this.now();
    this.changes += 1;
    this.forgetOldChanges(at);
    const recent = this.recent.get(consent.pseudonym) ?? { byId: new Map<string, ConsentRecord>(), lastAt: at };
    merge(recent.byId, consent);
    recent.lastAt = at;
    this.recent.set(consent.pseudonym, recent);
    const entry = this.entries.get(consent.pseudonym);
    if (entry) {
      merge(entry.byId, consent);
      entry.list = [...entry.byId.values()];
    }
  }

  /** Every consent the patient granted (revoked ones too), from the cache or else the ledger. */
  consents(pseudonym: string): Promise<ConsentRecord[]> | ConsentRecord[] {
    const entry = this.entries.get(pseudonym);
    if (entry && this.now() - entry.readAt < this.o.maxAgeMs) {
      this.hits += 1;
      // Map order is the eviction order: a use moves the patient to the back.
      this.entries.delete(pseudonym);
      this.entries.set(pseudonym, entry);
      return entry.list;
    }
    this.misses += 1;
    return this.read(pseudonym);
  }

  /** The same decision as Consent.EvaluateConsent on the ledger, made here. */
  async evaluate(pseudonym: string, request: AccessRequest): Promise<ConsentEvaluation> {
    const consents = await this.consents(pseudonym);
    return evaluateConsent(consents, request, new Date(this.now()).toISOString());
  }

  stats(): ConsentCacheStats {
    return {
      hits: this.hits,
      misses: this.misses,
      changes: this.changes,
      patients: this.entries.size,
      live: this.live,
    };
  }

  /** One ledger read per patient at a time; concurrent decisions share it. */
  private read(pseudonym: string): Promise<ConsentRecord[]> {
    const pending = this.loading.get(pseudonym);
    if (pending) return pending;
    const epoch = this.epoch;
    const readAt = this.now();
    const read = this.source
      .listConsents(pseudonym)
      .then((consents) => {
        const byId = new Map<string, ConsentRecord>();
        for (const c of consents) merge(byId, c);
        // Changes reported while this read was under way, or just before it on a lagging peer.
        for (const c of this.recent.get(pseudonym)?.byId.values() ?? []) merge(byId, c);
        const list = [...byId.values()];
        if (this.live && epoch === this.epoch) this.keep(pseudonym, { byId, list, readAt });
        return list;
      })
      .finally(() => this.loading.delete(pseudonym));
    this.loading.set(pseudonym, read);
    return read;
  }

  private keep(pseudonym: string, entry: Entry): void {
    this.entries.delete(pseudonym);
    this.entries.set(pseudonym, entry);
    while (this.entries.size > this.o.maxPatients) {
      const oldest = this.entries.keys().next().value;
      if (oldest === undefined) break;
      this.entries.delete(oldest);
    }
  }

  private forgetOldChanges(at: number): void {
    for (const [pseudonym, recent] of this.recent) {
      if (at - recent.lastAt >= this.changeMemoryMs) this.recent.delete(pseudonym);
    }
  }
}

function merge(byId: Map<string, ConsentRecord>, consent: ConsentRecord): void {
  const known = byId.get(consent.consentId);
  byId.set(consent.consentId, known ? laterConsent(known, consent) : consent);
}

/** The pull flow's ledger, with its consent decisions made from `cache`. */
export function withConsentCache(ledger: PullLedger, cache: ConsentCache): PullLedger {
  return {
    evaluateConsent: (pseudonym, request) => cache.evaluate(pseudonym, request),
    recordAccess: (event) => ledger.recordAccess(event),
  };
}
