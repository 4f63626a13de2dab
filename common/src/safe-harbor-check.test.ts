import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { checkSafeHarbor, knownIdentifiersFromBundle, parseCsv, type SafeHarborFinding } from './safe-harbor-check';
import { SAFE_HARBOR_IDENTIFIER_KINDS, type SafeHarborIdentifierKind } from './safe-harbor';

/** A clean de-identified dataset as the researcher's export writes it. */
function cleanBundle(extra: Record<string, unknown>[] = []): Record<string, unknown> {
  return {
    resourceType: 'Bundle',
    type: 'collection',
    timestamp: '2025-06-01T10:00:00.000Z',
    entry: [
      {
        resource: {
          resourceType: 'Patient',
          id: 'P001',
          gender: 'female',
          extension: [{ url: 'https://phr-ledger.example/fhir/StructureDefinition/age', valueInteger: 54 }],
          address: [{ postalCode: '021', state: 'MA', country: 'US' }],
        },
      },
      {
        resource: {
          resourceType: 'Observation',
          id: 'O0001',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '4548-4', display: 'Hemoglobin A1c' }] },
          subject: { reference: 'Patient/P001' },
          effectiveDateTime: '2019',
          valueQuantity: { value: 6.1, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
        },
      },
      {
        resource: {
          resourceType: 'Provenance',
          id: 'prov',
          target: [{ reference: 'Observation/O0001' }],
          recorded: '2025-06-01T10:00:00.000Z',
          agent: [{ who: { display: 'phr-research export' } }],
        },
      },
      ...extra.map((resource) => ({ resource })),
    ],
  };
}

function obs(fields: Record<string, unknown>): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    id: 'O0002',
    code: { coding: [{ system: 'http://loinc.org', code: '4548-4' }] },
    ...fields,
  };
}

const CLEAN_CSV =
  'participant,age,gender,postal_code3,system,code,value,unit,year\nP001,54,female,021,http://loinc.org,4548-4,6.1,%,2019\n';

function kinds(findings: SafeHarborFinding[]): SafeHarborIdentifierKind[] {
  return [...new Set(findings.map((f) => f.kind))].sort();
}

function noteCsv(note: string): string {
  return `participant,note\nP001,"${note.replace(/"/g, '""')}"\n`;
}

