import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ResearchState } from './research-state';
import type { VerifiedExtract } from './verify-extract';

const OFFER = 'offer-state-0001';

function verified(participationId: string): VerifiedExtract {
  return {
    offerId: OFFER,
    participationId,
    extract: {
      version: 1,
      offerId: OFFER,
      participationId,
      nonce: '00'.repeat(16),
      dates: 'year',
      demographics: { age: 40 },
      elements: [],
    },
    unchanged: 0,
    changed: [],
    roots: [],
    extractHash: 'ab'.repeat(32),
    verifiedAt: '2026-06-01T00:00:00.000Z',
  };
}

describe('ResearchState', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'research-state-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('keeps an extract under its name with no temporary file left, and reads it back', () => {
    const state = new ResearchState(dir);
    state.saveExtract(verified('part-state-0001'));
    state.saveExtract(verified('part-state-0001')); // a second run overwrites in place
    expect(readdirSync(join(dir, 'offers', OFFER, 'extracts'))).toEqual(['part-state-0001.json']);
    expect(state.hasExtract(OFFER, 'part-state-0001')).toBe(true);
    expect(state.keptExtract(OFFER, 'part-state-0002')).toBe('absent');
    expect(state.extracts(OFFER).map((x) => x.participationId)).toEqual(['part-state-0001']);
  });

  it('reports a corrupt kept file and still reads the others', () => {
    const state = new ResearchState(dir);
    state.saveExtract(verified('part-state-0001'));
    state.saveExtract(verified('part-state-0002'));
    writeFileSync(join(dir, 'offers', OFFER, 'extracts', 'part-state-0002.json'), '{"offerId":"offer-st');
    writeFileSync(join(dir, 'offers', OFFER, 'extracts', 'part-state-0003.json'), '{"offerId":"someone-else"}');
    expect(state.hasExtract(OFFER, 'part-state-0002')).toBe(false);
    expect(state.keptExtract(OFFER, 'part-state-0002')).toBe('corrupt');
    expect(state.readExtracts(OFFER)).toEqual({
      extracts: [expect.objectContaining({ participationId: 'part-state-0001' })],
      corrupt: ['part-state-0002.json', 'part-state-0003.json'],
    });
  });
});
