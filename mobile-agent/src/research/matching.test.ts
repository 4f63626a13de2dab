import { JsonNumber, type DataElement, type OfferCriteria } from '@phr/common';
import { matchOffer, patientFacts } from './matching';

const NOW = new Date('2025-06-01T12:00:00Z');
const LOINC = 'http://loinc.org';

function hba1c(value: DataElement['value'], time = '2025-01-10T09:00:00Z'): DataElement {
  return {
    id: `seg-${String(value)}.1`,
    kind: 'coded',
    resourceType: 'Observation',
    path: 'Observation.code.coding[0]',
    system: LOINC,
    code: '4548-4',
    value,
    unit: '%',
    time,
  };
}

const adults: OfferCriteria = { codes: [{ system: LOINC, code: '4548-4' }], ageBand: { min: 18 } };

describe('matchOffer', () => {
  it('matches a coded element with the code and an adult patient', () => {
    const r = matchOffer(adults, { elements: [hba1c(6.1)], patient: { birthDate: '1970-03-02' }, now: NOW });
    expect(r).toEqual({ matches: true, matchingElements: 1, reasons: [] });
  });

  it('does not match without the code, or with it only on a resource element', () => {
    const resourceOnly: DataElement = { ...hba1c(6.1), kind: 'resource' };
    const other: DataElement = { ...hba1c(6.1), code: '2345-7' };
    const r = matchOffer(adults, { elements: [resourceOnly, other], patient: { birthDate: '1970-03-02' }, now: NOW });
    expect(r.matches).toBe(false);
    expect(r.reasons).toEqual(['no record with the codes the study looks for']);
  });

  it('takes any code of a system when the criteria name no code', () => {
    const r = matchOffer(
      { codes: [{ system: LOINC }] },
      { elements: [{ ...hba1c(6.1), code: '2345-7' }], patient: {}, now: NOW },
    );
    expect(r.matches).toBe(true);
  });

  it('keeps a child out of an adults-only study, and a patient of unknown age out of any age band', () => {
    const child = matchOffer(adults, { elements: [hba1c(6.1)], patient: { birthDate: '2010-07-01' }, now: NOW });
    expect(child.matches).toBe(false);
    expect(child.reasons).toEqual(['your age is outside the age band of the study']);
    // 18 the day before the birthday is still 17
    expect(matchOffer(adults, { elements: [hba1c(6.1)], patient: { birthDate: '2007-06-02' }, now: NOW }).matches).toBe(
      false,
    );
    expect(matchOffer(adults, { elements: [hba1c(6.1)], patient: { birthDate: '2007-06-01' }, now: NOW }).matches).toBe(
      true,
    );
    expect(matchOffer(adults, { elements: [hba1c(6.1)], patient: {}, now: NOW }).reasons).toEqual([
      'your age is not known from your records',
    ]);
  });

  it('checks the value range (exact numbers included) and its unit, and the period', () => {
    const criteria: OfferCriteria = {
      codes: [{ system: LOINC, code: '4548-4' }],
      valueRange: { min: 6.5, max: 9, unit: '%' },
      period: { start: '2025-01-01T00:00:00Z', end: '2025-02-01T00:00:00Z' },
    };
    const at = (elements: DataElement[]) => matchOffer(criteria, { elements, patient: {}, now: NOW });
    expect(at([hba1c(new JsonNumber('7.10'))]).matches).toBe(true);
    expect(at([hba1c(6.1)]).reasons).toEqual(['no result in the value range the study looks for']);
    expect(at([hba1c('high')]).matches).toBe(false);
    expect(at([{ ...hba1c(7), unit: 'mmol/mol' }]).matches).toBe(false);
    expect(at([hba1c(7, '2024-12-31T23:59:59Z')]).reasons).toEqual(['no record in the period the study looks for']);
    // the end is exclusive
    expect(at([hba1c(7, '2025-02-01T00:00:00Z')]).matches).toBe(false);
  });
});

describe('patientFacts', () => {
  it('reads birth date, gender and the home postal code of a Patient resource', () => {
    expect(
      patientFacts({
        resourceType: 'Patient',
        birthDate: '1950-01-01',
        gender: 'female',
        address: [
          { use: 'work', postalCode: '99999' },
          { use: 'home', postalCode: '02115' },
        ],
      }),
    ).toEqual({ birthDate: '1950-01-01', gender: 'female', postalCode: '02115' });
    expect(patientFacts({ resourceType: 'Observation', birthDate: '1950-01-01' })).toEqual({});
    expect(patientFacts({ resourceType: 'Patient', gender: 'Ms Smith' })).toEqual({});
  });
});
