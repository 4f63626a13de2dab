import { chaincodeErrorMessage, type ChaincodeErrorCode } from '@phr/common';

/**
 * Every refusal the chaincode makes. It takes only the codes of the shared contract
 * (`CHAINCODE_ERROR_CODES` in @phr/common), which every client maps; the message leads with the
 * code because clients see nothing but the endorsement error's text.
 */
export class ChaincodeError extends Error {
  override readonly name = 'ChaincodeError';
  constructor(
    readonly code: ChaincodeErrorCode,
    detail: string,
    options?: { cause?: unknown },
  ) {
    super(chaincodeErrorMessage(code, detail), options);
  }
}

export const forbidden = (detail: string): ChaincodeError => new ChaincodeError('FORBIDDEN', detail);
export const notFound = (detail: string): ChaincodeError => new ChaincodeError('NOT_FOUND', detail);
export const conflict = (detail: string): ChaincodeError => new ChaincodeError('CONFLICT', detail);
export const invalidArgument = (detail: string): ChaincodeError => new ChaincodeError('INVALID_ARGUMENT', detail);
export const invalidState = (detail: string): ChaincodeError => new ChaincodeError('INVALID_STATE', detail);
export const consentRequired = (detail: string): ChaincodeError => new ChaincodeError('CONSENT_REQUIRED', detail);
