/**
 * Research on the patient's terms (issue 16), from the agent's side: real agents with real vaults,
 * the real gateway delivering their records, the real Research and Credits contracts on the
 * in-memory ledger. The collecting gateway's `POST /research/extracts` is a small mailbox behind
 * the transport interface, so the test sees exactly what left each device and can make a send fail.
 */
import { createHash, createPublicKey, generateKeyPairSync, randomUUID, X509Certificate } from 'node:crypto';
import {
  canonicalJson,
  openEnvelope,
  parseExactJson,
  RESEARCH_EXTRACT_PURPOSE,
  verifyElementProof,
  verifyEnvelope,
  type CreditAccountRecord,
  type OfferTerms,
  type ParticipationRecord,
  type ResearchExtract,
  type ResearchOfferRecord,
  type SealedEnvelope,
} from '@phr/common';
import { CreditsContract, DirectoryContract, ResearchContract } from '@phr/chaincode';
import type { Issued } from '@phr/test-support';
import { Agent } from '../src/agent';
import { defaultConnectors, type AgentConnectors } from '../src/connectors';
import type { ResearchExtractPost } from '../src/transport/gateway-transport';
import { TransportError } from '../src/transport/transport-error';
import { AgentHarness, PASSPHRASE } from './support/agent-harness';

jest.setTimeout(180_000);

const LOINC = 'http://loinc.org';
const UCUM = 'http://unitsofmeasure.org';
const MARITAL = 'http://terminology.hl7.org/CodeSystem/v3-MaritalStatus';
const HBA1C = { system: LOINC, code: '4548-4' };
const OFFER_ID = 'offer-hba1c-adults-01';

const research = new ResearchContract();
const credits = new CreditsContract();
const directory = new DirectoryContract();

/** The collecting gateway's extract mailbox as the agents reach it; `failNext` loses the answer of one send. */
class ExtractMailbox {
  readonly stored = new Map<string, ResearchExtractPost>();
  readonly posts: { pseudonym: string; body: ResearchExtractPost }[] = [];
  failNext: 'after-store' | undefined;

  post(pseudonym: string, sent: ResearchExtractPost): void {
    // as it crosses the wire
    const body = JSON.parse(JSON.stringify(sent)) as ResearchExtractPost;
    this.posts.push({ pseudonym, body });
    const earlier = this.stored.get(body.participationId);
    if (earlier && canonicalJson(earlier.envelope) !== canonicalJson(body.envelope)) {
      throw new TransportError('HTTP_ERROR', 'POST /research/extracts answered 409: another envelope', 409);
    }
    this.stored.set(body.participationId, body);
    if (this.failNext === 'after-store') {
      this.failNext = undefined;
      throw new TransportError('UNREACHABLE', 'the connection dropped before the answer');
    }
  }

  from(pseudonym: string): ResearchExtractPost[] {
    return this.posts.filter((p) => p.pseudonym === pseudonym).map((p) => p.body);
  }
}

let h: AgentHarness;
let mailbox: ExtractMailbox;
let researcher: Issued;
let researcherId: string;
let hospitalMsp: string;
const sealing = generateKeyPairSync('x25519', {
  publicKeyEncoding: { type: 'spki', format: 'pem' },
  privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
});
const opened: Agent[] = [];

const as = (who: Issued) => ({ mspId: hospitalMsp, certificatePem: who.certificatePem });

function connectors(): AgentConnectors {
  const base = h.connectors;
  return {
    ...base,
    gateway: (hospital, pseudonym, identity) => {
      const real = defaultConnectors.gateway(hospital, pseudonym, identity);
      real.postResearchExtract = async (body) => mailbox.post(pseudonym, body);
      return real;
    },
  };
}

function terms(overrides: Partial<OfferTerms> = {}): OfferTerms {
  return {
    offerId: OFFER_ID,
    title: 'HbA1c of adults 18+',
    criteria: { codes: [HBA1C], ageBand: { min: 18 } },
    wanted: { codes: [HBA1C, { system: MARITAL }], demographics: ['age', 'gender', 'postalCode3'] },
    dates: 'year',
    creditsPerParticipant: 10,
    quota: 10,
    expiresAt: new Date(Date.now() + 30 * 86_400_000).toISOString(),
    collectVia: hospitalMsp,
    encryptionPublicKey: sealing.publicKey,
    ...overrides,
  };
}

