import type { AccessRequest, ConsentRecord } from '@phr/common';
import type { AccessEventRecord } from '@phr/common';
import { ConsentCache, withConsentCache } from './consent-cache';
import type { GatewayAccessEvent, PullLedger } from './pull-ledger';

const A = 'ps' + 'a'.repeat(40);
const B = 'ps' + 'b'.repeat(40);
const T0 = Date.parse('2026-06-01T00:00:00.000Z');

function consent(id: string, pseudonym = A, extra: Partial<ConsentRecord> = {}): ConsentRecord {
  return {
    docType: 'consent',
    consentId: id,
    pseudonym,
    grantee: { kind: 'organization', id: 'Hospital2MSP' },
    scope: { categories: ['vital-signs'], codes: [] },
    purposes: ['TREAT'],
    period: { start: '2026-01-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' },
    status: 'active',
    grantedAt: '2026-02-01T00:00:00.000Z',
    ...extra,
  };
}
const revoked = (c: ConsentRecord): ConsentRecord => ({
  ...c,
  status: 'revoked',
  revokedAt: '2026-05-01T00:00:00.000Z',
});
const request: AccessRequest = {
  requesterOrg: 'Hospital2MSP',
  purpose: 'TREAT',
  categories: ['vital-signs'],
  codes: [],
};

/** The ledger's consents, with reads that can be held open to play a slow or lagging peer. */
class FakeSource {
  readonly state = new Map<string, ConsentRecord[]>();
  reads = 0;
  hold: Promise<void> | undefined;
  failing = false;

  async listConsents(pseudonym: string): Promise<ConsentRecord[]> {
    this.reads += 1;
    const snapshot = [...(this.state.get(pseudonym) ?? [])];
    if (this.hold) await this.hold;
    if (this.failing) throw new Error('UNAVAILABLE: peer down');
    return snapshot;
  }
}

function setUp(options: { maxAgeMs?: number; maxPatients?: number; changeMemoryMs?: number } = {}) {
  const source = new FakeSource();
  let now = T0;
  const cache = new ConsentCache(source, {
    maxAgeMs: options.maxAgeMs ?? 60_000,
    maxPatients: options.maxPatients ?? 100,
    ...(options.changeMemoryMs !== undefined ? { changeMemoryMs: options.changeMemoryMs } : {}),
    now: () => now,
  });
  return { source, cache, advance: (ms: number) => (now += ms) };
}

function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}

