export type MailboxErrorCode =
  /** No such message for this patient (unknown id, or another patient's message). */
  | 'not-found'
  /** The message id is already used for a different patient or kind. */
  | 'conflict'
  /** A caller broke the contract (bad argument, or announce() inside an open transaction). */
  | 'invalid';

export class MailboxError extends Error {
  override readonly name = 'MailboxError';
  readonly code: MailboxErrorCode;

  constructor(code: MailboxErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}
