import {
  parseConsentEvent,
  signConsent,
  type ConsentEvaluation,
  type ConsentGrantPayload,
  type ConsentRecord,
} from '@phr/common';
import { EXPIRES, makeResearchWorld, offerTerms, studyKey, type ResearchWorld } from './testing/research';
import { makeWorld, PSEUDONYM_A, PSEUDONYM_B, withPatients, type World } from './testing/world';

const LOINC = 'http://loinc.org';
const grant = (id: string, opts: { grantee?: object; end?: string; purposes?: string[] } = {}) => [
  id,
  JSON.stringify(opts.grantee ?? { kind: 'organization', id: 'Hospital2MSP' }),
  JSON.stringify({ categories: ['vital-signs'], codes: [{ system: LOINC, code: '2339-0' }] }),
  JSON.stringify(opts.purposes ?? ['TREAT']),
  '2026-01-01T00:00:00Z',
  opts.end ?? '2027-01-01T00:00:00Z',
];
const ask = (extra: object = {}) =>
  JSON.stringify({
    purpose: 'TREAT',
    categories: ['vital-signs'],
    codes: [{ system: LOINC, code: '2339-0' }],
    ...extra,
  });

describe('Consent', () => {
  let w: World;
  beforeEach(async () => {
    w = await withPatients(await makeWorld());
  });

  it("grants for the caller's own pseudonym, never one from arguments", async () => {
    const rec = await w.ledger.call<ConsentRecord>(w.consent, 'GrantConsent', grant('consent-0001'), w.id.patientA);
    expect(rec).toMatchObject({ pseudonym: PSEUDONYM_A, status: 'active', purposes: ['TREAT'] });
    expect(rec.period).toEqual({ start: '2026-01-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' });
    const forB = await w.ledger.call<ConsentRecord>(w.consent, 'GrantConsent', grant('consent-0002'), w.id.patientB);
    expect(forB.pseudonym).toBe(PSEUDONYM_B);
  });

  it('only patients grant and revoke, and only their own consents', async () => {
    await expect(w.ledger.invoke(w.consent, 'GrantConsent', grant('consent-0001'), w.id.h1Gateway)).rejects.toThrow(
      /FORBIDDEN/,
    );
    await w.ledger.invoke(w.consent, 'GrantConsent', grant('consent-0001'), w.id.patientA);
    await expect(w.ledger.invoke(w.consent, 'RevokeConsent', ['consent-0001'], w.id.patientB)).rejects.toThrow(
      /only the patient who granted/,
    );
    await expect(w.ledger.invoke(w.consent, 'RevokeConsent', ['consent-0001'], w.id.h1Admin)).rejects.toThrow(
      /FORBIDDEN/,
    );
    await expect(w.ledger.invoke(w.consent, 'ReadConsent', ['consent-0001'], w.id.patientB)).rejects.toThrow(
      /their own consents/,
    );
    await expect(w.ledger.invoke(w.consent, 'ListConsents', [PSEUDONYM_A], w.id.patientB)).rejects.toThrow(
      /their own consents/,
    );
  });

  it('validates grants', async () => {
    const badGrantee = grant('consent-0001', { grantee: { kind: 'everyone', id: 'x' } });
    await expect(w.ledger.invoke(w.consent, 'GrantConsent', badGrantee, w.id.patientA)).rejects.toThrow(/grantee.kind/);
    const badPurpose = grant('consent-0001', { purposes: ['MARKETING'] });
    await expect(w.ledger.invoke(w.consent, 'GrantConsent', badPurpose, w.id.patientA)).rejects.toThrow(/purposes/);
    const backwards = grant('consent-0001', { end: '2025-01-01T00:00:00Z' });
    await expect(w.ledger.invoke(w.consent, 'GrantConsent', backwards, w.id.patientA)).rejects.toThrow(
      /end must be after start/,
    );
    const emptyScope = [...grant('consent-0001')];
    emptyScope[2] = '{"categories":[],"codes":[]}';
    await expect(w.ledger.invoke(w.consent, 'GrantConsent', emptyScope, w.id.patientA)).rejects.toThrow(
      /names no category/,
    );
  });

  it('evaluates active, revoked, expired and out-of-scope consent', async () => {
    await w.ledger.invoke(w.consent, 'GrantConsent', grant('consent-0001'), w.id.patientA);
    const permit = await w.ledger.call<ConsentEvaluation>(
      w.consent,
      'EvaluateConsent',
      [PSEUDONYM_A, ask()],
      w.id.h2Clinician,
    );
    expect(permit).toMatchObject({ decision: 'permit', consentIds: ['consent-0001'] });

    const other = await w.ledger.call<ConsentEvaluation>(
      w.consent,
      'EvaluateConsent',
      [PSEUDONYM_A, ask()],
      w.id.h1Gateway,
    );
    expect(other.decision).toBe('deny');

    const partial = await w.ledger.call<ConsentEvaluation>(
      w.consent,
      'EvaluateConsent',
      [PSEUDONYM_A, ask({ codes: [{ system: LOINC, code: '718-7' }] })],
      w.id.h2Clinician,
    );
    expect(partial.decision).toBe('partial');
    expect(partial.denied.codes).toEqual([{ system: LOINC, code: '718-7' }]);

    w.ledger.clock = Date.parse('2027-01-01T00:00:00Z') / 1000;
    const expired = await w.ledger.call<ConsentEvaluation>(
      w.consent,
      'EvaluateConsent',
      [PSEUDONYM_A, ask()],
      w.id.h2Clinician,
    );
    expect(expired.decision).toBe('deny');

    w.ledger.clock = Date.parse('2026-06-01T00:00:00Z') / 1000;
    const revoked = await w.ledger.call<ConsentRecord>(w.consent, 'RevokeConsent', ['consent-0001'], w.id.patientA);
    expect(revoked.status).toBe('revoked');
    const after = await w.ledger.call<ConsentEvaluation>(
      w.consent,
      'EvaluateConsent',
      [PSEUDONYM_A, ask()],
      w.id.h2Clinician,
    );
    expect(after.decision).toBe('deny');
  });

  it('lets clinicians evaluate only for themselves and gateways only for their own organisation', async () => {
    await w.ledger.invoke(w.consent, 'GrantConsent', grant('consent-0001'), w.id.patientA);
    await expect(
      w.ledger.invoke(
        w.consent,
        'EvaluateConsent',
        [PSEUDONYM_A, ask({ requesterId: 'id' + '0'.repeat(40) })],
        w.id.h2Clinician,
      ),
    ).rejects.toThrow(/only ask for itself/);
    await expect(
      w.ledger.invoke(
        w.consent,
        'EvaluateConsent',
        [PSEUDONYM_A, ask({ requesterOrg: 'Hospital2MSP' })],
        w.id.h1Gateway,
      ),
    ).rejects.toThrow(/may not act for organisation Hospital2MSP/);
    const viaGateway = await w.ledger.call<ConsentEvaluation>(
      w.consent,
      'EvaluateConsent',
      [PSEUDONYM_A, ask()],
      w.id.h2Gateway,
    );
    expect(viaGateway.decision).toBe('permit');
  });

  it('announces each change with the whole record, and a retry or a second revoke announces nothing', async () => {
    const before = w.ledger.events.length;
    const granted = await w.ledger.call<ConsentRecord>(w.consent, 'GrantConsent', grant('consent-0001'), w.id.patientA);
    await w.ledger.invoke(w.consent, 'GrantConsent', grant('consent-0001'), w.id.patientA);
    const revoked = await w.ledger.call<ConsentRecord>(w.consent, 'RevokeConsent', ['consent-0001'], w.id.patientA);
    await w.ledger.invoke(w.consent, 'RevokeConsent', ['consent-0001'], w.id.patientA);
    const events = w.ledger.events.slice(before);
    expect(events.map((e) => e.name)).toEqual(['ConsentGranted', 'ConsentRevoked']);
    const parsed = events.map((e) => parseConsentEvent(e.name, JSON.stringify(e.payload)));
    expect(parsed).toEqual([
      { consentId: 'consent-0001', pseudonym: PSEUDONYM_A, consent: granted },
      { consentId: 'consent-0001', pseudonym: PSEUDONYM_A, consent: revoked },
    ]);
    expect(revoked.status).toBe('revoked');
  });

  it('is idempotent for a retried grant and refuses a different grant under the same id', async () => {
    const first = await w.ledger.invoke(w.consent, 'GrantConsent', grant('consent-0001'), w.id.patientA);
    w.ledger.clock += 60;
    expect(await w.ledger.invoke(w.consent, 'GrantConsent', grant('consent-0001'), w.id.patientA)).toBe(first);
    await expect(
      w.ledger.invoke(w.consent, 'GrantConsent', grant('consent-0001', { purposes: ['HRESCH'] }), w.id.patientA),
    ).rejects.toThrow(/CONFLICT/);
    const list = await w.ledger.call<ConsentRecord[]>(w.consent, 'ListConsents', [PSEUDONYM_A], w.id.h1Gateway);
    expect(list).toHaveLength(1);
  });

  describe('GrantSignedConsent', () => {
    // Listed out of order on purpose: the signature covers the normalized (sorted, deduped) terms.
    const payload = (extra: Partial<ConsentGrantPayload> = {}): ConsentGrantPayload => ({
      consentId: 'signed-0001',
      pseudonym: PSEUDONYM_A,
      grantee: { kind: 'organization', id: 'Hospital2MSP' },
      scope: { categories: ['vital-signs', 'laboratory', 'vital-signs'], codes: [{ system: LOINC, code: '2339-0' }] },
      purposes: ['TREAT'],
      start: '2026-01-01T00:00:00Z',
      end: '2027-01-01T00:00:00Z',
      ...extra,
    });
    const relay = (p: ConsentGrantPayload, signature: string, who = w.id.h1Gateway) =>
      w.ledger.invoke(w.consent, 'GrantSignedConsent', [JSON.stringify(p), signature], who);

    it("stores a consent the patient signed, relayed by a gateway, and evaluates it like the patient's own", async () => {
      const p = payload();
      const signature = signConsent(p, w.id.patientA.privateKeyPem);
      const rec = JSON.parse(await relay(p, signature)) as ConsentRecord;
      expect(rec).toMatchObject({
        consentId: 'signed-0001',
        pseudonym: PSEUDONYM_A,
        status: 'active',
        scope: { categories: ['laboratory', 'vital-signs'] },
        period: { start: '2026-01-01T00:00:00.000Z', end: '2027-01-01T00:00:00.000Z' },
        signature,
        relayedBy: 'Hospital1MSP',
      });
      const permit = await w.ledger.call<ConsentEvaluation>(
        w.consent,
        'EvaluateConsent',
        [PSEUDONYM_A, ask()],
        w.id.h2Clinician,
      );
      expect(permit).toMatchObject({ decision: 'permit', consentIds: ['signed-0001'] });

      // Relayed again (by another gateway, even with a fresh signature): the same record.
      w.ledger.clock += 60;
      const again = await relay(p, signConsent(p, w.id.patientA.privateKeyPem), w.id.h2Gateway);
      expect(JSON.parse(again)).toEqual(rec);
    });

    it('refuses a tampered payload, another key, another caller and an unknown patient', async () => {
      const p = payload();
      const signature = signConsent(p, w.id.patientA.privateKeyPem);
      const widened = { ...p, scope: { ...p.scope, categories: [...p.scope.categories, 'mental-health'] } };
      await expect(relay(widened, signature)).rejects.toThrow(/^FORBIDDEN: the consent is not signed/);
      await expect(relay({ ...p, grantee: { kind: 'organization', id: 'Hospital1MSP' } }, signature)).rejects.toThrow(
        /FORBIDDEN/,
      );
      await expect(relay(p, signConsent(p, w.id.patientB.privateKeyPem))).rejects.toThrow(/FORBIDDEN/);
      await expect(relay(p, 'not base64!')).rejects.toThrow(/FORBIDDEN/);
      for (const who of [w.id.patientA, w.id.h2Clinician, w.id.h1Admin]) {
        await expect(relay(p, signature, who)).rejects.toThrow(/FORBIDDEN/);
      }
      const stranger = payload({ pseudonym: 'pt' + 'c'.repeat(26) });
      await expect(relay(stranger, signConsent(stranger, w.id.patientA.privateKeyPem))).rejects.toThrow(/NOT_FOUND/);
      const list = await w.ledger.call<ConsentRecord[]>(w.consent, 'ListConsents', [PSEUDONYM_A], w.id.h1Gateway);
      expect(list).toHaveLength(0);
    });

    it('validates the payload like GrantConsent', async () => {
      const bad = payload({ end: '2025-01-01T00:00:00Z' });
      await expect(relay(bad, signConsent(bad, w.id.patientA.privateKeyPem))).rejects.toThrow(
        /INVALID_ARGUMENT: end must be after start/,
      );
      await expect(w.ledger.invoke(w.consent, 'GrantSignedConsent', ['{', 'sig'], w.id.h1Gateway)).rejects.toThrow(
        /payload is not valid JSON/,
      );
    });
  });
});

