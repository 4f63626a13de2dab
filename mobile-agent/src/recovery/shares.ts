import { combine, split } from 'shamir-secret-sharing';
import { decodeRecoveryCode, encodeRecoveryCode, RECOVERY_SECRET_BYTES, RECOVERY_SHARE_PREFIX } from '@phr/common';

/**
 * Shamir's secret sharing of the 32-byte recovery secret, by the audited `shamir-secret-sharing`
 * library (privy-io; GF(2^8), one polynomial per byte). A share is the 32 y-values followed by its
 * x-coordinate (33 bytes). T shares rebuild the secret; fewer say nothing about it.
 *
 * The library does not check what it rebuilds (its README says so): a wrong or mixed-up share
 * gives a wrong secret, silently. Callers check the result against the ledger's
 * `recoveryPublicKey` (see `rebuildSecret`).
 */

export const SHARE_BYTES = RECOVERY_SECRET_BYTES + 1;
/** Guardians plus paper codes: the ledger holds at most 10 guardians, and paper counts too. */
export const MAX_SHARES = 10;
export const MIN_THRESHOLD = 2;

export type ShareErrorCode = 'INVALID_ARGUMENT' | 'MALFORMED' | 'DUPLICATE' | 'TOO_FEW';

export class ShareError extends Error {
  override readonly name = 'ShareError';
  constructor(
    readonly code: ShareErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/**
 * Splits the recovery secret into `count` shares of which any `threshold` rebuild it.
 * @throws ShareError INVALID_ARGUMENT unless the secret is 32 bytes and 2 ≤ threshold ≤ count ≤ 10.
 */
export async function splitSecret(secret: Uint8Array, count: number, threshold: number): Promise<Buffer[]> {
  if (!(secret instanceof Uint8Array) || secret.length !== RECOVERY_SECRET_BYTES) {
    throw new ShareError('INVALID_ARGUMENT', `the recovery secret must be ${RECOVERY_SECRET_BYTES} bytes`);
  }
  checkThreshold(count, threshold);
  // The library insists on a plain Uint8Array (a Buffer's constructor is not Uint8Array).
  const shares = await split(Uint8Array.from(secret), count, threshold);
  return shares.map((s) => Buffer.from(s));
}

/**
 * The counts a setup may ask for: at least two shares needed (one share alone must never be
 * enough), and at most 10 shares in all.
 * @throws ShareError INVALID_ARGUMENT naming what is out of range.
 */
export function checkThreshold(count: number, threshold: number): void {
  if (!Number.isSafeInteger(count) || count < MIN_THRESHOLD || count > MAX_SHARES) {
    throw new ShareError(
      'INVALID_ARGUMENT',
      `the number of shares (guardians plus paper codes) must be from ${MIN_THRESHOLD} to ${MAX_SHARES}, not ${count}`,
    );
  }
  if (!Number.isSafeInteger(threshold) || threshold < MIN_THRESHOLD || threshold > count) {
    throw new ShareError(
      'INVALID_ARGUMENT',
      `the threshold must be from ${MIN_THRESHOLD} to the number of shares (${count}), not ${threshold}`,
    );
  }
}

/**
 * Interpolates the shares at 0. Any T or more shares of one split give the secret; fewer, or
 * shares of different splits, give an unrelated value that only a check against the ledger's
 * recovery key can tell apart.
 * @throws ShareError TOO_FEW for fewer than two shares, MALFORMED for a share of the wrong length
 * or with x-coordinate 0 (which would be the secret itself, never a share), DUPLICATE for two
 * shares with the same x-coordinate.
 */
export async function combineShares(shares: readonly Uint8Array[]): Promise<Buffer> {
  if (shares.length < MIN_THRESHOLD) {
    throw new ShareError('TOO_FEW', `at least ${MIN_THRESHOLD} shares are needed; ${shares.length} given`);
  }
  const seen = new Set<number>();
  for (const share of shares) {
    checkShare(share);
    const x = shareIndex(share);
    if (seen.has(x)) throw new ShareError('DUPLICATE', `two shares have the same index (${x})`);
    seen.add(x);
  }
  return Buffer.from(await combine(shares.map((s) => Uint8Array.from(s))));
}

/** A share's x-coordinate (1–255): two shares with the same one are the same share. */
export function shareIndex(share: Uint8Array): number {
  checkShare(share);
  return share[SHARE_BYTES - 1] as number;
}

/** A share as the patient writes it down: Crockford base32 in groups, 'PHRS' prefix, checksum. */
export function paperCode(share: Uint8Array): string {
  checkShare(share);
  return encodeRecoveryCode(share, RECOVERY_SHARE_PREFIX);
}

/**
 * A share from a paper code as typed (case, spaces and Crockford's look-alikes forgiven).
 * @throws RecoveryCodeError MALFORMED or CHECKSUM from the decoder for a mistyped code;
 * ShareError MALFORMED for a valid code that holds no share.
 */
export function readPaperCode(text: string): Buffer {
  const share = decodeRecoveryCode(text, RECOVERY_SHARE_PREFIX);
  checkShare(share);
  return share;
}

function checkShare(share: Uint8Array): void {
  if (!(share instanceof Uint8Array) || share.length !== SHARE_BYTES) {
    throw new ShareError('MALFORMED', `a share is ${SHARE_BYTES} bytes`);
  }
  if (share[SHARE_BYTES - 1] === 0) throw new ShareError('MALFORMED', 'a share cannot have index 0');
}
