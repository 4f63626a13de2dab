/**
 * Why a pull answer was refused. The answer is judged as a whole: one bad element and nothing of it
 * is shown, because a requester that shows "the rest" would show a record someone edited around.
 */
export type PullVerificationCode =
  /** Not a sealed envelope, not JSON, or not a PullAnswer. */
  | 'MALFORMED'
  /** The envelope's signature does not verify. */
  | 'SIGNATURE_INVALID'
  /** Sealed for another request, patient or requester (the AAD differs). */
  | 'CONTEXT_MISMATCH'
  /** Our answer key cannot open it. */
  | 'DECRYPTION_FAILED'
  /** The ledger knows no such patient. */
  | 'PATIENT_UNKNOWN'
  /** Signed by someone other than the patient registered under the pseudonym. */
  | 'SIGNER_NOT_PATIENT'
  /** The answer inside names another request or patient than the one we asked about. */
  | 'ANSWER_MISMATCH'
  /** An element's delivery has no commitment on the ledger. */
  | 'DELIVERY_UNKNOWN'
  /** An element's delivery was committed for another patient. */
  | 'DELIVERY_OTHER_PATIENT'
  /** The patient's agent refused that delivery itself; nothing from it is trustworthy. */
  | 'DELIVERY_REJECTED'
  /** An element names another root than the one its delivery committed on the ledger. */
  | 'ROOT_MISMATCH'
  /** An element and its salt and proof do not lead to the ledger's root. */
  | 'PROOF_INVALID'
  /** The same element was disclosed twice. */
  | 'DUPLICATE_ELEMENT'
  /** The ledger could not be asked; nothing can be verified without it. */
  | 'LEDGER_UNAVAILABLE';

export interface ElementProblem {
  elementId: string;
  deliveryId: string;
  code: PullVerificationCode;
  detail: string;
}

export class PullVerificationError extends Error {
  override readonly name = 'PullVerificationError';
  /** Ids of the offending elements (empty when the envelope itself was refused). */
  readonly elementIds: string[];

  constructor(
    readonly code: PullVerificationCode,
    message: string,
    readonly problems: readonly ElementProblem[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.elementIds = problems.map((p) => p.elementId);
  }
}

export type PullRequestErrorCode =
  /** 401: the gateway did not accept our client certificate. */
  | 'UNAUTHORIZED'
  /** 403: consent denied, or this identity may not ask (also for someone else's pending request). */
  | 'DENIED'
  /** 404: no such patient or pending request. */
  | 'NOT_FOUND'
  /** Any other 4xx: the gateway refused the request as malformed. */
  | 'BAD_REQUEST'
  /** 5xx or a status the contract does not define. */
  | 'HTTP_ERROR'
  /** The gateway answered something that is not the documented shape. */
  | 'BAD_RESPONSE'
  /** No connection, TLS failure. */
  | 'UNREACHABLE'
  /** The deadline for this request passed. */
  | 'TIMEOUT';

/** The gateway said no, or could not be asked. `diagnostics` are the OperationOutcome's words. */
export class PullRequestError extends Error {
  override readonly name = 'PullRequestError';
  constructor(
    readonly code: PullRequestErrorCode,
    message: string,
    readonly status?: number,
    readonly diagnostics?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
