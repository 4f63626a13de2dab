import type { ConsentRecord } from '@phr/common';
import { formatConsents } from '../cli/format';
import { granteeText } from '../ui/format';
import { parseConsentRequest } from './consent-request';
import { isPullGrantee, studyGranteeText } from './study-grantee';

const study: ConsentRecord = {
  docType: 'consent',
  consentId: 'c-study-1',
  pseudonym: 'p1',
  grantee: { kind: 'study', id: 'offer-0001' },
  scope: { categories: [], codes: [{ system: 'http://loinc.org', code: '4548-4' }] },
  purposes: ['HRESCH'],
  period: { start: '2025-01-01T00:00:00.000Z', end: '2025-02-01T00:00:00.000Z' },
  status: 'active',
  grantedAt: '2025-01-01T00:00:00.000Z',
};

describe('study consents in the agent', () => {
  it('read as the study, never as an organisation or identity, on the page and in the CLI', () => {
    const text = 'study offer-0001 (research, via the Research offer)';
    expect(studyGranteeText('offer-0001')).toBe(text);
    // a hospital with the offer id as MSP ID must not be taken for it
    expect(granteeText(study.grantee, [{ name: 'Hospital One', mspId: 'offer-0001' }])).toBe(text);
    expect(formatConsents([study])).toContain(text);
    expect(formatConsents([study])).not.toContain('one identity');
  });

  it('cannot be granted by hand: only organisations and identities can', () => {
    expect(isPullGrantee('organization')).toBe(true);
    expect(isPullGrantee('identity')).toBe(true);
    expect(isPullGrantee('study')).toBe(false);
    expect(() =>
      parseConsentRequest(
        {
          grantee: study.grantee,
          scope: study.scope,
          purposes: ['HRESCH'],
          end: '2099-01-01T00:00:00.000Z',
        },
        new Date(),
      ),
    ).toThrow(expect.objectContaining({ name: 'ConsentRequestError', field: 'grantee' }));
  });
});
