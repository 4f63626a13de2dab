import { consentChangesOfEvent, laterConsent, parseConsentEvent } from './consent-events';
import type { ConsentRecord } from './ledger-model';

const active: ConsentRecord = {
  docType: 'consent',
  consentId: 'consent-0001',
  pseudonym: 'ps' + 'a'.repeat(40),
  grantee: { kind: 'organization', id: 'Hospital2MSP' },
  scope: { categories: ['vital-signs'], codes: [] },
  purposes: ['TREAT'],
  period: { start: '2026-01-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' },
  status: 'active',
  grantedAt: '2026-02-01T00:00:00.000Z',
};
const revoked: ConsentRecord = { ...active, status: 'revoked', revokedAt: '2026-03-01T00:00:00.000Z' };
const payload = (consent: unknown, extra: object = {}) =>
  JSON.stringify({ consentId: active.consentId, pseudonym: active.pseudonym, consent, ...extra });

describe('parseConsentEvent', () => {
  it('reads both consent events, from bytes or text', () => {
    expect(parseConsentEvent('ConsentGranted', Buffer.from(payload(active)))).toEqual({
      consentId: active.consentId,
      pseudonym: active.pseudonym,
      consent: active,
    });
    expect(parseConsentEvent('ConsentRevoked', payload(revoked))?.consent.status).toBe('revoked');
  });

  it('ignores other events and payloads it does not understand', () => {
    expect(parseConsentEvent('PatientRegistered', payload(active))).toBeUndefined();
    expect(parseConsentEvent('ConsentGranted', 'not json')).toBeUndefined();
    // the shape of earlier chaincode versions: no record
    expect(
      parseConsentEvent('ConsentGranted', JSON.stringify({ consentId: 'consent-0001', pseudonym: active.pseudonym })),
    ).toBeUndefined();
    expect(parseConsentEvent('ConsentGranted', payload({ ...active, consentId: 'consent-0002' }))).toBeUndefined();
    expect(
      parseConsentEvent('ConsentGranted', payload({ ...active, pseudonym: 'ps' + 'b'.repeat(40) })),
    ).toBeUndefined();
    expect(parseConsentEvent('ConsentGranted', payload({ ...active, status: 'paused' }))).toBeUndefined();
    expect(parseConsentEvent('ConsentGranted', 'null')).toBeUndefined();
  });
});

describe('laterConsent', () => {
  it('never steps back from a revocation, whatever the order', () => {
    expect(laterConsent(active, revoked)).toBe(revoked);
    expect(laterConsent(revoked, active)).toBe(revoked);
    expect(laterConsent(active, active)).toBe(active);
    expect(laterConsent(revoked, revoked)).toBe(revoked);
  });
});

describe('consentChangesOfEvent', () => {
  it('gives the one consent of a consent event', () => {
    expect(consentChangesOfEvent('ConsentRevoked', payload(revoked))).toEqual([revoked]);
    expect(consentChangesOfEvent('ConsentGranted', 'not json')).toEqual([]);
  });

  it("gives the consents an erasure revoked, and nothing of another patient's or still active", () => {
    const other = { ...revoked, consentId: 'consent-0002', pseudonym: 'ps' + 'b'.repeat(40) };
    const erased = (revokedConsents: unknown) =>
      JSON.stringify({ pseudonym: active.pseudonym, erasedAt: '2026-04-01T00:00:00.000Z', revokedConsents });
    expect(consentChangesOfEvent('PatientErased', Buffer.from(erased([revoked])))).toEqual([revoked]);
    expect(consentChangesOfEvent('PatientErased', erased([revoked, other, active, null, 'x']))).toEqual([revoked]);
    expect(consentChangesOfEvent('PatientErased', erased('nope'))).toEqual([]);
    expect(consentChangesOfEvent('PatientErased', '{')).toEqual([]);
    expect(consentChangesOfEvent('PatientRegistered', erased([revoked]))).toEqual([]);
  });
});
