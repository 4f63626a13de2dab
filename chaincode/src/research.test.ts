import { generateKeyPairSync } from 'node:crypto';
import {
  RESEARCH_EVENTS,
  type AccessEventRecord,
  type CreditAccountRecord,
  type CreditEntryRecord,
  type InstitutionalExtractRecord,
  type Page,
  type ParticipationRecord,
  type ResearchOfferRecord,
} from '@phr/common';
import type { ResearchOptOut, ResearchUseAnswer } from './research';
import { makeIdentity } from './testing/identities';
import {
  EXPIRES,
  grantResearchConsent,
  makeResearchWorld,
  offerTerms,
  SEALING_KEY,
  studyKey,
  type ResearchWorld,
} from './testing/research';
import { PSEUDONYM_A, PSEUDONYM_B, ROOT, type World } from './testing/world';

const ROOT_2 = 'cd'.repeat(32);
const HASH = 'ef'.repeat(32);
const OFFER = 'offer-hba1c-01';

const post = (w: World, overrides = {}, as = w.id.h2Researcher) =>
  w.ledger.call<ResearchOfferRecord>(w.research, 'PostOffer', [JSON.stringify(offerTerms(overrides))], as);

const accept = (
  w: World,
  as: World['id'][keyof World['id']],
  participationId: string,
  consentId: string,
  offerId = OFFER,
) => w.ledger.call<ParticipationRecord>(w.research, 'Accept', [offerId, participationId, consentId, studyKey()], as);

const deliver = (w: World, as: World['id'][keyof World['id']], participationId: string, ids: string[], hash = HASH) =>
  w.ledger.call<ParticipationRecord>(w.research, 'Deliver', [participationId, JSON.stringify(ids), hash, 3], as);

const readOffer = (w: World, offerId = OFFER) =>
  w.ledger.call<ResearchOfferRecord>(w.research, 'ReadOffer', [offerId], w.id.patientA);

const balance = async (w: World, as: World['id'][keyof World['id']]) =>
  (await w.ledger.call<CreditAccountRecord>(w.credits, 'ReadAccount', [], as)).balance;

const researchEvents = async (w: World, pseudonym: string) =>
  (
    await w.ledger.call<Page<AccessEventRecord>>(
      w.accessLog,
      'ListAccessEvents',
      [pseudonym, '', '', 100, ''],
      pseudonym === PSEUDONYM_A ? w.id.patientA : w.id.patientB,
    )
  ).records.filter((e) => e.action === 'research');

async function recordDelivery(
  w: World,
  deliveryId: string,
  pseudonym = PSEUDONYM_A,
  root = ROOT,
  sender = w.id.h1Gateway,
): Promise<void> {
  await w.ledger.invoke(w.commitments, 'RecordDelivery', [deliveryId, pseudonym, root, 5, 1, '["laboratory"]'], sender);
}

/** An offer posted, A's and B's study consents for it granted, A's two deliveries and B's one recorded. */
async function withOffer(w: ResearchWorld, overrides = {}): Promise<ResearchWorld> {
  const { offerId } = await post(w, overrides);
  await grantResearchConsent(w, w.id.patientA, 'consent-research-a', offerId);
  await grantResearchConsent(w, w.id.patientB, 'consent-research-b', offerId);
  await recordDelivery(w, 'delivery-a-0001');
  await recordDelivery(w, 'delivery-a-0002', PSEUDONYM_A, ROOT_2);
  await recordDelivery(w, 'delivery-b-0001', PSEUDONYM_B);
  return w;
}

