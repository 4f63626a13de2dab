import { generateKeyPairSync, randomBytes, randomUUID } from 'node:crypto';
import {
  deliveriesArgument,
  deriveRecoveryKeys,
  fabricX509Id,
  identityKey,
  newPseudonym,
  newRecoverySecret,
  rotationPayload,
  signRotation,
  type AccessEventRecord,
  type ConsentRecord,
  type ConsentEvaluation,
  type DeliveryHistoryEntry,
  type DeliveryRecord,
  type Page,
  type PatientRecord,
} from '@phr/common';
import { LedgerClient, LedgerError } from '@phr/ledger-client';
import { script, state } from './harness';

const clients: LedgerClient[] = [];

function connect(org: string, identity: string, peer?: string): LedgerClient {
  const c = state().connect(org, identity, peer);
  clients.push(c);
  return c;
}

const x25519 = () => generateKeyPairSync('x25519').publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
const root = () => randomBytes(32).toString('hex');
const json = <T>(s: string): T => JSON.parse(s) as T;
async function rejection(p: Promise<unknown>): Promise<LedgerError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof LedgerError) return err;
    throw err;
  }
  throw new Error('expected the ledger to refuse');
}

describe('PHR Ledger on a real Fabric network', () => {
  let h1: LedgerClient;
  let h2: LedgerClient;
  let alice: LedgerClient;
  let bob: LedgerClient;
  let clinician: LedgerClient;
  const pseudonymA = newPseudonym();
  const pseudonymB = newPseudonym();

  beforeAll(async () => {
    // Identities issued by the running Fabric CAs through fabric-ca-client, roles as attributes.
    await script('enroll.sh', 'patients', 'alice', 'patient');
    await script('enroll.sh', 'patients', 'bob', 'patient');
    await script('enroll.sh', 'hospital2', 'dr-grey', 'clinician');
    h1 = connect('hospital1', 'gateway');
    h2 = connect('hospital2', 'gateway');
    alice = connect('patients', 'alice', 'hospital1');
    bob = connect('patients', 'bob', 'hospital2');
    clinician = connect('hospital2', 'dr-grey');
  });

  afterAll(() => clients.forEach((c) => c.close()));

  it('puts the role from the CA certificate into the caller identity', async () => {
    const me = json<{ role: string; mspId: string }>(await clinician.evaluate('PatientRegistry', 'WhoAmI'));
    expect(me).toMatchObject({ role: 'clinician', mspId: 'Hospital2MSP' });
  });

  it('lets patients register themselves with their own signed transactions', async () => {
    const res = await alice.submit('PatientRegistry', 'Register', [pseudonymA, x25519(), 'X25519']);
    expect(res.blockNumber).toBeGreaterThan(0n);
    await bob.submit('PatientRegistry', 'Register', [pseudonymB, x25519(), 'X25519']);
    const rec = json<PatientRecord>(await h2.evaluate('PatientRegistry', 'ReadPatient', [pseudonymA]));
    expect(rec.signingCertificate).toBe(state().identity('patients', 'alice').certificatePem);
  });

  it('records a commitment endorsed by a majority of hospitals and reads it from either peer', async () => {
    const deliveryId = randomUUID();
    const merkleRoot = root();
    const res = await h1.submit('Commitments', 'RecordDelivery', [
      deliveryId,
      pseudonymA,
      merkleRoot,
      '12',
      '2',
      '["laboratory"]',
    ]);
    expect(json<DeliveryRecord>(res.result)).toMatchObject({ sender: 'Hospital1MSP', status: 'waiting' });
    const fromH2 = json<DeliveryRecord>(await h2.evaluate('Commitments', 'ReadDelivery', [deliveryId]));
    expect(fromH2).toMatchObject({ deliveryId, merkleRoot, elementCount: 12, segmentCount: 2, pseudonym: pseudonymA });

    await alice.submit('Commitments', 'AcknowledgeDelivery', [deliveryId]);
    const history = json<DeliveryHistoryEntry[]>(await h1.evaluate('Commitments', 'DeliveryHistory', [deliveryId]));
    expect(history.map((h) => h.status)).toEqual(['complete', 'waiting']);
    const page = json<Page<DeliveryRecord>>(
      await alice.evaluate('Commitments', 'ListDeliveries', [pseudonymA, '10', '']),
    );
    expect(page.records.map((r) => r.deliveryId)).toContain(deliveryId);
  });

  it('records several commitments in one transaction prepared under an id taken before its content', async () => {
    const entries = [pseudonymA, pseudonymB, pseudonymA].map((pseudonym, i) => ({
      deliveryId: randomUUID(),
      pseudonym,
      merkleRoot: root(),
      elementCount: 5 + i,
      segmentCount: 1,
      categories: ['vital-signs', 'laboratory'],
    }));
    const height = await h1.chainHeight();
    const slot = h1.newSlot();
    const prepared = await h1.prepare('Commitments', 'RecordDeliveries', [deliveriesArgument(entries)], { slot });
    expect(prepared.transactionId).toBe(slot.transactionId);
    const res = await h1.submitPrepared(prepared);
    expect(res.transactionId).toBe(slot.transactionId);
    expect(json<DeliveryRecord[]>(res.result).map((r) => r.deliveryId)).toEqual(entries.map((e) => e.deliveryId));
    for (const e of entries) {
      const rec = json<DeliveryRecord>(await h2.evaluate('Commitments', 'ReadDelivery', [e.deliveryId]));
      expect(rec).toMatchObject({ ...e, categories: ['laboratory', 'vital-signs'], sender: 'Hospital1MSP' });
      const history = json<DeliveryHistoryEntry[]>(await h1.evaluate('Commitments', 'DeliveryHistory', [e.deliveryId]));
      expect(history.map((h) => h.txId)).toEqual([slot.transactionId]);
    }
    // One event for the transaction, listing its deliveries.
    const events = await h1.chaincodeEvents(height);
    try {
      for await (const event of events) {
        if (event.transactionId !== slot.transactionId) continue;
        expect(event.eventName).toBe('DeliveriesRecorded');
        const listed = json<{ deliveryId: string }[]>(Buffer.from(event.payload).toString('utf8'));
        expect(listed.map((l) => l.deliveryId)).toEqual(entries.map((e) => e.deliveryId));
        break;
      }
    } finally {
      events.close();
    }
    // The same signed bytes again never commit twice.
    expect((await rejection(h1.submitPrepared(prepared))).code).toMatch(/DUPLICATE_TXID|LEDGER_ERROR/);
    // All or nothing: one unregistered patient refuses the whole transaction.
    const mixed = [
      { ...entries[0]!, deliveryId: randomUUID() },
      { ...entries[1]!, deliveryId: randomUUID(), pseudonym: newPseudonym() },
    ];
    const refused = await rejection(
      h1.submitPrepared(
        await h1.prepare('Commitments', 'RecordDeliveries', [deliveriesArgument(mixed)], { slot: h1.newSlot() }),
      ),
    );
    expect(refused.code).toBe('NOT_FOUND');
    expect((await rejection(h1.evaluate('Commitments', 'ReadDelivery', [mixed[0]!.deliveryId]))).code).toBe(
      'NOT_FOUND',
    );
  });

  it('rejects a commitment endorsed by one hospital alone', async () => {
    const deliveryId = randomUUID();
    const err = await rejection(
      h1.submit('Commitments', 'RecordDelivery', [deliveryId, pseudonymA, root(), '3', '1', '[]'], {
        endorsingOrganizations: ['Hospital1MSP'],
      }),
    );
    expect(err.code).toBe('ENDORSEMENT_POLICY_FAILURE');
    expect((await rejection(h1.evaluate('Commitments', 'ReadDelivery', [deliveryId]))).code).toBe('NOT_FOUND');
  });

  it('enforces roles and ownership from the certificate, not from arguments', async () => {
    const forged = await rejection(
      alice.submit('Commitments', 'RecordDelivery', [randomUUID(), pseudonymA, root(), '1', '1', '[]']),
    );
    expect(forged.code).toBe('FORBIDDEN');
    const deliveryId = randomUUID();
    await h2.submit('Commitments', 'RecordDelivery', [deliveryId, pseudonymA, root(), '1', '1', '[]']);
    const notHers = await rejection(bob.submit('Commitments', 'AcknowledgeDelivery', [deliveryId]));
    expect(notHers.code).toBe('FORBIDDEN');
    expect(notHers.message).toMatch(/only the delivery's patient/);
    expect((await rejection(bob.evaluate('Commitments', 'ListDeliveries', [pseudonymA, '10', '']))).code).toBe(
      'FORBIDDEN',
    );
  });

  it('grants, evaluates and revokes consent; the access log refuses pulls that consent does not cover', async () => {
    const consentId = randomUUID();
    const scope = JSON.stringify({ categories: ['vital-signs'], codes: [] });
    const now = Date.now();
    await alice.submit('Consent', 'GrantConsent', [
      consentId,
      JSON.stringify({ kind: 'organization', id: 'Hospital2MSP' }),
      scope,
      '["TREAT"]',
      new Date(now - 60_000).toISOString(),
      new Date(now + 3_600_000).toISOString(),
    ]);
    const ask = JSON.stringify({ purpose: 'TREAT', categories: ['vital-signs'], codes: [] });
    expect(
      json<ConsentEvaluation>(await clinician.evaluate('Consent', 'EvaluateConsent', [pseudonymA, ask])).decision,
    ).toBe('permit');

    const pull = (eventId: string) =>
      JSON.stringify({
        eventId,
        pseudonym: pseudonymA,
        action: 'pull',
        outcome: 'success',
        purpose: 'TREAT',
        scope: JSON.parse(scope),
        queryHash: root(),
      });
    const ok = json<AccessEventRecord>(
      (await clinician.submit('AccessLog', 'RecordAccess', [pull(randomUUID())])).result,
    );
    expect(ok.consentIds).toEqual([consentId]);

    await alice.submit('Consent', 'RevokeConsent', [consentId]);
    expect(
      json<ConsentEvaluation>(await clinician.evaluate('Consent', 'EvaluateConsent', [pseudonymA, ask])).decision,
    ).toBe('deny');
    expect((await rejection(clinician.submit('AccessLog', 'RecordAccess', [pull(randomUUID())]))).code).toBe(
      'CONSENT_REQUIRED',
    );

    const log = json<Page<AccessEventRecord>>(
      await alice.evaluate('AccessLog', 'ListAccessEvents', [pseudonymA, '', '', '50', '']),
    );
    expect(log.records.map((r) => r.eventId)).toContain(ok.eventId);
  });

  it('moves a pseudonym to a new device by its recovery signature, once; erasure revokes consents and closes it', async () => {
    await script('enroll.sh', 'patients', 'carol', 'patient');
    await script('enroll.sh', 'patients', 'carol-new-phone', 'patient');
    const carol = connect('patients', 'carol', 'hospital1');
    const phone = connect('patients', 'carol-new-phone', 'hospital2');
    const pseudonym = newPseudonym();
    await carol.submit('PatientRegistry', 'Register', [pseudonym, x25519(), 'X25519']);
    const recovery = deriveRecoveryKeys(newRecoverySecret());
    await carol.submit('PatientRegistry', 'SetRecoveryKey', [pseudonym, recovery.publicKey]);

    // The new device signs over its own identity key, as the chaincode derives it from the certificate.
    const phoneCert = state().identity('patients', 'carol-new-phone').certificatePem;
    const newOwner = identityKey('PatientsMSP', fabricX509Id(phoneCert));
    expect(json<{ id: string }>(await phone.evaluate('PatientRegistry', 'WhoAmI')).id).toBe(newOwner);
    const key = x25519();
    const signed = (keyVersion: number, signingKey = recovery.signingKey) =>
      signRotation(
        rotationPayload({ pseudonym, newOwner, encryptionPublicKey: key, encryptionAlgorithm: 'X25519', keyVersion }),
        signingKey,
      );
    const wrongSecret = deriveRecoveryKeys(newRecoverySecret()).signingKey;
    const refused = await rejection(
      phone.submit('PatientRegistry', 'RotateKeys', [pseudonym, key, 'X25519', signed(1, wrongSecret)]),
    );
    expect(refused.code).toBe('FORBIDDEN');

    const rotated = json<PatientRecord>(
      (await phone.submit('PatientRegistry', 'RotateKeys', [pseudonym, key, 'X25519', signed(1)])).result,
    );
    expect(rotated).toMatchObject({ owner: newOwner, keyVersion: 2, encryptionPublicKey: key });
    expect(json<{ pseudonym?: string }>(await phone.evaluate('PatientRegistry', 'WhoAmI')).pseudonym).toBe(pseudonym);
    expect(json<{ pseudonym?: string }>(await carol.evaluate('PatientRegistry', 'WhoAmI')).pseudonym).toBeUndefined();
    // The signature was for key version 1: nobody can use it again.
    const replay = await rejection(
      carol.submit('PatientRegistry', 'RotateKeys', [pseudonym, key, 'X25519', signed(1)]),
    );
    expect(replay.code).toBe('FORBIDDEN');

    const consentId = randomUUID();
    const now = Date.now();
    const grant = [
      JSON.stringify({ kind: 'organization', id: 'Hospital2MSP' }),
      JSON.stringify({ categories: ['vital-signs'], codes: [] }),
      '["TREAT"]',
      new Date(now - 60_000).toISOString(),
      new Date(now + 3_600_000).toISOString(),
    ];
    expect((await rejection(carol.submit('Consent', 'GrantConsent', [consentId, ...grant]))).code).toBe('FORBIDDEN');
    await phone.submit('Consent', 'GrantConsent', [consentId, ...grant]);

    const erased = json<PatientRecord>((await phone.submit('PatientRegistry', 'Erase', [pseudonym])).result);
    expect(erased.erasedAt).toBeDefined();
    expect(erased.recoveryPublicKey).toBeUndefined();
    const consents = json<ConsentRecord[]>(await h2.evaluate('Consent', 'ListConsents', [pseudonym]));
    expect(consents.map((c) => [c.consentId, c.status])).toEqual([[consentId, 'revoked']]);
    const late = await rejection(
      h1.submit('Commitments', 'RecordDelivery', [randomUUID(), pseudonym, root(), '1', '1', '[]']),
    );
    expect(late.code).toBe('INVALID_STATE');
    expect(late.message).toMatch(/is erased/);
    // A hospital's erasure receipt is still recorded, and the patient reads it.
    const receiptId = randomUUID();
    await h1.submit('AccessLog', 'RecordAccess', [
      JSON.stringify({
        eventId: randomUUID(),
        pseudonym,
        action: 'erasure',
        outcome: 'success',
        references: [receiptId],
      }),
    ]);
    const log = json<Page<AccessEventRecord>>(
      await phone.evaluate('AccessLog', 'ListAccessEvents', [pseudonym, '', '', '50', '']),
    );
    expect(log.records).toEqual([expect.objectContaining({ action: 'erasure', references: [receiptId] })]);
  });

  it('keeps the ledger across network-down and network-up, and a second up changes nothing', async () => {
    const deliveryId = randomUUID();
    await h1.submit('Commitments', 'RecordDelivery', [deliveryId, pseudonymB, root(), '5', '1', '["medication"]']);
    clients.splice(0).forEach((c) => c.close());

    await script('network.sh', 'down');
    const status = await script('network.sh', 'status').catch((e: { stdout?: string }) => e.stdout ?? '');
    expect(status).not.toMatch(/running/);
    expect(await script('network.sh', 'up')).toMatch(/Network is up\./);
    expect(await script('network.sh', 'up')).toMatch(/already up; nothing changed/);

    const again = connect('hospital2', 'gateway');
    const rec = json<DeliveryRecord>(await again.evaluate('Commitments', 'ReadDelivery', [deliveryId]));
    expect(rec).toMatchObject({ deliveryId, pseudonym: pseudonymB, status: 'waiting' });
    // and the restarted chaincode servers endorse new transactions
    const after = connect('hospital1', 'gateway');
    await after.submit('Commitments', 'RecordDelivery', [randomUUID(), pseudonymB, root(), '1', '1', '[]']);
  });
});
