/**
 * One-time messages across a Post/Redirect/Get: the POST handler stores the outcome and
 * redirects to `?notice=<id>`; the next GET shows it once. Kept in memory because the server
 * serves one patient on one machine; no cookie is needed and a reload simply drops the notice.
 */
import { randomBytes } from 'node:crypto';

export interface Flash {
  kind: 'success' | 'error';
  title: string;
  lines?: string[];
}

const MAX_WAITING = 50;

export class FlashStore {
  private readonly waiting = new Map<string, Flash>();

  /** Keeps the message and returns the id to put in the redirect. */
  put(flash: Flash): string {
    const id = randomBytes(12).toString('base64url');
    this.waiting.set(id, flash);
    // a notice nobody fetched (e.g. the tab was closed) must not pile up
    while (this.waiting.size > MAX_WAITING) this.waiting.delete(this.waiting.keys().next().value as string);
    return id;
  }

  take(id: unknown): Flash | undefined {
    if (typeof id !== 'string') return undefined;
    const flash = this.waiting.get(id);
    this.waiting.delete(id);
    return flash;
  }
}