describe('Study consents', () => {
  const OFFER = 'offer-hba1c-01';
  const study = (id: string, opts: { offerId?: string; purposes?: string[] } = {}) =>
    grant(id, { grantee: { kind: 'study', id: opts.offerId ?? OFFER }, purposes: opts.purposes ?? ['HRESCH'] });
  let w: ResearchWorld;
  beforeEach(async () => {
    w = await makeResearchWorld();
    await w.ledger.invoke(w.research, 'PostOffer', [JSON.stringify(offerTerms())], w.id.h2Researcher);
  });

  it('are granted for an open offer, for research only, and announce nothing', async () => {
    const before = w.ledger.events.length;
    const rec = await w.ledger.call<ConsentRecord>(w.consent, 'GrantConsent', study('consent-study-01'), w.id.patientA);
    expect(rec).toMatchObject({ grantee: { kind: 'study', id: OFFER }, purposes: ['HRESCH'], status: 'active' });
    await w.ledger.invoke(w.consent, 'RevokeConsent', ['consent-study-01'], w.id.patientA);
    // an event would tell every channel member, the researcher's organisation too, who takes part
    expect(w.ledger.events.slice(before)).toEqual([]);
    for (const purposes of [['HRESCH', 'TREAT'], ['TREAT']]) {
      await expect(
        w.ledger.invoke(w.consent, 'GrantConsent', study('consent-study-02', { purposes }), w.id.patientA),
      ).rejects.toThrow(/INVALID_ARGUMENT: a study consent's purposes must be exactly \["HRESCH"\]/);
    }
    await expect(
      w.ledger.invoke(w.consent, 'GrantConsent', study('consent-study-02', { offerId: 'x' }), w.id.patientA),
    ).rejects.toThrow(/INVALID_ARGUMENT: grantee.id must be a research offer id/);
  });

  it('are refused for an unknown offer and one withdrawn, expired or full; a retry still answers', async () => {
    await expect(
      w.ledger.invoke(
        w.consent,
        'GrantConsent',
        study('consent-study-01', { offerId: 'offer-none-01' }),
        w.id.patientA,
      ),
    ).rejects.toThrow(/NOT_FOUND: offer offer-none-01/);

    const post = (offerId: string, extra: object = {}) =>
      w.ledger.invoke(w.research, 'PostOffer', [JSON.stringify(offerTerms({ offerId, ...extra }))], w.id.h2Researcher);
    await post('offer-gone-0001');
    await w.ledger.invoke(w.research, 'WithdrawOffer', ['offer-gone-0001'], w.id.h2Researcher);
    await expect(
      w.ledger.invoke(
        w.consent,
        'GrantConsent',
        study('consent-study-01', { offerId: 'offer-gone-0001' }),
        w.id.patientA,
      ),
    ).rejects.toThrow(/INVALID_STATE: offer offer-gone-0001 is withdrawn/);

    await post('offer-one-0001', { quota: 1 });
    const first = await w.ledger.invoke(
      w.consent,
      'GrantConsent',
      study('consent-one-a', { offerId: 'offer-one-0001' }),
      w.id.patientA,
    );
    await w.ledger.invoke(
      w.research,
      'Accept',
      ['offer-one-0001', 'part-a-0001', 'consent-one-a', studyKey()],
      w.id.patientA,
    );
    expect(
      await w.ledger.invoke(
        w.consent,
        'GrantConsent',
        study('consent-one-a', { offerId: 'offer-one-0001' }),
        w.id.patientA,
      ),
    ).toBe(first);
    await expect(
      w.ledger.invoke(w.consent, 'GrantConsent', study('consent-one-b', { offerId: 'offer-one-0001' }), w.id.patientB),
    ).rejects.toThrow(/INVALID_STATE: offer offer-one-0001 is full/);

    w.ledger.clock = Date.parse(EXPIRES) / 1000;
    await expect(w.ledger.invoke(w.consent, 'GrantConsent', study('consent-study-01'), w.id.patientA)).rejects.toThrow(
      /INVALID_STATE: offer offer-hba1c-01 has expired/,
    );
  });

  it('are held to the same rules when a gateway relays them signed', async () => {
    const payload: ConsentGrantPayload = {
      consentId: 'signed-study-01',
      pseudonym: PSEUDONYM_A,
      grantee: { kind: 'study', id: 'offer-none-01' },
      scope: { categories: [], codes: [{ system: LOINC, code: '4548-4' }] },
      purposes: ['HRESCH'],
      start: '2026-01-01T00:00:00Z',
      end: '2027-01-01T00:00:00Z',
    };
    const relay = (p: ConsentGrantPayload) =>
      w.ledger.invoke(
        w.consent,
        'GrantSignedConsent',
        [JSON.stringify(p), signConsent(p, w.id.patientA.privateKeyPem)],
        w.id.h1Gateway,
      );
    await expect(relay(payload)).rejects.toThrow(/NOT_FOUND: offer offer-none-01/);
    await expect(relay({ ...payload, grantee: { kind: 'study', id: OFFER }, purposes: ['TREAT'] })).rejects.toThrow(
      /INVALID_ARGUMENT: a study consent's purposes/,
    );
  });

  it("never cover a pull by the researcher, its organisation's gateway or anyone else", async () => {
    const researcherId = w.researcherId;
    await w.ledger.invoke(w.consent, 'GrantConsent', study('consent-study-01'), w.id.patientA);
    const research = (extra: object = {}) =>
      ask({ purpose: 'HRESCH', categories: [], codes: [{ system: LOINC, code: '4548-4' }], ...extra });
    const evaluate = (request: string, as: World['id'][keyof World['id']]) =>
      w.ledger.call<ConsentEvaluation>(w.consent, 'EvaluateConsent', [PSEUDONYM_A, request], as);
    for (const [request, as] of [
      [research(), w.id.h2Researcher],
      [research({ requesterId: researcherId }), w.id.h2Gateway],
      [research(), w.id.h2Gateway],
    ] as const) {
      expect(await evaluate(request, as)).toMatchObject({ decision: 'deny', consentIds: [] });
    }
    // the same scope for the researcher's identity would permit: only the study kind keeps it out
    await w.ledger.invoke(
      w.consent,
      'GrantConsent',
      [
        'consent-id-0001',
        JSON.stringify({ kind: 'identity', id: researcherId }),
        JSON.stringify({ categories: [], codes: [{ system: LOINC, code: '4548-4' }] }),
        '["HRESCH"]',
        '2026-01-01T00:00:00Z',
        '2027-01-01T00:00:00Z',
      ],
      w.id.patientA,
    );
    expect(await evaluate(research(), w.id.h2Researcher)).toMatchObject({
      decision: 'permit',
      consentIds: ['consent-id-0001'],
    });
  });

  it('are revoked by an erasure but left out of its event', async () => {
    await w.ledger.invoke(w.consent, 'GrantConsent', study('consent-study-01'), w.id.patientA);
    await w.ledger.invoke(w.consent, 'GrantConsent', grant('consent-org-0001'), w.id.patientA);
    await w.ledger.invoke(w.registry, 'Erase', [PSEUDONYM_A], w.id.patientA);
    const event = w.ledger.events.at(-1);
    expect(event?.name).toBe('PatientErased');
    const revoked = (event?.payload as { revokedConsents: ConsentRecord[] }).revokedConsents;
    expect(revoked.map((c) => c.consentId)).toEqual(['consent-org-0001']);
    expect(JSON.stringify(event?.payload)).not.toContain(OFFER);
    const stored = await w.ledger.call<ConsentRecord>(w.consent, 'ReadConsent', ['consent-study-01'], w.id.h1Gateway);
    expect(stored.status).toBe('revoked');
  });
});
