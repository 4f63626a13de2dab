import {
  CHAINCODE_ERROR_CODES,
  chaincodeErrorMessage,
  isChaincodeErrorCode,
  parseChaincodeError,
} from './chaincode-error-codes';

describe('the chaincode error contract', () => {
  it.each(CHAINCODE_ERROR_CODES)('%s survives the trip through Fabric’s error text', (code) => {
    const message = chaincodeErrorMessage(code, 'why, in one line');
    expect(parseChaincodeError(`endorse call returned error: chaincode response 500, ${message}\nmore`)).toEqual({
      code,
      detail: 'why, in one line',
    });
    expect(isChaincodeErrorCode(code)).toBe(true);
  });

  it('reads no code from text that only looks like one', () => {
    expect(parseChaincodeError('transaction invalid: MVCC_READ_CONFLICT: x')).toBeUndefined();
    expect(parseChaincodeError('PAYMENT_REQUIRED: x')).toBeUndefined();
    expect(parseChaincodeError('forbidden: lower case is prose')).toBeUndefined();
    expect(isChaincodeErrorCode('LEDGER_ERROR')).toBe(false);
    expect(isChaincodeErrorCode(undefined)).toBe(false);
  });

  it('the codes are distinct upper-case words, so no code is read as another', () => {
    expect(new Set(CHAINCODE_ERROR_CODES).size).toBe(CHAINCODE_ERROR_CODES.length);
    for (const code of CHAINCODE_ERROR_CODES) expect(code).toMatch(/^[A-Z][A-Z_]*[A-Z]$/);
  });
});
