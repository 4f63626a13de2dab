import { status as GrpcStatus } from '@grpc/grpc-js';
import { GatewayError, StatusCode } from '@hyperledger/fabric-gateway';

/** Codes the chaincode puts at the start of its error messages. */
export const CHAINCODE_CODES = [
  'FORBIDDEN',
  'NOT_FOUND',
  'CONFLICT',
  'INVALID_ARGUMENT',
  'INVALID_STATE',
  'CONSENT_REQUIRED',
] as const;
export type ChaincodeCode = (typeof CHAINCODE_CODES)[number];

/** The ledger could not be reached (peer or orderers down, deadline passed): safe to retry later. */
export type TransportCode = 'UNAVAILABLE';
/** The transaction was ordered but not committed as valid (e.g. ENDORSEMENT_POLICY_FAILURE, MVCC_READ_CONFLICT). */
export type ValidationCode = keyof typeof StatusCode;

export type LedgerErrorCode = ChaincodeCode | TransportCode | ValidationCode | 'LEDGER_ERROR';

export class LedgerError extends Error {
  override readonly name = 'LedgerError';
  constructor(
    readonly code: LedgerErrorCode,
    message: string,
    readonly transactionId?: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** True when retrying the same call later may succeed without any change. */
  get retryable(): boolean {
    return this.code === 'UNAVAILABLE' || this.code === 'MVCC_READ_CONFLICT' || this.code === 'PHANTOM_READ_CONFLICT';
  }
}

const CODE_PATTERN = new RegExp(`\\b(${CHAINCODE_CODES.join('|')}): ([^\\n]*)`);

/** Maps any error from the gateway client to a LedgerError, keeping the original as `cause`. */
export function toLedgerError(err: unknown): LedgerError {
  if (err instanceof LedgerError) return err;
  const txId =
    err && typeof err === 'object' && 'transactionId' in err && typeof err.transactionId === 'string'
      ? err.transactionId
      : undefined;
  if (err instanceof GatewayError) {
    const texts = [err.message, ...err.details.map((d) => d.message)];
    for (const text of texts) {
      const m = CODE_PATTERN.exec(text);
      if (m) return new LedgerError(m[1] as ChaincodeCode, `${m[1]}: ${m[2]}`, txId, { cause: err });
    }
    if (err.code === GrpcStatus.UNAVAILABLE || err.code === GrpcStatus.DEADLINE_EXCEEDED) {
      return new LedgerError('UNAVAILABLE', `ledger unavailable: ${err.message}`, txId, { cause: err });
    }
    return new LedgerError('LEDGER_ERROR', texts.join('; '), txId, { cause: err });
  }
  return new LedgerError('LEDGER_ERROR', err instanceof Error ? err.message : String(err), txId, { cause: err });
}
