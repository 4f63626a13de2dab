import { EMPTY_GRANT_FORM, readGrantForm, validateGrantForm } from './consent-form';
import { localDateInput } from './format';

const now = new Date(2025, 2, 10, 15, 30); // 10 March 2025, 15:30 local
const day = (offset: number) => localDateInput(new Date(2025, 2, 10 + offset));

describe('grant form', () => {
  it('reads single and repeated fields from a urlencoded body', () => {
    expect(
      readGrantForm({
        granteeKind: 'organization',
        granteeId: ' H1 ',
        categories: 'laboratory',
        purposes: ['TREAT', 'HRESCH'],
      }),
    ).toEqual({ ...EMPTY_GRANT_FORM, granteeId: 'H1', categories: ['laboratory'], purposes: ['TREAT', 'HRESCH'] });
  });

  it('turns a valid form into a ConsentRequest with an inclusive last day', () => {
    const result = validateGrantForm(
      {
        granteeKind: 'organization',
        granteeId: 'Hospital1MSP',
        categories: ['vital-signs', 'laboratory', 'laboratory'],
        codes: 'http://loinc.org|4548-4\r\n\r\n http://loinc.org|4548-4 \nhttp://snomed.info/sct|44054006',
        purposes: ['TREAT'],
        start: '',
        end: day(30),
      },
      now,
    );
    expect(result).toEqual({
      ok: true,
      request: {
        grantee: { kind: 'organization', id: 'Hospital1MSP' },
        scope: {
          categories: ['laboratory', 'vital-signs'],
          codes: [
            { system: 'http://loinc.org', code: '4548-4' },
            { system: 'http://snomed.info/sct', code: '44054006' },
          ],
        },
        purposes: ['TREAT'],
        end: new Date(2025, 3, 10).toISOString(), // midnight after 9 April
      },
    });
  });

  it('starts today now (left to the agent) and a later day at its local midnight', () => {
    const base = { ...EMPTY_GRANT_FORM, granteeId: 'H1', categories: ['allergy'], purposes: ['TREAT'], end: day(5) };
    const today = validateGrantForm({ ...base, start: day(0) }, now);
    expect(today.ok && today.request.start).toBeUndefined();
    const later = validateGrantForm({ ...base, start: day(2) }, now);
    expect(later.ok && later.request.start).toBe(new Date(2025, 2, 12).toISOString());
  });

  it('refuses a study grantee: a study consent comes only from accepting a research offer', () => {
    const result = validateGrantForm(
      {
        granteeKind: 'study',
        granteeId: 'offer-0001',
        categories: ['laboratory'],
        codes: '',
        purposes: ['HRESCH'],
        start: '',
        end: day(30),
      },
      now,
    );
    expect(!result.ok && result.errors.map((e) => e.field)).toEqual(['granteeKind']);
  });

  it('names every problem once, against its field', () => {
    const result = validateGrantForm(
      {
        granteeKind: 'robot',
        granteeId: 'a b',
        categories: ['made-up'],
        codes: 'loinc 1234\nalso bad',
        purposes: ['NOPE'],
        start: day(-1),
        end: '2025-02-30',
      },
      now,
    );
    expect(result.ok).toBe(false);
    expect(!result.ok && result.errors.map((e) => [e.field, e.message])).toEqual([
      ['granteeKind', 'Choose who gets access: an organisation or one person'],
      ['granteeId', 'The ID cannot contain spaces'],
      ['codes', 'Line 1 of the codes is not a code system and code, like http://loinc.org|4548-4'],
      ['purposes', 'Choose at least one purpose'],
      ['start', 'The start date cannot be in the past'],
      ['end', 'Enter the last day as a real date'],
    ]);
  });

  it('refuses an end before the start', () => {
    const base = { ...EMPTY_GRANT_FORM, granteeId: 'H1', categories: ['allergy'], purposes: ['TREAT'] };
    const result = validateGrantForm({ ...base, start: day(5), end: day(4) }, now);
    expect(!result.ok && result.errors.map((e) => e.field)).toEqual(['end']);
    expect(validateGrantForm({ ...base, start: day(5), end: day(5) }, now).ok).toBe(true);
  });
});
