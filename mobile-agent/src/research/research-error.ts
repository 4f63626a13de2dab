/**
 * Why the agent refused a research step. A refusal before the consent leaves nothing on the
 * ledger and nothing sent; `INCOMPLETE` means an accepted study is part-way delivered, kept in the
 * vault, and the same `accept` picks it up where it stopped.
 */
export type ResearchErrorCode =
  /** No open offer with this id on the ledger. */
  | 'UNKNOWN_OFFER'
  /** The offer was withdrawn, expired or is full. */
  | 'CLOSED'
  /** The vault does not meet the offer's criteria: nothing would be shared. */
  | 'NOT_MATCHING'
  /** The patient opted out of research altogether. */
  | 'OPTED_OUT'
  /**
   * Declining a study whose extract already reached the gateway or was delivered, or accepting
   * one declined after its consent reached the ledger.
   */
  | 'ALREADY_DECIDED'
  /** No known hospital gateway collects for this offer. */
  | 'NO_GATEWAY'
  /** The wanted elements are not in the vault: there is no extract to send. */
  | 'NOTHING_TO_SHARE'
  /** Accepted, but a later step (seal, send, record) failed: run accept again to finish. */
  | 'INCOMPLETE';

export class ResearchError extends Error {
  override readonly name = 'ResearchError';
  constructor(
    readonly code: ResearchErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
