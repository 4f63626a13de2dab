/**
 * Why a recovery step was refused. Every refusal leaves what the patient (and the guardian) had
 * as it was: nothing is changed on the ledger, in the keystore or in the vault before the step
 * that could fail has passed.
 */
export type RecoveryErrorCode =
  /** The command's arguments (guardians, counts, pseudonyms) are not usable. */
  | 'INVALID_ARGUMENT'
  /** A named guardian is not a registered patient, or was erased. */
  | 'UNKNOWN_GUARDIAN'
  /** The patient has no guardians or no recovery key on the ledger. */
  | 'NOT_SET_UP'
  /** The request is not known to this agent (or this home has no recovery under way). */
  | 'UNKNOWN_REQUEST'
  /** The request expired; a new one must be started. */
  | 'EXPIRED'
  /** This agent holds no share for the patient, or the patient no longer names it a guardian. */
  | 'NOT_GUARDIAN'
  /** Fewer shares than the threshold. */
  | 'TOO_FEW_SHARES'
  /** Shares that do not rebuild the recovery secret registered for the patient. */
  | 'WRONG_SHARES'
  /** The home already holds an agent, or another recovery. */
  | 'HOME_IN_USE'
  /** A share or request could not be handed to the gateway; what was sent is named. */
  | 'NOT_DELIVERED';

export class RecoveryError extends Error {
  override readonly name = 'RecoveryError';
  constructor(
    readonly code: RecoveryErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