describe('ConsentCache', () => {
  it('reads a patient once while the feed is live, and decides as the ledger would', async () => {
    const { source, cache } = setUp();
    source.state.set(A, [consent('consent-0001')]);
    cache.markLive();
    for (let i = 0; i < 5; i++) expect((await cache.evaluate(A, request)).decision).toBe('permit');
    expect((await cache.evaluate(B, request)).decision).toBe('deny');
    expect(source.reads).toBe(2);
    expect(cache.stats()).toMatchObject({ hits: 4, misses: 2, patients: 2, live: true });
  });

  it('keeps nothing until the feed is live, and drops everything when it is lost', async () => {
    const { source, cache } = setUp();
    source.state.set(A, [consent('consent-0001')]);
    await cache.evaluate(A, request);
    await cache.evaluate(A, request);
    expect(source.reads).toBe(2);

    cache.markLive();
    await cache.evaluate(A, request);
    await cache.evaluate(A, request);
    expect(source.reads).toBe(3);

    cache.markLost();
    source.state.set(A, [revoked(consent('consent-0001'))]);
    expect((await cache.evaluate(A, request)).decision).toBe('deny');
    expect(source.reads).toBe(4);
    expect(cache.stats().patients).toBe(0);
  });

  it('applies a revocation from the feed at once, with no ledger read', async () => {
    const { source, cache } = setUp();
    const c = consent('consent-0001');
    source.state.set(A, [c]);
    cache.markLive();
    expect((await cache.evaluate(A, request)).decision).toBe('permit');
    cache.apply(revoked(c));
    expect((await cache.evaluate(A, request)).decision).toBe('deny');
    const granted = consent('consent-0002', A, { purposes: ['TREAT', 'HRESCH'] });
    cache.apply(granted);
    expect(await cache.evaluate(A, request)).toMatchObject({ decision: 'permit', consentIds: ['consent-0002'] });
    expect(source.reads).toBe(1);
  });

  it('does not let a read that lags the feed bring a revoked consent back', async () => {
    const { source, cache } = setUp();
    const c = consent('consent-0001');
    source.state.set(A, [c]);
    cache.markLive();
    // The event is reported before the peer's state shows it: the read still sees it active.
    cache.apply(revoked(c));
    expect((await cache.evaluate(A, request)).decision).toBe('deny');
    expect((await cache.evaluate(A, request)).decision).toBe('deny');
    expect(source.reads).toBe(1);
  });

  it('merges a change that arrives while a read is under way', async () => {
    const { source, cache } = setUp();
    const c = consent('consent-0001');
    source.state.set(A, [c]);
    cache.markLive();
    const held = gate();
    source.hold = held.promise;
    const first = cache.evaluate(A, request);
    cache.apply(revoked(c));
    held.open();
    expect((await first).decision).toBe('deny');
    source.hold = undefined;
    expect((await cache.evaluate(A, request)).decision).toBe('deny');
    expect(source.reads).toBe(1);
  });

  it('shares one read among concurrent decisions for a patient', async () => {
    const { source, cache } = setUp();
    source.state.set(A, [consent('consent-0001')]);
    cache.markLive();
    const held = gate();
    source.hold = held.promise;
    const all = Promise.all(Array.from({ length: 20 }, () => cache.evaluate(A, request)));
    held.open();
    expect((await all).every((e) => e.decision === 'permit')).toBe(true);
    expect(source.reads).toBe(1);
  });

  it('does not keep a read begun before the feed was lost or went live', async () => {
    const { source, cache } = setUp();
    source.state.set(A, [consent('consent-0001')]);
    cache.markLive();
    let held = gate();
    source.hold = held.promise;
    const during = cache.evaluate(A, request);
    cache.markLost();
    cache.markLive();
    held.open();
    await during;
    source.hold = undefined;
    await cache.evaluate(A, request);
    expect(source.reads).toBe(2);

    // and a read begun while the feed was down is not kept when it comes back
    cache.markLost();
    held = gate();
    source.hold = held.promise;
    const dark = cache.evaluate(B, request);
    cache.markLive();
    held.open();
    await dark;
    source.hold = undefined;
    await cache.evaluate(B, request);
    expect(source.reads).toBe(4);
  });

  it('reads again after maxAgeMs, events or not', async () => {
    const { source, cache, advance } = setUp({ maxAgeMs: 1_000 });
    source.state.set(A, [consent('consent-0001')]);
    cache.markLive();
    await cache.evaluate(A, request);
    advance(999);
    await cache.evaluate(A, request);
    expect(source.reads).toBe(1);
    source.state.set(A, [revoked(consent('consent-0001'))]);
    advance(1);
    expect((await cache.evaluate(A, request)).decision).toBe('deny');
    expect(source.reads).toBe(2);
  });

  it('decides expiry by the clock, with no event', async () => {
    const { source, cache, advance } = setUp({ maxAgeMs: 10 * 365 * 86_400_000 });
    const end = new Date(T0 + 5_000).toISOString();
    source.state.set(A, [consent('consent-0001', A, { period: { start: '2026-01-01T00:00:00.000Z', end } })]);
    cache.markLive();
    expect((await cache.evaluate(A, request)).decision).toBe('permit');
    advance(5_000);
    expect((await cache.evaluate(A, request)).decision).toBe('deny');
    expect(source.reads).toBe(1);
  });

  it('keeps at most maxPatients, dropping the least recently used', async () => {
    const { source, cache } = setUp({ maxPatients: 2 });
    const C = 'ps' + 'c'.repeat(40);
    cache.markLive();
    await cache.evaluate(A, request);
    await cache.evaluate(B, request);
    await cache.evaluate(A, request); // A is now the most recent
    await cache.evaluate(C, request); // drops B
    expect(cache.stats().patients).toBe(2);
    const before = source.reads;
    await cache.evaluate(A, request);
    expect(source.reads).toBe(before);
    await cache.evaluate(B, request);
    expect(source.reads).toBe(before + 1);
  });

  it('passes a failed read on and keeps nothing', async () => {
    const { source, cache } = setUp();
    cache.markLive();
    source.failing = true;
    await expect(cache.evaluate(A, request)).rejects.toThrow(/UNAVAILABLE/);
    source.failing = false;
    source.state.set(A, [consent('consent-0001')]);
    expect((await cache.evaluate(A, request)).decision).toBe('permit');
    expect(source.reads).toBe(2);
  });

  it('forgets reported changes after changeMemoryMs, on the next change', async () => {
    const { source, cache, advance } = setUp({ changeMemoryMs: 1_000, maxAgeMs: 1 });
    const c = consent('consent-0001');
    cache.markLive();
    cache.apply(c);
    // the ledger does not show it yet: the reported grant is laid over the read
    expect((await cache.evaluate(A, request)).decision).toBe('permit');
    advance(1_000);
    cache.apply(consent('consent-0009', B));
    advance(1);
    expect((await cache.evaluate(A, request)).decision).toBe('deny');
    expect(source.reads).toBe(2);
  });
});

describe('withConsentCache', () => {
  it('decides from the cache and records access on the ledger', async () => {
    const { source, cache } = setUp();
    source.state.set(A, [consent('consent-0001')]);
    cache.markLive();
    const recorded: GatewayAccessEvent[] = [];
    const ledger: PullLedger = {
      evaluateConsent: () => Promise.reject(new Error('the cache should decide')),
      recordAccess: (e) => {
        recorded.push(e);
        return Promise.resolve({ eventId: e.eventId } as AccessEventRecord);
      },
    };
    const cached = withConsentCache(ledger, cache);
    expect((await cached.evaluateConsent(A, request)).decision).toBe('permit');
    await cached.recordAccess({ eventId: 'e1' } as GatewayAccessEvent);
    expect(recorded.map((e) => e.eventId)).toEqual(['e1']);
  });
});
