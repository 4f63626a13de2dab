import { newPseudonym, PATIENTS_MSP_ID, type ConsentEvaluation } from '@phr/common';
import { makeCa } from '@phr/test-support';
import { ChaincodeLedger } from '@phr/test-support/gateway';
import { createLogger } from '../src/logger';
import { ConsentCache, ConsentFeed } from '../src/pull';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';

async function until(check: () => Promise<boolean>, ms = 2_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * PatientRegistry.Erase revokes the patient's consents in its own transaction, whose one event is
 * PatientErased, not a ConsentRevoked per consent: the gateway's consent cache must learn of the
 * revocations from it, or it would go on permitting pulls for an erased patient.
 */
describe('consent cache and erasure', () => {
  it('drops the consents of an erased patient from the event alone, without reading the ledger again', async () => {
    const hospital = await makeCa('Hospital1MSP');
    const patients = await makeCa(PATIENTS_MSP_ID);
    const gatewayCert = await hospital.issue('gateway', { attrs: { 'phr.role': 'hospital-gateway' } });
    const ledger = new ChaincodeLedger({ mspId: 'Hospital1MSP', certificatePem: gatewayCert.certificatePem });
    ledger.world.clock = Math.floor(Date.now() / 1000);
    const patient = {
      mspId: PATIENTS_MSP_ID,
      certificatePem: (await patients.issue('patient', { attrs: { 'phr.role': 'patient' } })).certificatePem,
    };
    const pseudonym = newPseudonym();
    await ledger.registerPatient(patient, pseudonym, 'MCowBQYDK2VuAyEA' + 'q'.repeat(43) + '=');
    await ledger.world.invoke(
      ledger.consent,
      'GrantConsent',
      [
        'consent-0001',
        '{"kind":"organization","id":"Hospital2MSP"}',
        '{"categories":["vital-signs"],"codes":[]}',
        '["TREAT"]',
        new Date(Date.now() - 60_000).toISOString(),
        new Date(Date.now() + 3_600_000).toISOString(),
      ],
      patient,
    );

    const cache = new ConsentCache(ledger, { maxAgeMs: 600_000, maxPatients: 10 });
    const feed = new ConsentFeed(ledger, cache, createLogger('silent'), { retryMinMs: 5, retryMaxMs: 20 });
    feed.start();
    await feed.whenLive();
    try {
      const request = {
        requesterOrg: 'Hospital2MSP',
        purpose: 'TREAT' as const,
        categories: ['vital-signs'],
        codes: [],
      };
      const decision = async (): Promise<ConsentEvaluation['decision']> =>
        (await cache.evaluate(pseudonym, request)).decision;
      expect(await decision()).toBe('permit');
      const reads = ledger.reads;

      await ledger.world.invoke(ledger.registry, 'Erase', [pseudonym], patient);
      await until(async () => (await decision()) === 'deny');
      expect(ledger.reads).toBe(reads);
    } finally {
      await feed.stop();
    }
  });
});
