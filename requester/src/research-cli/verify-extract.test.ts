import { createHash, createPublicKey } from 'node:crypto';
import {
  canonicalJson,
  DeliveryTree,
  elementLeafHash,
  generateEncryptionKeyPair,
  newSalt,
  RESEARCH_EXTRACT_PURPOSE,
  seal,
  type DataElement,
  type EnvelopeSigner,
  type OfferTerms,
  type ParticipationRecord,
  type ResearchExtract,
} from '@phr/common';
import { makeCa } from '@phr/test-support';
import { checkSafeHarbor } from '@phr/common';
import { buildDataset } from './dataset';
import { ExtractVerificationError } from './research-errors';
import { verifyExtract } from './verify-extract';

const OFFER = 'offer-unit-0001';
const PART = 'part-unit-0001';
const sealing = generateEncryptionKeyPair('X25519');
const TERMS: Pick<OfferTerms, 'offerId' | 'wanted' | 'dates'> = {
  offerId: OFFER,
  dates: 'year',
  wanted: {
    codes: [
      { system: 'http://loinc.org', code: '4548-4' },
      { system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus' },
    ],
    demographics: ['age', 'gender', 'postalCode3'],
  },
};
const marital: DataElement = {
  id: 'seg-1.1',
  kind: 'coded',
  resourceType: 'Patient',
  path: 'Patient.maritalStatus.coding[0]',
  system: 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus',
  code: 'M',
  display: 'Married',
};
const hba1c: DataElement = {
  id: 'seg-2.1',
  kind: 'coded',
  resourceType: 'Observation',
  path: 'Observation.code.coding[0]',
  system: 'http://loinc.org',
  code: '4548-4',
  value: 6.1,
  unit: '%',
  time: '2019-03-14T09:30:00Z',
};
const salts = [newSalt(), newSalt()];
const tree = new DeliveryTree([[elementLeafHash(marital, salts[0]!)], [elementLeafHash(hba1c, salts[1]!)]]);

let signer: EnvelopeSigner;
let studyKey: string;
beforeAll(async () => {
  signer = await makeCa('study-unit');
  studyKey = createPublicKey(signer.privateKeyPem).export({ type: 'spki', format: 'der' }).toString('base64');
});

function extract(overrides: Partial<ResearchExtract> = {}): ResearchExtract {
  const rest: Omit<DataElement, 'id' | 'resource'> = { ...hba1c };
  delete (rest as Partial<DataElement>).id;
  return {
    version: 1,
    offerId: OFFER,
    participationId: PART,
    nonce: '00112233445566778899aabbccddeeff',
    dates: 'year',
    demographics: { age: 54, gender: 'female', postalCode3: '021' },
    elements: [
      { status: 'unchanged', element: marital, salt: salts[0]!, proof: tree.proof(0, 0), root: tree.root },
      { status: 'changed', element: { ...rest, time: '2019' }, changes: [{ field: 'time', rule: 'year' }] },
    ],
    ...overrides,
  };
}

function sealed(x: ResearchExtract, by: EnvelopeSigner = signer, aad: Record<string, string> = {}) {
  const plaintext = Buffer.from(canonicalJson(x), 'utf8');
  const envelope = seal(
    plaintext,
    { algorithm: 'X25519', publicKey: sealing.publicKeyPem },
    { purpose: RESEARCH_EXTRACT_PURPOSE, offerId: OFFER, participationId: PART, ...aad },
    by,
  );
  return { envelope, hash: createHash('sha256').update(plaintext).digest('hex') };
}

function participation(overrides: Partial<ParticipationRecord> = {}): ParticipationRecord {
  return {
    docType: 'research-participation',
    participationId: PART,
    offerId: OFFER,
    consentId: 'consent-unit-0001',
    studyKey,
    status: 'delivered',
    roots: [tree.root],
    credits: 10,
    acceptedAt: '2026-06-01T00:00:00.000Z',
    ...overrides,
  };
}

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ExtractVerificationError) return err.code;
    throw err;
  }
  return undefined;
}

