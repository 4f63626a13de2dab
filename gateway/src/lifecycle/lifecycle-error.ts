/**
 * Why a life-cycle request (backup, rebuild, erasure) was refused. The lifecycle router turns each
 * code into an OperationOutcome with its status; nothing else sees these.
 *
 * - ERASED: the patient erased their records at this gateway (or on the ledger): nothing new is kept.
 * - NO_BACKUP: no backup is stored for the patient (or not the version asked for).
 */
export type LifecycleErrorCode = 'ERASED' | 'NO_BACKUP';

export class LifecycleError extends Error {
  override readonly name = 'LifecycleError';
  constructor(
    readonly code: LifecycleErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