describe('checkSafeHarbor', () => {
  it('finds nothing in a clean CSV and a clean Bundle', () => {
    expect(checkSafeHarbor({ csv: CLEAN_CSV, bundle: cleanBundle() })).toEqual([]);
  });

  // One positive and one negative case per identifier kind: the positive must be found under
  // that kind, the negative (a near miss a real dataset holds) must not raise it.
  const cases: Record<
    SafeHarborIdentifierKind,
    { positive: () => SafeHarborFinding[]; negative: () => SafeHarborFinding[] }
  > = {
    name: {
      positive: () =>
        checkSafeHarbor({
          bundle: cleanBundle([{ resourceType: 'Patient', id: 'P002', name: [{ family: 'Portillo' }] }]),
        }),
      negative: () => checkSafeHarbor({ csv: noteCsv('Mr Fasting sample; Dr visit ordered') }),
    },
    'geographic-subdivision': {
      positive: () =>
        checkSafeHarbor({
          bundle: cleanBundle([
            { resourceType: 'Patient', id: 'P002', address: [{ city: 'Billerica', state: 'MA', postalCode: '01821' }] },
          ]),
        }),
      negative: () =>
        checkSafeHarbor({
          bundle: cleanBundle([{ resourceType: 'Patient', id: 'P002', address: [{ state: 'MA', postalCode: '018' }] }]),
        }),
    },
    date: {
      positive: () => checkSafeHarbor({ bundle: cleanBundle([obs({ effectiveDateTime: '2019-03-14T09:30:00Z' })]) }),
      negative: () =>
        checkSafeHarbor({
          bundle: cleanBundle([obs({ effectiveDateTime: '2019' })]),
          csv: noteCsv('years 2019-2020, code 4548-4'),
        }),
    },
    telephone: {
      positive: () => checkSafeHarbor({ csv: noteCsv('call back on (555) 467-7743') }),
      negative: () => checkSafeHarbor({ csv: noteCsv('LOINC 4548-4 value 6.1 range 4.0-5.6') }),
    },
    fax: {
      positive: () =>
        checkSafeHarbor({
          bundle: cleanBundle([
            { resourceType: 'Organization', id: 'org', telecom: [{ system: 'fax', value: '555-123-9876' }] },
          ]),
        }),
      negative: () => checkSafeHarbor({ csv: noteCsv('faxed results were normal') }),
    },
    email: {
      positive: () => checkSafeHarbor({ csv: noteCsv('contact adan.portillo@example.com') }),
      negative: () => checkSafeHarbor({ csv: noteCsv('ratio 3@4 not an address') }),
    },
    ssn: {
      positive: () => checkSafeHarbor({ csv: noteCsv('ssn 999-84-4261') }),
      negative: () => checkSafeHarbor({ csv: noteCsv('panel 999-84 and 4261 items') }),
    },
    'medical-record-number': {
      positive: () =>
        checkSafeHarbor({
          bundle: cleanBundle([
            {
              resourceType: 'Patient',
              id: 'P002',
              identifier: [
                {
                  type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
                  value: 'A1234',
                },
              ],
            },
          ]),
        }),
      negative: () => checkSafeHarbor({ csv: noteCsv('MR imaging not done') }),
    },
    'health-plan-number': {
      positive: () => checkSafeHarbor({ csv: noteCsv('Medicaid number: QX77120') }),
      negative: () => checkSafeHarbor({ csv: noteCsv('covered by Medicaid') }),
    },
    'account-number': {
      positive: () => checkSafeHarbor({ csv: noteCsv('billing account no. 88412-B') }),
      negative: () => checkSafeHarbor({ csv: noteCsv('taken into account') }),
    },
    'licence-number': {
      positive: () =>
        checkSafeHarbor({
          bundle: cleanBundle([
            {
              resourceType: 'Patient',
              id: 'P002',
              identifier: [
                { type: { coding: [{ code: 'DL' }] }, system: 'urn:oid:2.16.840.1.113883.4.3.25', value: 'S99916793' },
              ],
            },
          ]),
        }),
      negative: () => checkSafeHarbor({ csv: noteCsv('licensed nurse drew the sample') }),
    },
    'vehicle-identifier': {
      positive: () => checkSafeHarbor({ csv: noteCsv('car 1HGCM82633A004352 in the lot') }),
      negative: () => checkSafeHarbor({ csv: noteCsv('HEMOGLOBINA1CTEST done') }),
    },
    'device-identifier': {
      positive: () =>
        checkSafeHarbor({
          bundle: cleanBundle([
            { resourceType: 'Device', id: 'dev', udiCarrier: [{ deviceIdentifier: '00844588003288' }] },
          ]),
        }),
      negative: () =>
        checkSafeHarbor({ bundle: cleanBundle([{ resourceType: 'Device', id: 'dev', type: { text: 'glucometer' } }]) }),
    },
    url: {
      positive: () => checkSafeHarbor({ csv: noteCsv('see https://facebook.com/adan.portillo') }),
      negative: () =>
        checkSafeHarbor({ csv: 'system,code\nhttp://loinc.org,4548-4\nhttp://snomed.info/sct,44054006\n' }),
    },
    'ip-address': {
      positive: () =>
        checkSafeHarbor({ csv: noteCsv('uploaded from 192.168.10.24 and fe80:0:0:0:202:b3ff:fe1e:8329') }),
      negative: () => checkSafeHarbor({ csv: noteCsv('version 2.4.0, value 12.5, time 10:30:00') }),
    },
    biometric: {
      positive: () => checkSafeHarbor({ csv: noteCsv('fingerprint template on file') }),
      negative: () => checkSafeHarbor({ csv: noteCsv('finger-stick glucose') }),
    },
    photo: {
      positive: () =>
        checkSafeHarbor({
          bundle: cleanBundle([
            { resourceType: 'Patient', id: 'P002', photo: [{ contentType: 'image/jpeg', data: '/9j/4AAQSkZJRg==' }] },
          ]),
        }),
      negative: () => checkSafeHarbor({ csv: noteCsv('photosensitivity reported') }),
    },
    'other-unique-code': {
      positive: () => checkSafeHarbor({ csv: noteCsv('source 22bbe238-220e-495c-8abc-0ce3aa28a605') }),
      negative: () => checkSafeHarbor({ csv: noteCsv('participant P001, code 4548-4, value 6.1') }),
    },
  };

  it('has a case for each of the 18 kinds', () => {
    expect(Object.keys(cases).sort()).toEqual([...SAFE_HARBOR_IDENTIFIER_KINDS].sort());
    expect(SAFE_HARBOR_IDENTIFIER_KINDS).toHaveLength(18);
  });

  describe.each(SAFE_HARBOR_IDENTIFIER_KINDS.map((kind) => [kind]))('%s', (kind) => {
    it('is found', () => {
      expect(kinds(cases[kind].positive())).toContain(kind);
    });
    it('is not raised by a near miss', () => {
      expect(kinds(cases[kind].negative())).not.toContain(kind);
    });
  });

  it('keeps dataset timestamps but not a full date elsewhere in a Provenance', () => {
    const bundle = cleanBundle([
      { resourceType: 'Provenance', id: 'p2', recorded: '2025-06-01T10:00:00Z', occurredDateTime: '2025-05-01' },
    ]);
    const found = checkSafeHarbor({ bundle });
    expect(found).toEqual([
      expect.objectContaining({ kind: 'date', where: 'Bundle.entry[3].resource(Provenance).occurredDateTime' }),
    ]);
  });

  it('reports a restricted 3-digit ZIP area in a postal position; 000 and populous areas pass', () => {
    // 036 is one of the areas of 20,000 people or fewer: Safe Harbor releases it only as 000
    const csvWith = (zip: string) => `participant,postal_code3,year\nP001,${zip},2019\n`;
    expect(checkSafeHarbor({ csv: csvWith('036') })).toEqual([
      expect.objectContaining({ kind: 'geographic-subdivision', where: 'csv row 2 column "postal_code3"' }),
    ]);
    expect(kinds(checkSafeHarbor({ csv: 'participant,postalCode3\nP001,893\n' }))).toEqual(['geographic-subdivision']);
    for (const zip of ['000', '021', '*']) expect(checkSafeHarbor({ csv: csvWith(zip) })).toEqual([]);
    const patient = (postalCode: string) =>
      cleanBundle([{ resourceType: 'Patient', id: 'P002', address: [{ state: 'NH', postalCode }] }]);
    expect(checkSafeHarbor({ bundle: patient('036') })).toEqual([
      expect.objectContaining({
        kind: 'geographic-subdivision',
        where: 'Bundle.entry[3].resource(Patient).address[0].postalCode',
      }),
    ]);
    expect(checkSafeHarbor({ bundle: patient('000') })).toEqual([]);
    // a number that is not in a postal position is not a ZIP area
    expect(checkSafeHarbor({ csv: 'participant,value\nP001,036\n' })).toEqual([]);
  });

  it('reports compact dates (YYYYMMDD, with or without a time) but not other 8-digit numbers', () => {
    for (const note of ['drawn 20150314', 'ts 20150314083000', 'at 20150314T0830Z', 'file lab_20150314.pdf']) {
      expect(kinds(checkSafeHarbor({ csv: noteCsv(note) }))).toContain('date');
    }
    expect(kinds(checkSafeHarbor({ csv: 'participant,value,year\nP001,19991231,1999\n' }))).toEqual(['date']);
    expect(kinds(checkSafeHarbor({ bundle: cleanBundle([obs({ valueString: '20150314' })]) }))).toEqual(['date']);
    // no such month or day, not a calendar day, a decimal, part of a longer code, or a code value
    for (const note of ['count 20151314', 'count 20150231', 'ratio 0.20150314', 'lot A20150314', 'id 20150314-7']) {
      expect(kinds(checkSafeHarbor({ csv: noteCsv(note) }))).not.toContain('date');
    }
    expect(checkSafeHarbor({ csv: 'participant,system,code\nP001,http://snomed.info/sct,19120701\n' })).toEqual([]);
    const coded = obs({ code: { coding: [{ system: 'http://snomed.info/sct', code: '19120701' }] } });
    expect(checkSafeHarbor({ bundle: cleanBundle([coded]) })).toEqual([]);
  });

  it('reports ages over 89 as a date element, in a CSV column and an extension', () => {
    expect(kinds(checkSafeHarbor({ csv: 'participant,age\nP001,93\n' }))).toEqual(['date']);
    expect(checkSafeHarbor({ csv: 'participant,age\nP001,90+\n' })).toEqual([]);
    const bundle = cleanBundle([
      {
        resourceType: 'Patient',
        id: 'P002',
        extension: [{ url: 'https://phr-ledger.example/fhir/StructureDefinition/age', valueInteger: 95 }],
      },
    ]);
    expect(kinds(checkSafeHarbor({ bundle }))).toEqual(['date']);
  });

  it('takes only whole years 0..89 or exactly "90+" where an age belongs', () => {
    const ageCsv = (age: string) => `participant,age\nP001,${age}\n`;
    for (const ok of ['0', '7', '54', '89', '90+']) expect(checkSafeHarbor({ csv: ageCsv(ok) })).toEqual([]);
    for (const bad of ['95 years', '95', '90', '54.5', '-1', '90 +', 'ninety', '089', '54 years']) {
      expect(kinds(checkSafeHarbor({ csv: ageCsv(bad) }))).toContain('date');
    }

    const withAge = (age: Record<string, unknown>) =>
      cleanBundle([
        {
          resourceType: 'Patient',
          id: 'P002',
          extension: [{ url: 'https://phr-ledger.example/fhir/StructureDefinition/age', ...age }],
        },
      ]);
    for (const ok of [{ valueInteger: 0 }, { valueInteger: 89 }, { valueString: '90+' }]) {
      expect(checkSafeHarbor({ bundle: withAge(ok) })).toEqual([]);
    }
    for (const bad of [
      { valueString: '95 years' },
      { valueString: '95' },
      { valueString: '54' },
      { valueInteger: 90 },
      { valueDecimal: 54.5 },
      { valueInteger: -1 },
    ]) {
      expect(kinds(checkSafeHarbor({ bundle: withAge(bad) }))).toContain('date');
    }

    // An Observation coded as an age (LOINC 30525-0).
    const ageObservation = (value: Record<string, unknown>) =>
      cleanBundle([
        {
          resourceType: 'Observation',
          id: 'O0002',
          status: 'final',
          code: { coding: [{ system: 'http://loinc.org', code: '30525-0' }] },
          subject: { reference: 'Patient/P001' },
          ...value,
        },
      ]);
    expect(checkSafeHarbor({ bundle: ageObservation({ valueQuantity: { value: 54, unit: 'a' } }) })).toEqual([]);
    expect(checkSafeHarbor({ bundle: ageObservation({ valueString: '90+' }) })).toEqual([]);
    expect(kinds(checkSafeHarbor({ bundle: ageObservation({ valueQuantity: { value: 95, unit: 'a' } }) }))).toContain(
      'date',
    );
    expect(kinds(checkSafeHarbor({ bundle: ageObservation({ valueString: '95 years' }) }))).toContain('date');
    // Other Observations' strings and numbers are not ages.
    expect(checkSafeHarbor({ bundle: cleanBundle([obs({ valueString: '95' })]) })).toEqual([]);
  });

  it('finds known values of the source records anywhere, masked', () => {
    const csv = noteCsv('seen with PORTILLO at Kreiger Rest; ref A1234-77');
    const found = checkSafeHarbor({
      csv,
      known: { names: ['Adán Portillo'], addresses: ['Kreiger Rest'], mrns: ['A1234-77'] },
    });
    expect(kinds(found)).toEqual(['geographic-subdivision', 'medical-record-number', 'name']);
    for (const f of found) {
      expect(f.where).toBe('csv row 2 column "note"');
      expect(f.sample).toMatch(/^\S\*+$/);
    }
    expect(checkSafeHarbor({ csv: CLEAN_CSV, known: { names: ['Adán Portillo'], mrns: ['A1234-77'] } })).toEqual([]);
  });

  it('never puts the value itself in a finding', () => {
    const found = checkSafeHarbor({ csv: noteCsv('ssn 999-84-4261') });
    expect(JSON.stringify(found)).not.toContain('999-84-4261');
  });
});

