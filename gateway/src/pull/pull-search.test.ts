import { FhirError, newPseudonym } from '@phr/common';
import { parsePullSearch } from './pull-search';

const pseudonym = newPseudonym();
const KEY = 'MCowBQYDK2VuAyEA' + 'A'.repeat(43) + '=';
const LOINC = 'http://loinc.org';

function parse(params: Record<string, unknown>, headers: Record<string, string> = {}, resourceType = 'Observation') {
  const all: Record<string, string> = { 'x-answer-key': KEY, ...headers };
  return parsePullSearch({ resourceType, params, header: (name) => all[name] });
}

function refusal(fn: () => unknown): { status: number; message: string } {
  try {
    fn();
  } catch (err) {
    if (err instanceof FhirError) return { status: err.status, message: err.message };
    throw err;
  }
  throw new Error('accepted');
}

describe('parsePullSearch', () => {
  it('reads type, patient, codes (repeated and comma-separated, once each) and the headers', () => {
    const s = parse(
      { patient: `Patient/${pseudonym}`, code: [`${LOINC}|4548-4,${LOINC}|2339-0`, `${LOINC}|4548-4`] },
      { 'x-purpose-of-use': 'HRESCH', 'x-break-glass': 'TRUE', prefer: 'respond-async' },
    );
    expect(s).toEqual({
      pseudonym,
      query: {
        resourceTypes: ['Observation'],
        codes: [
          { system: LOINC, code: '4548-4' },
          { system: LOINC, code: '2339-0' },
        ],
        everything: false,
      },
      purpose: 'HRESCH',
      breakGlass: true,
      answerKey: { algorithm: 'X25519', publicKey: KEY },
      async: true,
    });
    expect(parse({ patient: pseudonym })).toMatchObject({ purpose: 'TREAT', breakGlass: false, async: false });
  });

  it('refuses a code the ledger would refuse, with 400 naming it', () => {
    for (const code of ['4548-4', `${LOINC}|`, `loinc|4548-4`, `${LOINC}|${'x'.repeat(65)}`]) {
      const r = refusal(() => parse({ patient: pseudonym, code }));
      expect([code, r.status, r.message]).toEqual([code, 400, `code ${code} must be system|code`]);
    }
    expect(refusal(() => parse({ patient: pseudonym, code: Array(65).fill(`${LOINC}|1`) })).message).toMatch(
      /at most 64 codes/,
    );
  });

  it('refuses unknown parameters, a missing or malformed patient, and bad headers', () => {
    expect(refusal(() => parse({ patient: pseudonym, status: 'final' })).message).toMatch(/status is not supported/);
    expect(refusal(() => parse({})).message).toMatch(/patient is required/);
    expect(refusal(() => parse({ patient: 'MRN-12345' })).message).toMatch(/must be a pseudonym/);
    expect(refusal(() => parse({ patient: [pseudonym, pseudonym] })).message).toMatch(/given once/);
    expect(refusal(() => parse({ patient: pseudonym }, { 'x-purpose-of-use': 'MARKETING' })).message).toMatch(
      /X-Purpose-Of-Use/,
    );
    expect(refusal(() => parse({ patient: pseudonym }, { 'x-break-glass': 'yes' })).message).toMatch(/X-Break-Glass/);
    expect(refusal(() => parse({ patient: pseudonym }, { 'x-answer-key': '' })).message).toMatch(/X-Answer-Key/);
    expect(refusal(() => parse({ patient: pseudonym }, {}, 'observation')).message).toMatch(/resource type/);
  });

  it('takes $everything without codes', () => {
    const s = parsePullSearch({
      everythingFor: pseudonym,
      params: {},
      header: (name) => (name === 'x-answer-key' ? KEY : undefined),
    });
    expect(s.query).toEqual({ resourceTypes: [], codes: [], everything: true });
  });
});
