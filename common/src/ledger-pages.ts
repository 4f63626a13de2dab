import type { Page } from './ledger-model';

/** The largest page the chaincode's paginated lists serve (and so what every reader asks for). */
export const MAX_LEDGER_PAGE_SIZE = 100;

/**
 * Reads a paginated chaincode list to its end. An empty page ends it even when it carries a
 * bookmark, and so does a bookmark that does not move (it would otherwise loop for ever).
 */
export async function readAllPages<T>(fetchPage: (bookmark: string) => Promise<Page<T>>): Promise<T[]> {
  const out: T[] = [];
  let bookmark = '';
  for (;;) {
    const page = await fetchPage(bookmark);
    out.push(...page.records);
    if (page.records.length === 0 || !page.bookmark || page.bookmark === bookmark) return out;
    bookmark = page.bookmark;
  }
}
