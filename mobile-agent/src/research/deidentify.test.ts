import { randomBytes } from 'node:crypto';
import {
  DeliveryTree,
  elementLeafHash,
  isCodeLabel,
  JsonNumber,
  newSalt,
  verifyElementProof,
  type DataElement,
  type OfferTerms,
  type UnchangedExtractElement,
} from '@phr/common';
import type { VaultElement } from '../vault/vault-types';
import { deidentify, demographicsOf } from './deidentify';

const NOW = new Date('2025-06-01T12:00:00Z');
const LOINC = 'http://loinc.org';
const MARITAL = 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus';

const patientResource: DataElement = {
  id: 'seg-p.0',
  kind: 'resource',
  resourceType: 'Patient',
  path: 'Patient',
  resource: { resourceType: 'Patient', name: [{ family: 'Barton' }], birthDate: '1931-02-03', gender: 'male' },
};
const marital: DataElement = {
  id: 'seg-p.1',
  kind: 'coded',
  resourceType: 'Patient',
  path: 'Patient.maritalStatus.coding[0]',
  system: MARITAL,
  code: 'M',
  display: 'Married',
};
const hba1c: DataElement = {
  id: 'seg-o.1',
  kind: 'coded',
  resourceType: 'Observation',
  path: 'Observation.code.coding[0]',
  system: LOINC,
  code: '4548-4',
  display: 'Hemoglobin A1c/Hemoglobin.total in Blood',
  value: new JsonNumber('6.10'),
  unit: '%',
  time: '2025-03-14T08:30:00Z',
};
const note: DataElement = {
  id: 'seg-o.2',
  kind: 'coded',
  resourceType: 'Observation',
  path: 'Observation.component[0].code.coding[0]',
  system: LOINC,
  code: '8251-1',
  display: 'Call Mr Barton at 617-555-0101',
  value: 'patient says he feels fine, lives at 12 Elm St',
};
const hbaResource: DataElement = {
  id: 'seg-o.0',
  kind: 'resource',
  resourceType: 'Observation',
  path: 'Observation',
  resource: { resourceType: 'Observation', id: 'source-obs-1' },
};

/** One delivery holding these segments, as the vault keeps it: salts and proofs against its root. */
function delivered(deliveryId: string, segments: DataElement[][]): { root: string; stored: VaultElement[] } {
  const salts = segments.map((s) => s.map(() => newSalt()));
  const tree = new DeliveryTree(segments.map((s, i) => s.map((e, j) => elementLeafHash(e, salts[i]?.[j] as string))));
  const stored = segments.flatMap((s, i) =>
    s.map((element, j) => ({
      deliveryId,
      segmentId: element.id.split('.')[0] as string,
      element,
      salt: salts[i]?.[j] as string,
      proof: tree.proof(i, j),
    })),
  );
  return { root: tree.root, stored };
}

function offer(over: Partial<OfferTerms> = {}): Pick<OfferTerms, 'offerId' | 'wanted' | 'dates'> {
  return {
    offerId: 'offer-0001',
    dates: 'year',
    wanted: {
      codes: [{ system: LOINC }, { system: MARITAL }],
      demographics: ['age', 'gender', 'postalCode3'],
    },
    ...over,
  };
}

const d1 = delivered('d-1', [
  [patientResource, marital],
  [hbaResource, hba1c, note],
]);
const roots = new Map([['d-1', d1.root]]);
const secret = randomBytes(32);