describe('verifyExtract', () => {
  it('opens the extract, proves the unchanged element and lists the changed one', () => {
    const { envelope, hash } = sealed(extract());
    const v = verifyExtract(envelope, participation({ extractHash: hash }), TERMS, sealing.privateKeyPem);
    expect(v).toMatchObject({
      unchanged: 1,
      changed: [{ index: 1, changes: [{ field: 'time', rule: 'year' }] }],
      roots: [tree.root],
    });
  });

  it('refuses an envelope not signed by the study key on the ledger', async () => {
    const someoneElse = await makeCa('someone-else');
    const { envelope, hash } = sealed(extract(), someoneElse);
    expect(
      codeOf(() => verifyExtract(envelope, participation({ extractHash: hash }), TERMS, sealing.privateKeyPem)),
    ).toBe('SIGNER_MISMATCH');
  });

  it('refuses an envelope sealed for another participation', () => {
    const { envelope, hash } = sealed(extract(), signer, { participationId: 'part-other-0001' });
    expect(
      codeOf(() => verifyExtract(envelope, participation({ extractHash: hash }), TERMS, sealing.privateKeyPem)),
    ).toBe('ENVELOPE_INVALID');
  });

  it('waits for a participation not delivered yet, and refuses another extract than the one paid for', () => {
    const { envelope } = sealed(extract());
    expect(
      codeOf(() => verifyExtract(envelope, participation({ status: 'accepted' }), TERMS, sealing.privateKeyPem)),
    ).toBe('NOT_DELIVERED');
    expect(
      codeOf(() =>
        verifyExtract(envelope, participation({ extractHash: 'ab'.repeat(32) }), TERMS, sealing.privateKeyPem),
      ),
    ).toBe('HASH_MISMATCH');
  });

  it('refuses an unchanged element that was edited, or that names a root the participation lacks', () => {
    const edited = extract();
    const first = edited.elements[0] as Extract<(typeof edited.elements)[number], { status: 'unchanged' }>;
    edited.elements[0] = { ...first, element: { ...marital, code: 'S' } };
    const a = sealed(edited);
    expect(
      codeOf(() => verifyExtract(a.envelope, participation({ extractHash: a.hash }), TERMS, sealing.privateKeyPem)),
    ).toBe('PROOF_INVALID');
    const b = sealed(extract());
    expect(
      codeOf(() =>
        verifyExtract(
          b.envelope,
          participation({ extractHash: b.hash, roots: ['cd'.repeat(32)] }),
          TERMS,
          sealing.privateKeyPem,
        ),
      ),
    ).toBe('ROOT_UNKNOWN');
  });
});

