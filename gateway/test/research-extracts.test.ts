import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  generateEncryptionKeyPair,
  MAX_RESEARCH_EXTRACT_POST_BYTES,
  openEnvelope,
  PATIENTS_MSP_ID,
  RESEARCH_EXTRACT_PURPOSE,
  seal,
  type CreditAccountRecord,
  type EnvelopeSigner,
  type OfferTerms,
  type ResearchExtractList,
  type ResearchOfferRecord,
} from '@phr/common';
import type { Issued } from '@phr/test-support';
import {
  acceptStudyOffer,
  GatewayHarness,
  HOSPITAL_MSP,
  type OutcomeBody,
  type TestPatient,
} from '@phr/test-support/gateway';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(60_000);

const HBA1C = { system: 'http://loinc.org', code: '4548-4' };
const DAY = 86_400_000;
const diagnostics = (body: unknown) => (body as OutcomeBody).issue.map((i) => i.diagnostics).join('; ');

/** Issue 16: the extract mailbox between patients' agents and the researcher of an offer. */
describe('research extract mailbox', () => {
  let h: GatewayHarness;
  let db: DatabaseSync;
  let researcher: Issued;
  let otherResearcher: Issued;
  const sealing = generateEncryptionKeyPair('X25519');
  const as = (who: Issued, mspId = HOSPITAL_MSP) => ({ mspId, certificatePem: who.certificatePem });

  async function postOffer(offerId: string, overrides: Partial<OfferTerms> = {}): Promise<ResearchOfferRecord> {
    const terms: OfferTerms = {
      offerId,
      title: 'HbA1c in adults',
      criteria: { codes: [HBA1C], ageBand: { min: 18 } },
      wanted: { codes: [HBA1C], demographics: ['age', 'gender'] },
      dates: 'year',
      creditsPerParticipant: 10,
      quota: 5,
      expiresAt: new Date(Date.now() + 30 * DAY).toISOString(),
      collectVia: HOSPITAL_MSP,
      encryptionPublicKey: sealing.publicKeyPem,
      ...overrides,
    };
    return h.ledger.invokeAs<ResearchOfferRecord>(
      h.ledger.research,
      'PostOffer',
      [JSON.stringify(terms)],
      as(researcher),
    );
  }

  /** What the agent does before it posts: a research consent, a study key, Research.Accept. */
  const participate = (patient: TestPatient, offer: ResearchOfferRecord) =>
    acceptStudyOffer(h.ledger, patient.identity, offer, [HBA1C]);

  /** A post of `p`'s extract of `offerId`, sealed and signed as the agent does. */
  const extractBody = (offerId: string, p: { participationId: string; signer: EnvelopeSigner }, text?: string) => ({
    offerId,
    participationId: p.participationId,
    envelope: sealedExtract(offerId, p.participationId, p.signer, text),
  });

  function sealedExtract(offerId: string, participationId: string, signer: EnvelopeSigner, text = 'extract') {
    return seal(
      Buffer.from(JSON.stringify({ version: 1, offerId, participationId, note: text })),
      { algorithm: 'X25519', publicKey: sealing.publicKeyPem },
      { purpose: RESEARCH_EXTRACT_PURPOSE, offerId, participationId },
      signer,
    );
  }

  const post = (patient: TestPatient | Issued, body: unknown, headers: Record<string, string> = {}) =>
    h.request('identity' in patient ? patient.identity : patient, 'POST', '/research/extracts', body, headers);
  const list = (who: Issued, offerId: string, query = '') =>
    h.request(who, 'GET', `/research/offers/${offerId}/extracts${query}`);

  beforeAll(async () => {
    h = await GatewayHarness.create({ threads: 1 });
    db = new DatabaseSync(join(h.config.dataDir, 'gateway.db'));
    // The in-memory ledger's clock is fixed; the gateway's is the real one: one time for both.
    h.ledger.world.clock = Math.floor(Date.now() / 1000);
    researcher = await h.hospitalCa.issue('researcher-1', { attrs: { 'phr.role': 'researcher' } });
    otherResearcher = await h.hospitalCa.issue('researcher-2', { attrs: { 'phr.role': 'researcher' } });
    const otherAdmin = await h.otherCa.issue('admin-2', { attrs: { 'phr.role': 'admin' } });
    const register = (gateway: Issued, ca: string, admin: Issued, mspId: string, name: string) =>
      h.ledger.invokeAs(
        h.ledger.directory,
        'RegisterHospital',
        [name, `https://gw.${name.replace(/ /g, '').toLowerCase()}.example/fhir`, gateway.certificatePem, ca],
        as(admin, mspId),
      );
    await register(h.clients.gatewayIdentity, h.hospitalCa.certificatePem, h.clients.admin, HOSPITAL_MSP, 'Hospital 1');
    const otherGateway = await h.otherCa.issue('gateway-2', { attrs: { 'phr.role': 'hospital-gateway' } });
    await register(otherGateway, h.otherCa.certificatePem, otherAdmin, 'Hospital2MSP', 'Hospital 2');
    const account = await h.ledger.invokeAs<CreditAccountRecord>(h.ledger.credits, 'OpenAccount', [], as(researcher));
    await h.ledger.invokeAs(h.ledger.credits, 'Fund', [account.accountId, 1000, 'funding-0001'], as(h.clients.admin));
  });
  afterAll(async () => {
    db.close();
    await h.close();
  });

  it('keeps a sealed extract for the researcher, who fetches, opens and acknowledges it', async () => {
    const offer = await postOffer('offer-mailbox-01');
    const patient = await h.newPatient('mailbox-patient');
    const { participationId, signer } = await participate(patient, offer);
    const envelope = sealedExtract(offer.offerId, participationId, signer);

    const first = await post(patient, { offerId: offer.offerId, participationId, envelope });
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ offerId: offer.offerId, participationId, receivedAt: expect.any(String) });
    expect(first.headers.get('cache-control')).toBe('no-store');
    // A retry is answered with what is kept; another extract for the same place is refused.
    const again = await post(patient, { offerId: offer.offerId, participationId, envelope });
    expect(again.status).toBe(200);
    expect((again.json as { receivedAt: string }).receivedAt).toBe((first.json as { receivedAt: string }).receivedAt);
    const different = await post(patient, {
      offerId: offer.offerId,
      participationId,
      envelope: sealedExtract(offer.offerId, participationId, signer, 'another'),
    });
    expect(different.status).toBe(409);

    // The table holds ids and the sealed envelope: no pseudonym.
    const row = db.prepare('SELECT * FROM research_extract WHERE participation_id = ?').get(participationId) as Record<
      string,
      unknown
    >;
    expect(row).toMatchObject({ offer_id: offer.offerId, participation_id: participationId });
    expect(JSON.stringify(row)).not.toContain(patient.pseudonym);

    const fetched = await list(researcher, offer.offerId);
    expect(fetched.status).toBe(200);
    const answer = fetched.json as ResearchExtractList;
    expect(answer.more).toBe(false);
    expect(answer.extracts.map((e) => e.participationId)).toEqual([participationId]);
    const plain = openEnvelope(answer.extracts[0]!.envelope, sealing.privateKeyPem, {
      purpose: RESEARCH_EXTRACT_PURPOSE,
      offerId: offer.offerId,
      participationId,
    });
    expect(JSON.parse(plain.toString('utf8'))).toMatchObject({ participationId, note: 'extract' });

    const ack = await h.request(researcher, 'DELETE', `/research/offers/${offer.offerId}/extracts/${participationId}`);
    expect(ack.status).toBe(204);
    const twice = await h.request(
      researcher,
      'DELETE',
      `/research/offers/${offer.offerId}/extracts/${participationId}`,
    );
    expect(twice.status).toBe(204);
    expect(((await list(researcher, offer.offerId)).json as ResearchExtractList).extracts).toEqual([]);

    // The log lines of the flow name the offer and participation, never the patient.
    const log = readFileSync(h.logFile, 'utf8')
      .split('\n')
      .filter((l) => l.includes(participationId));
    expect(log.length).toBeGreaterThanOrEqual(2);
    for (const line of log) expect(line).not.toContain(patient.pseudonym);
  });

  it('pages the waiting extracts: _count at a time, `more` until acknowledged', async () => {
    const offer = await postOffer('offer-mailbox-02');
    const ids: string[] = [];
    for (const name of ['page-a', 'page-b', 'page-c']) {
      const patient = await h.newPatient(name);
      const { participationId, signer } = await participate(patient, offer);
      const res = await post(patient, extractBody(offer.offerId, { participationId, signer }));
      expect(res.status).toBe(201);
      ids.push(participationId);
    }
    const page = (await list(researcher, offer.offerId, '?_count=2')).json as ResearchExtractList;
    expect(page.extracts).toHaveLength(2);
    expect(page.more).toBe(true);
    for (const e of page.extracts) {
      expect(
        (await h.request(researcher, 'DELETE', `/research/offers/${offer.offerId}/extracts/${e.participationId}`))
          .status,
      ).toBe(204);
    }
    const rest = (await list(researcher, offer.offerId, '?_count=2')).json as ResearchExtractList;
    expect(rest.more).toBe(false);
    expect([...page.extracts, ...rest.extracts].map((e) => e.participationId).sort()).toEqual([...ids].sort());
    expect((await list(researcher, offer.offerId, '?_count=0')).status).toBe(400);
  });

  it('pages past extracts left unacknowledged with the `next` cursor', async () => {
    const offer = await postOffer('offer-mailbox-08');
    const ids: string[] = [];
    for (const name of ['cursor-a', 'cursor-b', 'cursor-c']) {
      const patient = await h.newPatient(name);
      const { participationId, signer } = await participate(patient, offer);
      const envelope = sealedExtract(offer.offerId, participationId, signer);
      expect((await post(patient, { offerId: offer.offerId, participationId, envelope })).status).toBe(201);
      ids.push(participationId);
    }
    // Nothing is acknowledged (the researcher refused them, say): without the cursor the first
    // page would come back for ever.
    const first = (await list(researcher, offer.offerId, '?_count=2')).json as ResearchExtractList;
    expect(first.extracts.map((e) => e.participationId)).toEqual(ids.slice(0, 2));
    expect(first.more).toBe(true);
    expect(first.next).toMatch(/^\d+$/);
    const second = (await list(researcher, offer.offerId, `?_count=2&after=${first.next}`)).json as ResearchExtractList;
    expect(second.extracts.map((e) => e.participationId)).toEqual(ids.slice(2));
    expect(second.more).toBe(false);
    const past = (await list(researcher, offer.offerId, `?after=${second.next}`)).json as ResearchExtractList;
    expect(past).toEqual({ extracts: [], more: false });
    // Acknowledging one behind the cursor moves nothing after it.
    expect((await h.request(researcher, 'DELETE', `/research/offers/${offer.offerId}/extracts/${ids[0]}`)).status).toBe(
      204,
    );
    const again = (await list(researcher, offer.offerId, `?_count=1&after=${first.next}`)).json as ResearchExtractList;
    expect(again.extracts.map((e) => e.participationId)).toEqual(ids.slice(2));

    for (const bad of ['abc', '-1', '1.5', '', '1'.repeat(16)]) {
      const res = await list(researcher, offer.offerId, `?after=${encodeURIComponent(bad)}`);
      expect(res.status).toBe(400);
      expect((res.json as { resourceType: string }).resourceType).toBe('OperationOutcome');
      expect(diagnostics(res.json)).toMatch(/after/);
    }
  });

  it('takes only extracts signed by the participation’s study key, for its offer, sealed for it', async () => {
    const offer = await postOffer('offer-mailbox-03');
    const other = await postOffer('offer-mailbox-04');
    const patient = await h.newPatient('mailbox-checks');
    const { participationId, signer } = await participate(patient, offer);
    const ok = { offerId: offer.offerId, participationId };

    // Signed with the patient's own certificate (which must never reach a researcher): not the study key.
    const byPatient = await post(patient, {
      ...ok,
      envelope: sealedExtract(offer.offerId, participationId, patient.identity),
    });
    expect(byPatient.status).toBe(403);
    expect(diagnostics(byPatient.json)).toMatch(/study key/);
    // AAD for another participation, or another purpose.
    const otherAad = await post(patient, {
      ...ok,
      envelope: sealedExtract(offer.offerId, 'part-someone-else', signer),
    });
    expect(otherAad.status).toBe(400);
    const wrongPurpose = seal(
      Buffer.from('{}'),
      { algorithm: 'X25519', publicKey: sealing.publicKeyPem },
      { purpose: 'something-else', offerId: offer.offerId, participationId },
      signer,
    );
    expect((await post(patient, { ...ok, envelope: wrongPurpose })).status).toBe(400);
    // A tampered envelope does not verify.
    const tampered = { ...sealedExtract(offer.offerId, participationId, signer), ciphertext: 'AAAA' };
    expect((await post(patient, { ...ok, envelope: tampered })).status).toBe(400);
    // The participation is in another offer; an offer that does not exist.
    const crossed = await post(patient, {
      offerId: other.offerId,
      participationId,
      envelope: sealedExtract(other.offerId, participationId, signer),
    });
    expect(crossed.status).toBe(404);
    const unknown = await post(patient, {
      offerId: 'offer-nowhere-1',
      participationId,
      envelope: sealedExtract('offer-nowhere-1', participationId, signer),
    });
    expect(unknown.status).toBe(404);
    // Shapes: unknown fields, bad ids, not JSON, too big; roles.
    expect(
      (await post(patient, { ...ok, envelope: sealedExtract(offer.offerId, participationId, signer), x: 1 })).status,
    ).toBe(400);
    expect((await post(patient, { ...ok, offerId: 'bad id', envelope: {} })).status).toBe(400);
    expect((await post(patient, 'not json')).status).toBe(400);
    expect((await post(patient, JSON.stringify(ok), { 'content-type': 'text/plain' })).status).toBe(415);
    const huge = await post(patient, { ...ok, envelope: 'x'.repeat(MAX_RESEARCH_EXTRACT_POST_BYTES) });
    expect(huge.status).toBe(413);
    const asResearcher = await post(researcher, {
      ...ok,
      envelope: sealedExtract(offer.offerId, participationId, signer),
    });
    expect(asResearcher.status).toBe(403);
    // Every refusal is an OperationOutcome, and nothing was kept.
    expect((byPatient.json as { resourceType: string }).resourceType).toBe('OperationOutcome');
    expect(
      db.prepare('SELECT COUNT(*) AS n FROM research_extract WHERE participation_id = ?').get(participationId),
    ).toEqual({ n: 0 });

    // Finally the right one.
    expect(
      (await post(patient, { ...ok, envelope: sealedExtract(offer.offerId, participationId, signer) })).status,
    ).toBe(201);
  });

  it('collects only for open offers that name this hospital', async () => {
    const elsewhere = await postOffer('offer-mailbox-05', { collectVia: 'Hospital2MSP' });
    const patient = await h.newPatient('mailbox-elsewhere');
    const p1 = await participate(patient, elsewhere);
    const res = await post(patient, extractBody(elsewhere.offerId, p1));
    expect(res.status).toBe(422);
    expect(diagnostics(res.json)).toMatch(/Hospital2MSP/);

    // A place accepted before the withdrawal may still deliver until the offer expires (as the
    // chaincode's Deliver allows); an expired offer takes nothing.
    const withdrawn = await postOffer('offer-mailbox-06');
    const p2 = await participate(patient, withdrawn);
    const envelope = sealedExtract(withdrawn.offerId, p2.participationId, p2.signer);
    await h.ledger.invokeAs(h.ledger.research, 'WithdrawOffer', [withdrawn.offerId], as(researcher));
    const late = await post(patient, { offerId: withdrawn.offerId, participationId: p2.participationId, envelope });
    expect(late.status).toBe(201);

    // The in-memory ledger's clock moves a second per transaction: set it back behind the real one.
    h.ledger.world.clock = Math.floor(Date.now() / 1000) - 10;
    const expiring = await postOffer('offer-mailbox-09', { expiresAt: new Date(Date.now() + 3000).toISOString() });
    const p3 = await participate(patient, expiring);
    await new Promise((resolve) => setTimeout(resolve, Date.parse(expiring.expiresAt) - Date.now() + 100));
    const expired = await post(patient, extractBody(expiring.offerId, p3));
    expect(expired.status).toBe(410);
    expect(diagnostics(expired.json)).toMatch(/expired/);

    h.ledger.available = false;
    try {
      // Not kept here, so the ledger must be read.
      const outage = await post(patient, extractBody(withdrawn.offerId, p2, 'another'));
      expect(outage.status).toBe(503);
    } finally {
      h.ledger.available = true;
    }
  });

  it('refuses a second post for a place already delivered and collected', async () => {
    const offer = await postOffer('offer-mailbox-10');
    const patient = await h.newPatient('mailbox-delivered');
    const { participationId, signer } = await participate(patient, offer);
    const body = extractBody(offer.offerId, { participationId, signer });
    expect((await post(patient, body)).status).toBe(201);
    const hash = createHash('sha256').update('the extract').digest('hex');
    await h.ledger.invokeAs(
      h.ledger.research,
      'Deliver',
      [participationId, '[]', hash, 0],
      as(patient.identity, PATIENTS_MSP_ID),
    );
    // Delivered but still kept: a retry is answered from what is kept.
    expect((await post(patient, body)).status).toBe(200);
    const ack = `/research/offers/${offer.offerId}/extracts/${participationId}`;
    expect((await h.request(researcher, 'DELETE', ack)).status).toBe(204);
    for (const again of [
      body,
      { ...body, envelope: sealedExtract(offer.offerId, participationId, signer, 'another') },
    ]) {
      const res = await post(patient, again);
      expect(res.status).toBe(409);
      expect((res.json as { resourceType: string }).resourceType).toBe('OperationOutcome');
      expect(diagnostics(res.json)).toMatch(/already delivered/);
    }
    expect(((await list(researcher, offer.offerId)).json as ResearchExtractList).extracts).toEqual([]);
  });

  it('purges the unacknowledged extracts of expired offers on the periodic housekeeping', async () => {
    h.ledger.world.clock = Math.floor(Date.now() / 1000) - 10;
    const expiring = await postOffer('offer-mailbox-11', { expiresAt: new Date(Date.now() + 3000).toISOString() });
    const lasting = await postOffer('offer-mailbox-12');
    const patient = await h.newPatient('mailbox-retention');
    const kept: string[] = [];
    for (const offer of [expiring, lasting]) {
      const { participationId, signer } = await participate(patient, offer);
      const envelope = sealedExtract(offer.offerId, participationId, signer);
      expect((await post(patient, { offerId: offer.offerId, participationId, envelope })).status).toBe(201);
      kept.push(participationId);
    }
    const expiryOf = (participationId: string) =>
      db
        .prepare('SELECT offer_expires_at AS at FROM research_extract WHERE participation_id = ?')
        .get(participationId) as { at: string } | undefined;
    expect(expiryOf(kept[0]!)?.at).toBe(new Date(expiring.expiresAt).toISOString());

    // Before the expiry a round keeps both.
    h.gateway.lifecycle.kept.housekeep();
    expect(expiryOf(kept[0]!)).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, Date.parse(expiring.expiresAt) - Date.now() + 100));
    h.gateway.lifecycle.kept.housekeep();
    expect(expiryOf(kept[0]!)).toBeUndefined();
    expect(expiryOf(kept[1]!)?.at).toBe(new Date(lasting.expiresAt).toISOString());
    expect(((await list(researcher, expiring.offerId)).json as ResearchExtractList).extracts).toEqual([]);
    expect(((await list(researcher, lasting.offerId)).json as ResearchExtractList).extracts).toHaveLength(1);
    expect(readFileSync(h.logFile, 'utf8')).toContain('research extracts of expired offers purged');
  });

  it('shows an offer’s extracts to the researcher who posted it, and to nobody else', async () => {
    const offer = await postOffer('offer-mailbox-07');
    const patient = await h.newPatient('mailbox-readers');
    const { participationId, signer } = await participate(patient, offer);
    expect((await post(patient, extractBody(offer.offerId, { participationId, signer }))).status).toBe(201);

    expect((await list(otherResearcher, offer.offerId)).status).toBe(403);
    expect((await list(patient.identity, offer.offerId)).status).toBe(403);
    expect((await list(h.clients.admin, offer.offerId)).status).toBe(403);
    const foreignAck = await h.request(
      otherResearcher,
      'DELETE',
      `/research/offers/${offer.offerId}/extracts/${participationId}`,
    );
    expect(foreignAck.status).toBe(403);
    expect((await list(researcher, 'offer-nowhere-2')).status).toBe(404);
    // Still there for its researcher.
    expect(((await list(researcher, offer.offerId)).json as ResearchExtractList).extracts).toHaveLength(1);
  });

  it('lists the routes in the CapabilityStatement', async () => {
    const cs = (await h.request(h.clients.clinician, 'GET', '/fhir/metadata')).json as {
      rest: { documentation?: string }[];
    };
    const text = JSON.stringify(cs);
    expect(text).toContain('POST /research/extracts');
    expect(text).toContain('GET /research/offers/{offerId}/extracts');
    expect(text).toContain('DELETE /research/offers/{offerId}/extracts/{participationId}');
  });
});
