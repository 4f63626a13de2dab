import {
  consentChangesOfEvent,
  deriveRecoveryKeys,
  fabricX509Id,
  identityKey,
  PATIENTS_MSP_ID,
  rotationPayload,
  signConsent,
  signRotation,
  type AccessEventRecord,
  type ConsentRecord,
  type DeliveryRecord,
  type PatientRecord,
} from '@phr/common';
import { makeIdentity, type SigningTestIdentity } from './testing/identities';
import { makeWorld, PSEUDONYM_A, PSEUDONYM_B, ROOT, withPatients, X25519_KEY, type World } from './testing/world';

const PSEUDONYM_C = 'ptcccccccccccccccccccccccccc';
const NEW_KEY = 'MCowBQYDK2VuAyEA' + 'n'.repeat(43) + '=';
const recovery = deriveRecoveryKeys(Buffer.alloc(32, 7));
const otherRecovery = deriveRecoveryKeys(Buffer.alloc(32, 9));

const ownerId = (who: SigningTestIdentity) => identityKey(PATIENTS_MSP_ID, fabricX509Id(who.certificatePem));

/** The recovery signature a restoring device sends: over itself as new owner and the record's current version. */
function recoverySignature(
  newDevice: SigningTestIdentity,
  keyVersion: number,
  opts: { key?: string; pseudonym?: string; keys?: typeof recovery } = {},
): string {
  const payload = rotationPayload({
    pseudonym: opts.pseudonym ?? PSEUDONYM_A,
    newOwner: ownerId(newDevice),
    encryptionPublicKey: opts.key ?? NEW_KEY,
    encryptionAlgorithm: 'X25519',
    keyVersion,
  });
  return signRotation(payload, (opts.keys ?? recovery).signingKey);
}

const grant = (id: string) => [
  id,
  '{"kind":"organization","id":"Hospital2MSP"}',
  '{"categories":["vital-signs"],"codes":[]}',
  '["TREAT"]',
  '2026-01-01T00:00:00Z',
  '2027-01-01T00:00:00Z',
];

