import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  hasPendingRecovery,
  pendingRecoveryFile,
  readPendingRecovery,
  removePendingRecovery,
  writePendingRecovery,
  type PendingRecovery,
} from './pending-recovery';

describe('the pending recovery file', () => {
  const home = mkdtempSync(join(tmpdir(), 'phr-pending-'));
  afterAll(() => rmSync(home, { recursive: true, force: true }));
  const keys = { dataKey: randomBytes(32), indexKey: randomBytes(32) };
  const ephemeral = generateKeyPairSync('x25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const pending: PendingRecovery = {
    v: 1,
    pseudonym: 'pt' + 'b'.repeat(26),
    guardians: ['pt' + 'c'.repeat(26)],
    createdAt: '2026-12-05T10:00:00.000Z',
    request: {
      requestId: 'rq-0001-0002',
      hospital: 'hospital1',
      ephemeralPublicKey: 'AAAA',
      checkCode: '123-456',
      expiresAt: '2026-12-08T10:00:00.000Z',
    },
  };

  it('keeps the one-time private key sealed under the vault key, owner-only', () => {
    writePendingRecovery(home, pending, keys, ephemeral);
    const text = readFileSync(pendingRecoveryFile(home), 'utf8');
    expect(text).not.toContain('PRIVATE KEY');
    expect(text).not.toContain(ephemeral.split('\n')[1]);
    expect(statSync(pendingRecoveryFile(home)).mode & 0o777).toBe(0o600);
    expect(readPendingRecovery(home, keys)).toEqual({ pending, ephemeralPrivateKeyPem: ephemeral });
    // Without the keys: what is pending, not the key.
    expect(readPendingRecovery(home)).toEqual({ pending });
  });

  it('does not open with another vault key', () => {
    writePendingRecovery(home, pending, keys, ephemeral);
    expect(() => readPendingRecovery(home, { dataKey: randomBytes(32), indexKey: keys.indexKey })).toThrow(
      /does not open with this device's keys/,
    );
  });

  it('says so when no recovery is under way', () => {
    removePendingRecovery(home);
    expect(hasPendingRecovery(home)).toBe(false);
    expect(() => readPendingRecovery(home, keys)).toThrow(/no recovery is under way/);
  });
});