describe("verifyExtract: Safe Harbor form and the offer's terms", () => {
  const verifyOf = (x: ResearchExtract, terms = TERMS) => {
    const { envelope, hash } = sealed(x);
    return codeOf(() => verifyExtract(envelope, participation({ extractHash: hash }), terms, sealing.privateKeyPem));
  };
  const changedHba1c = (patch: Record<string, unknown>, changes: unknown = [{ field: 'time', rule: 'year' }]) => {
    const x = extract();
    const second = x.elements[1] as Extract<(typeof x.elements)[number], { status: 'changed' }>;
    x.elements[1] = { ...second, element: { ...second.element, ...patch }, changes } as typeof second;
    return x;
  };

  it.each([
    ['an age over 89', { age: 93 }],
    ['a fractional age', { age: 54.5 }],
    ['a restricted 3-digit area', { postalCode3: '036' }],
    ['a full postal code', { postalCode3: '02138' }],
    ['a gender outside FHIR administrative gender', { gender: 'F' }],
    ['a birth date', { birthDate: '1970-01-01' }],
  ])('refuses demographics with %s (MALFORMED)', (_what, demographics) => {
    expect(verifyOf(extract({ demographics: { ...extract().demographics, ...demographics } }))).toBe('MALFORMED');
  });

  it('accepts 90+ and the restricted area as 000', () => {
    expect(verifyOf(extract({ demographics: { age: '90+', postalCode3: '000', gender: 'unknown' } }))).toBeUndefined();
  });

  it.each([
    ['a full date where the offer cuts to the year', { time: '2019-03-14' }],
    ['a value that is a list', { value: [6.1] }],
    ['a resource', { resource: { resourceType: 'Patient' } }],
    ['a non-text code', { code: 4548 }],
    ['a display that is not a code label', { display: 'seen by Dr Smith 03/14/2019' }],
    ['a value that is an object', { value: { text: 'x' } }],
  ])('refuses a changed element with %s (MALFORMED)', (_what, patch) => {
    expect(verifyOf(changedHba1c(patch))).toBe('MALFORMED');
  });

  it('refuses changes that are not exactly {field, rule} of the contract', () => {
    expect(verifyOf(changedHba1c({}, [{ field: 'time', rule: 'year', note: 'x' }]))).toBe('MALFORMED');
    expect(verifyOf(changedHba1c({}, [{ field: 'name', rule: 'removed' }]))).toBe('MALFORMED');
    expect(verifyOf(changedHba1c({}, [{ field: 'time', rule: 'blurred' }]))).toBe('MALFORMED');
  });

  it('takes a shifted ISO date when the offer shifts dates, and no impossible one', () => {
    const shifted = { ...TERMS, dates: 'shift' as const };
    const x = (time: string) => ({
      ...changedHba1c({ time }, [{ field: 'time', rule: 'shift' }]),
      dates: 'shift' as const,
    });
    expect(verifyOf(x('2019-09-01T09:30:00.000Z'), shifted)).toBeUndefined();
    expect(verifyOf(x('2019-02-31'), shifted)).toBe('MALFORMED');
    expect(verifyOf(x('last spring'), shifted)).toBe('MALFORMED');
    // the extract's own rule must be the offer's
    expect(verifyOf(x('2019-09-01'))).toBe('MALFORMED');
  });

  it('refuses elements and demographics the offer did not ask for (NOT_WANTED)', () => {
    expect(verifyOf(changedHba1c({ code: '2345-7' }))).toBe('NOT_WANTED');
    const noPostal: typeof TERMS = { ...TERMS, wanted: { ...TERMS.wanted, demographics: ['age', 'gender'] } };
    expect(verifyOf(extract(), noPostal)).toBe('NOT_WANTED');
    const loincOnly = { ...TERMS, wanted: { ...TERMS.wanted, codes: [{ system: 'http://loinc.org' }] } };
    expect(verifyOf(extract(), loincOnly)).toBe('NOT_WANTED'); // the marital status element
    // a wanted code without `code` takes any code of its system
    expect(
      verifyOf(changedHba1c({ code: '2345-7' }), {
        ...TERMS,
        wanted: { ...TERMS.wanted, codes: [...TERMS.wanted.codes, { system: 'http://loinc.org' }] },
      }),
    ).toBeUndefined();
  });
});

describe('buildDataset', () => {
  it('writes a CSV and a FHIR Bundle the Safe Harbor check finds nothing in', () => {
    const { envelope, hash } = sealed(extract());
    const v = verifyExtract(envelope, participation({ extractHash: hash }), TERMS, sealing.privateKeyPem);
    const offer = { offerId: OFFER } as Parameters<typeof buildDataset>[0]['offer'];
    const d = buildDataset({
      offer,
      ledger: { channel: 'phr', chaincode: 'phr' },
      extracts: [v],
      now: new Date('2026-06-02T00:00:00Z'),
    });
    expect(d.csv.split('\r\n')[2]).toBe(
      'P001,54,female,021,Observation,http://loinc.org,4548-4,,6.1,%,2019,changed,time:year',
    );
    expect(checkSafeHarbor({ csv: d.csv, bundle: d.bundle })).toEqual([]);
    expect(JSON.stringify(d.bundle)).not.toContain(PART);
  });

  it('drops a display that is not a code label, and defuses cells a spreadsheet would run', () => {
    const { envelope, hash } = sealed(extract());
    const v = verifyExtract(envelope, participation({ extractHash: hash }), TERMS, sealing.privateKeyPem);
    // What a kept file could hold (written by an older version): the export applies the rules itself.
    const tampered: typeof v = JSON.parse(JSON.stringify(v)) as typeof v;
    const el = tampered.extract.elements[1]!.element;
    el.display = 'called Mrs Jones at 617-555-0101';
    el.unit = '=HYPERLINK("http://x","y")';
    el.value = -3.5;
    const d = buildDataset({
      offer: { offerId: OFFER } as Parameters<typeof buildDataset>[0]['offer'],
      ledger: { channel: 'phr', chaincode: 'phr' },
      extracts: [tampered],
    });
    expect(d.csv).not.toContain('Mrs Jones');
    expect(JSON.stringify(d.bundle)).not.toContain('Mrs Jones');
    expect(d.csv.split('\r\n')[1]).toContain(',Married,');
    expect(d.csv.split('\r\n')[2]).toContain(`,-3.5,"'=HYPERLINK(""http://x"",""y"")",`);
  });
});
