/**
 * Why a research command stopped. Verification failures name the participation; nothing a
 * researcher could not already see (no pseudonym ever reaches it) is in a message.
 */
export type ResearchErrorCode =
  /** The gateway refused (4xx) or failed (5xx); `status` says which. */
  | 'HTTP_ERROR'
  /** No connection, TLS failure. */
  | 'UNREACHABLE'
  /** The deadline of a request passed. */
  | 'TIMEOUT'
  /** The gateway answered something that is not the documented shape. */
  | 'BAD_RESPONSE'
  /** No such offer, participation or local key. */
  | 'NOT_FOUND'
  /** The dataset would hold something Safe Harbor removes: nothing was written or declared. */
  | 'SAFE_HARBOR'
  /** Local state (key, verified extracts) missing or unreadable. */
  | 'STATE';

export class ResearchError extends Error {
  override readonly name = 'ResearchError';
  constructor(
    readonly code: ResearchErrorCode,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** Why one extract was not accepted. */
export type ExtractVerificationCode =
  /** Not a sealed envelope the offer's key opens, or sealed for another offer/participation. */
  | 'ENVELOPE_INVALID'
  /** Signed by a key other than the participation's study key on the ledger. */
  | 'SIGNER_MISMATCH'
  /** The participation is not delivered on the ledger (yet): no hash to check against. */
  | 'NOT_DELIVERED'
  /** The plaintext's SHA-256 is not the hash the ledger paid for. */
  | 'HASH_MISMATCH'
  /** The plaintext is not a ResearchExtract of this offer and participation, or not in Safe Harbor form. */
  | 'MALFORMED'
  /** The extract holds an element or a demographic the offer did not ask for. */
  | 'NOT_WANTED'
  /** An unchanged element names a root the participation does not have. */
  | 'ROOT_UNKNOWN'
  /** An unchanged element's leaf and proof do not lead to its root. */
  | 'PROOF_INVALID';

export class ExtractVerificationError extends Error {
  override readonly name = 'ExtractVerificationError';
  constructor(
    readonly code: ExtractVerificationCode,
    readonly participationId: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
