import { consentResource, fhirIdOf, granteeReference, type ConsentRecord } from '@phr/common';
import { FhirValidator, hasErrors } from '../validation';

const PSEUDONYM = 'ptabcdefghijklmnopqrstuvwxyz';
const NOW = new Date('2026-06-15T00:00:00.000Z');

const base: ConsentRecord = {
  docType: 'consent',
  consentId: '6f1c2d9e-0a4b-4c1e-9d7e-2b3c4d5e6f70',
  pseudonym: PSEUDONYM,
  grantee: { kind: 'organization', id: 'Hospital2MSP' },
  scope: { categories: ['laboratory', 'vital-signs'], codes: [{ system: 'http://loinc.org', code: '4548-4' }] },
  purposes: ['ETREAT', 'TREAT'],
  period: { start: '2026-06-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' },
  status: 'active',
  grantedAt: '2026-06-01T00:00:05.000Z',
};

describe('consentResource', () => {
  let validator: FhirValidator;
  beforeAll(() => {
    validator = FhirValidator.create();
  });

  const expectValid = (resource: unknown) => {
    const issues = validator.validateResource(resource);
    expect(issues.filter((i) => i.severity === 'error' || i.severity === 'fatal')).toEqual([]);
    expect(hasErrors(issues)).toBe(false);
  };

  it('renders an active consent to an organisation as a patient-privacy opt-in', () => {
    const c = consentResource(base, { now: NOW });
    expectValid(c);
    expect(c).toMatchObject({
      resourceType: 'Consent',
      id: base.consentId,
      identifier: [{ system: 'urn:phr-ledger:consent', value: base.consentId }],
      status: 'active',
      scope: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/consentscope', code: 'patient-privacy' }] },
      category: [
        { coding: [{ system: 'http://loinc.org', code: '59284-0' }] },
        { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'INFA' }] },
      ],
      patient: { type: 'Patient', identifier: { system: 'urn:phr-ledger:pseudonym', value: PSEUDONYM } },
      dateTime: base.grantedAt,
      policyRule: { coding: [{ code: 'OPTIN' }] },
      meta: { lastUpdated: base.grantedAt },
    });
    expect(c.provision).toEqual({
      type: 'permit',
      period: base.period,
      actor: [
        {
          role: {
            coding: [
              {
                system: 'http://terminology.hl7.org/CodeSystem/v3-ParticipationType',
                code: 'IRCP',
                display: 'information recipient',
              },
            ],
          },
          reference: { type: 'Organization', identifier: { system: 'urn:phr-ledger:msp', value: 'Hospital2MSP' } },
        },
      ],
      action: [
        {
          coding: [
            { system: 'http://terminology.hl7.org/CodeSystem/consentaction', code: 'access', display: 'Access' },
          ],
        },
      ],
      purpose: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason',
          code: 'ETREAT',
          display: 'Emergency Treatment',
        },
        { system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'TREAT', display: 'treatment' },
      ],
      class: [
        { system: 'https://phr-ledger.dev/fhir/CodeSystem/data-category', code: 'laboratory' },
        { system: 'https://phr-ledger.dev/fhir/CodeSystem/data-category', code: 'vital-signs' },
      ],
      code: [{ coding: [{ system: 'http://loinc.org', code: '4548-4' }] }],
    });
  });

  it('renders a revoked consent as inactive, last updated when it was revoked', () => {
    const revoked: ConsentRecord = { ...base, status: 'revoked', revokedAt: '2026-06-10T12:00:00.000Z' };
    const c = consentResource(revoked, { now: NOW });
    expectValid(c);
    expect(c.status).toBe('inactive');
    expect(c.meta?.lastUpdated).toBe('2026-06-10T12:00:00.000Z');
    expect(c.provision?.period).toEqual(base.period);
  });

  it('renders an expired consent as inactive and a not yet started one as active', () => {
    expect(consentResource(base, { now: new Date('2027-01-01T00:00:00.000Z') }).status).toBe('inactive');
    expect(consentResource(base, { now: new Date('2026-05-01T00:00:00.000Z') }).status).toBe('active');
  });

  it('renders a consent to a single identity with categories only, and no empty arrays', () => {
    const c = consentResource(
      {
        ...base,
        grantee: { kind: 'identity', id: `id${'a'.repeat(40)}` },
        scope: { categories: ['laboratory'], codes: [] },
        purposes: ['HRESCH'],
      },
      { now: NOW },
    );
    expectValid(c);
    expect(c.provision?.actor?.[0]?.reference).toEqual({
      identifier: { system: 'urn:phr-ledger:identity', value: `id${'a'.repeat(40)}` },
    });
    expect(c.provision).not.toHaveProperty('code');
    expect(JSON.stringify(c)).not.toContain('[]');
  });

  it('renders a codes-only consent', () => {
    const c = consentResource({ ...base, scope: { categories: [], codes: base.scope.codes } }, { now: NOW });
    expectValid(c);
    expect(c.provision).not.toHaveProperty('class');
  });

  it('gives record ids that are not FHIR ids a stable id and keeps the record id as identifier', () => {
    const consentId = `consent_${'x'.repeat(70)}`;
    const c = consentResource({ ...base, consentId }, { now: NOW });
    expectValid(c);
    expect(c.id).toMatch(/^h-[0-9a-f]{62}$/);
    expect(c.id).toBe(fhirIdOf(consentId));
    expect(c.identifier?.[0]?.value).toBe(consentId);
  });

  it('names organisation, identity and study grantees', () => {
    expect(granteeReference({ kind: 'organization', id: 'Hospital1MSP' }).type).toBe('Organization');
    expect(granteeReference({ kind: 'identity', id: 'id00' }).identifier?.system).toBe('urn:phr-ledger:identity');
    expect(granteeReference({ kind: 'study', id: 'offer-hba1c-01' }).identifier).toEqual({
      system: 'urn:phr-ledger:research-offer',
      value: 'offer-hba1c-01',
    });
  });
});
