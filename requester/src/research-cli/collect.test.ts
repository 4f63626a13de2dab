import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ResearchExtractList, ResearchOfferRecord, SealedEnvelope } from '@phr/common';
import { collect } from './collect';
import { ResearchState } from './research-state';

const OFFER = 'offer-collect-0001';
const item = (participationId: string) => ({
  participationId,
  envelope: {} as SealedEnvelope,
  receivedAt: '2026-06-01T00:00:00.000Z',
});

/** Pages of extracts no participation on the ledger owns: each is refused and left at the gateway. */
async function run(pages: (after: string | undefined) => ResearchExtractList) {
  const dir = mkdtempSync(join(tmpdir(), 'collect-'));
  try {
    const state = new ResearchState(dir);
    state.sealingKey(OFFER);
    const asked: (string | undefined)[] = [];
    const report = await collect({
      offerId: OFFER,
      ledger: {
        readOffer: () => Promise.resolve({ offerId: OFFER } as ResearchOfferRecord),
        readParticipation: () => Promise.resolve(undefined),
      },
      gateway: {
        extracts: (_offerId: string, after?: string) => {
          asked.push(after);
          return Promise.resolve(pages(after));
        },
        acknowledge: () => Promise.resolve(),
      },
      state,
    });
    return { report, asked };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('collect paging', () => {
  it("follows the gateway's cursor past extracts left at the gateway", async () => {
    const { report, asked } = await run((after) =>
      after === undefined
        ? { extracts: [item('part-collect-0001')], more: true, next: 'c1' }
        : { extracts: [item('part-collect-0002')], more: false },
    );
    expect(asked).toEqual([undefined, 'c1']);
    expect(report.refused.map((r) => r.participationId)).toEqual(['part-collect-0001', 'part-collect-0002']);
    expect(report.unreached).toBeUndefined();
  });

  it('says the gateway holds more when its cursor comes back', async () => {
    const { report, asked } = await run(() => ({ extracts: [item('part-collect-0001')], more: true, next: 'c1' }));
    expect(asked).toEqual([undefined, 'c1']);
    expect(report.unreached).toEqual({ reason: 'no-progress', atLeast: 1 });
  });

  it('without a cursor, stops at a page that acknowledged nothing and says so', async () => {
    const { report, asked } = await run(() => ({ extracts: [item('part-collect-0001')], more: true }));
    expect(asked).toEqual([undefined]);
    expect(report.refused).toHaveLength(1);
    expect(report.unreached).toEqual({ reason: 'no-progress', atLeast: 1 });
  });
});