describe('Research offers', () => {
  let w: ResearchWorld;
  beforeEach(async () => {
    w = await makeResearchWorld();
  });

  it('posts an offer with credits × quota moved from the institute account into its escrow', async () => {
    const offer = await post(w);
    expect(offer).toMatchObject({
      docType: 'research-offer',
      offerId: OFFER,
      purpose: 'HRESCH',
      institute: { mspId: 'Hospital2MSP', role: 'researcher', id: w.researcherId },
      status: 'open',
      accepted: 0,
      delivered: 0,
      escrow: 100,
      expiresAt: EXPIRES,
    });
    expect(await balance(w, w.id.h2Researcher)).toBe(900);
    const statement = await w.ledger.call<Page<CreditEntryRecord>>(
      w.credits,
      'ListEntries',
      [10, ''],
      w.id.h2Researcher,
    );
    expect(statement.records.map((e) => [e.kind, e.amount, e.balanceAfter, e.offerId])).toEqual([
      ['fund', 1000, 1000, undefined],
      ['escrow', -100, 900, OFFER],
    ]);
    expect(w.ledger.events.at(-1)).toEqual({
      name: 'OfferPosted',
      payload: { subject: OFFER, count: 10, credits: 10 },
    });
    expect(await readOffer(w)).toEqual(offer);
  });

  it('answers a retried post with the record, escrowing once; other terms or another poster under the id conflict', async () => {
    const first = await post(w);
    expect(await post(w)).toEqual(first);
    expect(await balance(w, w.id.h2Researcher)).toBe(900);
    await expect(post(w, { quota: 5 })).rejects.toThrow(/CONFLICT: offer offer-hba1c-01 already exists/);
    await w.ledger.invoke(w.credits, 'OpenAccount', [], w.id.h1Researcher);
    await expect(post(w, {}, w.id.h1Researcher)).rejects.toThrow(/CONFLICT/);
  });

  it('is posted by researchers only', async () => {
    for (const as of [w.id.patientA, w.id.h2Clinician, w.id.h2Admin, w.id.h1Gateway]) {
      await expect(post(w, {}, as)).rejects.toThrow(/FORBIDDEN: Research:PostOffer is not allowed/);
    }
  });

  it.each([
    ['a title over 200 characters', { title: 'x'.repeat(201) }, /title/],
    ['a title with a control character', { title: 'HbA1c\nin adults' }, /title/],
    ['no criteria codes', { criteria: { codes: [] } }, /criteria.codes/],
    [
      '51 wanted codes',
      {
        wanted: {
          codes: Array.from({ length: 51 }, (_, i) => ({ system: 'http://loinc.org', code: `${i}` })),
          demographics: [],
        },
      },
      /wanted.codes/,
    ],
    [
      'an unknown demographic',
      { wanted: { codes: [{ system: 'http://loinc.org' }], demographics: ['name'] } },
      /wanted.demographics/,
    ],
    ['an unknown date rule', { dates: 'day' }, /dates/],
    ['no credits', { creditsPerParticipant: 0 }, /creditsPerParticipant/],
    ['fractional credits', { creditsPerParticipant: 1.5 }, /creditsPerParticipant/],
    ['a quota over 10000', { quota: 10_001 }, /quota/],
    [
      'an age band upside down',
      { criteria: { codes: [{ system: 'http://loinc.org' }], ageBand: { min: 60, max: 18 } } },
      /ageBand/,
    ],
    ['an instant that is not one', { expiresAt: '2026-07-01' }, /expiresAt/],
    [
      'an Ed25519 key to seal to',
      {
        encryptionPublicKey: generateKeyPairSync('ed25519')
          .publicKey.export({ type: 'spki', format: 'pem' })
          .toString(),
      },
      /X25519/,
    ],
  ])('refuses %s', async (_what, overrides, message) => {
    await expect(post(w, overrides)).rejects.toThrow(new RegExp(`INVALID_ARGUMENT: .*${message.source}`));
  });

  it('refuses an offer already expired, one collected by a hospital not in the directory, and one the account cannot fund', async () => {
    await expect(post(w, { expiresAt: '2026-05-01T00:00:00Z' })).rejects.toThrow(/INVALID_STATE: .*expires/);
    await expect(post(w, { collectVia: 'Hospital9MSP' })).rejects.toThrow(/NOT_FOUND: hospital Hospital9MSP/);
    await expect(post(w, { quota: 101 })).rejects.toThrow(/INVALID_STATE: insufficient credits/);
    await expect(post(w, {}, w.id.h1Researcher)).rejects.toThrow(/INVALID_STATE: the institute has no credit account/);
    expect(await balance(w, w.id.h2Researcher)).toBe(1000);
  });

  it('lists offers still taking participants as open; everyone may read one', async () => {
    await post(w);
    await post(w, { offerId: 'offer-full-0001', quota: 1 });
    await post(w, { offerId: 'offer-soon-0001', expiresAt: '2026-06-01T00:10:00Z' });
    await post(w, { offerId: 'offer-gone-0001' });
    await w.ledger.invoke(w.research, 'WithdrawOffer', ['offer-gone-0001'], w.id.h2Researcher);
    await grantResearchConsent(w, w.id.patientA, 'consent-full-a', 'offer-full-0001');
    await accept(w, w.id.patientA, 'part-full-0001', 'consent-full-a', 'offer-full-0001');
    w.ledger.clock += 3600;
    const list = (status: string) =>
      w.ledger.call<Page<ResearchOfferRecord>>(w.research, 'ListOffers', [status, 50, ''], w.id.patientB);
    expect((await list('open')).records.map((o) => o.offerId)).toEqual([OFFER]);
    expect((await list('')).records).toHaveLength(4);
    expect((await list('withdrawn')).records.map((o) => o.offerId)).toEqual(['offer-gone-0001']);
    await expect(list('closed')).rejects.toThrow(/INVALID_ARGUMENT/);
    expect((await w.ledger.call<ResearchOfferRecord>(w.research, 'ReadOffer', [OFFER], w.id.h2Clinician)).offerId).toBe(
      OFFER,
    );
    await expect(w.ledger.invoke(w.research, 'ListOffers', ['', 10, ''], w.id.h2Clinician)).rejects.toThrow(
      /FORBIDDEN/,
    );
    await expect(w.ledger.invoke(w.research, 'ReadOffer', ['offer-none-0001'], w.id.patientA)).rejects.toThrow(
      /NOT_FOUND/,
    );
  });
});

