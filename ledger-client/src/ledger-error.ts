import { status as GrpcStatus } from '@grpc/grpc-js';
import { GatewayError, StatusCode } from '@hyperledger/fabric-gateway';
import { chaincodeErrorMessage, parseChaincodeError, type ChaincodeErrorCode } from '@phr/common';

/** The ledger could not be reached (peer or orderers down, deadline passed): safe to retry later. */
export type TransportCode = 'UNAVAILABLE';
/** The transaction was ordered but not committed as valid (e.g. ENDORSEMENT_POLICY_FAILURE, MVCC_READ_CONFLICT). */
export type ValidationCode = keyof typeof StatusCode;

/**
 * A chaincode refusal (`CHAINCODE_ERROR_CODES` in @phr/common, the contract the chaincode throws
 * by), a ledger out of reach, a transaction committed as invalid, or `LEDGER_ERROR` for anything
 * else (the original error is the `cause`).
 */
export type LedgerErrorCode = ChaincodeErrorCode | TransportCode | ValidationCode | 'LEDGER_ERROR';

/** gRPC statuses (a GatewayError's numeric `code`) that mean the ledger was out of reach. */
const UNREACHABLE_STATUSES: ReadonlySet<number> = new Set([GrpcStatus.UNAVAILABLE, GrpcStatus.DEADLINE_EXCEEDED]);

/** Every failure of a ledger call; `code` says which kind, `cause` keeps the gateway client's error. */
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
      const refusal = parseChaincodeError(text);
      if (refusal) {
        return new LedgerError(refusal.code, chaincodeErrorMessage(refusal.code, refusal.detail), txId, { cause: err });
      }
    }
    if (UNREACHABLE_STATUSES.has(err.code)) {
      return new LedgerError('UNAVAILABLE', `ledger unavailable: ${err.message}`, txId, { cause: err });
    }
    return new LedgerError('LEDGER_ERROR', texts.join('; '), txId, { cause: err });
  }
  return new LedgerError('LEDGER_ERROR', err instanceof Error ? err.message : String(err), txId, { cause: err });
}
