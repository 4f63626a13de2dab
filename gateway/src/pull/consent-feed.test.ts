import type { ConsentRecord } from '@phr/common';
import { createLogger } from '../logger';
import { ConsentCache } from './consent-cache';
import { ConsentFeed, type ConsentEventSource, type ConsentEventStream } from './consent-feed';

const A = 'ps' + 'a'.repeat(40);
const active: ConsentRecord = {
  docType: 'consent',
  consentId: 'consent-0001',
  pseudonym: A,
  grantee: { kind: 'organization', id: 'Hospital2MSP' },
  scope: { categories: ['vital-signs'], codes: [] },
  purposes: ['TREAT'],
  period: { start: '2026-01-01T00:00:00.000Z', end: '2099-01-01T00:00:00.000Z' },
  status: 'active',
  grantedAt: '2026-02-01T00:00:00.000Z',
};
const request = { requesterOrg: 'Hospital2MSP', purpose: 'TREAT' as const, categories: ['vital-signs'], codes: [] };

/** A stream the test pushes into and breaks. */
class Stream implements ConsentEventStream {
  private readonly queue: ConsentRecord[] = [];
  private wake: (() => void) | undefined;
  private end: { error?: Error } | undefined;
  closed = false;

  push(c: ConsentRecord): void {
    this.queue.push(c);
    this.wake?.();
  }
  fail(error: Error): void {
    this.end = { error };
    this.wake?.();
  }
  close(): void {
    this.closed = true;
    this.end ??= {};
    this.wake?.();
  }
  async *[Symbol.asyncIterator](): AsyncGenerator<ConsentRecord> {
    for (;;) {
      const next = this.queue.shift();
      if (next) {
        yield next;
        continue;
      }
      if (this.end?.error) throw this.end.error;
      if (this.end) return;
      await new Promise<void>((resolve) => (this.wake = resolve));
      this.wake = undefined;
    }
  }
}

class Source implements ConsentEventSource {
  readonly opened: Stream[] = [];
  refusals = 0;
  async openConsentEvents(): Promise<ConsentEventStream> {
    if (this.refusals > 0) {
      this.refusals -= 1;
      throw new Error('UNAVAILABLE: no peer');
    }
    const s = new Stream();
    this.opened.push(s);
    return s;
  }
}

async function until(check: () => boolean, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

function setUp() {
  const source = new Source();
  let reads = 0;
  const ledgerState = new Map<string, ConsentRecord[]>([[A, [active]]]);
  const cache = new ConsentCache(
    {
      listConsents: (p) => {
        reads += 1;
        return Promise.resolve(ledgerState.get(p) ?? []);
      },
    },
    { maxAgeMs: 60_000, maxPatients: 10 },
  );
  const feed = new ConsentFeed(source, cache, createLogger('silent'), { retryMinMs: 5, retryMaxMs: 20 });
  return { source, cache, feed, reads: () => reads };
}

describe('ConsentFeed', () => {
  it('goes live, applies the stream to the cache, and stops cleanly', async () => {
    const { source, cache, feed, reads } = setUp();
    feed.start();
    await feed.whenLive();
    expect(feed.state).toBe('live');
    expect((await cache.evaluate(A, request)).decision).toBe('permit');
    source.opened[0]!.push({ ...active, status: 'revoked', revokedAt: '2026-06-01T00:00:00.000Z' });
    await until(() => cache.stats().changes === 1);
    expect((await cache.evaluate(A, request)).decision).toBe('deny');
    expect(reads()).toBe(1);
    await feed.stop();
    expect(feed.state).toBe('stopped');
    expect(source.opened[0]!.closed).toBe(true);
    expect(cache.stats().live).toBe(false);
  });

  it('when the stream breaks, drops the cache, reads the ledger meanwhile, and reconnects', async () => {
    const { source, cache, feed, reads } = setUp();
    feed.start();
    await feed.whenLive();
    await cache.evaluate(A, request);
    source.refusals = 2;
    source.opened[0]!.fail(new Error('UNAVAILABLE: stream reset'));
    await until(() => feed.state === 'connecting');
    expect(cache.stats()).toMatchObject({ live: false, patients: 0 });
    await cache.evaluate(A, request);
    await cache.evaluate(A, request);
    expect(reads()).toBe(3);
    await until(() => feed.state === 'live');
    expect(source.opened).toHaveLength(2);
    await cache.evaluate(A, request);
    await cache.evaluate(A, request);
    expect(reads()).toBe(4);
    await feed.stop();
  });

  it('treats a stream the ledger ends as lost', async () => {
    const { source, feed, cache } = setUp();
    feed.start();
    await feed.whenLive();
    source.opened[0]!.close();
    await until(() => source.opened.length === 2 && feed.state === 'live');
    expect(cache.stats().live).toBe(true);
    await feed.stop();
  });
});
