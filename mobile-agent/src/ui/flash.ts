/**
 * One-time messages across a Post/Redirect/Get: the POST handler stores the outcome and
 * redirects to `?notice=<id>`; the next GET shows it once. Kept in memory because the server
 * serves one patient on one machine; no cookie is needed and a reload simply drops the notice.
 *
 * A notice may carry codes the patient must write down (the recovery code, paper codes): they
 * exist only in this store until the redirect's GET takes them, and a notice nobody fetched is
 * dropped after a few minutes, so no code lingers in the page's memory.
 */
import { randomBytes } from 'node:crypto';

/** Codes shown once, to be written down or printed; the agent keeps no copy it could show again. */
export interface OneTimeCodes {
  title: string;
  /** What they open and how to keep them. */
  about: string;
  codes: string[];
}

export interface Flash {
  kind: 'success' | 'error';
  title: string;
  lines?: string[];
  codes?: OneTimeCodes[];
}

const MAX_WAITING = 50;
/** The redirect's GET follows at once; five minutes is ample even for a slow machine. */
export const FLASH_TTL_MS = 5 * 60_000;

export class FlashStore {
  private readonly waiting = new Map<string, { flash: Flash; until: number }>();

  constructor(private readonly now: () => number = Date.now) {}

  /** Keeps the message and returns the id to put in the redirect. */
  put(flash: Flash): string {
    this.dropExpired();
    const id = randomBytes(12).toString('base64url');
    this.waiting.set(id, { flash, until: this.now() + FLASH_TTL_MS });
    // a notice nobody fetched (e.g. the tab was closed) must not pile up
    while (this.waiting.size > MAX_WAITING) this.waiting.delete(this.waiting.keys().next().value as string);
    return id;
  }

  take(id: unknown): Flash | undefined {
    this.dropExpired();
    if (typeof id !== 'string') return undefined;
    const entry = this.waiting.get(id);
    this.waiting.delete(id);
    return entry?.flash;
  }

  private dropExpired(): void {
    const now = this.now();
    for (const [id, entry] of this.waiting) if (entry.until <= now) this.waiting.delete(id);
  }
}
