import {
  deriveRecoveryKeys,
  fabricX509Id,
  generateEncryptionKeyPair,
  identityKey,
  newPseudonym,
  newRecoverySecret,
  PATIENTS_MSP_ID,
  rotationPayload,
  signRotation,
} from '@phr/common';
import { CommitmentsContract } from '@phr/chaincode';
import { FakeLedger } from '@phr/chaincode/testing';
import { LedgerError } from '@phr/ledger-client';
import { makeCa, type TestCa } from '@phr/test-support';
import type { AgentLedger } from '../src/ledger/agent-ledger';
import { ChaincodeAgentLedger } from './support/chaincode-agent-ledger';

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof LedgerError) return err.code;
    throw err;
  }
  throw new Error('expected the ledger to refuse');
}

/**
 * The life-cycle calls of AgentLedger (backup, restore, recovery, erasure) against the real
 * chaincode, as ChaincodeAgentLedger and FabricAgentLedger send them: argument order and
 * encoding, and the chaincode's refusals surfacing as LedgerError codes.
 */
describe('AgentLedger life-cycle calls', () => {
  let world: FakeLedger;
  let ca: TestCa;
  let gateway: { mspId: string; certificatePem: string };
  const key = () => generateEncryptionKeyPair('X25519').publicKeyPem;

  async function patient(name: string): Promise<{ ledger: AgentLedger; id: string }> {
    const cert = (await ca.issue(name, { attrs: { 'phr.role': 'patient' } })).certificatePem;
    return {
      ledger: new ChaincodeAgentLedger(world, { mspId: PATIENTS_MSP_ID, certificatePem: cert }),
      id: identityKey(PATIENTS_MSP_ID, fabricX509Id(cert)),
    };
  }

  beforeEach(async () => {
    world = new FakeLedger();
    ca = await makeCa(PATIENTS_MSP_ID);
    const hospital = await makeCa('Hospital1MSP');
    gateway = {
      mspId: 'Hospital1MSP',
      certificatePem: (await hospital.issue('gateway', { attrs: { 'phr.role': 'hospital-gateway' } })).certificatePem,
    };
  });

  it('sets the recovery key and guardians, lists deliveries, marks them backed up, restores and erases', async () => {
    const alice = await patient('alice');
    const bob = await patient('bob');
    const pA = newPseudonym();
    const pB = newPseudonym();
    await alice.ledger.register(pA, key(), 'X25519');
    await bob.ledger.register(pB, key(), 'X25519');

    const recovery = deriveRecoveryKeys(newRecoverySecret());
    expect((await alice.ledger.setRecoveryKey(pA, recovery.publicKey)).recoveryPublicKey).toBe(recovery.publicKey);
    expect((await alice.ledger.setGuardians(pA, [pB])).guardians).toEqual([pB]);
    expect(await code(bob.ledger.setGuardians(pA, []))).toBe('FORBIDDEN');

    const recordDelivery = (id: string) =>
      world.invoke(new CommitmentsContract(), 'RecordDelivery', [id, pA, 'ab'.repeat(32), 1, 1, '[]'], gateway);
    await recordDelivery('delivery-0001');
    await recordDelivery('delivery-0002');
    expect((await alice.ledger.listDeliveries(pA)).map((d) => d.deliveryId)).toEqual([
      'delivery-0001',
      'delivery-0002',
    ]);
    expect(await code(alice.ledger.markBackedUp('delivery-0001'))).toBe('INVALID_STATE'); // still waiting
    await alice.ledger.acknowledgeDelivery('delivery-0001');
    expect((await alice.ledger.markBackedUp('delivery-0001')).status).toBe('backup');
    expect((await alice.ledger.markBackedUp('delivery-0001')).status).toBe('backup');

    // Bob, guardian of Alice, logs his approval on Alice's record.
    const approval = await bob.ledger.recordGuardianAccess({
      eventId: 'recovery-approval-0001',
      pseudonym: pA,
      action: 'recovery',
      outcome: 'success',
      references: ['request-0001'],
    });
    expect(approval).toMatchObject({ pseudonym: pA, action: 'recovery' });

    // Restore on a new device: the recovery key signs the new identity in as owner.
    const phone = await patient('alice-new-phone');
    const newKey = key();
    const current = await phone.ledger.readPatient(pA);
    const signature = signRotation(
      rotationPayload({
        pseudonym: pA,
        newOwner: phone.id,
        encryptionPublicKey: newKey,
        encryptionAlgorithm: 'X25519',
        keyVersion: current.keyVersion,
      }),
      recovery.signingKey,
    );
    expect(await code(phone.ledger.rotateKeys(pA, newKey, 'X25519'))).toBe('FORBIDDEN');
    const rotated = await phone.ledger.rotateKeys(pA, newKey, 'X25519', signature);
    expect(rotated).toMatchObject({ owner: phone.id, encryptionPublicKey: newKey, keyVersion: current.keyVersion + 1 });
    expect((await phone.ledger.whoAmI()).pseudonym).toBe(pA);
    expect(await code(alice.ledger.rotateKeys(pA, key(), 'X25519', signature))).toBe('FORBIDDEN');
    // The owner's own rotation needs no signature.
    expect((await phone.ledger.rotateKeys(pA, key(), 'X25519')).keyVersion).toBe(current.keyVersion + 2);

    await phone.ledger.recordAccess({
      eventId: 'rebuild-0001',
      pseudonym: pA,
      action: 'rebuild',
      outcome: 'success',
      references: [],
    });
    const erased = await phone.ledger.erasePatient(pA);
    expect(erased.erasedAt).toBeDefined();
    expect(await code(phone.ledger.setRecoveryKey(pA, recovery.publicKey))).toBe('INVALID_STATE');
    expect(await code(bob.ledger.erasePatient(pA))).toBe('FORBIDDEN');
    await phone.ledger.recordAccess({
      eventId: 'erasure-0001',
      pseudonym: pA,
      action: 'erasure',
      outcome: 'success',
      references: [],
    });
    expect((await phone.ledger.listAccessEvents(pA)).map((e) => e.action)).toEqual(['recovery', 'rebuild', 'erasure']);
  });
});
