import { deriveRecoveryKeys } from '@phr/common';
import { combineShares, shareIndex } from './shares';

/** More shares than any setup makes (10), with room for a few typed twice or from an old setup. */
const MAX_TRIED_SHARES = 14;

/**
 * The recovery secret whose derived public key is `recoveryPublicKey` (the ledger's), from the
 * shares at hand, or undefined when no combination of them gives it. Shamir's combination checks
 * nothing itself: a share of an older setup, a guardian's stale share or a mistyped-but-valid code
 * gives a wrong secret silently. So every subset of two or more is tried, largest first, until one
 * rebuilds the secret the ledger vouches for; at most 2^14 combinations of a 33-byte share each.
 * Shares with the same index are the same point: only the first is used.
 */
export async function rebuildSecret(
  shares: readonly Uint8Array[],
  recoveryPublicKey: string,
): Promise<Buffer | undefined> {
  const distinct: Uint8Array[] = [];
  const seen = new Set<number>();
  for (const share of shares) {
    const x = shareIndex(share);
    if (seen.has(x)) continue;
    seen.add(x);
    distinct.push(share);
  }
  const usable = distinct.slice(0, MAX_TRIED_SHARES);
  for (let size = usable.length; size >= 2; size -= 1) {
    for (const subset of combinations(usable, size)) {
      const secret = await combineShares(subset);
      if (deriveRecoveryKeys(secret).publicKey === recoveryPublicKey) return secret;
      secret.fill(0);
    }
  }
  return undefined;
}

function* combinations<T>(items: readonly T[], k: number, start = 0, prefix: T[] = []): Generator<T[]> {
  if (prefix.length === k) {
    yield prefix;
    return;
  }
  for (let i = start; i <= items.length - (k - prefix.length); i += 1) {
    yield* combinations(items, k, i + 1, [...prefix, items[i] as T]);
  }
}
