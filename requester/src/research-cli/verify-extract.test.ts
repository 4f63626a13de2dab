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
    const v = verifyExtract(envelope, participation({ extractHash: hash }), sealing.privateKeyPem);
    expect(v).toMatchObject({
      unchanged: 1,
      changed: [{ index: 1, changes: [{ field: 'time', rule: 'year' }] }],
      roots: [tree.root],
    });
  });

  it('refuses an envelope not signed by the study key on the ledger', async () => {
    const someoneElse = await makeCa('someone-else');
    const { envelope, hash } = sealed(extract(), someoneElse);
    expect(codeOf(() => verifyExtract(envelope, participation({ extractHash: hash }), sealing.privateKeyPem))).toBe(
      'SIGNER_MISMATCH',
    );
  });

  it('refuses an envelope sealed for another participation', () => {
    const { envelope, hash } = sealed(extract(), signer, { participationId: 'part-other-0001' });
    expect(codeOf(() => verifyExtract(envelope, participation({ extractHash: hash }), sealing.privateKeyPem))).toBe(
      'ENVELOPE_INVALID',
    );
  });

  it('waits for a participation not delivered yet, and refuses another extract than the one paid for', () => {
    const { envelope } = sealed(extract());
    expect(codeOf(() => verifyExtract(envelope, participation({ status: 'accepted' }), sealing.privateKeyPem))).toBe(
      'NOT_DELIVERED',
    );
    expect(
      codeOf(() => verifyExtract(envelope, participation({ extractHash: 'ab'.repeat(32) }), sealing.privateKeyPem)),
    ).toBe('HASH_MISMATCH');
  });

  it('refuses an unchanged element that was edited, or that names a root the participation lacks', () => {
    const edited = extract();
    const first = edited.elements[0] as Extract<(typeof edited.elements)[number], { status: 'unchanged' }>;
    edited.elements[0] = { ...first, element: { ...marital, code: 'S' } };
    const a = sealed(edited);
    expect(codeOf(() => verifyExtract(a.envelope, participation({ extractHash: a.hash }), sealing.privateKeyPem))).toBe(
      'PROOF_INVALID',
    );
    const b = sealed(extract());
    expect(
      codeOf(() =>
        verifyExtract(
          b.envelope,
          participation({ extractHash: b.hash, roots: ['cd'.repeat(32)] }),
          sealing.privateKeyPem,
        ),
      ),
    ).toBe('ROOT_UNKNOWN');
  });
});

describe('buildDataset', () => {
  it('writes a CSV and a FHIR Bundle the Safe Harbor check finds nothing in', () => {
    const { envelope, hash } = sealed(extract());
    const v = verifyExtract(envelope, participation({ extractHash: hash }), sealing.privateKeyPem);
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
});
