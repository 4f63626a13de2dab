import { Metadata, status, type ServiceError } from '@grpc/grpc-js';
import { GatewayError } from '@hyperledger/fabric-gateway';
import { CHAINCODE_ERROR_CODES } from '@phr/common';
import { LedgerError, toLedgerError } from './ledger-error';

const gatewayError = (code: number, message: string, detail: string) => {
  const cause: ServiceError = Object.assign(new Error(message), { code, details: message, metadata: new Metadata() });
  return new GatewayError({
    code,
    message,
    cause,
    details: [{ address: 'peer:7051', mspId: 'Hospital1MSP', message: detail }],
  });
};

describe('toLedgerError', () => {
  it("takes the chaincode's code from the endorsement details", () => {
    const err = toLedgerError(
      gatewayError(
        status.ABORTED,
        'failed to endorse',
        'chaincode response 500, FORBIDDEN: not allowed for role patient',
      ),
    );
    expect(err).toBeInstanceOf(LedgerError);
    expect(err.code).toBe('FORBIDDEN');
    expect(err.message).toBe('FORBIDDEN: not allowed for role patient');
    expect(err.retryable).toBe(false);
  });

  it.each(CHAINCODE_ERROR_CODES)('reads %s, like every code of the shared contract, as itself', (code) => {
    const err = toLedgerError(
      gatewayError(status.ABORTED, 'failed to endorse', `chaincode response 500, ${code}: refused for a reason`),
    );
    expect([err.code, err.message, err.retryable]).toEqual([code, `${code}: refused for a reason`, false]);
  });

  it('takes no code from a word that only ends like one', () => {
    const err = toLedgerError(gatewayError(status.ABORTED, 'failed', 'transaction invalid: MVCC_READ_CONFLICT: x'));
    expect(err.code).toBe('LEDGER_ERROR');
  });

  it('marks an unreachable ledger as retryable', () => {
    const err = toLedgerError(gatewayError(status.UNAVAILABLE, 'connect failed', 'no connection'));
    expect(err.code).toBe('UNAVAILABLE');
    expect(err.retryable).toBe(true);
  });

  it('keeps anything else as LEDGER_ERROR with its cause', () => {
    const cause = new Error('boom');
    const err = toLedgerError(cause);
    expect(err.code).toBe('LEDGER_ERROR');
    expect(err.cause).toBe(cause);
  });
});
