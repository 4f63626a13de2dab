import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generateEncryptionKeyPair, newPseudonym, PATIENTS_MSP_ID } from '@phr/common';
import { makeCa } from '@phr/test-support';
import { ChaincodeLedger } from '@phr/test-support/gateway';
import { PatientDirectory } from '../src/identity/patient-directory';
import { openDatabase } from '../src/store/database';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';

/**
 * A rotation moves the patient's encryption key (and, after a restore, the owner): a gateway that
 * sealed new deliveries to the cached old key for up to the cache's age would send mail the new
 * device cannot open. The ledger's PatientKeysRotated and PatientErased events make the cached
 * record stale at once.
 */
describe('patient directory and registry events', () => {
  it('reads the ledger again after a key rotation or an erasure, not after the cache has aged', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'phr-directory-'));
    const hospital = await makeCa('Hospital1MSP');
    const patients = await makeCa(PATIENTS_MSP_ID);
    const gatewayCert = await hospital.issue('gateway', { attrs: { 'phr.role': 'hospital-gateway' } });
    const ledger = new ChaincodeLedger({ mspId: 'Hospital1MSP', certificatePem: gatewayCert.certificatePem });
    const patient = {
      mspId: PATIENTS_MSP_ID,
      certificatePem: (await patients.issue('patient', { attrs: { 'phr.role': 'patient' } })).certificatePem,
    };
    const pseudonym = newPseudonym();
    await ledger.registerPatient(patient, pseudonym, generateEncryptionKeyPair('X25519').publicKeyPem);
    const db = openDatabase(join(dir, 'gateway.db'));
    // The gateway's consent feed keeps this stream open; the registry events come through it.
    const events = await ledger.openConsentEvents();
    try {
      // An hour-long cache: only the event can make the second read go to the ledger.
      const directory = new PatientDirectory(db, ledger, 3_600_000);
      ledger.onPatientChanged((p) => directory.forget(p));
      const reads = jest.spyOn(ledger, 'readPatient');
      expect((await directory.get(pseudonym))?.keyVersion).toBe(1);
      await directory.get(pseudonym);
      expect(reads).toHaveBeenCalledTimes(1);

      const next = generateEncryptionKeyPair('X25519').publicKeyPem;
      await ledger.world.invoke(ledger.registry, 'RotateKeys', [pseudonym, next, 'X25519', ''], patient);
      const rotated = await directory.get(pseudonym);
      expect(rotated?.keyVersion).toBe(2);
      expect(rotated?.encryptionPublicKey).toBe(next);

      await ledger.world.invoke(ledger.registry, 'Erase', [pseudonym], patient);
      expect((await directory.get(pseudonym))?.erasedAt).toEqual(expect.any(String));
      expect(reads).toHaveBeenCalledTimes(3);
      // Until the next change, the record is served from the cache again.
      await directory.get(pseudonym);
      expect(reads).toHaveBeenCalledTimes(3);
    } finally {
      events.close();
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
