import { FhirError } from '@phr/common';
import { LedgerError } from '@phr/ledger-client';

/**
 * Runs a ledger read for an HTTP request. A ledger that cannot be reached is a 503 (retry later);
 * a refusal or a fault on the ledger is a 502, since the caller's request itself was fine.
 * NOT_FOUND is the caller's to decide, so it comes back as `undefined` from `onNotFound`.
 */
export async function readLedger<T>(read: () => Promise<T>, onNotFound: () => T): Promise<T> {
  try {
    return await read();
  } catch (err) {
    if (err instanceof LedgerError) {
      if (err.code === 'NOT_FOUND') return onNotFound();
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
