import { fabricAttributes, fabricX509Id, identityKey, type PatientRecord } from '@phr/common';
import { makeIdentity } from './testing/identities';
import { makeWorld, PSEUDONYM_A, PSEUDONYM_B, X25519_KEY, type World } from './testing/world';

describe('PatientRegistry', () => {
  let w: World;
  beforeEach(async () => {
    w = await makeWorld();
  });

  it('registers the caller under a pseudonym with its keys and certificate', async () => {
    const rec = await w.ledger.call<PatientRecord>(
      w.registry,
      'Register',
      [PSEUDONYM_A, X25519_KEY, 'X25519'],
      w.id.patientA,
    );
    expect(rec).toMatchObject({ pseudonym: PSEUDONYM_A, encryptionAlgorithm: 'X25519', keyVersion: 1 });
    expect(rec.signingCertificate).toBe(w.id.patientA.certificatePem);
    expect(rec.owner).toMatch(/^id[0-9a-f]{40}$/);
    expect(w.ledger.events.at(-1)).toEqual({ name: 'PatientRegistered', payload: { pseudonym: PSEUDONYM_A } });
    const read = await w.ledger.call<PatientRecord>(w.registry, 'ReadPatient', [PSEUDONYM_A], w.id.h1Gateway);
    expect(read).toEqual(rec);
    const me = await w.ledger.call<{ pseudonym: string; role: string }>(w.registry, 'WhoAmI', [], w.id.patientA);
    expect(me).toMatchObject({ pseudonym: PSEUDONYM_A, role: 'patient', mspId: 'PatientsMSP' });
    // Services outside the chaincode (gateways) derive the same owner key from the certificate alone.
    expect(identityKey('PatientsMSP', fabricX509Id(w.id.patientA.certificatePem))).toBe(rec.owner);
    expect(identityKey('PatientsMSP', fabricX509Id(w.id.patientB.certificatePem))).not.toBe(rec.owner);
    expect(fabricAttributes(w.id.patientA.certificatePem)).toEqual({ 'phr.role': 'patient' });
  });

  it('refuses callers that are not patients of the patients MSP', async () => {
    const args = [PSEUDONYM_A, X25519_KEY, 'X25519'];
    await expect(w.ledger.invoke(w.registry, 'Register', args, w.id.h1Gateway)).rejects.toThrow(
      /FORBIDDEN: .*not allowed for role hospital-gateway/,
    );
    await expect(w.ledger.invoke(w.registry, 'Register', args, w.id.hospitalPosingAsPatient)).rejects.toThrow(
      /only valid for identities of PatientsMSP/,
    );
    await expect(w.ledger.invoke(w.registry, 'Register', args, w.id.noRole)).rejects.toThrow(/no valid phr.role/);
  });

  it('refuses a taken pseudonym and a second pseudonym for one identity, but answers a retry', async () => {
    const first = await w.ledger.invoke(w.registry, 'Register', [PSEUDONYM_A, X25519_KEY, 'X25519'], w.id.patientA);
    expect(await w.ledger.invoke(w.registry, 'Register', [PSEUDONYM_A, X25519_KEY, 'X25519'], w.id.patientA)).toBe(
      first,
    );
    await expect(
      w.ledger.invoke(w.registry, 'Register', [PSEUDONYM_A, X25519_KEY, 'X25519'], w.id.patientB),
    ).rejects.toThrow(/CONFLICT/);
    await expect(
      w.ledger.invoke(w.registry, 'Register', [PSEUDONYM_B, X25519_KEY, 'X25519'], w.id.patientA),
    ).rejects.toThrow(/already registered as/);
  });

  it('validates its arguments', async () => {
    await expect(
      w.ledger.invoke(w.registry, 'Register', ['Alice-Smith', X25519_KEY, 'X25519'], w.id.patientA),
    ).rejects.toThrow(/INVALID_ARGUMENT: pseudonym/);
    await expect(
      w.ledger.invoke(w.registry, 'Register', [PSEUDONYM_A, X25519_KEY, 'DES'], w.id.patientA),
    ).rejects.toThrow(/encryptionAlgorithm/);
    await expect(
      w.ledger.invoke(w.registry, 'Register', [PSEUDONYM_A, 'short', 'X25519'], w.id.patientA),
    ).rejects.toThrow(/encryptionPublicKey/);
    await expect(w.ledger.invoke(w.registry, 'ReadPatient', [PSEUDONYM_B], w.id.h1Gateway)).rejects.toThrow(
      /NOT_FOUND/,
    );
  });

  it('rotates keys for the owner only, including after re-enrollment with a new signing key', async () => {
    await w.ledger.invoke(w.registry, 'Register', [PSEUDONYM_A, X25519_KEY, 'X25519'], w.id.patientA);
    const newKey = X25519_KEY.replace(/q/g, 'r');
    await expect(
      w.ledger.invoke(w.registry, 'RotateKeys', [PSEUDONYM_A, newKey, 'X25519', ''], w.id.patientB),
    ).rejects.toThrow(/only the patient/);
    const reEnrolled = await makeIdentity('PatientsMSP', 'patient-a', { 'phr.role': 'patient' });
    const rec = await w.ledger.call<PatientRecord>(
      w.registry,
      'RotateKeys',
      [PSEUDONYM_A, newKey, 'X25519', ''],
      reEnrolled,
    );
    expect(rec).toMatchObject({
      encryptionPublicKey: newKey,
      keyVersion: 2,
      signingCertificate: reEnrolled.certificatePem,
    });
  });

  it('writes nothing when a transaction fails', async () => {
    const before = new Map(w.ledger.state);
    await expect(
      w.ledger.invoke(w.registry, 'Register', [PSEUDONYM_A, X25519_KEY, 'nope'], w.id.patientA),
    ).rejects.toThrow();
    expect(w.ledger.state).toEqual(before);
  });
});
