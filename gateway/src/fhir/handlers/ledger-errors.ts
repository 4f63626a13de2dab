import { FhirError, isChaincodeErrorCode, type ChaincodeErrorCode } from '@phr/common';
import { LedgerError } from '@phr/ledger-client';

/**
 * What a chaincode refusal of a read the gateway makes as itself means. NOT_FOUND is the caller's
 * to decide; the others say the ledger and this gateway disagree (its identity, its arguments),
 * not that the caller's request was wrong.
 */
const READ_REFUSED: Record<ChaincodeErrorCode, 'not-found' | 'fault'> = {
  NOT_FOUND: 'not-found',
  FORBIDDEN: 'fault',
  CONFLICT: 'fault',
  INVALID_ARGUMENT: 'fault',
  INVALID_STATE: 'fault',
  CONSENT_REQUIRED: 'fault',
};

/**
 * Runs a ledger read for an HTTP request. A ledger that cannot be reached is a 503 (retry later);
 * a refusal or a fault on the ledger is a 502, since the caller's request itself was fine.
 * NOT_FOUND comes back as whatever `onNotFound` answers.
 */
export async function readLedger<T>(read: () => Promise<T>, onNotFound: () => T): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof LedgerError) {
      if (isChaincodeErrorCode(err.code) && READ_REFUSED[err.code] === 'not-found') return onNotFound();
      if (err.code === 'UNAVAILABLE' || err.retryable) {
        throw new FhirError(503, 'the ledger is unreachable; retry later', { cause: err });
      }
      throw new FhirError(502, [{ severity: 'error', code: 'exception', diagnostics: 'the ledger refused the read' }], {
        cause: err,
      });
    }
    throw err;
  }
}