describe('Research participations', () => {
  let w: ResearchWorld;
  beforeEach(async () => {
    w = await withOffer(await makeResearchWorld());
  });

  it("takes a place under the patient's study consent for the offer", async () => {
    const key = studyKey();
    const rec = await w.ledger.call<ParticipationRecord>(
      w.research,
      'Accept',
      [OFFER, 'part-a-0001', 'consent-research-a', key],
      w.id.patientA,
    );
    expect(rec).toEqual({
      docType: 'research-participation',
      participationId: 'part-a-0001',
      offerId: OFFER,
      pseudonym: PSEUDONYM_A,
      consentId: 'consent-research-a',
      studyKey: key,
      status: 'accepted',
      roots: [],
      credits: 0,
      acceptedAt: rec.acceptedAt,
    });
    expect((await readOffer(w)).accepted).toBe(1);
    expect(w.ledger.events.at(-1)).toEqual({
      name: 'OfferAccepted',
      payload: { subject: OFFER, participationId: 'part-a-0001', count: 1 },
    });
    // a retry answers the record; a second place in the same offer, or another patient's id, conflicts
    expect(
      await w.ledger.call(w.research, 'Accept', [OFFER, 'part-a-0001', 'consent-research-a', key], w.id.patientA),
    ).toEqual(rec);
    expect((await readOffer(w)).accepted).toBe(1);
    await expect(accept(w, w.id.patientA, 'part-a-0002', 'consent-research-a')).rejects.toThrow(
      /CONFLICT: .*already takes part/,
    );
    await expect(accept(w, w.id.patientB, 'part-a-0001', 'consent-research-b')).rejects.toThrow(
      /CONFLICT: participation part-a-0001/,
    );
  });

  it('is accepted by registered patients only', async () => {
    const stranger = await makeIdentity('PatientsMSP', 'patient-c', { 'phr.role': 'patient' });
    await expect(accept(w, stranger, 'part-c-0001', 'consent-research-a')).rejects.toThrow(
      /FORBIDDEN: the caller is not a registered patient/,
    );
    await expect(accept(w, w.id.h2Researcher, 'part-c-0001', 'consent-research-a')).rejects.toThrow(
      /FORBIDDEN: Research:Accept/,
    );
    await expect(
      w.ledger.invoke(
        w.research,
        'Accept',
        [OFFER, 'part-a-0001', 'consent-research-a', 'bm90IGEga2V5'],
        w.id.patientA,
      ),
    ).rejects.toThrow(/INVALID_ARGUMENT: studyKey/);
  });

  it.each([
    ['missing', async () => 'consent-none-0001'],
    ['of another patient', async () => 'consent-research-b'],
    [
      "for the researcher's organisation",
      async (w: ResearchWorld) => {
        await grantResearchConsent(w, w.id.patientA, 'consent-org-0001', OFFER, ['HRESCH'], {
          kind: 'organization',
          id: 'Hospital2MSP',
        });
        return 'consent-org-0001';
      },
    ],
    [
      // such a consent would also let the researcher pull the records through a gateway
      "for the researcher's identity",
      async (w: ResearchWorld) => {
        await grantResearchConsent(w, w.id.patientA, 'consent-id-0001', OFFER, ['HRESCH'], {
          kind: 'identity',
          id: w.researcherId,
        });
        return 'consent-id-0001';
      },
    ],
    [
      'for another study',
      async (w: ResearchWorld) => {
        await post(w, { offerId: 'offer-two-0001' });
        await grantResearchConsent(w, w.id.patientA, 'consent-two-0001', 'offer-two-0001');
        return 'consent-two-0001';
      },
    ],
    [
      'no longer in force',
      async (w: ResearchWorld) => {
        await grantResearchConsent(
          w,
          w.id.patientA,
          'consent-old-0001',
          OFFER,
          ['HRESCH'],
          undefined,
          '2026-05-01T00:00:00Z',
        );
        return 'consent-old-0001';
      },
    ],
    [
      'revoked',
      async (w: ResearchWorld) => {
        await w.ledger.invoke(w.consent, 'RevokeConsent', ['consent-research-a'], w.id.patientA);
        return 'consent-research-a';
      },
    ],
  ])('refuses a consent %s', async (_what, consent) => {
    const consentId = await consent(w);
    await expect(accept(w, w.id.patientA, 'part-a-0001', consentId)).rejects.toThrow(/CONSENT_REQUIRED/);
    expect((await readOffer(w)).accepted).toBe(0);
  });

  it('refuses an offer withdrawn, expired or full', async () => {
    await post(w, { offerId: 'offer-one-0001', quota: 1 });
    await grantResearchConsent(w, w.id.patientA, 'consent-one-a', 'offer-one-0001');
    await accept(w, w.id.patientA, 'part-a-0001', 'consent-one-a', 'offer-one-0001');
    await expect(accept(w, w.id.patientB, 'part-b-0001', 'consent-research-b', 'offer-one-0001')).rejects.toThrow(
      /INVALID_STATE: offer offer-one-0001 is full/,
    );
    await w.ledger.invoke(w.research, 'WithdrawOffer', ['offer-one-0001'], w.id.h2Researcher);
    await expect(accept(w, w.id.patientB, 'part-b-0001', 'consent-research-b', 'offer-one-0001')).rejects.toThrow(
      /INVALID_STATE: offer offer-one-0001 is withdrawn/,
    );
    w.ledger.clock = Date.parse(EXPIRES) / 1000;
    await expect(accept(w, w.id.patientB, 'part-b-0001', 'consent-research-b')).rejects.toThrow(
      /INVALID_STATE: .*expired/,
    );
    await expect(accept(w, w.id.patientB, 'part-b-0001', 'consent-research-b', 'offer-none-0001')).rejects.toThrow(
      /NOT_FOUND/,
    );
  });

  it('refuses a patient who opted out, and takes them again once they opt back in', async () => {
    const out = await w.ledger.call<ResearchOptOut>(w.research, 'SetOptOut', ['true'], w.id.patientA);
    expect(out).toEqual({ pseudonym: PSEUDONYM_A, optedOut: true, updatedAt: out.updatedAt });
    await expect(accept(w, w.id.patientA, 'part-a-0001', 'consent-research-a')).rejects.toThrow(
      /INVALID_STATE: .*opted out/,
    );
    await w.ledger.invoke(w.research, 'SetOptOut', ['false'], w.id.patientA);
    expect((await accept(w, w.id.patientA, 'part-a-0001', 'consent-research-a')).status).toBe('accepted');
  });

  it('refuses an erased patient', async () => {
    await w.ledger.invoke(w.registry, 'Erase', [PSEUDONYM_A], w.id.patientA);
    await expect(accept(w, w.id.patientA, 'part-a-0001', 'consent-research-a')).rejects.toThrow(
      /INVALID_STATE: patient .* is erased/,
    );
  });

  it('delivers: roots of the named deliveries, payment from escrow, an access event on the patient log', async () => {
    await accept(w, w.id.patientA, 'part-a-0001', 'consent-research-a');
    const rec = await deliver(w, w.id.patientA, 'part-a-0001', [
      'delivery-a-0002',
      'delivery-a-0001',
      'delivery-a-0001',
    ]);
    expect(rec).toMatchObject({
      status: 'delivered',
      roots: [ROOT, ROOT_2].sort(),
      extractHash: HASH,
      elementCount: 3,
      credits: 10,
      pseudonym: PSEUDONYM_A,
    });
    expect(w.ledger.events.at(-1)).toEqual({
      name: 'ExtractDelivered',
      payload: { subject: OFFER, participationId: 'part-a-0001', credits: 10 },
    });
    expect(await readOffer(w)).toMatchObject({ accepted: 1, delivered: 1, escrow: 90 });
    expect(await balance(w, w.id.patientA)).toBe(10);
    const statement = await w.ledger.call<Page<CreditEntryRecord>>(w.credits, 'ListEntries', [10, ''], w.id.patientA);
    expect(statement.records).toEqual([
      expect.objectContaining({
        accountId: PSEUDONYM_A,
        kind: 'payment',
        amount: 10,
        balanceAfter: 10,
        offerId: OFFER,
        participationId: 'part-a-0001',
      }),
    ]);

    const [event, ...more] = await researchEvents(w, PSEUDONYM_A);
    expect(more).toEqual([]);
    expect(event).toMatchObject({
      action: 'research',
      outcome: 'success',
      purpose: 'HRESCH',
      actor: { mspId: 'Hospital2MSP', role: 'researcher', id: w.researcherId },
      requester: { mspId: 'Hospital2MSP', role: 'researcher', id: w.researcherId },
      references: [OFFER, 'part-a-0001'].sort(),
      consentIds: ['consent-research-a'],
      breakGlass: false,
    });
    expect(event?.eventId).toMatch(/^rs-[0-9a-f]{40}$/);
    expect(await w.ledger.call(w.accessLog, 'ReadAccessEvent', [event?.eventId], w.id.patientA)).toEqual(event);

    // a retry answers the record and pays nothing more; another extract conflicts
    expect(await deliver(w, w.id.patientA, 'part-a-0001', ['delivery-a-0001'])).toEqual(rec);
    expect(await balance(w, w.id.patientA)).toBe(10);
    expect(await researchEvents(w, PSEUDONYM_A)).toHaveLength(1);
    await expect(deliver(w, w.id.patientA, 'part-a-0001', [], 'aa'.repeat(32))).rejects.toThrow(/CONFLICT/);
  });

  it("refuses to deliver another patient's participation or deliveries, rejected or unknown deliveries", async () => {
    await accept(w, w.id.patientA, 'part-a-0001', 'consent-research-a');
    await expect(deliver(w, w.id.patientB, 'part-a-0001', [])).rejects.toThrow(
      /FORBIDDEN: a patient may only deliver their own/,
    );
    await expect(deliver(w, w.id.patientA, 'part-a-0001', ['delivery-b-0001'])).rejects.toThrow(
      /FORBIDDEN: delivery delivery-b-0001 is not the caller's/,
    );
    await expect(deliver(w, w.id.patientA, 'part-a-0001', ['delivery-x-0001'])).rejects.toThrow(/NOT_FOUND/);
    await w.ledger.invoke(w.commitments, 'RejectDelivery', ['delivery-a-0002', 'hash-mismatch'], w.id.patientA);
    await expect(deliver(w, w.id.patientA, 'part-a-0001', ['delivery-a-0002'])).rejects.toThrow(
      /INVALID_STATE: .*rejected/,
    );
    await expect(deliver(w, w.id.patientA, 'part-x-0001', [])).rejects.toThrow(/NOT_FOUND/);
    await expect(
      w.ledger.invoke(w.research, 'Deliver', ['part-a-0001', '[]', HASH, 1], w.id.h1Gateway),
    ).rejects.toThrow(/FORBIDDEN: Research:Deliver/);
    expect(await balance(w, w.id.patientA)).toBe(0);
  });

  // A's study consent runs to 2027 but for the one case that lets it end on 10 June, before the offer does.
  it.each([
    [
      'the study consent is revoked',
      '2027-01-01T00:00:00Z',
      (w: ResearchWorld) => w.ledger.invoke(w.consent, 'RevokeConsent', ['consent-study-a'], w.id.patientA),
      /CONSENT_REQUIRED: consent consent-study-a is revoked/,
    ],
    [
      'the study consent has ended',
      '2026-06-10T00:00:00Z',
      async (w: ResearchWorld) => {
        w.ledger.clock = Date.parse('2026-06-15T00:00:00Z') / 1000;
      },
      /CONSENT_REQUIRED: consent consent-study-a is not in force now/,
    ],
    [
      'the patient opted out',
      '2027-01-01T00:00:00Z',
      (w: ResearchWorld) => w.ledger.invoke(w.research, 'SetOptOut', ['true'], w.id.patientA),
      /INVALID_STATE: the patient opted out of research/,
    ],
  ])('refuses to deliver when %s after accepting', async (_what, end, change, error) => {
    await grantResearchConsent(w, w.id.patientA, 'consent-study-a', OFFER, ['HRESCH'], undefined, end);
    await accept(w, w.id.patientA, 'part-a-0001', 'consent-study-a');
    await change(w);
    await expect(deliver(w, w.id.patientA, 'part-a-0001', ['delivery-a-0001'])).rejects.toThrow(error);
    expect(await balance(w, w.id.patientA)).toBe(0);
    expect(await readOffer(w)).toMatchObject({ accepted: 1, delivered: 0, escrow: 100 });
    expect(await researchEvents(w, PSEUDONYM_A)).toEqual([]);
  });

  it('refuses to deliver after expiry or after the patient erased the record', async () => {
    await accept(w, w.id.patientA, 'part-a-0001', 'consent-research-a');
    await accept(w, w.id.patientB, 'part-b-0001', 'consent-research-b');
    await w.ledger.invoke(w.registry, 'Erase', [PSEUDONYM_B], w.id.patientB);
    await expect(deliver(w, w.id.patientB, 'part-b-0001', [])).rejects.toThrow(/INVALID_STATE: patient .* is erased/);
    w.ledger.clock = Date.parse(EXPIRES) / 1000;
    await expect(deliver(w, w.id.patientA, 'part-a-0001', ['delivery-a-0001'])).rejects.toThrow(
      /INVALID_STATE: .*expired/,
    );
  });

  it('balances add up: funding, escrow, payments, the refund on withdrawal, and what stays owed', async () => {
    await accept(w, w.id.patientA, 'part-a-0001', 'consent-research-a');
    await accept(w, w.id.patientB, 'part-b-0001', 'consent-research-b');
    await deliver(w, w.id.patientA, 'part-a-0001', ['delivery-a-0001']);
    await expect(w.ledger.invoke(w.research, 'WithdrawOffer', [OFFER], w.id.h1Researcher)).rejects.toThrow(
      /FORBIDDEN: only the researcher who posted/,
    );
    await expect(w.ledger.invoke(w.research, 'WithdrawOffer', [OFFER], w.id.patientA)).rejects.toThrow(/FORBIDDEN/);

    // 100 escrowed, 10 paid to A, 10 still owed to B: 80 back
    const withdrawn = await w.ledger.call<ResearchOfferRecord>(w.research, 'WithdrawOffer', [OFFER], w.id.h2Researcher);
    expect(withdrawn).toMatchObject({ status: 'withdrawn', escrow: 10 });
    expect(w.ledger.events.at(-1)).toEqual({ name: 'OfferWithdrawn', payload: { subject: OFFER, credits: 80 } });
    expect(await balance(w, w.id.h2Researcher)).toBe(980);
    expect(await w.ledger.call(w.research, 'WithdrawOffer', [OFFER], w.id.h2Researcher)).toEqual(withdrawn);
    expect(await balance(w, w.id.h2Researcher)).toBe(980);

    // B's place was accepted before the withdrawal: it may still deliver and be paid
    await deliver(w, w.id.patientB, 'part-b-0001', ['delivery-b-0001']);
    expect(await balance(w, w.id.patientB)).toBe(10);
    expect((await readOffer(w)).escrow).toBe(0);
    expect(
      (await balance(w, w.id.h2Researcher)) + (await balance(w, w.id.patientA)) + (await balance(w, w.id.patientB)),
    ).toBe(1000);
  });

  it('refunds what was held for undelivered places once the offer has expired', async () => {
    await accept(w, w.id.patientA, 'part-a-0001', 'consent-research-a');
    await w.ledger.invoke(w.research, 'WithdrawOffer', [OFFER], w.id.h2Researcher);
    expect(await balance(w, w.id.h2Researcher)).toBe(990);
    w.ledger.clock = Date.parse(EXPIRES) / 1000;
    expect(
      await w.ledger.call<ResearchOfferRecord>(w.research, 'WithdrawOffer', [OFFER], w.id.h2Researcher),
    ).toMatchObject({ status: 'withdrawn', escrow: 0 });
    expect(await balance(w, w.id.h2Researcher)).toBe(1000);
  });

  it('shows the pseudonym to the patient only', async () => {
    const own = await accept(w, w.id.patientA, 'part-a-0001', 'consent-research-a');
    const read = (as: World['id'][keyof World['id']]) =>
      w.ledger.call<ParticipationRecord>(w.research, 'ReadParticipation', ['part-a-0001'], as);
    expect(await read(w.id.patientA)).toEqual(own);
    const stripped: Partial<ParticipationRecord> = { ...own };
    delete stripped.pseudonym;
    for (const as of [w.id.h2Researcher, w.id.h1Gateway, w.id.h1Admin]) {
      const rec = await read(as);
      expect(rec).toEqual(stripped);
      expect(JSON.stringify(rec)).not.toContain(PSEUDONYM_A);
    }
    await expect(read(w.id.patientB)).rejects.toThrow(/FORBIDDEN/);
    await expect(read(w.id.h1Researcher)).rejects.toThrow(/FORBIDDEN/);
    await expect(read(w.id.h2Clinician)).rejects.toThrow(/FORBIDDEN/);

    await accept(w, w.id.patientB, 'part-b-0001', 'consent-research-b');
    const page = await w.ledger.call<Page<ParticipationRecord>>(
      w.research,
      'ListParticipations',
      [OFFER, 1, ''],
      w.id.h2Researcher,
    );
    expect(page.records.map((p) => p.participationId)).toEqual(['part-a-0001']);
    const next = await w.ledger.call<Page<ParticipationRecord>>(
      w.research,
      'ListParticipations',
      [OFFER, 1, page.bookmark],
      w.id.h2Researcher,
    );
    expect(next.records.map((p) => p.participationId)).toEqual(['part-b-0001']);
    expect(JSON.stringify([page, next])).not.toMatch(/pt[a-z2-7]{26}/);
    await expect(w.ledger.invoke(w.research, 'ListParticipations', [OFFER, 10, ''], w.id.h1Researcher)).rejects.toThrow(
      /FORBIDDEN/,
    );

    const mine = await w.ledger.call<ParticipationRecord[]>(w.research, 'ListMyParticipations', [], w.id.patientB);
    expect(mine.map((p) => [p.participationId, p.pseudonym])).toEqual([['part-b-0001', PSEUDONYM_B]]);
  });

  it('emits only research events, none carrying a pseudonym', async () => {
    const before = w.ledger.events.length;
    await accept(w, w.id.patientA, 'part-a-0001', 'consent-research-a');
    await deliver(w, w.id.patientA, 'part-a-0001', ['delivery-a-0001']);
    await w.ledger.invoke(w.research, 'DeclareUse', [OFFER, 'use-0000001', 'analysis'], w.id.h2Researcher);
    await w.ledger.invoke(w.research, 'WithdrawOffer', [OFFER], w.id.h2Researcher);
    await w.ledger.invoke(
      w.research,
      'RecordExtract',
      [extract(w.researcherId), JSON.stringify([PSEUDONYM_A, PSEUDONYM_B])],
      w.id.h1Gateway,
    );
    const events = w.ledger.events.slice(before);
    expect(events.map((e) => e.name)).toEqual([
      'OfferAccepted',
      'ExtractDelivered',
      'ResearchUseDeclared',
      'OfferWithdrawn',
      'InstitutionalExtractRecorded',
    ]);
    for (const e of events) {
      expect(RESEARCH_EVENTS).toContain(e.name);
      expect(JSON.stringify(e.payload)).not.toMatch(/pt[a-z2-7]{26}/);
    }
  });
});

