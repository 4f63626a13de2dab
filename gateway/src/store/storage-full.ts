import { FhirError } from '@phr/common';

/** SQLite's primary result code for "database or disk is full" (node:sqlite puts it in `errcode`). */
const SQLITE_FULL = 13;
/** What the file system says when a write finds no room (a full disk, or the user's quota). */
const NO_SPACE = new Set(['ENOSPC', 'EDQUOT']);

/**
 * Whether `err`, or an error it was caused by, says that the gateway's data storage is full:
 * SQLITE_FULL from the database (its transaction is rolled back whole), or ENOSPC/EDQUOT from the
 * file system. Nothing is wrong with the data then; writes succeed again once there is room.
 */
export function isStorageFull(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 8 && typeof e === 'object' && e !== null; depth++) {
    const { errcode, code } = e as { errcode?: unknown; code?: unknown };
    if (typeof errcode === 'number' && (errcode & 0xff) === SQLITE_FULL) return true;
    if (typeof code === 'string' && NO_SPACE.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** The answer to a request that needed to write while the storage is full: 503, retry later. */
export function storageFullError(cause: unknown): FhirError {
  return new FhirError(
    503,
    [
      {
        severity: 'error',
        code: 'transient',
        diagnostics:
          "the gateway's data storage is full: this request was refused and nothing of it was stored; " +
          'retry it later (the hospital must free space first)',
      },
    ],
    { cause },
  );
}