interface PatientData {
  family: string;
  birthDate: string;
  /** HbA1c results (%), at distinct dates; none means another lab result instead. */
  hba1c?: number[];
}

/** A transaction bundle: the Patient (name, MRN, address, marital status) and lab results. */
function bundleFor(tag: string, p: PatientData): { bundle: unknown; mrn: { system: string; value: string } } {
  const mrn = { system: 'http://hospital1.example/mrn', value: `MRN-${tag}-${randomUUID()}` };
  const patientUrl = `urn:uuid:${randomUUID()}`;
  const entry = (resource: Record<string, unknown>) => ({
    fullUrl: `urn:uuid:${randomUUID()}`,
    resource,
    request: { method: 'POST', url: resource.resourceType },
  });
  const lab = (code: { system: string; code: string; display: string }, value: number, day: number) =>
    entry({
      resourceType: 'Observation',
      status: 'final',
      category: [
        {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/observation-category', code: 'laboratory' }],
        },
      ],
      code: { coding: [code] },
      subject: { reference: patientUrl },
      effectiveDateTime: `2024-03-${String(10 + day).padStart(2, '0')}T08:30:00Z`,
      valueQuantity: { value, unit: '%', system: UCUM, code: '%' },
    });
  const results = p.hba1c
    ? p.hba1c.map((v, i) => lab({ ...HBA1C, display: 'Hemoglobin A1c/Hemoglobin.total in Blood' }, v, i))
    : [lab({ system: LOINC, code: '2345-7', display: 'Glucose [Mass/volume] in Serum or Plasma' }, 98, 0)];
  const patient = {
    fullUrl: patientUrl,
    resource: {
      resourceType: 'Patient',
      identifier: [
        {
          type: { coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v2-0203', code: 'MR' }] },
          ...mrn,
        },
      ],
      name: [{ family: p.family, given: ['Test'] }],
      telecom: [{ system: 'phone', value: '617-555-0101' }],
      gender: 'male',
      birthDate: p.birthDate,
      address: [{ line: ['12 Elm St'], city: 'Boston', state: 'MA', postalCode: '02115' }],
      maritalStatus: { coding: [{ system: MARITAL, code: 'M', display: 'Married' }] },
    },
    request: { method: 'POST', url: 'Patient' },
  };
  return { bundle: { resourceType: 'Bundle', type: 'transaction', entry: [patient, ...results] }, mrn };
}

/** A patient whose agent holds their records from hospital 1, reopened with the test's connectors. */
async function patientWith(tag: string, data: PatientData): Promise<{ agent: Agent; pseudonym: string }> {
  const { agent: first, home, pseudonym } = await h.newAgent();
  const { bundle, mrn } = bundleFor(tag, data);
  await h.link(first, mrn);
  await h.post(bundle);
  await first.sync();
  await first.close();
  const agent = await Agent.open(home, PASSPHRASE, { connectors: connectors() });
  opened.push(agent);
  return { agent, pseudonym };
}

async function participationAsResearcher(participationId: string): Promise<ParticipationRecord> {
  return h.gw.ledger.world.call<ParticipationRecord>(research, 'ReadParticipation', [participationId], as(researcher));
}

async function offerNow(): Promise<ResearchOfferRecord> {
  return h.gw.ledger.world.call<ResearchOfferRecord>(research, 'ReadOffer', [OFFER_ID], as(researcher));
}

/** What the researcher does with one extract: open it, and check it against the ledger. */
async function openAsResearcher(post: ResearchExtractPost): Promise<ResearchExtract> {
  const p = await participationAsResearcher(post.participationId);
  const verified = verifyEnvelope(post.envelope);
  const signer = new X509Certificate(verified.senderCertificate);
  expect(signer.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')).toBe(p.studyKey);
  expect(signer.subject).toBe(`CN=${post.participationId}`);
  const plaintext = openEnvelope(verified, sealing.privateKey, {
    purpose: RESEARCH_EXTRACT_PURPOSE,
    offerId: post.offerId,
    participationId: post.participationId,
  });
  expect(createHash('sha256').update(plaintext).digest('hex')).toBe(p.extractHash);
  const extract = parseExactJson(plaintext.toString('utf8')) as ResearchExtract;
  for (const e of extract.elements) {
    if (e.status !== 'unchanged') continue;
    expect(p.roots).toContain(e.root);
    expect(verifyElementProof(e.element, e.salt, e.proof, e.root)).toBe(true);
  }
  return extract;
}

beforeAll(async () => {
  h = await AgentHarness.create();
  mailbox = new ExtractMailbox();
  hospitalMsp = h.gw.config.hospital.mspId;
  const world = h.gw.ledger.world;
  // Hospital 1 in the directory (offers name the collecting hospital from it), by its admin.
  await world.invoke(
    directory,
    'RegisterHospital',
    ['Hospital 1', h.gw.url, h.gw.clients.gatewayIdentity.certificatePem, h.gw.hospitalCa.certificatePem],
    as(h.gw.clients.admin),
  );
  researcher = await h.gw.hospitalCa.issue('researcher-1', { attrs: { 'phr.role': 'researcher' } });
  const account = await world.call<CreditAccountRecord>(credits, 'OpenAccount', [], as(researcher));
  researcherId = account.accountId;
  await world.invoke(credits, 'Fund', [researcherId, 1000, 'funding-research-0001'], as(h.gw.clients.admin));
  await world.invoke(research, 'PostOffer', [JSON.stringify(terms())], as(researcher));
});
afterAll(async () => {
  for (const a of opened) await a.close().catch(() => undefined);
  await h?.close();
});

describe('research offers on the agent', () => {
  it('a matching patient sees the offer with its preview, accepts, and delivers: consent, credits, a verifiable extract', async () => {
    const { agent, pseudonym } = await patientWith('accepts', {
      family: 'Barton',
      birthDate: '1931-02-03',
      hba1c: [6.9, 7.4],
    });

    const [view] = await agent.researchOffers();
    expect(view).toMatchObject({ offerId: OFFER_ID, matches: true, status: 'open', creditsPerParticipant: 10 });
    expect(view?.preview.demographics).toEqual({ age: '90+', gender: 'male', postalCode3: '021' });
    // two HbA1c results with their dates cut to the year, and the marital status as committed
    expect(view?.preview.elements.map((e) => [e.code, e.status, e.time])).toEqual(
      expect.arrayContaining([
        ['4548-4', 'changed', '2024'],
        ['4548-4', 'changed', '2024'],
        ['M', 'unchanged', undefined],
      ]),
    );

    const result = await agent.acceptResearch(OFFER_ID);
    expect(result).toMatchObject({ offerId: OFFER_ID, credits: 10, elementCount: 3, alreadyDelivered: false });

    // exactly one envelope left the device, and the researcher opens and verifies it
    const posts = mailbox.from(pseudonym);
    expect(posts).toHaveLength(1);
    const extract = await openAsResearcher(posts[0] as ResearchExtractPost);
    expect(extract.demographics).toEqual({ age: '90+', gender: 'male', postalCode3: '021' });
    expect(extract.elements.filter((e) => e.status === 'unchanged')).toHaveLength(1);
    const text = JSON.stringify(posts[0]);
    for (const secret of [pseudonym, 'Barton', '12 Elm St', '617-555', '1931-02-03', '2024-03-1', agent.identity.id]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toContain(agent.identity.certificatePem.split('\n')[1] as string);

    const participation = await participationAsResearcher(result.participationId);
    expect(participation).toMatchObject({ status: 'delivered', credits: 10, elementCount: 3 });
    expect(participation.pseudonym).toBeUndefined();

    // the consent the study ran under names the study, not the researcher, and is revoked once delivered
    const consent = (await agent.consents()).find((c) => c.consentId === participation.consentId);
    expect(consent).toMatchObject({
      grantee: { kind: 'study', id: OFFER_ID },
      purposes: ['HRESCH'],
      status: 'revoked',
    });
    expect(consent?.scope.codes).toEqual(expect.arrayContaining([HBA1C, { system: MARITAL, code: 'M' }]));
    expect((await agent.consents()).filter((c) => c.grantee.id === researcherId)).toEqual([]);

    // credits: paid to the patient, taken from the offer's escrow
    const mine = await agent.researchCredits();
    expect(mine.balance).toBe(10);
    expect(mine.entries.map((e) => [e.kind, e.amount])).toEqual([['payment', 10]]);
    expect((await offerNow()).escrow).toBe(90);

    // the history says what the study got; the access log shows the research use
    const [entry] = await agent.researchHistory();
    expect(entry).toMatchObject({ offerId: OFFER_ID, status: 'delivered', credits: 10 });
    expect(entry?.shared?.codes).toEqual(
      expect.arrayContaining([expect.objectContaining({ code: '4548-4', count: 2 })]),
    );
    const log = await agent.accessLog();
    expect(log.find((e) => e.action === 'research')).toMatchObject({ purpose: 'HRESCH', outcome: 'success' });

    // accepting again sends nothing more
    expect(await agent.acceptResearch(OFFER_ID)).toMatchObject({ alreadyDelivered: true, credits: 10 });
    expect(mailbox.from(pseudonym)).toHaveLength(1);
  });

  it('a patient who declines sends nothing and leaves nothing on the ledger', async () => {
    const { agent, pseudonym } = await patientWith('declines', {
      family: 'Covarrubias',
      birthDate: '1980-05-05',
      hba1c: [6.1],
    });
    expect((await agent.researchOffers()).map((o) => o.offerId)).toEqual([OFFER_ID]);
    const before = await offerNow();
    await agent.declineResearch(OFFER_ID);
    expect(mailbox.from(pseudonym)).toEqual([]);
    expect(await agent['ledger'].listMyParticipations()).toEqual([]);
    expect((await offerNow()).accepted).toBe(before.accepted);
    expect((await agent.consents()).filter((c) => c.purposes.includes('HRESCH'))).toEqual([]);
    expect(await agent.researchHistory()).toEqual([
      expect.objectContaining({ offerId: OFFER_ID, decision: 'declined', status: 'declined', credits: 0 }),
    ]);
    await expect(agent.declineResearch(OFFER_ID)).resolves.toEqual({ offerId: OFFER_ID, placeKept: false });
  });

  it('a non-matching patient is not offered the study, and cannot send to it', async () => {
    const child = await patientWith('child', { family: 'Schaefer', birthDate: '2015-01-01', hba1c: [5.2] });
    const noLab = await patientWith('nolab', { family: 'Portillo', birthDate: '1970-01-01' });
    for (const { agent, pseudonym } of [child, noLab]) {
      expect(await agent.researchOffers()).toEqual([]);
      const [marked] = await agent.researchOffers({ all: true });
      expect(marked).toMatchObject({ offerId: OFFER_ID, matches: false });
      expect(marked?.reasons.length).toBeGreaterThan(0);
      await expect(agent.acceptResearch(OFFER_ID)).rejects.toMatchObject({
        name: 'ResearchError',
        code: 'NOT_MATCHING',
      });
      expect(mailbox.from(pseudonym)).toEqual([]);
      expect(await agent['ledger'].listMyParticipations()).toEqual([]);
    }
  });

  it('an opted-out patient cannot accept; opting in again lets them', async () => {
    const { agent, pseudonym } = await patientWith('optout', {
      family: 'Smitham',
      birthDate: '1975-07-07',
      hba1c: [8.2],
    });
    expect(await agent.setResearchOptOut(true)).toEqual({ optedOut: true });
    expect(await agent.researchStatus()).toEqual({ optedOut: true });
    await expect(agent.acceptResearch(OFFER_ID)).rejects.toMatchObject({ code: 'OPTED_OUT' });
    expect(mailbox.from(pseudonym)).toEqual([]);
    expect(await agent['ledger'].listMyParticipations()).toEqual([]);
    expect((await agent.consents()).filter((c) => c.purposes.includes('HRESCH'))).toEqual([]);

    await agent.setResearchOptOut(false);
    expect(await agent.acceptResearch(OFFER_ID)).toMatchObject({ credits: 10, alreadyDelivered: false });
  });

  it('after a send whose answer was lost, accepting again delivers exactly once', async () => {
    const { agent, pseudonym } = await patientWith('retry', { family: 'Retry', birthDate: '1960-10-10', hba1c: [7.0] });
    mailbox.failNext = 'after-store';
    // the study consent's revocation fails once too: the delivery must not, and sync retries it
    const ledger = agent['ledger'];
    const revoke = ledger.revokeConsent.bind(ledger);
    let revokeFails = 1;
    ledger.revokeConsent = async (consentId) => {
      if (revokeFails-- > 0) throw new Error('the peer did not answer');
      return revoke(consentId);
    };
    await expect(agent.acceptResearch(OFFER_ID)).rejects.toMatchObject({ name: 'ResearchError', code: 'INCOMPLETE' });
    const [pending] = await agent.researchHistory();
    expect(pending).toMatchObject({ status: 'pending', credits: 0 });
    // the envelope may be at the gateway (the answer was lost): declining now cannot say "nothing sent"
    await expect(agent.declineResearch(OFFER_ID)).rejects.toMatchObject({ code: 'ALREADY_DECIDED' });
    expect((await agent.researchCredits()).balance).toBe(0);

    const done = await agent.acceptResearch(OFFER_ID);
    expect(done).toMatchObject({ credits: 10, alreadyDelivered: false, participationId: pending?.participationId });
    const posts = mailbox.from(pseudonym);
    // the same envelope twice (one answer lost), stored once, paid once
    expect(posts).toHaveLength(2);
    expect(canonicalJson(posts[0]?.envelope as SealedEnvelope)).toBe(
      canonicalJson(posts[1]?.envelope as SealedEnvelope),
    );
    expect([...mailbox.stored.values()].filter((p) => p.participationId === done.participationId)).toHaveLength(1);
    await openAsResearcher(posts[1] as ResearchExtractPost);
    const statement = await agent.researchCredits();
    expect(statement.balance).toBe(10);
    expect(statement.entries).toHaveLength(1);
    expect((await agent['ledger'].listMyParticipations()).map((p) => p.status)).toEqual(['delivered']);
    // the study key on the ledger is the one that signed
    const p = await participationAsResearcher(done.participationId);
    expect(
      createPublicKey({ key: Buffer.from(p.studyKey, 'base64'), format: 'der', type: 'spki' }).asymmetricKeyType,
    ).toBe('ec');

    const studyConsent = async () => (await agent.consents()).find((c) => c.consentId === p.consentId);
    expect(await studyConsent()).toMatchObject({ grantee: { kind: 'study', id: OFFER_ID }, status: 'active' });
    await agent.sync();
    expect(await studyConsent()).toMatchObject({ status: 'revoked' });
  });

  it('declining after prepare, before anything reached the ledger, is allowed and sends nothing', async () => {
    const { agent, pseudonym } = await patientWith('prepared', {
      family: 'Prepared',
      birthDate: '1970-02-02',
      hba1c: [6.4],
    });
    const ledger = agent['ledger'];
    const grant = ledger.grantConsent.bind(ledger);
    ledger.grantConsent = async () => {
      throw new Error('the peer did not answer');
    };
    await expect(agent.acceptResearch(OFFER_ID)).rejects.toMatchObject({ code: 'INCOMPLETE' });
    expect((await agent.researchOffer(OFFER_ID)).stage).toBe('prepared');
    ledger.grantConsent = grant;

    expect(await agent.declineResearch(OFFER_ID)).toEqual({ offerId: OFFER_ID, placeKept: false });
    expect(mailbox.from(pseudonym)).toEqual([]);
    expect(await ledger.listMyParticipations()).toEqual([]);
    expect(await agent.consents()).toEqual([]);
    expect(await agent.researchHistory()).toEqual([
      expect.objectContaining({ offerId: OFFER_ID, decision: 'declined', status: 'declined', credits: 0 }),
    ]);
    expect((await agent['vault'].researchDecision(OFFER_ID))?.secret).toBeUndefined();
  });

  it('declining after the consent reached the ledger revokes it, keeps the place and sends nothing', async () => {
    const { agent, pseudonym } = await patientWith('late-decline', {
      family: 'Late',
      birthDate: '1965-03-03',
      hba1c: [7.7],
    });
    // Research.Accept takes the place, but its answer is lost: the agent stops at `consented`
    const ledger = agent['ledger'];
    const acceptOffer = ledger.acceptOffer.bind(ledger);
    ledger.acceptOffer = async (...args) => {
      await acceptOffer(...args);
      throw new Error('the answer was lost');
    };
    await expect(agent.acceptResearch(OFFER_ID)).rejects.toMatchObject({ code: 'INCOMPLETE' });
    ledger.acceptOffer = acceptOffer;
    const [place] = await ledger.listMyParticipations();
    expect(place).toMatchObject({ offerId: OFFER_ID, status: 'accepted' });
    expect((await agent.consents()).find((c) => c.consentId === place?.consentId)?.status).toBe('active');

    expect(await agent.declineResearch(OFFER_ID)).toEqual({ offerId: OFFER_ID, placeKept: true });
    expect((await agent.consents()).find((c) => c.consentId === place?.consentId)).toMatchObject({
      grantee: { kind: 'study', id: OFFER_ID },
      status: 'revoked',
    });
    expect(mailbox.from(pseudonym)).toEqual([]);
    expect((await ledger.listMyParticipations()).map((p) => p.status)).toEqual(['accepted']);
    expect(await agent.researchOffer(OFFER_ID)).toMatchObject({ decision: 'declined', placeKept: true });
    // the extract and study key are gone, and accepting again is refused
    expect((await agent['vault'].researchDecision(OFFER_ID))?.secret).toBeUndefined();
    await expect(agent.acceptResearch(OFFER_ID)).rejects.toMatchObject({ code: 'ALREADY_DECIDED' });
    expect(mailbox.from(pseudonym)).toEqual([]);
    expect(await agent.declineResearch(OFFER_ID)).toEqual({ offerId: OFFER_ID, placeKept: true });
  });

  it('an interrupted delivery stays listed and finishes after the quota filled and the offer was withdrawn', async () => {
    const FULL = 'offer-hba1c-full-01';
    await h.gw.ledger.world.invoke(
      research,
      'PostOffer',
      [JSON.stringify(terms({ offerId: FULL, quota: 2 }))],
      as(researcher),
    );
    const readFull = () => h.gw.ledger.world.call<ResearchOfferRecord>(research, 'ReadOffer', [FULL], as(researcher));
    const listed = async (agent: Agent) => (await agent.researchOffers({ all: true })).find((o) => o.offerId === FULL);

    // C: its study consent is on the ledger, but Research.Accept never ran: no place taken
    const c = await patientWith('no-place', { family: 'Noplace', birthDate: '1972-01-01', hba1c: [6.2] });
    const cLedger = c.agent['ledger'];
    const cAccept = cLedger.acceptOffer.bind(cLedger);
    cLedger.acceptOffer = async () => {
      throw new Error('the peer did not answer');
    };
    await expect(c.agent.acceptResearch(FULL)).rejects.toMatchObject({ code: 'INCOMPLETE' });
    cLedger.acceptOffer = cAccept;
    expect((await c.agent.researchOffer(FULL)).stage).toBe('consented');

    // D: Research.Accept took its place, the answer was lost (the agent stopped at `consented`)
    const d = await patientWith('lost-accept', { family: 'Lostaccept', birthDate: '1973-01-01', hba1c: [6.3] });
    const dLedger = d.agent['ledger'];
    const dAccept = dLedger.acceptOffer.bind(dLedger);
    dLedger.acceptOffer = async (...args) => {
      await dAccept(...args);
      throw new Error('the answer was lost');
    };
    await expect(d.agent.acceptResearch(FULL)).rejects.toMatchObject({ code: 'INCOMPLETE' });
    dLedger.acceptOffer = dAccept;

    // A: its extract reached the gateway, Research.Deliver did not run; the quota is full now
    const a = await patientWith('interrupted', { family: 'Interrupted', birthDate: '1974-01-01', hba1c: [6.4] });
    const aLedger = a.agent['ledger'];
    const deliver = aLedger.deliverExtract.bind(aLedger);
    aLedger.deliverExtract = async () => {
      throw new Error('the peer did not answer');
    };
    await expect(a.agent.acceptResearch(FULL)).rejects.toMatchObject({ code: 'INCOMPLETE' });
    aLedger.deliverExtract = deliver;
    expect(await readFull()).toMatchObject({ accepted: 2, delivered: 0 });

    // full: no one else is offered it, but both places taken are listed, finishable; C's is not
    const other = await patientWith('late-comer', { family: 'Latecomer', birthDate: '1975-01-01', hba1c: [6.5] });
    expect(await listed(other.agent)).toBeUndefined();
    await expect(other.agent.acceptResearch(FULL)).rejects.toMatchObject({ code: 'CLOSED' });
    expect(await listed(c.agent)).toBeUndefined();
    expect(await listed(a.agent)).toMatchObject({
      status: 'closed',
      decision: 'accepted',
      stage: 'posted',
      finishable: true,
    });
    expect(await listed(d.agent)).toMatchObject({ status: 'closed', stage: 'consented', finishable: true });
    // listed without --all too (accepted), and shown the same way
    expect((await a.agent.researchOffers()).map((o) => o.offerId)).toContain(FULL);
    expect(await a.agent.researchOffer(FULL)).toMatchObject({ finishable: true });
    expect(await c.agent.researchOffer(FULL)).not.toHaveProperty('finishable');

    // withdrawn: the escrow keeps the two places, and both still finish until expiry
    await h.gw.ledger.world.invoke(research, 'WithdrawOffer', [FULL], as(researcher));
    expect(await readFull()).toMatchObject({ status: 'withdrawn', escrow: 20 });
    expect(await listed(a.agent)).toMatchObject({ status: 'withdrawn', finishable: true });
    expect(await listed(d.agent)).toMatchObject({ status: 'withdrawn', finishable: true });
    for (const { agent, pseudonym } of [a, d]) {
      expect(await agent.acceptResearch(FULL)).toMatchObject({ credits: 10, alreadyDelivered: false });
      expect(mailbox.from(pseudonym)).toHaveLength(1);
      expect((await agent.researchCredits()).balance).toBe(10);
      // delivered, and the offer no longer takes anyone: it leaves the list
      expect(await listed(agent)).toBeUndefined();
    }
    expect(await readFull()).toMatchObject({ accepted: 2, delivered: 2, escrow: 0 });
    expect(mailbox.from(c.pseudonym)).toEqual([]);
  });

  it('an offer whose wanted element lost its delivery in the vault still lists, and previews it as withheld', async () => {
    const { agent } = await patientWith('orphan', { family: 'Orphan', birthDate: '1950-04-04', hba1c: [6.6] });
    const vault = agent['vault'];
    const deliveries = vault.deliveries.bind(vault);
    // the vault forgets the delivery the marital status came from (as after a partial restore)
    vault.deliveries = async () => [];
    const [view] = await agent.researchOffers();
    vault.deliveries = deliveries;
    expect(view).toMatchObject({ offerId: OFFER_ID, matches: true });
    expect(view?.preview.elements.map((e) => [e.code, e.status])).toEqual(
      expect.arrayContaining([
        ['4548-4', 'changed'],
        ['M', 'withheld'],
      ]),
    );
  });
});
