export type TransportErrorCode =
  'UNREACHABLE' | 'UNAUTHORIZED' | 'FORBIDDEN' | 'NOT_FOUND' | 'TOO_LARGE' | 'BAD_RESPONSE' | 'HTTP_ERROR';

/** A gateway call that failed; `status` and the OperationOutcome's text when the gateway answered. */
export class TransportError extends Error {
  override readonly name = 'TransportError';
  constructor(
    readonly code: TransportErrorCode,
    message: string,
    readonly status?: number,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
