/**
 * CSRF protection for the page's forms. Another site the patient visits could make the browser
 * POST to 127.0.0.1, and the agent acts as the patient on the ledger, so every POST must carry a
 * token only our own pages know: one random value per process, in a hidden field. No cookie is
 * involved, so a forged form cannot obtain it.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';

export const CSRF_FIELD = '_csrf';

export class CsrfToken {
  readonly value = randomBytes(32).toString('base64url');
  private readonly bytes = Buffer.from(this.value);

  /** Constant-time, so the token cannot be guessed a character at a time. */
  matches(candidate: unknown): boolean {
    if (typeof candidate !== 'string') return false;
    const given = Buffer.from(candidate);
    return given.length === this.bytes.length && timingSafeEqual(given, this.bytes);
  }
}