describe('PatientRegistry: recovery key, guardians, rotation to a new device, erasure', () => {
  let w: World;
  let newDevice: SigningTestIdentity;
  beforeEach(async () => {
    w = await withPatients(await makeWorld());
    newDevice = await makeIdentity(PATIENTS_MSP_ID, 'patient-a-new-phone', { 'phr.role': 'patient' });
  });

  const setRecoveryKey = (key = recovery.publicKey, who = w.id.patientA) =>
    w.ledger.call<PatientRecord>(w.registry, 'SetRecoveryKey', [PSEUDONYM_A, key], who);
  const rotate = (who: SigningTestIdentity, signature: string, key = NEW_KEY) =>
    w.ledger.call<PatientRecord>(w.registry, 'RotateKeys', [PSEUDONYM_A, key, 'X25519', signature], who);

  describe('SetRecoveryKey', () => {
    it('lets the owner set and replace the key, and refuses anyone else or anything but an Ed25519 key', async () => {
      expect((await setRecoveryKey()).recoveryPublicKey).toBe(recovery.publicKey);
      expect((await setRecoveryKey(otherRecovery.publicKey)).recoveryPublicKey).toBe(otherRecovery.publicKey);
      await expect(setRecoveryKey(recovery.publicKey, w.id.patientB)).rejects.toThrow(
        /FORBIDDEN: only the patient may set their recovery key/,
      );
      await expect(setRecoveryKey(recovery.publicKey, w.id.h1Gateway)).rejects.toThrow(/not allowed for role/);
      await expect(setRecoveryKey(X25519_KEY)).rejects.toThrow(/INVALID_ARGUMENT: recoveryPublicKey/);
      await expect(setRecoveryKey('')).rejects.toThrow(/INVALID_ARGUMENT/);
    });
  });

  describe('SetGuardians', () => {
    const setGuardians = (guardians: unknown, who = w.id.patientA) =>
      w.ledger.call<PatientRecord>(w.registry, 'SetGuardians', [PSEUDONYM_A, JSON.stringify(guardians)], who);

    it('stores registered pseudonyms sorted and unique; an empty list removes them', async () => {
      const patientC = await makeIdentity(PATIENTS_MSP_ID, 'patient-c', { 'phr.role': 'patient' });
      await w.ledger.invoke(w.registry, 'Register', [PSEUDONYM_C, X25519_KEY, 'X25519'], patientC);
      const rec = await setGuardians([PSEUDONYM_C, PSEUDONYM_B, PSEUDONYM_C]);
      expect(rec.guardians).toEqual([PSEUDONYM_B, PSEUDONYM_C]);
      expect(await setGuardians([PSEUDONYM_B])).toMatchObject({ guardians: [PSEUDONYM_B] });
      expect(await setGuardians([])).not.toHaveProperty('guardians');
    });

    it('refuses a non-owner, itself, strangers, too many and malformed lists', async () => {
      await expect(setGuardians([PSEUDONYM_B], w.id.patientB)).rejects.toThrow(/FORBIDDEN: only the patient/);
      await expect(setGuardians([PSEUDONYM_A])).rejects.toThrow(/INVALID_ARGUMENT: a patient cannot be their own/);
      await expect(setGuardians([PSEUDONYM_C])).rejects.toThrow(/NOT_FOUND: patient ptc+ is not registered/);
      await expect(setGuardians(Array.from({ length: 11 }, () => PSEUDONYM_B))).rejects.toThrow(/at most 10/);
      await expect(setGuardians(['Alice'])).rejects.toThrow(/INVALID_ARGUMENT: pseudonym/);
      await expect(setGuardians({ g: PSEUDONYM_B })).rejects.toThrow(/INVALID_ARGUMENT/);
      await expect(
        w.ledger.invoke(w.registry, 'SetGuardians', [PSEUDONYM_A, 'not json'], w.id.patientA),
      ).rejects.toThrow(/INVALID_ARGUMENT: guardians is not valid JSON/);
    });
  });

  describe('who sees the guardians', () => {
    const read = (who: SigningTestIdentity) =>
      w.ledger.call<PatientRecord>(w.registry, 'ReadPatient', [PSEUDONYM_A], who);
    const isGuardian = (candidate: string, who: SigningTestIdentity) =>
      w.ledger.call<boolean>(w.registry, 'IsGuardian', [PSEUDONYM_A, candidate], who);
    let patientC: SigningTestIdentity;
    beforeEach(async () => {
      patientC = await makeIdentity(PATIENTS_MSP_ID, 'patient-c', { 'phr.role': 'patient' });
      await w.ledger.invoke(w.registry, 'Register', [PSEUDONYM_C, X25519_KEY, 'X25519'], patientC);
      await w.ledger.invoke(w.registry, 'SetGuardians', [PSEUDONYM_A, `["${PSEUDONYM_B}"]`], w.id.patientA);
    });

    it('ReadPatient names them to the owner and to the guardians only', async () => {
      expect((await read(w.id.patientA)).guardians).toEqual([PSEUDONYM_B]);
      expect((await read(w.id.patientB)).guardians).toEqual([PSEUDONYM_B]);
      for (const other of [patientC, newDevice, w.id.h1Gateway, w.id.h2Clinician, w.id.h1Admin]) {
        const record = await read(other);
        expect(record).not.toHaveProperty('guardians');
        // The rest of the record is as it was.
        expect(record).toMatchObject({ pseudonym: PSEUDONYM_A, encryptionPublicKey: X25519_KEY, keyVersion: 1 });
      }
    });

    it('IsGuardian answers one candidate for a hospital gateway and the owner, and nobody else', async () => {
      expect(await isGuardian(PSEUDONYM_B, w.id.h1Gateway)).toBe(true);
      expect(await isGuardian(PSEUDONYM_C, w.id.h2Gateway)).toBe(false);
      expect(await isGuardian(PSEUDONYM_B, w.id.patientA)).toBe(true);
      expect(await isGuardian(PSEUDONYM_C, w.id.patientA)).toBe(false);
      for (const other of [w.id.patientB, patientC, newDevice]) {
        await expect(isGuardian(PSEUDONYM_B, other)).rejects.toThrow(
          /FORBIDDEN: a patient may only ask about their own guardians/,
        );
      }
      await expect(isGuardian(PSEUDONYM_B, w.id.h2Clinician)).rejects.toThrow(/not allowed for role clinician/);
      await expect(isGuardian('Alice', w.id.h1Gateway)).rejects.toThrow(/INVALID_ARGUMENT: pseudonym/);
      await expect(
        w.ledger.call(w.registry, 'IsGuardian', ['ptdddddddddddddddddddddddddd', PSEUDONYM_B], w.id.h1Gateway),
      ).rejects.toThrow(/NOT_FOUND/);
    });
  });

  describe('RotateKeys with a recovery signature', () => {
    it("moves the pseudonym to the new device's identity; the old identity owns nothing any more", async () => {
      await setRecoveryKey();
      const before = await w.ledger.call<PatientRecord>(w.registry, 'ReadPatient', [PSEUDONYM_A], w.id.h1Gateway);
      const rec = await rotate(newDevice, recoverySignature(newDevice, before.keyVersion));
      expect(rec).toMatchObject({
        owner: ownerId(newDevice),
        encryptionPublicKey: NEW_KEY,
        keyVersion: before.keyVersion + 1,
        signingCertificate: newDevice.certificatePem,
        recoveryPublicKey: recovery.publicKey,
      });
      expect(w.ledger.events.at(-1)).toEqual({
        name: 'PatientKeysRotated',
        payload: { pseudonym: PSEUDONYM_A, keyVersion: before.keyVersion + 1 },
      });
      expect(await w.ledger.call(w.registry, 'WhoAmI', [], newDevice)).toMatchObject({ pseudonym: PSEUDONYM_A });
      expect(await w.ledger.call(w.registry, 'WhoAmI', [], w.id.patientA)).not.toHaveProperty('pseudonym');
      // The new device acts as the patient; the old one is refused.
      await w.ledger.invoke(w.consent, 'GrantConsent', grant('consent-0001'), newDevice);
      await expect(w.ledger.invoke(w.consent, 'GrantConsent', grant('consent-0002'), w.id.patientA)).rejects.toThrow(
        /not a registered patient/,
      );
      await expect(rotate(w.id.patientA, '')).rejects.toThrow(/FORBIDDEN: only the patient may rotate/);
    });

    it('answers a retry of a rotation that already committed, and refuses a replay for an older key version', async () => {
      await setRecoveryKey();
      const signature = recoverySignature(newDevice, 1);
      const done = await rotate(newDevice, signature);
      expect(await rotate(newDevice, signature)).toEqual(done);
      // The same signature, replayed by another identity, or for another key, is for keyVersion 1.
      const thief = await makeIdentity(PATIENTS_MSP_ID, 'thief', { 'phr.role': 'patient' });
      await expect(rotate(thief, recoverySignature(thief, 1))).rejects.toThrow(
        /FORBIDDEN: the rotation is not signed by the recovery key of patient pta+ for key version 2/,
      );
      await expect(rotate(newDevice, signature, X25519_KEY)).rejects.toThrow(/FORBIDDEN: the rotation is not signed/);
      expect(await rotate(newDevice, recoverySignature(newDevice, 2, { key: X25519_KEY }), X25519_KEY)).toMatchObject({
        keyVersion: 3,
        encryptionPublicKey: X25519_KEY,
      });
    });

    it('refuses a wrong signature, a signature for someone else, and a patient with no recovery key', async () => {
      await expect(rotate(newDevice, recoverySignature(newDevice, 1))).rejects.toThrow(
        /FORBIDDEN: patient pta+ has no recovery key registered/,
      );
      await setRecoveryKey();
      await expect(rotate(newDevice, recoverySignature(newDevice, 1, { keys: otherRecovery }))).rejects.toThrow(
        /FORBIDDEN: the rotation is not signed/,
      );
      // Signed for another new owner: the caller cannot borrow it.
      const thief = await makeIdentity(PATIENTS_MSP_ID, 'thief', { 'phr.role': 'patient' });
      await expect(rotate(thief, recoverySignature(newDevice, 1))).rejects.toThrow(/FORBIDDEN/);
      await expect(rotate(newDevice, recoverySignature(newDevice, 1, { pseudonym: PSEUDONYM_B }))).rejects.toThrow(
        /FORBIDDEN/,
      );
      await expect(rotate(newDevice, 'AAAA')).rejects.toThrow(/FORBIDDEN/);
      await expect(rotate(newDevice, 'x'.repeat(513))).rejects.toThrow(/INVALID_ARGUMENT: recoverySignature/);
      const rec = await w.ledger.call<PatientRecord>(w.registry, 'ReadPatient', [PSEUDONYM_A], w.id.h1Gateway);
      expect(rec).toMatchObject({ owner: ownerId(w.id.patientA), keyVersion: 1, encryptionPublicKey: X25519_KEY });
    });

    it('refuses a caller that already owns another pseudonym, and a hospital identity', async () => {
      await setRecoveryKey();
      await expect(rotate(w.id.patientB, recoverySignature(w.id.patientB, 1))).rejects.toThrow(
        /CONFLICT: this identity is already registered as ptb+/,
      );
      await expect(rotate(w.id.h1Gateway, recoverySignature(w.id.h1Gateway, 1))).rejects.toThrow(
        /not allowed for role hospital-gateway/,
      );
    });
  });

  describe('Erase', () => {
    it('is for the owner only', async () => {
      await expect(w.ledger.invoke(w.registry, 'Erase', [PSEUDONYM_A], w.id.patientB)).rejects.toThrow(
        /FORBIDDEN: only the patient may erase/,
      );
      await expect(w.ledger.invoke(w.registry, 'Erase', [PSEUDONYM_A], w.id.h1Admin)).rejects.toThrow(/FORBIDDEN/);
      await expect(w.ledger.invoke(w.registry, 'Erase', [PSEUDONYM_C], w.id.patientA)).rejects.toThrow(/NOT_FOUND/);
    });

    it('marks the record erased, drops guardians and recovery key, and revokes every consent in the same transaction', async () => {
      await setRecoveryKey();
      await w.ledger.invoke(w.registry, 'SetGuardians', [PSEUDONYM_A, `["${PSEUDONYM_B}"]`], w.id.patientA);
      await w.ledger.invoke(w.consent, 'GrantConsent', grant('consent-0001'), w.id.patientA);
      await w.ledger.invoke(w.consent, 'GrantConsent', grant('consent-0002'), w.id.patientA);
      await w.ledger.invoke(w.consent, 'RevokeConsent', ['consent-0002'], w.id.patientA);
      await w.ledger.invoke(w.consent, 'GrantConsent', grant('consent-0003'), w.id.patientB);

      const erased = await w.ledger.call<PatientRecord>(w.registry, 'Erase', [PSEUDONYM_A], w.id.patientA);
      expect(erased.erasedAt).toBe(erased.updatedAt);
      expect(erased).not.toHaveProperty('guardians');
      expect(erased).not.toHaveProperty('recoveryPublicKey');
      const consents = await w.ledger.call<ConsentRecord[]>(w.consent, 'ListConsents', [PSEUDONYM_A], w.id.h1Gateway);
      expect(consents.map((c) => [c.consentId, c.status])).toEqual([
        ['consent-0001', 'revoked'],
        ['consent-0002', 'revoked'],
      ]);
      expect(consents[0]?.revokedAt).toBe(erased.erasedAt);
      const b = await w.ledger.call<ConsentRecord[]>(w.consent, 'ListConsents', [PSEUDONYM_B], w.id.h1Gateway);
      expect(b[0]?.status).toBe('active');

      // One event: the erasure, carrying the consent it revoked for listeners that cache consents.
      const event = w.ledger.events.at(-1);
      expect(event?.name).toBe('PatientErased');
      expect(consentChangesOfEvent(event?.name ?? '', JSON.stringify(event?.payload))).toEqual([consents[0]]);

      // A retry answers the erased record and changes nothing.
      const events = w.ledger.events.length;
      expect(await w.ledger.call(w.registry, 'Erase', [PSEUDONYM_A], w.id.patientA)).toEqual(erased);
      expect(w.ledger.events).toHaveLength(events);
    });

    it('refuses every new write for the pseudonym afterwards; reads and access events still work', async () => {
      await setRecoveryKey();
      await w.ledger.invoke(w.registry, 'Erase', [PSEUDONYM_A], w.id.patientA);
      const erasedState = /INVALID_STATE: patient pta+ is erased/;

      await expect(
        w.ledger.invoke(
          w.commitments,
          'RecordDelivery',
          ['delivery-0001', PSEUDONYM_A, ROOT, 2, 1, '[]'],
          w.id.h1Gateway,
        ),
      ).rejects.toThrow(erasedState);
      await expect(w.ledger.invoke(w.consent, 'GrantConsent', grant('consent-0001'), w.id.patientA)).rejects.toThrow(
        erasedState,
      );
      const payload = {
        consentId: 'signed-0001',
        pseudonym: PSEUDONYM_A,
        grantee: { kind: 'organization' as const, id: 'Hospital2MSP' },
        scope: { categories: ['vital-signs'], codes: [] },
        purposes: ['TREAT' as const],
        start: '2026-01-01T00:00:00Z',
        end: '2027-01-01T00:00:00Z',
      };
      await expect(
        w.ledger.invoke(
          w.consent,
          'GrantSignedConsent',
          [JSON.stringify(payload), signConsent(payload, w.id.patientA.privateKeyPem)],
          w.id.h1Gateway,
        ),
      ).rejects.toThrow(erasedState);
      await expect(rotate(w.id.patientA, '')).rejects.toThrow(erasedState);
      await expect(rotate(newDevice, recoverySignature(newDevice, 1))).rejects.toThrow(erasedState);
      await expect(setRecoveryKey()).rejects.toThrow(erasedState);
      await expect(
        w.ledger.invoke(w.registry, 'SetGuardians', [PSEUDONYM_A, `["${PSEUDONYM_B}"]`], w.id.patientA),
      ).rejects.toThrow(erasedState);
      // Nobody names an erased patient as a guardian either.
      await expect(
        w.ledger.invoke(w.registry, 'SetGuardians', [PSEUDONYM_B, `["${PSEUDONYM_A}"]`], w.id.patientB),
      ).rejects.toThrow(erasedState);

      const read = await w.ledger.call<PatientRecord>(w.registry, 'ReadPatient', [PSEUDONYM_A], w.id.h1Gateway);
      expect(read.erasedAt).toBeDefined();
      const receipt = JSON.stringify({
        eventId: 'erasure-receipt-0001',
        pseudonym: PSEUDONYM_A,
        action: 'erasure',
        outcome: 'success',
        references: ['receipt-0001'],
      });
      const logged = await w.ledger.call<AccessEventRecord>(w.accessLog, 'RecordAccess', [receipt], w.id.h1Gateway);
      expect(logged).toMatchObject({ action: 'erasure', references: ['receipt-0001'] });
      const own = JSON.stringify({
        eventId: 'erasure-own-0001',
        pseudonym: PSEUDONYM_A,
        action: 'erasure',
        outcome: 'success',
      });
      expect((await w.ledger.call<AccessEventRecord>(w.accessLog, 'RecordAccess', [own], w.id.patientA)).action).toBe(
        'erasure',
      );
    });

    it('refuses every status change of its deliveries afterwards', async () => {
      for (const id of ['delivery-0001', 'delivery-0002']) {
        await w.ledger.invoke(w.commitments, 'RecordDelivery', [id, PSEUDONYM_A, ROOT, 2, 1, '[]'], w.id.h1Gateway);
      }
      await w.ledger.invoke(w.commitments, 'AcknowledgeDelivery', ['delivery-0002'], w.id.patientA);
      await w.ledger.invoke(w.registry, 'Erase', [PSEUDONYM_A], w.id.patientA);
      const erasedState = /INVALID_STATE: patient pta+ is erased/;
      await expect(
        w.ledger.invoke(w.commitments, 'AcknowledgeDelivery', ['delivery-0001'], w.id.patientA),
      ).rejects.toThrow(erasedState);
      await expect(
        w.ledger.invoke(w.commitments, 'RejectDelivery', ['delivery-0001', 'malformed'], w.id.patientA),
      ).rejects.toThrow(erasedState);
      await expect(w.ledger.invoke(w.commitments, 'MarkBackedUp', ['delivery-0002'], w.id.patientA)).rejects.toThrow(
        erasedState,
      );
      // Even a retry of a change already made: nothing about an erased patient's deliveries moves.
      await expect(
        w.ledger.invoke(w.commitments, 'AcknowledgeDelivery', ['delivery-0002'], w.id.patientA),
      ).rejects.toThrow(erasedState);
      const statuses = await Promise.all(
        ['delivery-0001', 'delivery-0002'].map((id) =>
          w.ledger.call<DeliveryRecord>(w.commitments, 'ReadDelivery', [id], w.id.h1Gateway),
        ),
      );
      expect(statuses.map((d) => d.status)).toEqual(['waiting', 'complete']);
    });

    it('leaves earlier deliveries readable and their status as it was', async () => {
      await w.ledger.invoke(
        w.commitments,
        'RecordDelivery',
        ['delivery-0001', PSEUDONYM_A, ROOT, 2, 1, '[]'],
        w.id.h1Gateway,
      );
      await w.ledger.invoke(w.registry, 'Erase', [PSEUDONYM_A], w.id.patientA);
      const d = await w.ledger.call<DeliveryRecord>(w.commitments, 'ReadDelivery', ['delivery-0001'], w.id.h1Gateway);
      expect(d.status).toBe('waiting');
    });
  });
});

