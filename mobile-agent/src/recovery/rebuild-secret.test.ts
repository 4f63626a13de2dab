import { deriveRecoveryKeys, newRecoverySecret } from '@phr/common';
import { rebuildSecret } from './rebuild-secret';
import { SHARE_BYTES, shareIndex, splitSecret } from './shares';

describe('rebuildSecret', () => {
  const secret = newRecoverySecret();
  const publicKey = deriveRecoveryKeys(secret).publicKey;

  it('rebuilds the secret the ledger names from T shares, or from more', async () => {
    const shares = await splitSecret(secret, 5, 3);
    expect((await rebuildSecret(shares.slice(1, 4), publicKey))?.equals(secret)).toBe(true);
    expect((await rebuildSecret(shares, publicKey))?.equals(secret)).toBe(true);
  });

  it('finds the secret past a share of another setup and a share typed twice', async () => {
    const shares = await splitSecret(secret, 3, 2);
    const used = new Set([shares[0]!, shares[2]!].map(shareIndex));
    // A share of another split of the same secret, at an index of its own (the same index would be dropped as a repeat).
    const stale = (await splitSecret(secret, 3, 2)).find((s) => !used.has(shareIndex(s)))!;
    // The stale share first, so that the full combination (and every pair with it) is wrong.
    const found = await rebuildSecret([stale, shares[0]!, Buffer.from(shares[0]!), shares[2]!], publicKey);
    expect(found?.equals(secret)).toBe(true);
  });

  it('finds nothing from fewer than the threshold, from another secret, or from one share', async () => {
    const shares = await splitSecret(secret, 5, 3);
    expect(await rebuildSecret(shares.slice(0, 2), publicKey)).toBeUndefined();
    const other = await splitSecret(newRecoverySecret(), 3, 2);
    expect(await rebuildSecret(other, publicKey)).toBeUndefined();
    expect(await rebuildSecret(shares.slice(0, 1), publicKey)).toBeUndefined();
    expect(await rebuildSecret([], publicKey)).toBeUndefined();
  });

  it('refuses a share of the wrong size', async () => {
    await expect(rebuildSecret([Buffer.alloc(SHARE_BYTES - 1, 1)], publicKey)).rejects.toMatchObject({
      code: 'MALFORMED',
    });
  });
});
