import { evaluateConsent, type AccessRequest } from './consent-evaluation';
import type { ConsentRecord } from './ledger-model';

const LOINC = 'http://loinc.org';

function consent(overrides: Partial<ConsentRecord> = {}): ConsentRecord {
  return {
    docType: 'consent',
    consentId: 'consent-0001',
    pseudonym: 'ptaaaaaaaaaaaaaaaaaaaaaaaaaa',
    grantee: { kind: 'organization', id: 'Hospital2MSP' },
    scope: { categories: ['vital-signs'], codes: [{ system: LOINC, code: '2339-0' }] },
    purposes: ['TREAT'],
    period: { start: '2026-01-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' },
    status: 'active',
    grantedAt: '2026-01-01T00:00:00.000Z',
    ...overrides,
  };
}

const request: AccessRequest = {
  requesterOrg: 'Hospital2MSP',
  purpose: 'TREAT',
  categories: ['vital-signs'],
  codes: [{ system: LOINC, code: '2339-0' }],
};
const NOW = '2026-06-01T00:00:00.000Z';

describe('evaluateConsent', () => {
  it('permits what an active consent covers', () => {
    const r = evaluateConsent([consent()], request, NOW);
    expect(r.decision).toBe('permit');
    expect(r.consentIds).toEqual(['consent-0001']);
  });

  it('denies after revocation, outside the period and at the exclusive end', () => {
    expect(evaluateConsent([consent({ status: 'revoked' })], request, NOW).decision).toBe('deny');
    expect(evaluateConsent([consent()], request, '2025-12-31T23:59:59.999Z').decision).toBe('deny');
    expect(evaluateConsent([consent()], request, '2027-01-01T00:00:00.000Z').decision).toBe('deny');
  });

  it('denies another organisation, another purpose and another identity', () => {
    expect(evaluateConsent([consent()], { ...request, requesterOrg: 'Hospital3MSP' }, NOW).decision).toBe('deny');
    expect(evaluateConsent([consent()], { ...request, purpose: 'HRESCH' }, NOW).decision).toBe('deny');
    const forOne = consent({ grantee: { kind: 'identity', id: 'id:alice' } });
    expect(evaluateConsent([forOne], { ...request, requesterId: 'id:bob' }, NOW).decision).toBe('deny');
    expect(evaluateConsent([forOne], { ...request, requesterId: 'id:alice' }, NOW).decision).toBe('permit');
  });

  it('never lets a study consent cover a pull, whoever asks and whatever the study id looks like', () => {
    const researcher = 'id' + 'ab'.repeat(20);
    const study = (id: string) =>
      consent({ consentId: 'consent-study-01', grantee: { kind: 'study', id }, purposes: ['HRESCH'] });
    const asResearcher: AccessRequest = { ...request, purpose: 'HRESCH', requesterId: researcher };
    // the researcher's identity, its organisation, and an offer id equal to either
    for (const s of [study('offer-hba1c-01'), study(researcher), study('Hospital2MSP')]) {
      const r = evaluateConsent([s], asResearcher, NOW);
      expect(r.decision).toBe('deny');
      expect(r.consentIds).toEqual([]);
    }
    // the same terms for the researcher's identity would permit: only the kind keeps it out
    const forIdentity = consent({ grantee: { kind: 'identity', id: researcher }, purposes: ['HRESCH'] });
    expect(evaluateConsent([forIdentity], asResearcher, NOW).decision).toBe('permit');
  });

  it('reports a partial grant and lists what is denied', () => {
    const r = evaluateConsent(
      [consent()],
      { ...request, categories: ['vital-signs', 'laboratory'], codes: [{ system: LOINC, code: '718-7' }] },
      NOW,
    );
    expect(r.decision).toBe('partial');
    expect(r.permitted.categories).toEqual(['vital-signs']);
    expect(r.denied.categories).toEqual(['laboratory']);
    expect(r.denied.codes).toEqual([{ system: LOINC, code: '718-7' }]);
  });

  it('lets a category consent cover codes of that category', () => {
    const r = evaluateConsent(
      [consent()],
      { ...request, categories: [], codes: [{ system: LOINC, code: '8867-4', category: 'vital-signs' }] },
      NOW,
    );
    expect(r.decision).toBe('permit');
  });

  it('denies an empty request', () => {
    expect(evaluateConsent([consent()], { ...request, categories: [], codes: [] }, NOW).decision).toBe('deny');
  });
});