describe('deidentify', () => {
  it('never lets a whole-resource element leave, the Patient’s included', () => {
    const out = deidentify({ offer: offer(), elements: d1.stored, roots, patient: {}, shiftSecret: secret, now: NOW });
    expect(out.elements).toHaveLength(3);
    const text = JSON.stringify(out);
    expect(text).not.toContain('Barton');
    expect(text).not.toContain('source-obs-1');
    expect(text).not.toContain('"resource"');
  });

  it('keeps an element with nothing to change as committed, with a salt, proof and root that verify', () => {
    const out = deidentify({ offer: offer(), elements: d1.stored, roots, patient: {}, shiftSecret: secret, now: NOW });
    const unchanged = out.elements.filter((e): e is UnchangedExtractElement => e.status === 'unchanged');
    expect(unchanged.map((e) => e.element)).toEqual([marital]);
    for (const e of unchanged) {
      expect(e.root).toBe(d1.root);
      expect(verifyElementProof(e.element, e.salt, e.proof, e.root)).toBe(true);
    }
    expect(out.deliveryIds).toEqual(['d-1']);
  });

  it('cuts dates to the year and keeps numbers exactly, saying what changed', () => {
    const out = deidentify({ offer: offer(), elements: d1.stored, roots, patient: {}, shiftSecret: secret, now: NOW });
    const changed = out.elements.find((e) => e.status === 'changed' && e.element.code === '4548-4');
    expect(changed).toEqual({
      status: 'changed',
      element: {
        kind: 'coded',
        resourceType: 'Observation',
        path: 'Observation.code.coding[0]',
        system: LOINC,
        code: '4548-4',
        display: 'Hemoglobin A1c/Hemoglobin.total in Blood',
        value: new JsonNumber('6.10'),
        unit: '%',
        time: '2025',
      },
      changes: [{ field: 'time', rule: 'year' }],
    });
  });

  it('drops string values as free text, and a display that is not a code label', () => {
    const out = deidentify({ offer: offer(), elements: d1.stored, roots, patient: {}, shiftSecret: secret, now: NOW });
    const changed = out.elements.find((e) => e.element.code === '8251-1');
    expect(changed?.status).toBe('changed');
    expect(changed?.element.value).toBeUndefined();
    expect(changed?.element.display).toBeUndefined();
    expect(changed?.status === 'changed' && changed.changes).toEqual([
      { field: 'display', rule: 'removed' },
      { field: 'value', rule: 'removed' },
    ]);
    expect(JSON.stringify(out)).not.toMatch(/Elm St|617-555/);
  });

  it('shifts every date of one study by the same days, and another study by other days', () => {
    const second: DataElement = { ...hba1c, id: 'seg-q.1', time: '2025-03-24T08:30:00Z' };
    const d2 = delivered('d-2', [[{ ...hbaResource, id: 'seg-q.0' }, second]]);
    const all = [...d1.stored, ...d2.stored];
    const both = new Map([...roots, ['d-2', d2.root]]);
    const times = (offerId: string) =>
      deidentify({
        offer: offer({ offerId, dates: 'shift' }),
        elements: all,
        roots: both,
        patient: {},
        shiftSecret: secret,
        now: NOW,
      })
        .elements.filter((e) => e.element.code === '4548-4')
        .map((e) => Date.parse(e.element.time as string));
    const [a1, a2] = times('offer-0001');
    // the interval survives, the dates do not
    expect((a2 as number) - (a1 as number)).toBe(10 * 86_400_000);
    expect(a1).not.toBe(Date.parse(hba1c.time as string));
    const shiftA = (a1 as number) - Date.parse(hba1c.time as string);
    const shifts = ['offer-0002', 'offer-0003', 'offer-0004', 'offer-0005'].map(
      (id) => (times(id)[0] as number) - Date.parse(hba1c.time as string),
    );
    // different studies get unrelated shifts (four draws all equal to the first would be a 1 in 364^4 chance)
    expect(shifts.every((s) => s === shiftA)).toBe(false);
    expect(
      deidentify({
        offer: offer({ dates: 'shift' }),
        elements: all,
        roots: both,
        patient: {},
        shiftSecret: secret,
        now: NOW,
      }).elements.find((e) => e.element.code === '4548-4')?.status === 'changed',
    ).toBe(true);
  });

  it('takes only the wanted codes', () => {
    const out = deidentify({
      offer: offer({ wanted: { codes: [{ system: LOINC, code: '4548-4' }], demographics: [] } }),
      elements: d1.stored,
      roots,
      patient: {},
      shiftSecret: secret,
      now: NOW,
    });
    expect(out.elements.map((e) => e.element.code)).toEqual(['4548-4']);
    expect(out.deliveryIds).toEqual([]);
  });

  it('withholds an unchanged element whose delivery root is unknown instead of failing, and sends the rest', () => {
    const orphan: VaultElement = { ...(d1.stored[1] as VaultElement), deliveryId: 'd-gone' };
    expect(orphan.element).toBe(marital);
    const elements = [...d1.stored, orphan];
    const out = deidentify({ offer: offer(), elements, roots, patient: {}, shiftSecret: secret, now: NOW });
    // the orphan is not sent, nor is its delivery named; the element from the known delivery still is
    expect(out.withheld).toEqual([marital]);
    expect(out.elements).toHaveLength(3);
    expect(out.elements.filter((e) => e.status === 'unchanged').map((e) => e.root)).toEqual([d1.root]);
    expect(out.deliveryIds).toEqual(['d-1']);
    // with no root at all, nothing unchanged is sent and nothing throws; changed elements need no root
    const none = deidentify({ offer: offer(), elements, roots: new Map(), patient: {}, shiftSecret: secret, now: NOW });
    expect(none.elements.map((e) => e.status)).toEqual(['changed', 'changed']);
    expect(none.withheld).toEqual([marital, marital]);
    expect(none.deliveryIds).toEqual([]);
  });
});

describe('demographicsOf', () => {
  it('groups ages over 89, cuts postal codes to 3 digits (000 where restricted) and keeps only what is wanted', () => {
    const all = ['age', 'gender', 'postalCode3'] as const;
    expect(demographicsOf({ birthDate: '1931-02-03', gender: 'male', postalCode: '02115-1234' }, all, NOW)).toEqual({
      age: '90+',
      gender: 'male',
      postalCode3: '021',
    });
    expect(demographicsOf({ birthDate: '1936-06-02', postalCode: '03601' }, all, NOW)).toEqual({
      age: 88,
      postalCode3: '000',
    });
    expect(demographicsOf({ birthDate: '1935-06-01' }, all, NOW)).toEqual({ age: '90+' });
    expect(demographicsOf({ birthDate: '1980-01-01', gender: 'female', postalCode: '02115' }, ['gender'], NOW)).toEqual(
      {
        gender: 'female',
      },
    );
  });
});

describe('isCodeLabel', () => {
  it('takes code system labels, not text with dates, numbers, addresses or line breaks', () => {
    expect(isCodeLabel('Hemoglobin A1c/Hemoglobin.total in Blood')).toBe(true);
    expect(isCodeLabel('Married')).toBe(true);
    expect(isCodeLabel('seen 03/14/2025')).toBe(false);
    expect(isCodeLabel('MRN 1234567')).toBe(false);
    expect(isCodeLabel('mail me at a@b.org')).toBe(false);
    expect(isCodeLabel('line\nbreak')).toBe(false);
    expect(isCodeLabel('fax 617 555 0101')).toBe(false);
    expect(isCodeLabel('Seen by Dr Smith')).toBe(false);
  });
});
