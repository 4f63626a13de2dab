import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import {
  fabricX509Id,
  GUARDIAN_SHARE_KIND,
  GUARDIAN_SHARE_WITHDRAWN_KIND,
  identityKey,
  MAX_RELAY_BYTES,
  newPseudonym,
  openEnvelope,
  PATIENTS_MSP_ID,
  RECOVERY_REQUEST_KIND,
  seal,
  type SealedEnvelope,
} from '@phr/common';
import { GatewayHarness, type OutcomeBody, type TestPatient } from '@phr/test-support/gateway';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(60_000);

/** A message from `from` to `to`, sealed to `to`'s registered key and signed by `from`'s identity. */
function sealedFor(to: TestPatient, from: TestPatient, text = 'a share', aad: Record<string, string> = {}) {
  return seal(
    Buffer.from(text),
    { algorithm: 'X25519', publicKey: to.keys.publicKeyPem },
    { kind: GUARDIAN_SHARE_KIND, pseudonym: from.pseudonym, guardian: to.pseudonym, ...aad },
    from.identity,
  );
}

const diagnostics = (body: unknown) => (body as OutcomeBody).issue.map((i) => i.diagnostics).join('; ');

/** Issue 15 item 4: patient-to-patient mail through a gateway, `POST /relay/{pseudonym}`. */
describe('POST /relay/{pseudonym}', () => {
  let h: GatewayHarness;
  let patient: TestPatient;
  let guardian: TestPatient;
  let other: TestPatient;
  let db: DatabaseSync;

  beforeAll(async () => {
    h = await GatewayHarness.create({ threads: 1 });
    [patient, guardian, other] = [
      await h.newPatient('relay-patient'),
      await h.newPatient('relay-guardian'),
      await h.newPatient('relay-other'),
    ];
    db = new DatabaseSync(join(h.config.dataDir, 'gateway.db'));
  });
  afterAll(async () => {
    db.close();
    await h.close();
  });

  const relay = (from: TestPatient | undefined, to: string, body: unknown, headers: Record<string, string> = {}) =>
    h.request(from?.identity, 'POST', `/relay/${to}`, body, headers);

  it("puts the sealed message into the target's mailbox and records who sent it", async () => {
    const envelope = sealedFor(guardian, patient, 'share bytes');
    const messageId = `share-${randomUUID()}`;
    const res = await relay(patient, guardian.pseudonym, { messageId, kind: GUARDIAN_SHARE_KIND, envelope });
    expect(res.status).toBe(202);
    expect(res.json).toMatchObject({ messageId, kind: GUARDIAN_SHARE_KIND, queuedAt: expect.any(String) });

    const mail = h.gateway.mailbox.pending(guardian.pseudonym).find((m) => m.messageId === messageId)!;
    expect(mail.kind).toBe(GUARDIAN_SHARE_KIND);
    const opened = openEnvelope(JSON.parse(mail.body!) as SealedEnvelope, guardian.keys.privateKeyPem);
    expect(opened.toString()).toBe('share bytes');
    // Nothing went to the sender's own mailbox.
    expect(h.gateway.mailbox.pending(patient.pseudonym).some((m) => m.messageId === messageId)).toBe(false);

    const row = db.prepare('SELECT * FROM relay_message WHERE message_id = ?').get(messageId) as Record<
      string,
      unknown
    >;
    expect(row).toMatchObject({
      sender_id: identityKey(PATIENTS_MSP_ID, fabricX509Id(patient.identity.certificatePem)),
      sender_msp: PATIENTS_MSP_ID,
      target: guardian.pseudonym,
      kind: GUARDIAN_SHARE_KIND,
    });
    // The guardian fetches it like any mail, through its own mailbox.
    const fetched = await h.request(guardian.identity, 'GET', `/mailbox/${guardian.pseudonym}/messages`);
    expect((fetched.json as { messages: { messageId: string }[] }).messages.map((m) => m.messageId)).toContain(
      messageId,
    );
  });

  it("relays a patient's withdrawal of a guardian's share as its own kind", async () => {
    const messageId = `withdraw-${randomUUID()}`;
    const res = await relay(patient, guardian.pseudonym, {
      messageId,
      kind: GUARDIAN_SHARE_WITHDRAWN_KIND,
      envelope: sealedFor(guardian, patient, 'withdrawn', { kind: GUARDIAN_SHARE_WITHDRAWN_KIND }),
    });
    expect(res.status).toBe(202);
    const mail = h.gateway.mailbox.pending(guardian.pseudonym).find((m) => m.messageId === messageId)!;
    expect(mail.kind).toBe(GUARDIAN_SHARE_WITHDRAWN_KIND);
    expect(db.prepare('SELECT kind FROM relay_message WHERE message_id = ?').get(messageId)).toEqual({
      kind: GUARDIAN_SHARE_WITHDRAWN_KIND,
    });
  });

  it('answers a retry with the mail already queued, and refuses the id for other mail', async () => {
    const envelope = sealedFor(guardian, patient);
    const messageId = `share-${randomUUID()}`;
    const first = await relay(patient, guardian.pseudonym, { messageId, kind: GUARDIAN_SHARE_KIND, envelope });
    const again = await relay(patient, guardian.pseudonym, { messageId, kind: GUARDIAN_SHARE_KIND, envelope });
    expect([first.status, again.status]).toEqual([202, 202]);
    expect((again.json as { queuedAt: string }).queuedAt).toBe((first.json as { queuedAt: string }).queuedAt);
    expect(h.gateway.mailbox.pending(guardian.pseudonym).filter((m) => m.messageId === messageId)).toHaveLength(1);

    const elsewhere = await relay(patient, other.pseudonym, {
      messageId,
      kind: GUARDIAN_SHARE_KIND,
      envelope: sealedFor(other, patient),
    });
    expect(elsewhere.status).toBe(409);
    const byAnother = await relay(other, guardian.pseudonym, {
      messageId,
      kind: GUARDIAN_SHARE_KIND,
      envelope: sealedFor(guardian, other),
    });
    expect(byAnother.status).toBe(409);
  });

  it('refuses an envelope signed by someone else than the caller (403) or not signed right (400)', async () => {
    // A message the patient sealed, posted by another patient: it cannot be passed on in their name.
    const envelope = sealedFor(guardian, patient);
    const passedOn = await relay(other, guardian.pseudonym, {
      messageId: `fwd-${randomUUID()}`,
      kind: GUARDIAN_SHARE_KIND,
      envelope,
    });
    expect(passedOn.status).toBe(403);
    expect(diagnostics(passedOn.json)).toMatch(/signed with your own certificate/);

    const tampered = { ...envelope, ciphertext: Buffer.from('other bytes').toString('base64') };
    const bad = await relay(patient, guardian.pseudonym, {
      messageId: `bad-${randomUUID()}`,
      kind: GUARDIAN_SHARE_KIND,
      envelope: tampered,
    });
    expect(bad.status).toBe(400);
    expect(diagnostics(bad.json)).toMatch(/signature does not verify/);
    expect(h.gateway.mailbox.pending(guardian.pseudonym).some((m) => m.messageId.startsWith('bad-'))).toBe(false);
  });

  it.each([
    ['an unknown kind', { kind: 'delivery' }, 400, /kind must be one of guardian-share, recovery-request/],
    ['a malformed message id', { messageId: 'x' }, 400, /messageId is required/],
    ['an unknown field', { note: 'hi' }, 400, /unknown field: note/],
    ['no envelope', { envelope: undefined }, 400, /envelope/],
  ])('refuses %s', async (_what, change, status, message) => {
    const body = {
      messageId: `m-${randomUUID()}`,
      kind: RECOVERY_REQUEST_KIND,
      envelope: sealedFor(guardian, patient),
      ...change,
    };
    const res = await relay(patient, guardian.pseudonym, body);
    expect(res.status).toBe(status);
    expect((res.json as OutcomeBody).resourceType).toBe('OperationOutcome');
    expect(diagnostics(res.json)).toMatch(message);
  });

  it('refuses a body over 16 KB (413), another content type (415), an unknown target (404)', async () => {
    const big = await relay(patient, guardian.pseudonym, {
      messageId: `big-${randomUUID()}`,
      kind: GUARDIAN_SHARE_KIND,
      envelope: sealedFor(guardian, patient, 'x'.repeat(MAX_RELAY_BYTES)),
    });
    expect(big.status).toBe(413);

    const text = await relay(patient, guardian.pseudonym, 'hello', { 'content-type': 'text/plain' });
    expect(text.status).toBe(415);

    const nobody = newPseudonym();
    const unknown = await relay(patient, nobody, {
      messageId: `u-${randomUUID()}`,
      kind: GUARDIAN_SHARE_KIND,
      envelope: sealedFor(guardian, patient),
    });
    expect(unknown.status).toBe(404);
    expect(diagnostics(unknown.json)).toMatch(/no patient with this pseudonym/);
    expect(h.gateway.mailbox.pending(nobody)).toHaveLength(0);

    const malformed = await relay(patient, 'not-a-pseudonym', {});
    expect(malformed.status).toBe(400);
  });

  it('is for enrolled patients only: no certificate 401, another role 403, before the body is read', async () => {
    const body = { messageId: `r-${randomUUID()}`, kind: GUARDIAN_SHARE_KIND, envelope: sealedFor(guardian, patient) };
    expect((await relay(undefined, guardian.pseudonym, body)).status).toBe(401);
    const ehr = await h.request(h.clients.ehr, 'POST', `/relay/${guardian.pseudonym}`, body);
    expect(ehr.status).toBe(403);
    expect((ehr.json as OutcomeBody).resourceType).toBe('OperationOutcome');
  });

  it('limits each sender to 30 messages an hour (429 with Retry-After); others are not held back', async () => {
    const sender = await h.newPatient('relay-busy');
    const statuses: number[] = [];
    for (let i = 0; i < 31; i += 1) {
      const res = await relay(sender, guardian.pseudonym, {
        messageId: `busy-${i}-${randomUUID()}`,
        kind: RECOVERY_REQUEST_KIND,
        envelope: sealedFor(guardian, sender),
      });
      statuses.push(res.status);
      if (res.status === 429) {
        expect(res.headers.get('retry-after')).toBe('3600');
        expect(diagnostics(res.json)).toMatch(/too many relayed messages/);
      }
    }
    expect(statuses.slice(0, 30).every((s) => s === 202)).toBe(true);
    expect(statuses[30]).toBe(429);
    // A retry of mail already queued adds nothing, so the limit does not stop it.
    const queued = h.gateway.mailbox.pending(guardian.pseudonym).find((m) => m.messageId.startsWith('busy-0-'))!;
    const retry = await relay(sender, guardian.pseudonym, {
      messageId: queued.messageId,
      kind: RECOVERY_REQUEST_KIND,
      envelope: JSON.parse(queued.body!) as SealedEnvelope,
    });
    expect(retry.status).toBe(202);
    const fromOther = await relay(other, guardian.pseudonym, {
      messageId: `calm-${randomUUID()}`,
      kind: RECOVERY_REQUEST_KIND,
      envelope: sealedFor(guardian, other),
    });
    expect(fromOther.status).toBe(202);
  });

  it("limits each patient's mailbox to 60 relayed messages an hour from everyone together (429 with Retry-After)", async () => {
    const crowded = await h.newPatient('relay-crowded');
    const senders = [await h.newPatient('relay-crowd-1'), await h.newPatient('relay-crowd-2')];
    const late = await h.newPatient('relay-crowd-late');
    const send = (from: TestPatient, to: TestPatient, messageId = `crowd-${randomUUID()}`) =>
      relay(from, to.pseudonym, { messageId, kind: RECOVERY_REQUEST_KIND, envelope: sealedFor(to, from) });
    // Two senders, each within its own limit of 30, fill the mailbox's 60.
    const statuses: number[] = [];
    for (const sender of senders) for (let i = 0; i < 30; i += 1) statuses.push((await send(sender, crowded)).status);
    expect(statuses.every((s) => s === 202)).toBe(true);

    const refused = await send(late, crowded);
    expect(refused.status).toBe(429);
    expect(refused.headers.get('retry-after')).toBe('3600');
    expect((refused.json as OutcomeBody).resourceType).toBe('OperationOutcome');
    expect(diagnostics(refused.json)).toMatch(/too many relayed messages to this patient in the last hour \(60\)/);
    expect(db.prepare('SELECT COUNT(*) AS n FROM relay_message WHERE target = ?').get(crowded.pseudonym)).toEqual({
      n: 60,
    });

    // A retry of mail already queued adds nothing; the late sender may still write to others.
    const queued = h.gateway.mailbox.pending(crowded.pseudonym)[0]!;
    const retry = await relay(senders[0], crowded.pseudonym, {
      messageId: queued.messageId,
      kind: RECOVERY_REQUEST_KIND,
      envelope: JSON.parse(queued.body!) as SealedEnvelope,
    });
    expect(retry.status).toBe(202);
    expect((await send(late, guardian)).status).toBe(202);
  });
});
