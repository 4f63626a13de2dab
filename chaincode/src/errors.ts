export const ErrorCodes = {
  Forbidden: 'FORBIDDEN',
  NotFound: 'NOT_FOUND',
  Conflict: 'CONFLICT',
  InvalidArgument: 'INVALID_ARGUMENT',
  InvalidState: 'INVALID_STATE',
  ConsentRequired: 'CONSENT_REQUIRED',
} as const;

export type ErrorCode = (typeof ErrorCodes)[keyof typeof ErrorCodes];

/**
 * Every refusal the chaincode makes. The message starts with the code so that clients, which only
 * see the endorsement error text, can map it (e.g. to an HTTP status) without parsing prose.
 */
export class ChaincodeError extends Error {
  override readonly name = 'ChaincodeError';
  constructor(
    readonly code: ErrorCode,
    detail: string,
  ) {
    super(`${code}: ${detail}`);
  }
}

export const forbidden = (detail: string): ChaincodeError => new ChaincodeError(ErrorCodes.Forbidden, detail);
export const notFound = (detail: string): ChaincodeError => new ChaincodeError(ErrorCodes.NotFound, detail);
export const conflict = (detail: string): ChaincodeError => new ChaincodeError(ErrorCodes.Conflict, detail);
export const invalidArgument = (detail: string): ChaincodeError =>
  new ChaincodeError(ErrorCodes.InvalidArgument, detail);
export const invalidState = (detail: string): ChaincodeError => new ChaincodeError(ErrorCodes.InvalidState, detail);
