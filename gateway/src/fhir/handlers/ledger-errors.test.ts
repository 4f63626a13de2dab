import { CHAINCODE_ERROR_CODES, consentToFhir, FhirError, type ChaincodeErrorCode } from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import type { Principal } from '../../auth/principal';
import { createConsent } from './create-consent';
import { readLedger } from './ledger-errors';

const refusal = (code: ChaincodeErrorCode) => new LedgerError(code, `${code}: the chaincode's reason`);

async function statusOf(run: () => Promise<unknown>): Promise<number | 'ok'> {
  try {
    await run();
    return 'ok';
  } catch (err) {
    if (err instanceof FhirError) return err.status;
    throw err;
  }
}

describe('readLedger', () => {
  it.each(CHAINCODE_ERROR_CODES)('answers the chaincode refusing a read with %s as its table says', async (code) => {
    const answer = await readLedger(
      () => Promise.reject(refusal(code)),
      () => 'not found',
    ).catch((err: unknown) => (err instanceof FhirError ? err.status : err));
    expect(answer).toBe(code === 'NOT_FOUND' ? 'not found' : 502);
  });

  it('answers an unreachable ledger with 503', async () => {
    const unavailable = new LedgerError('UNAVAILABLE', 'ledger unavailable: down');
    expect(
      await statusOf(() =>
        readLedger(
          () => Promise.reject(unavailable),
          () => undefined,
        ),
      ),
    ).toBe(503);
  });
});

describe('POST /fhir/Consent refused by the ledger', () => {
  const principal: Principal = {
    role: 'ehr',
    mspId: 'Hospital1MSP',
    id: `id${'a'.repeat(40)}`,
    emergency: false,
    certificatePem: '',
  };
  const body = consentToFhir(
    {
      consentId: 'consent-0001',
      pseudonym: 'ptabcdefghijklmnopqrstuvwxyz',
      grantee: { kind: 'organization', id: 'Hospital2MSP' },
      scope: { categories: ['laboratory'], codes: [] },
      purposes: ['TREAT'],
      start: '2026-01-01T00:00:00.000Z',
      end: '2027-01-01T00:00:00.000Z',
    },
    'c2lnbmF0dXJl',
  );
  const create = (err: LedgerError) =>
    createConsent(
      { principal, params: {}, body, selfUrl: 'https://gw/fhir/Consent' },
      { ledger: { grantSignedConsent: () => Promise.reject(err) } },
    );

  it.each(CHAINCODE_ERROR_CODES)('answers %s as the caller’s fault (4xx) with the chaincode’s reason', async (code) => {
    const err: unknown = await create(refusal(code)).then(
      () => undefined,
      (e: unknown) => e,
    );
    if (!(err instanceof FhirError)) throw new Error(`expected a FhirError, got ${String(err)}`);
    expect(err.status >= 400 && err.status < 500).toBe(true);
    expect(err.message).toBe("the ledger refused the consent: the chaincode's reason");
  });

  it('answers an unreachable ledger with 503 and any other failure with 502', async () => {
    expect(await statusOf(() => create(new LedgerError('UNAVAILABLE', 'down')))).toBe(503);
    expect(await statusOf(() => create(new LedgerError('LEDGER_ERROR', 'boom')))).toBe(502);
  });
});