describe('parseCsv', () => {
  it('reads quoted fields with commas, quotes and line breaks', () => {
    expect(parseCsv('a,b\r\n"x, ""y""","line1\nline2"\n')).toEqual([
      ['a', 'b'],
      ['x, "y"', 'line1\nline2'],
    ]);
  });
});

describe('on real Synthea bundles', () => {
  const dir = join(__dirname, '..', '..', 'fixtures', 'synthea-r4');
  const file = readdirSync(dir).find((f) => f.startsWith('Adan_Portillo_')) as string;
  const bundle = JSON.parse(readFileSync(join(dir, file), 'utf8')) as Record<string, unknown>;

  it('finds the identifiers a raw record is full of', () => {
    const found = kinds(checkSafeHarbor({ bundle }));
    for (const kind of [
      'name',
      'geographic-subdivision',
      'date',
      'telephone',
      'ssn',
      'medical-record-number',
      'licence-number',
      'url',
      'other-unique-code',
    ] as const) {
      expect(found).toContain(kind);
    }
  });

  it('derives the known identifiers of a bundle, and finds them in text with no structure around it', () => {
    const known = knownIdentifiersFromBundle(bundle);
    expect(known.names).toEqual(expect.arrayContaining(['Portillo', 'Adán']));
    expect(known.ssns).toEqual(['999-84-4261']);
    expect(known.phones).toEqual(['555-467-7743']);
    expect(known.birthDates).toEqual(['1937-02-13']);
    expect(known.addresses).toEqual(expect.arrayContaining(['411 Kreiger Rest Apt 37', 'Billerica', '01821']));
    expect(known.mrns).toEqual(['22bbe238-220e-495c-8abc-0ce3aa28a605']);
    expect(known.licenceNumbers).toEqual(expect.arrayContaining(['S99916793']));
    const csv = noteCsv('adan portillo of billerica, 5554677743, S99916793');
    // The bare 10-digit phone is also a long digit run: reported as another unique code as well.
    expect(kinds(checkSafeHarbor({ csv, known }))).toEqual([
      'geographic-subdivision',
      'licence-number',
      'name',
      'other-unique-code',
      'telephone',
    ]);
    expect(checkSafeHarbor({ csv: CLEAN_CSV, bundle: cleanBundle(), known })).toEqual([]);
  });
});
