import { formatCodeRef, isCodeRef, parseCodeRef, uniqueSortedCodes } from './code-ref';

describe('parseCodeRef', () => {
  it('reads system|code, splitting at the last bar', () => {
    expect(parseCodeRef('http://loinc.org|4548-4')).toEqual({ system: 'http://loinc.org', code: '4548-4' });
    expect(parseCodeRef(' urn:oid:2.16.840.1.113883.6.96 | 44054006 ')).toEqual({
      system: 'urn:oid:2.16.840.1.113883.6.96',
      code: '44054006',
    });
    expect(parseCodeRef('http://x.org/a|b|c')).toEqual({ system: 'http://x.org/a|b', code: 'c' });
  });

  it('refuses what the chaincode would refuse', () => {
    for (const bad of [
      '4548-4',
      '|4548-4',
      'http://loinc.org|',
      'loinc|4548-4',
      'http://loinc.org|' + 'x'.repeat(65),
      'http://' + 'x'.repeat(200) + '|1',
      'http://loinc.org|45 48',
    ]) {
      expect([bad, parseCodeRef(bad)]).toEqual([bad, undefined]);
    }
    expect(parseCodeRef('http://loinc.org|' + 'x'.repeat(64))?.code).toHaveLength(64);
  });

  it('round-trips with formatCodeRef', () => {
    const ref = { system: 'http://snomed.info/sct', code: '44054006' };
    expect(parseCodeRef(formatCodeRef(ref))).toEqual(ref);
  });
});

describe('isCodeRef', () => {
  it('takes only objects with a system URI and a code', () => {
    expect(isCodeRef({ system: 'http://loinc.org', code: '4548-4' })).toBe(true);
    expect(isCodeRef({ system: 'http://loinc.org' })).toBe(false);
    expect(isCodeRef({ system: 'loinc', code: '4548-4' })).toBe(false);
    expect(isCodeRef(null)).toBe(false);
    expect(isCodeRef('http://loinc.org|4548-4')).toBe(false);
  });
});

describe('uniqueSortedCodes', () => {
  it('keeps each code once, ordered byte-wise by system|code, with only system and code', () => {
    const codes = [
      { system: 'http://snomed.info/sct', code: '44054006' },
      { system: 'http://loinc.org', code: 'b' },
      { system: 'http://loinc.org', code: 'B', category: 'laboratory' },
      { system: 'http://loinc.org', code: 'b' },
    ];
    expect(uniqueSortedCodes(codes)).toEqual([
      { system: 'http://loinc.org', code: 'B' },
      { system: 'http://loinc.org', code: 'b' },
      { system: 'http://snomed.info/sct', code: '44054006' },
    ]);
  });
});
