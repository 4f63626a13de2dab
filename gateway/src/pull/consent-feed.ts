import { setTimeout as sleep } from 'node:timers/promises';
import type { ConsentRecord } from '@phr/common';
import type { Logger } from '../logger';
import type { ConsentCache } from './consent-cache';

/** Consent changes in commit order, each as the record now stands. */
export interface ConsentEventStream extends AsyncIterable<ConsentRecord> {
  close(): void;
}

/**
 * Where consent changes come from. The stream `openConsentEvents` resolves to must report every
 * change that a ledger read begun after it resolved could miss.
 */
export interface ConsentEventSource {
  openConsentEvents(): Promise<ConsentEventStream>;
}

export function isConsentEventSource(value: unknown): value is ConsentEventSource {
  return typeof (value as Partial<ConsentEventSource> | null)?.openConsentEvents === 'function';
}

export type ConsentFeedState = 'connecting' | 'live' | 'stopped';

export interface ConsentFeedOptions {
  retryMinMs: number;
  retryMaxMs: number;
}

/**
 * Keeps a `ConsentCache` current: applies every consent event, and tells the cache when the
 * stream is live and when it is lost. Reconnects with backoff for as long as it runs.
 */
export class ConsentFeed {
  private stream: ConsentEventStream | undefined;
  private readonly stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private current: ConsentFeedState = 'connecting';
  private readonly live = new Set<() => void>();

  constructor(
    private readonly source: ConsentEventSource,
    readonly cache: ConsentCache,
    private readonly log: Logger,
    private readonly o: ConsentFeedOptions = { retryMinMs: 250, retryMaxMs: 30_000 },
  ) {}

  get state(): ConsentFeedState {
    return this.current;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Resolves once the feed is live (tests and start-up checks). */
  whenLive(): Promise<void> {
    if (this.current === 'live') return Promise.resolve();
    return new Promise((resolve) => this.live.add(resolve));
  }

  async stop(): Promise<void> {
    this.current = 'stopped';
    this.stopping.abort();
    this.stream?.close();
    await this.loop;
  }

  private async run(): Promise<void> {
    let delay = this.o.retryMinMs;
    while (!this.stopping.signal.aborted) {
      let openedAt = 0;
      try {
        const stream = await this.source.openConsentEvents();
        if (this.stopping.signal.aborted) {
          stream.close();
          break;
        }
        this.stream = stream;
        openedAt = Date.now();
        this.cache.markLive();
        this.current = 'live';
        for (const resolve of this.live) resolve();
        this.live.clear();
        this.log.info('consent feed live: consent decisions are made from the cache');
        for await (const consent of stream) this.cache.apply(consent);
        if (this.stopping.signal.aborted) break;
        throw new Error('the ledger ended the consent event stream');
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        // A stream that held for a while earns a quick reconnect; one that keeps breaking backs off.
        if (openedAt > 0 && Date.now() - openedAt > this.o.retryMaxMs) delay = this.o.retryMinMs;
        this.cache.markLost();
        this.current = 'connecting';
        this.log.warn(
          { err: err instanceof Error ? err.message : String(err), retryInMs: delay },
          'consent feed lost: consent decisions read the ledger until it is back',
        );
      } finally {
        this.stream = undefined;
      }
      try {
        await sleep(delay, undefined, { signal: this.stopping.signal });
      } catch {
        break;
      }
      delay = Math.min(delay * 2, this.o.retryMaxMs);
    }
    this.cache.markLost();
  }
}
