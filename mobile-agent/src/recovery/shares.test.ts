import { randomBytes } from 'node:crypto';
import { RecoveryCodeError } from '@phr/common';
import { combineShares, paperCode, readPaperCode, SHARE_BYTES, shareIndex, ShareError, splitSecret } from './shares';

/** Every k-element subset of `items`, in order. */
function subsets<T>(items: readonly T[], k: number): T[][] {
  if (k === 0) return [[]];
  if (items.length < k) return [];
  const [first, ...rest] = items as [T, ...T[]];
  return [...subsets(rest, k - 1).map((s) => [first, ...s]), ...subsets(rest, k)];
}

describe('splitSecret and combineShares', () => {
  const secret = randomBytes(32);

  it.each([
    [2, 2],
    [3, 2],
    [5, 3],
    [10, 10],
    [10, 2],
  ])('splits into %i shares of which any %i rebuild the secret', async (n, t) => {
    const shares = await splitSecret(secret, n, t);
    expect(shares).toHaveLength(n);
    for (const share of shares) expect(share).toHaveLength(SHARE_BYTES);
    expect(new Set(shares.map(shareIndex)).size).toBe(n);
    // Every subset of size t (capped so that 10-choose-5 style cases stay quick) and all of them.
    for (const subset of subsets(shares, t).slice(0, 60)) {
      expect((await combineShares(subset)).equals(secret)).toBe(true);
    }
    expect((await combineShares(shares)).equals(secret)).toBe(true);
  });

  it('gives a different split each time (random polynomials), rebuilding the same secret', async () => {
    const [a, b] = [await splitSecret(secret, 3, 2), await splitSecret(secret, 3, 2)];
    expect(a.map((s) => s.toString('hex'))).not.toEqual(b.map((s) => s.toString('hex')));
    expect((await combineShares([a[0]!, a[1]!])).equals(secret)).toBe(true);
    expect((await combineShares([b[0]!, b[2]!])).equals(secret)).toBe(true);
  });

  it('rebuilds something else from fewer than the threshold or from shares of two splits', async () => {
    const shares = await splitSecret(secret, 5, 3);
    expect((await combineShares(shares.slice(0, 2))).equals(secret)).toBe(false);
    const held = [shares[0]!, shares[1]!];
    const fromAnotherSplit = (await splitSecret(secret, 5, 3)).find(
      (s) => !held.some((h) => shareIndex(h) === shareIndex(s)),
    )!;
    expect((await combineShares([...held, fromAnotherSplit])).equals(secret)).toBe(false);
  });

  it.each([
    [1, 2, /number of shares .* from 2 to 10, not 1/],
    [11, 2, /from 2 to 10, not 11/],
    [3, 1, /threshold must be from 2 to the number of shares \(3\), not 1/],
    [3, 4, /not 4/],
    [3, 2.5, /not 2.5/],
  ])('refuses %i shares with threshold %s', async (n, t, message) => {
    await expect(splitSecret(secret, n, t)).rejects.toThrow(message);
    await expect(splitSecret(secret, n, t)).rejects.toMatchObject({ name: 'ShareError', code: 'INVALID_ARGUMENT' });
  });

  it('refuses a secret that is not 32 bytes', async () => {
    await expect(splitSecret(randomBytes(31), 3, 2)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
  });

  it('refuses one share, duplicates, malformed shares and index 0', async () => {
    const shares = await splitSecret(secret, 3, 2);
    await expect(combineShares([shares[0]!])).rejects.toMatchObject({ code: 'TOO_FEW' });
    await expect(combineShares([])).rejects.toMatchObject({ code: 'TOO_FEW' });
    await expect(combineShares([shares[0]!, Buffer.from(shares[0]!)])).rejects.toMatchObject({ code: 'DUPLICATE' });
    await expect(combineShares([shares[0]!, shares[1]!.subarray(1)])).rejects.toMatchObject({ code: 'MALFORMED' });
    // x = 0 is where the polynomial holds the secret: a "share" there would simply be a chosen secret.
    const zero = Buffer.from(shares[1]!);
    zero[SHARE_BYTES - 1] = 0;
    await expect(combineShares([shares[0]!, zero])).rejects.toThrow(ShareError);
  });

  /*
   * T−1 shares give no information about the secret. The argument, and what the test checks of it:
   * the shares come from a polynomial f of degree T−1 per secret byte, f(0) = the byte, the other
   * T−1 coefficients uniformly random. Fix the T−1 shares an attacker holds. For a candidate value
   * v of a secret byte, the polynomials consistent with what the attacker holds and with f(0) = v
   * are those through T points (0, v) and the T−1 shares — exactly one each (a polynomial of
   * degree ≤ T−1 is fixed by T points). Every polynomial is equally likely a priori, so if every v
   * has exactly one consistent polynomial, every v is equally likely after seeing the shares: the
   * shares tell nothing. The test shows "exactly one for each v" through the library itself: it
   * adds to the T−1 real shares a forged T-th share at an unused x, with every possible value
   * y ∈ 0..255 in every byte position, and combines. A polynomial through T points is also fixed
   * by its value at the forged x, so each y is one polynomial; the test checks that the 256 of
   * them rebuild 256 different values at every byte position — each candidate v once, none twice,
   * none missing. (A scheme that leaked, say, the secret's low bit to T−1 shares would reach only
   * half the values here, or some twice.) It is checked for T = 2 (one share alone) and T = 3.
   */
  it.each([
    [3, 2],
    [5, 3],
  ])(
    'with %i shares and threshold %i, T−1 shares are consistent with every value of every secret byte',
    async (n, t) => {
      const shares = await splitSecret(secret, n, t);
      const held = shares.slice(0, t - 1);
      const used = new Set(shares.map(shareIndex));
      const forgedX = [...Array(255).keys()].map((i) => i + 1).find((x) => !used.has(x))!;
      const rebuilt: Set<number>[] = Array.from({ length: 32 }, () => new Set());
      for (let y = 0; y < 256; y += 1) {
        const forged = Buffer.alloc(SHARE_BYTES, y);
        forged[SHARE_BYTES - 1] = forgedX;
        const candidate = await combineShares([...held, forged]);
        candidate.forEach((byte, position) => rebuilt[position]!.add(byte));
      }
      // 256 forged shares, 256 distinct values at each of the 32 positions: a bijection y → v.
      for (const values of rebuilt) expect(values.size).toBe(256);
      // Sanity: the real T-th share, in the same place, does give the secret.
      expect((await combineShares([...held, shares[t - 1]!])).equals(secret)).toBe(true);
    },
  );
});

describe('paper codes', () => {
  it('prints a share as a PHRS code that reads back, forgiving case and spaces', async () => {
    const [share] = await splitSecret(randomBytes(32), 2, 2);
    const code = paperCode(share!);
    expect(code.startsWith('PHRS-')).toBe(true);
    expect(readPaperCode(code).equals(share!)).toBe(true);
    expect(readPaperCode(`  ${code.toLowerCase().replaceAll('-', ' ')} `).equals(share!)).toBe(true);
  });

  it('refuses a mistyped code with the decoder error and a recovery-secret code as a share', async () => {
    const [share] = await splitSecret(randomBytes(32), 2, 2);
    const code = paperCode(share!);
    // Change one character of the payload (after the prefix) to another base32 digit.
    const at = 6;
    const changed = code.slice(0, at) + (code[at] === '7' ? '8' : '7') + code.slice(at + 1);
    expect(() => readPaperCode(changed)).toThrow(RecoveryCodeError);
    expect(() => readPaperCode(code.replace('PHRS', 'PHRR'))).toThrow(RecoveryCodeError);
  });
});
