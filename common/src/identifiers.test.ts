import { isoInstant, isPseudonym, isRecordId, isSha256Hex, newPseudonym } from './identifiers';

describe('identifiers', () => {
  it('makes random, well-formed pseudonyms', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 500; i++) {
      const p = newPseudonym();
      expect(isPseudonym(p)).toBe(true);
      seen.add(p);
    }
    expect(seen.size).toBe(500);
  });

  it('rejects malformed identifiers', () => {
    expect(isPseudonym('pt' + 'a'.repeat(25))).toBe(false);
    expect(isPseudonym('PT' + 'a'.repeat(26))).toBe(false);
    expect(isPseudonym('pt' + '1'.repeat(26))).toBe(false);
    expect(isRecordId('short')).toBe(false);
    expect(isRecordId('../../etc/passwd')).toBe(false);
    expect(isRecordId('3f1c2f0e-8c1b-4d0e-9a53-0c6f1f2b8f11')).toBe(true);
    expect(isSha256Hex('A'.repeat(64))).toBe(false);
    expect(isSha256Hex('a'.repeat(64))).toBe(true);
  });
});

describe('isoInstant', () => {
  it('renders a date-time as the ledger keeps it, and refuses anything else', () => {
    expect(isoInstant('2026-01-01T00:00:00Z')).toBe('2026-01-01T00:00:00.000Z');
    expect(isoInstant('2026-01-01T01:00:00+01:00')).toBe('2026-01-01T00:00:00.000Z');
    expect(isoInstant('2026-01-01')).toBeUndefined();
    expect(isoInstant('2026-13-45T00:00:00Z')).toBeUndefined();
    expect(isoInstant('tomorrow')).toBeUndefined();
  });
});