const extract = (researcher: string, overrides: object = {}) =>
  JSON.stringify({
    extractId: 'extract-0001',
    requestId: 'request-0001',
    researcher,
    extractHash: HASH,
    k: 5,
    quasiIdentifiers: ['gender', 'ageBand'],
    rowCount: 40,
    ...overrides,
  });

describe('Research opt-out and institutional extracts', () => {
  let w: ResearchWorld;
  beforeEach(async () => {
    w = await makeResearchWorld();
    // hospital 1 sent both patients records: they are its patients
    await recordDelivery(w, 'delivery-a-0001');
    await recordDelivery(w, 'delivery-b-0001', PSEUDONYM_B);
  });

  const record = (pseudonyms: string[], as = w.id.h1Gateway, overrides: object = {}) =>
    w.ledger.call<InstitutionalExtractRecord>(
      w.research,
      'RecordExtract',
      [extract(w.researcherId, overrides), JSON.stringify(pseudonyms)],
      as,
    );

  it('answers who opted out to the patient, gateways and admins', async () => {
    await w.ledger.invoke(w.research, 'SetOptOut', ['true'], w.id.patientB);
    const isOut = (p: string, as: World['id'][keyof World['id']]) =>
      w.ledger.call<boolean>(w.research, 'IsOptedOut', [p], as);
    expect(await isOut(PSEUDONYM_B, w.id.patientB)).toBe(true);
    expect(await isOut(PSEUDONYM_A, w.id.patientA)).toBe(false);
    expect(await isOut(PSEUDONYM_B, w.id.h1Gateway)).toBe(true);
    await expect(isOut(PSEUDONYM_B, w.id.patientA)).rejects.toThrow(/FORBIDDEN/);
    await expect(isOut(PSEUDONYM_B, w.id.h2Researcher)).rejects.toThrow(/FORBIDDEN/);
    expect(
      await w.ledger.call(
        w.research,
        'OptedOutAmong',
        [JSON.stringify([PSEUDONYM_B, PSEUDONYM_A, 'ptzzzzzzzzzzzzzzzzzzzzzzzzzz'])],
        w.id.h1Admin,
      ),
    ).toEqual([PSEUDONYM_B]);
    await expect(w.ledger.invoke(w.research, 'OptedOutAmong', ['["nope"]'], w.id.h1Gateway)).rejects.toThrow(
      /INVALID_ARGUMENT/,
    );
    await expect(w.ledger.invoke(w.research, 'OptedOutAmong', ['[]'], w.id.patientA)).rejects.toThrow(/FORBIDDEN/);
    await expect(w.ledger.invoke(w.research, 'SetOptOut', ['yes'], w.id.patientA)).rejects.toThrow(/INVALID_ARGUMENT/);
  });

  it('records an extract with its members and a research event on each patient log', async () => {
    const rec = await record([PSEUDONYM_B, PSEUDONYM_A, PSEUDONYM_A]);
    expect(rec).toMatchObject({
      docType: 'research-extract',
      extractId: 'extract-0001',
      hospital: 'Hospital1MSP',
      researcher: w.researcherId,
      k: 5,
      quasiIdentifiers: ['ageBand', 'gender'],
      patientCount: 2,
    });
    expect(JSON.stringify(rec)).not.toMatch(/pt[a-z2-7]{26}/);
    expect(w.ledger.events.at(-1)).toEqual({
      name: 'InstitutionalExtractRecorded',
      payload: { subject: 'extract-0001', count: 2 },
    });
    for (const p of [PSEUDONYM_A, PSEUDONYM_B]) {
      const events = await researchEvents(w, p);
      expect(events).toEqual([
        expect.objectContaining({
          pseudonym: p,
          purpose: 'HRESCH',
          actor: expect.objectContaining({ mspId: 'Hospital1MSP', role: 'hospital-gateway' }),
          requester: { mspId: 'Hospital1MSP', role: 'researcher', id: w.researcherId },
          references: ['extract-0001'],
        }),
      ]);
    }
    expect(await record([PSEUDONYM_A, PSEUDONYM_B])).toEqual(rec);
    expect(await researchEvents(w, PSEUDONYM_A)).toHaveLength(1);
    await expect(record([PSEUDONYM_A], w.id.h1Gateway, { extractHash: 'aa'.repeat(32) })).rejects.toThrow(/CONFLICT/);
    await expect(record([PSEUDONYM_A], w.id.h2Gateway)).rejects.toThrow(/CONFLICT/);
  });

  it('refuses members opted out, erased or unregistered, naming how many, not who', async () => {
    await w.ledger.invoke(w.research, 'SetOptOut', ['true'], w.id.patientB);
    await expect(record([PSEUDONYM_A, PSEUDONYM_B])).rejects.toThrow(
      /INVALID_STATE: 1 of the extract's patients opted out/,
    );
    await w.ledger.invoke(w.registry, 'Erase', [PSEUDONYM_A], w.id.patientA);
    await expect(record([PSEUDONYM_A])).rejects.toThrow(/INVALID_STATE: 1 of the extract's patients are erased/);
    await expect(record(['ptzzzzzzzzzzzzzzzzzzzzzzzzzz'])).rejects.toThrow(
      /NOT_FOUND: 1 of the extract's patients are not registered$/,
    );
    await expect(record([])).rejects.toThrow(/INVALID_ARGUMENT/);
    expect(await researchEvents(w, PSEUDONYM_B)).toEqual([]);
  });

  it("refuses members the caller's hospital never sent a delivery, naming how many, not who", async () => {
    // hospital 2 sent A a delivery and B none: B is not hospital 2's patient
    await recordDelivery(w, 'delivery-a-h2-01', PSEUDONYM_A, ROOT_2, w.id.h2Gateway);
    const refused = record([PSEUDONYM_A, PSEUDONYM_B], w.id.h2Gateway, { extractId: 'extract-h2-0001' });
    await expect(refused).rejects.toThrow(
      /^.*FORBIDDEN: 1 of the extract's patients have no delivery from Hospital2MSP$/,
    );
    await expect(refused).rejects.not.toThrow(/pt[a-z2-7]{26}/);
    expect(await researchEvents(w, PSEUDONYM_A)).toEqual([]);
    expect(await researchEvents(w, PSEUDONYM_B)).toEqual([]);
    expect(await record([PSEUDONYM_A], w.id.h2Gateway, { extractId: 'extract-h2-0001' })).toMatchObject({
      hospital: 'Hospital2MSP',
      patientCount: 1,
    });
  });

  it('refuses k below 5, and callers other than gateways and admins', async () => {
    await expect(record([PSEUDONYM_A], w.id.h1Gateway, { k: 4 })).rejects.toThrow(/INVALID_ARGUMENT: k/);
    await expect(record([PSEUDONYM_A], w.id.h1Gateway, { researcher: 'lab' })).rejects.toThrow(
      /INVALID_ARGUMENT: researcher/,
    );
    for (const as of [w.id.h2Researcher, w.id.h2Clinician, w.id.patientA]) {
      await expect(record([PSEUDONYM_A], as)).rejects.toThrow(/FORBIDDEN: Research:RecordExtract/);
    }
  });

  it('lets the producing hospital and the named researcher read an extract', async () => {
    const rec = await record([PSEUDONYM_A]);
    const read = (as: World['id'][keyof World['id']]) =>
      w.ledger.call<InstitutionalExtractRecord>(w.research, 'ReadExtract', ['extract-0001'], as);
    expect(await read(w.id.h1Gateway)).toEqual(rec);
    expect(await read(w.id.h1Admin)).toEqual(rec);
    expect(await read(w.id.h2Researcher)).toEqual(rec);
    for (const as of [w.id.h2Gateway, w.id.h1Researcher]) await expect(read(as)).rejects.toThrow(/FORBIDDEN/);
    await expect(read(w.id.patientA)).rejects.toThrow(/FORBIDDEN: Research:ReadExtract/);
  });
});

describe('Research uses', () => {
  let w: ResearchWorld;
  beforeEach(async () => {
    w = await withOffer(await makeResearchWorld());
    await accept(w, w.id.patientA, 'part-a-0001', 'consent-research-a');
    await accept(w, w.id.patientB, 'part-b-0001', 'consent-research-b');
    await deliver(w, w.id.patientA, 'part-a-0001', ['delivery-a-0001']);
  });

  const declare = (subject: string, useId: string, use: string, as = w.id.h2Researcher) =>
    w.ledger.call<ResearchUseAnswer>(w.research, 'DeclareUse', [subject, useId, use], as);

  it("logs a use of an offer's data on each delivered participant's log, once", async () => {
    const answer = await declare(OFFER, 'use-export-01', 'export');
    expect(answer).toEqual({ subject: OFFER, useId: 'use-export-01', use: 'export', count: 1 });
    expect(w.ledger.events.at(-1)).toEqual({
      name: 'ResearchUseDeclared',
      payload: { subject: OFFER, useId: 'use-export-01', count: 1 },
    });
    const events = await researchEvents(w, PSEUDONYM_A);
    expect(events.map((e) => e.references)).toEqual(expect.arrayContaining([[OFFER, 'use-export-01'].sort()]));
    expect(events.find((e) => e.references.includes('use-export-01'))).toMatchObject({
      actor: { mspId: 'Hospital2MSP', role: 'researcher', id: w.researcherId },
      purpose: 'HRESCH',
      outcome: 'success',
    });
    // B accepted but never delivered: nothing of B's was used
    expect(await researchEvents(w, PSEUDONYM_B)).toEqual([]);
    expect(await declare(OFFER, 'use-export-01', 'export')).toEqual(answer);
    expect(await researchEvents(w, PSEUDONYM_A)).toHaveLength(events.length);
    await expect(declare(OFFER, 'use-export-01', 'publication')).rejects.toThrow(/CONFLICT/);
  });

  it("logs a use of an institutional extract on each of its patients' logs", async () => {
    await w.ledger.invoke(
      w.research,
      'RecordExtract',
      [extract(w.researcherId), JSON.stringify([PSEUDONYM_A, PSEUDONYM_B])],
      w.id.h1Admin,
    );
    expect(await declare('extract-0001', 'use-analysis-1', 'analysis')).toMatchObject({ count: 2 });
    const onB = await researchEvents(w, PSEUDONYM_B);
    expect(onB.map((e) => e.references)).toEqual([['extract-0001'], ['extract-0001', 'use-analysis-1']]);
  });

  it("refuses another researcher's subject, an unknown one, an unknown use and other roles", async () => {
    await w.ledger.invoke(w.credits, 'OpenAccount', [], w.id.h1Researcher);
    await expect(declare(OFFER, 'use-0000002', 'analysis', w.id.h1Researcher)).rejects.toThrow(/FORBIDDEN/);
    await expect(declare('offer-none-0001', 'use-0000002', 'analysis')).rejects.toThrow(/NOT_FOUND/);
    await expect(declare(OFFER, 'use-0000002', 'selling')).rejects.toThrow(/INVALID_ARGUMENT: use/);
    await expect(declare(OFFER, 'use-0000002', 'analysis', w.id.h1Gateway)).rejects.toThrow(
      /FORBIDDEN: Research:DeclareUse/,
    );
  });

  it('is not something a client can log through AccessLog', async () => {
    const event = JSON.stringify({
      eventId: 'event-rs-0001',
      pseudonym: PSEUDONYM_A,
      action: 'research',
      outcome: 'success',
    });
    for (const as of [w.id.h1Gateway, w.id.h2Researcher, w.id.patientA]) {
      await expect(w.ledger.invoke(w.accessLog, 'RecordAccess', [event], as)).rejects.toThrow(/FORBIDDEN/);
    }
  });
});

it('an offer is read the same by its poster and a patient (no patient data in it)', async () => {
  const w = await makeResearchWorld();
  const offer = await post(w);
  expect(JSON.stringify(offer)).not.toMatch(/pt[a-z2-7]{26}/);
  expect(offer.encryptionPublicKey).toBe(SEALING_KEY);
});
