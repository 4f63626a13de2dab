import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  deriveRecoveryKeys,
  newPseudonym,
  openEnvelope,
  PATIENTS_MSP_ID,
  seal,
  type RecoveryApprovals,
  type RecoveryOpened,
} from '@phr/common';
import type { Issued } from '@phr/test-support';
import { GatewayHarness, type OutcomeBody, type TestPatient } from '@phr/test-support/gateway';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(60_000);

const diagnostics = (body: unknown) => (body as OutcomeBody).issue.map((i) => i.diagnostics).join('; ');

/** A new device's one-time key pair for a request: the public half as base64 SPKI DER. */
function ephemeralKey() {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'der' }).toString('base64'),
    privateKeyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** Issue 15 item 4: recovery requests and the guardians' approvals at the gateway. */
describe('recovery requests and approvals', () => {
  let h: GatewayHarness;
  let lost: TestPatient;
  let g1: TestPatient;
  let g2: TestPatient;
  let stranger: TestPatient;
  let device: Issued;
  let db: DatabaseSync;

  const asPatient = (p: TestPatient) => ({ mspId: PATIENTS_MSP_ID, certificatePem: p.identity.certificatePem });
  const setGuardians = (p: TestPatient, guardians: string[]) =>
    h.ledger.world.call(h.ledger.registry, 'SetGuardians', [p.pseudonym, JSON.stringify(guardians)], asPatient(p));

  beforeAll(async () => {
    h = await GatewayHarness.create({ threads: 1 });
    lost = await h.newPatient('rq-lost');
    g1 = await h.newPatient('rq-guardian-1');
    g2 = await h.newPatient('rq-guardian-2');
    stranger = await h.newPatient('rq-stranger');
    const recoveryKey = deriveRecoveryKeys(randomBytes(32)).publicKey;
    await h.ledger.world.call(h.ledger.registry, 'SetRecoveryKey', [lost.pseudonym, recoveryKey], asPatient(lost));
    await setGuardians(lost, [g1.pseudonym, g2.pseudonym].sort());
    // The new device: enrolled at the patients' CA, owning nothing on the ledger yet.
    device = await h.patientsCa.issue('rq-new-device', { attrs: { 'phr.role': 'patient' } });
    db = new DatabaseSync(join(h.config.dataDir, 'gateway.db'));
  });
  afterAll(async () => {
    db.close();
    await h.close();
  });

  const open = (requestId: string, pseudonym: string, ephemeralPublicKey: string, as: Issued = device) =>
    h.request(as, 'POST', '/recovery', { requestId, pseudonym, ephemeralPublicKey });

  /** The guardian's share, sealed to the request's ephemeral key and signed by the guardian. */
  const approval = (requestId: string, guardian: TestPatient, ephemeralPublicKey: string, aad = {}) => ({
    guardian: guardian.pseudonym,
    envelope: seal(
      Buffer.from(`share of ${guardian.pseudonym}`),
      { algorithm: 'X25519', publicKey: ephemeralPublicKey },
      { kind: 'recovery-approval', requestId, pseudonym: lost.pseudonym, guardian: guardian.pseudonym, ...aad },
      guardian.identity,
    ),
  });
  const approve = (requestId: string, guardian: TestPatient, body: unknown, as: Issued = guardian.identity) =>
    h.request(as, 'POST', `/recovery/${requestId}/approvals`, body);

  it('opens a request, takes the guardians’ approvals, and gives them to the device that opened it only', async () => {
    const key = ephemeralKey();
    const requestId = `rq-${randomUUID()}`;
    const opened = await open(requestId, lost.pseudonym, key.publicKey);
    expect(opened.status).toBe(201);
    const body = opened.json as RecoveryOpened;
    expect(body).toMatchObject({ requestId, pseudonym: lost.pseudonym, ephemeralPublicKey: key.publicKey });
    const ttl = Date.parse(body.expiresAt) - Date.parse(body.createdAt);
    expect(ttl).toBe(72 * 60 * 60 * 1000);
    // A retried POST changes nothing.
    const again = await open(requestId, lost.pseudonym, key.publicKey);
    expect(again.status).toBe(200);
    expect((again.json as RecoveryOpened).expiresAt).toBe(body.expiresAt);

    const first = await approve(requestId, g1, approval(requestId, g1, key.publicKey));
    expect(first.status).toBe(201);
    expect(first.json).toMatchObject({ requestId, guardian: g1.pseudonym, approvedAt: expect.any(String) });
    // The same guardian again replaces its approval; there is still one per guardian.
    expect((await approve(requestId, g1, approval(requestId, g1, key.publicKey))).status).toBe(200);
    expect((await approve(requestId, g2, approval(requestId, g2, key.publicKey))).status).toBe(201);

    const read = await h.request(device, 'GET', `/recovery/${requestId}/approvals`);
    expect(read.status).toBe(200);
    const approvals = read.json as RecoveryApprovals;
    expect(approvals).toMatchObject({ requestId, pseudonym: lost.pseudonym, expiresAt: body.expiresAt });
    expect(approvals.approvals.map((a) => a.guardian).sort()).toEqual([g1.pseudonym, g2.pseudonym].sort());
    const opens = approvals.approvals.map((a) => openEnvelope(a.envelope, key.privateKeyPem).toString());
    expect(opens.sort()).toEqual([`share of ${g1.pseudonym}`, `share of ${g2.pseudonym}`].sort());

    // Anyone else, a guardian included, is told there is no such request.
    for (const other of [g1.identity, lost.identity]) {
      const res = await h.request(other, 'GET', `/recovery/${requestId}/approvals`);
      expect(res.status).toBe(404);
      expect((res.json as OutcomeBody).resourceType).toBe('OperationOutcome');
    }
  });

  it('refuses approvals from someone the patient did not name, for another guardian, or for another request', async () => {
    const key = ephemeralKey();
    const requestId = `rq-${randomUUID()}`;
    expect((await open(requestId, lost.pseudonym, key.publicKey)).status).toBe(201);

    const notNamed = await approve(requestId, stranger, approval(requestId, stranger, key.publicKey));
    expect(notNamed.status).toBe(403);
    expect(diagnostics(notNamed.json)).toMatch(/not among the guardians/);

    // The stranger claims to be g1: it does not own g1's pseudonym (and did not sign as g1).
    const claimed = await approve(
      requestId,
      g1,
      { guardian: g1.pseudonym, envelope: approval(requestId, stranger, key.publicKey).envelope },
      stranger.identity,
    );
    expect(claimed.status).toBe(400);
    const signedByG1 = await approve(requestId, g1, approval(requestId, g1, key.publicKey), stranger.identity);
    expect(signedByG1.status).toBe(403);

    const elsewhere = await approve(requestId, g1, approval('rq-another-request', g1, key.publicKey));
    expect(elsewhere.status).toBe(400);
    expect(diagnostics(elsewhere.json)).toMatch(/sealed for another request/);

    expect((await approve(`rq-${randomUUID()}`, g1, approval('x', g1, key.publicKey))).status).toBe(404);
    const stored = db.prepare('SELECT COUNT(*) AS n FROM recovery_approval WHERE request_id = ?').get(requestId);
    expect(stored).toEqual({ n: 0 });
  });

  it('is never told who the guardians are: it asks the ledger about the one guardian that approves', async () => {
    const record = await h.ledger.readPatient(lost.pseudonym);
    expect(record).toMatchObject({ pseudonym: lost.pseudonym, recoveryPublicKey: expect.any(String) });
    expect(record).not.toHaveProperty('guardians');
    expect(await h.ledger.isGuardian(lost.pseudonym, g1.pseudonym)).toBe(true);
    expect(await h.ledger.isGuardian(lost.pseudonym, stranger.pseudonym)).toBe(false);
  });

  it('reads the guardians from the ledger at each approval: a guardian removed meanwhile is refused', async () => {
    const key = ephemeralKey();
    const requestId = `rq-${randomUUID()}`;
    expect((await open(requestId, lost.pseudonym, key.publicKey)).status).toBe(201);
    await setGuardians(lost, [g1.pseudonym]);
    try {
      const removed = await approve(requestId, g2, approval(requestId, g2, key.publicKey));
      expect(removed.status).toBe(403);
      expect((await approve(requestId, g1, approval(requestId, g1, key.publicKey))).status).toBe(201);
    } finally {
      await setGuardians(lost, [g1.pseudonym, g2.pseudonym].sort());
    }
  });

  it('ends a request at its expiry: 410 to approvals and to the opener, and its sealed shares are deleted', async () => {
    const key = ephemeralKey();
    const requestId = `rq-${randomUUID()}`;
    expect((await open(requestId, lost.pseudonym, key.publicKey)).status).toBe(201);
    expect((await approve(requestId, g1, approval(requestId, g1, key.publicKey))).status).toBe(201);
    // The clock moves past the expiry.
    db.prepare('UPDATE recovery_request SET expires_at = ? WHERE request_id = ?').run(
      new Date(Date.now() - 1000).toISOString(),
      requestId,
    );
    const read = await h.request(device, 'GET', `/recovery/${requestId}/approvals`);
    expect(read.status).toBe(410);
    expect(diagnostics(read.json)).toMatch(/expired .*start a new one/);
    expect((await approve(requestId, g2, approval(requestId, g2, key.publicKey))).status).toBe(410);
    const left = db.prepare('SELECT COUNT(*) AS n FROM recovery_approval WHERE request_id = ?').get(requestId);
    expect(left).toEqual({ n: 0 });
  });

  it.each([
    ['an unregistered pseudonym', () => newPseudonym(), 404, /no patient with this pseudonym/],
    ['a patient with no recovery key', () => stranger.pseudonym, 422, /no recovery key on the ledger/],
  ])('refuses a request for %s', async (_what, pseudonym, status, message) => {
    const res = await open(`rq-${randomUUID()}`, pseudonym(), ephemeralKey().publicKey);
    expect(res.status).toBe(status);
    expect(diagnostics(res.json)).toMatch(message);
  });

  it('refuses a malformed key, a taken request id, the owner itself, and other roles', async () => {
    const bad = await open(`rq-${randomUUID()}`, lost.pseudonym, Buffer.from('not a key').toString('base64'));
    expect(bad.status).toBe(400);
    expect(diagnostics(bad.json)).toMatch(/X25519 public key/);
    const ed25519 = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
    expect((await open(`rq-${randomUUID()}`, lost.pseudonym, ed25519)).status).toBe(400);

    const requestId = `rq-${randomUUID()}`;
    expect((await open(requestId, lost.pseudonym, ephemeralKey().publicKey)).status).toBe(201);
    expect((await open(requestId, lost.pseudonym, ephemeralKey().publicKey)).status).toBe(409);

    const own = await open(`rq-${randomUUID()}`, lost.pseudonym, ephemeralKey().publicKey, lost.identity);
    expect(own.status).toBe(422);
    expect(diagnostics(own.json)).toMatch(/already owns the pseudonym/);

    const ehr = await open(`rq-${randomUUID()}`, lost.pseudonym, ephemeralKey().publicKey, h.clients.ehr);
    expect(ehr.status).toBe(403);
    const none = await h.request(undefined, 'POST', '/recovery', {});
    expect(none.status).toBe(401);
  });

  it('limits each device to 5 new requests an hour (429); a retry of one it opened is still answered', async () => {
    const busy = await h.patientsCa.issue('rq-busy-device', { attrs: { 'phr.role': 'patient' } });
    const opened: { requestId: string; key: string }[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 6; i += 1) {
      const request = { requestId: `rq-busy-${i}-${randomUUID()}`, key: ephemeralKey().publicKey };
      const res = await open(request.requestId, lost.pseudonym, request.key, busy);
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get('retry-after')).toBe('3600');
        expect(diagnostics(res.json)).toMatch(/too many recovery requests/);
      } else opened.push(request);
    }
    expect(statuses).toEqual([201, 201, 201, 201, 201, 429]);
    const retry = await open(opened[0]!.requestId, lost.pseudonym, opened[0]!.key, busy);
    expect(retry.status).toBe(200);
  });
});
