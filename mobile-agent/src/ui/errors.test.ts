import { CHAINCODE_ERROR_CODES } from '@phr/common';
import { friendlyError } from './errors';

const coded = (code: string, message: string) => Object.assign(new Error(message), { code });

describe('friendlyError', () => {
  it('shows the ledger’s one-line reason with a fitting status', () => {
    expect(
      friendlyError(coded('INVALID_ARGUMENT', 'INVALID_ARGUMENT: end must be after start\n    at x.ts:1')),
    ).toEqual({
      status: 400,
      message: 'The ledger did not accept this: end must be after start.',
    });
    expect(friendlyError(coded('NOT_FOUND', 'NOT_FOUND: consent c-1 does not exist.'))).toEqual({
      status: 404,
      message: 'Not found: consent c-1 does not exist.',
    });
    expect(friendlyError(coded('CONFLICT', 'CONFLICT: ')).status).toBe(409);
  });

  it.each(CHAINCODE_ERROR_CODES)('gives the ledger’s %s its own words and status, never the internal error', (code) => {
    const friendly = friendlyError(coded(code, `${code}: the ledger's reason`));
    expect(friendly.status).toBeGreaterThanOrEqual(400);
    expect(friendly.status).toBeLessThan(500);
    expect(friendly.message).toMatch(/: the ledger's reason\.$/);
  });

  it('says "unreachable" for transport failures and hides everything else', () => {
    expect(friendlyError(coded('UNAVAILABLE', 'ledger unavailable: 14 UNAVAILABLE: No connection')).status).toBe(503);
    expect(friendlyError(coded('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:7051')).message).not.toContain(
      '127.0.0.1',
    );
    const internal = friendlyError(new TypeError('secret /home/patient/.phr/vault.db is locked'));
    expect(internal.status).toBe(500);
    expect(internal.message).not.toContain('vault.db');
  });

  it('gives the agent’s own refusals of a recovery or backup step their words, not the ledger’s', () => {
    const refusal = (name: string, code: string, message: string) => Object.assign(new Error(message), { name, code });
    expect(friendlyError(refusal('RecoveryError', 'INVALID_ARGUMENT', 'you cannot be your own guardian'))).toEqual({
      status: 422,
      message: 'Recovery cannot be set up like this: you cannot be your own guardian.',
    });
    expect(friendlyError(refusal('RecoveryError', 'EXPIRED', 'recovery request rq-1 expired at 2025-01-01'))).toEqual({
      status: 409,
      message: 'This recovery request has expired: recovery request rq-1 expired at 2025-01-01.',
    });
    expect(friendlyError(refusal('BackupError', 'CONFLICT', '/b/pt/manifest.bin holds another backup'))).toEqual({
      status: 409,
      message: 'This folder cannot take your backup: /b/pt/manifest.bin holds another backup.',
    });
    // the same code from the ledger keeps the ledger's words
    expect(friendlyError(coded('INVALID_ARGUMENT', 'INVALID_ARGUMENT: bad guardians')).message).toBe(
      'The ledger did not accept this: bad guardians.',
    );
  });
});
