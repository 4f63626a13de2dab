import { LedgerError } from '@phr/ledger-client';

/** One line a patient can act on; the stack only with --log-level debug. */
export function describeError(err: unknown): string {
  if (err instanceof LedgerError) {
    if (err.code === 'UNAVAILABLE') return 'the ledger cannot be reached right now; try again later';
    return `the ledger refused: ${err.message}`;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