describe('AccessLog: patient life-cycle actions and guardians', () => {
  let w: World;
  beforeEach(async () => {
    w = await withPatients(await makeWorld());
  });
  const event = (eventId: string, action: string, outcome = 'success', pseudonym = PSEUDONYM_A) =>
    JSON.stringify({ eventId, pseudonym, action, outcome });

  it.each(['backup', 'restore', 'export', 'recovery', 'rebuild', 'erasure', 'delivery-failed'])(
    'lets a patient log %s on their own pseudonym',
    async (action) => {
      const rec = await w.ledger.call<AccessEventRecord>(
        w.accessLog,
        'RecordAccess',
        [event('event-0001', action)],
        w.id.patientA,
      );
      expect(rec).toMatchObject({ action, actor: { role: 'patient' } });
    },
  );

  it('lets a guardian log its approval or refusal of a recovery, and nothing else', async () => {
    const recoveryByB = (id: string, outcome = 'success') => event(id, 'recovery', outcome);
    await expect(
      w.ledger.invoke(w.accessLog, 'RecordAccess', [recoveryByB('event-0001')], w.id.patientB),
    ).rejects.toThrow(
      /FORBIDDEN: a patient may only log access to their own records, or a recovery of a patient they guard/,
    );
    await w.ledger.invoke(w.registry, 'SetGuardians', [PSEUDONYM_A, `["${PSEUDONYM_B}"]`], w.id.patientA);
    const approved = await w.ledger.call<AccessEventRecord>(
      w.accessLog,
      'RecordAccess',
      [recoveryByB('event-0001')],
      w.id.patientB,
    );
    expect(approved).toMatchObject({ pseudonym: PSEUDONYM_A, action: 'recovery', outcome: 'success' });
    expect(approved.actor.id).toBe(ownerId(w.id.patientB));
    expect(
      (
        await w.ledger.call<AccessEventRecord>(
          w.accessLog,
          'RecordAccess',
          [recoveryByB('event-0002', 'denied')],
          w.id.patientB,
        )
      ).outcome,
    ).toBe('denied');
    for (const bad of [
      recoveryByB('event-0003', 'failed'),
      event('event-0004', 'backup'),
      event('event-0005', 'pull', 'denied'),
    ]) {
      await expect(w.ledger.invoke(w.accessLog, 'RecordAccess', [bad], w.id.patientB)).rejects.toThrow(
        /FORBIDDEN: a guardian may only log its approval or refusal/,
      );
    }
    // Guarding A gives B no right to A's log, nor A any right on B.
    await expect(
      w.ledger.invoke(w.accessLog, 'ListAccessEvents', [PSEUDONYM_A, '', '', 10, ''], w.id.patientB),
    ).rejects.toThrow(/their own access log/);
    await expect(
      w.ledger.invoke(
        w.accessLog,
        'RecordAccess',
        [event('event-0006', 'recovery', 'success', PSEUDONYM_B)],
        w.id.patientA,
      ),
    ).rejects.toThrow(/FORBIDDEN/);
    // Once removed, the guardian may log no more.
    await w.ledger.invoke(w.registry, 'SetGuardians', [PSEUDONYM_A, '[]'], w.id.patientA);
    await expect(
      w.ledger.invoke(w.accessLog, 'RecordAccess', [recoveryByB('event-0007')], w.id.patientB),
    ).rejects.toThrow(/FORBIDDEN/);
  });
});
