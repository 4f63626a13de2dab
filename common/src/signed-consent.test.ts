import { generateKeyPairSync } from 'node:crypto';
import { consentResource } from './fhir/consent';
import {
  ConsentResourceError,
  consentSigningBytes,
  consentToFhir,
  fhirToConsentGrant,
  PATIENT_SIGNATURE_EXTENSION,
  signConsent,
  verifyConsentSignature,
  type ConsentGrantPayload,
} from './signed-consent';

// A self-signed certificate is not needed to test the mapping; verification is covered with real
// certificates in chaincode/src/consent.test.ts. Here: the bytes, the key and the FHIR round trip.
const payload: ConsentGrantPayload = {
  consentId: 'consent-signed-1',
  pseudonym: 'ptaaaaaaaaaaaaaaaaaaaaaaaaaa',
  grantee: { kind: 'organization', id: 'Hospital2MSP' },
  scope: {
    categories: ['vital-signs', 'laboratory', 'laboratory'],
    codes: [
      { system: 'http://loinc.org', code: '718-7' },
      { system: 'http://loinc.org', code: '2339-0' },
      { system: 'http://loinc.org', code: '718-7' },
    ],
  },
  purposes: ['TREAT', 'HPAYMT', 'TREAT'],
  start: '2026-01-01T00:00:00Z',
  end: '2027-01-01T00:00:00Z',
};

describe('signed consent', () => {
  it('signs normalized, type-tagged bytes: order and duplicates do not matter', () => {
    const text = consentSigningBytes(payload).toString('utf8');
    expect(JSON.parse(text)).toEqual({
      type: 'phr-ledger/consent-grant/v1',
      ...payload,
      scope: {
        categories: ['laboratory', 'vital-signs'],
        codes: [
          { system: 'http://loinc.org', code: '2339-0' },
          { system: 'http://loinc.org', code: '718-7' },
        ],
      },
      purposes: ['HPAYMT', 'TREAT'],
      start: '2026-01-01T00:00:00.000Z',
      end: '2027-01-01T00:00:00.000Z',
    });
    const reordered = { ...payload, purposes: [...payload.purposes].reverse() };
    expect(consentSigningBytes(reordered)).toEqual(consentSigningBytes(payload));
  });

  it('round-trips through FHIR, rendering like the ledger projection plus the signature', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const signature = signConsent(payload, privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const resource = consentToFhir(payload, signature);
    expect(resource.extension).toEqual([{ url: PATIENT_SIGNATURE_EXTENSION, valueBase64Binary: signature }]);
    expect(resource.identifier).toEqual([{ system: 'urn:phr-ledger:consent', value: 'consent-signed-1' }]);

    const back = fhirToConsentGrant(JSON.parse(JSON.stringify(resource)));
    expect(back.signature).toBe(signature);
    expect(consentSigningBytes(back.payload)).toEqual(consentSigningBytes(payload));

    const { extension, ...unsigned } = resource;
    expect(extension).toHaveLength(1);
    const projected = consentResource(
      {
        docType: 'consent',
        ...back.payload,
        period: { start: back.payload.start, end: back.payload.end },
        status: 'active',
        grantedAt: '2026-01-01T00:00:00.000Z',
      },
      { now: new Date('2026-06-01T00:00:00Z') },
    );
    expect({ ...projected, meta: undefined, dateTime: undefined }).toEqual({
      ...unsigned,
      meta: undefined,
      dateTime: undefined,
    });
  });

  it('names the FHIRPath of what is wrong', () => {
    const resource = consentToFhir(payload, 'c2ln');
    const broken = { ...resource, provision: { ...resource.provision, actor: [] } };
    expect(() => fhirToConsentGrant(broken)).toThrow(ConsentResourceError);
    expect(() => fhirToConsentGrant(broken)).toThrow(/^Consent\.provision\.actor: exactly one grantee/);
    expect(() => fhirToConsentGrant({ ...resource, extension: undefined })).toThrow(/^Consent\.extension:/);
    expect(() => fhirToConsentGrant({ resourceType: 'Patient' })).toThrow(/^Consent: resourceType/);
  });

  it('a malformed signature or certificate verifies as false, never throws', () => {
    expect(verifyConsentSignature(payload, 'not base64!', 'not a certificate')).toBe(false);
    expect(verifyConsentSignature(payload, 'c2ln', 'not a certificate')).toBe(false);
  });
});
