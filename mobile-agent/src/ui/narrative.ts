/**
 * A FHIR narrative (`text.div`, XHTML) as plain text. The page never renders a hospital's markup —
 * not even "safe" XHTML: a converted C-CDA narrative can carry anything the original document did —
 * so the tags are taken out and only the words are shown, escaped like every other value. Rows,
 * paragraphs and list items keep their own lines and table cells a tab between them, so a narrative
 * table still reads as one.
 *
 * The output is text, never markup: whatever this misses (a '>' inside an attribute, an odd
 * entity) shows up as stray characters, not as an element.
 */

/** Elements whose content is never narrative words. */
const NOT_WORDS = /<(script|style|head|title)\b[^>]*>[\s\S]*?<\/\1\s*>/gi;
const COMMENTS = /<!--[\s\S]*?(?:-->|$)/g;
/** Ends of blocks (XHTML, and the C-CDA names a converter may leave in): a new line. */
const BLOCK_END = /<\/(?:p|div|tr|li|dt|dd|h[1-6]|table|caption|ul|ol|dl|blockquote|pre|paragraph|item|list)\s*>/gi;
const BLOCK_START = /<(?:p|div|table|ul|ol|dl|h[1-6]|blockquote|pre|paragraph|list)\b[^>]*>/gi;
const LINE_BREAK = /<br\b[^>]*>/gi;
const CELL_END = /<\/(?:td|th)\s*>/gi;
const ANY_TAG = /<\/?[A-Za-z!?][^>]*>/g;

const NAMED_ENTITIES: Record<string, string> = {
  amp: '&',
  lt: '<',
  gt: '>',
  quot: '"',
  apos: "'",
  nbsp: ' ',
};

/** One pass, so "&amp;lt;" stays the text "&lt;"; unknown or impossible references stay as written. */
function decodeEntities(text: string): string {
  return text.replace(/&(#[0-9]{1,7}|#x[0-9a-f]{1,6}|[a-z]{2,8});/gi, (whole, ref: string) => {
    if (!ref.startsWith('#')) return NAMED_ENTITIES[ref.toLowerCase()] ?? whole;
    const point = ref[1] === 'x' || ref[1] === 'X' ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
    const usable = point > 0 && point <= 0x10ffff && !(point >= 0xd800 && point <= 0xdfff);
    return usable ? String.fromCodePoint(point) : whole;
  });
}

/** Trims each line, drops empty cells at line ends and keeps at most one blank line in a row. */
function tidyLines(text: string): string {
  return text
    .split('\n')
    .map((line) => line.replace(/ *\t */g, '\t').replace(/^[ \t]+|[ \t]+$/g, ''))
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trim();
}

export function narrativeText(xhtml: string): string {
  const words = xhtml
    .replace(COMMENTS, '')
    .replace(NOT_WORDS, '')
    // the markup's own line breaks and indentation are not the text's (as in HTML)
    .replace(/\s+/g, ' ')
    .replace(LINE_BREAK, '\n')
    .replace(BLOCK_START, '\n')
    .replace(BLOCK_END, '\n')
    .replace(CELL_END, '\t')
    .replace(ANY_TAG, '');
  return tidyLines(decodeEntities(words).replace(/\u00a0/g, ' '));
}

/** The narrative of a resource or section (`{ status, div }`), as text; undefined when it has none. */
export function narrativeOf(text: unknown): string | undefined {
  if (typeof text !== 'object' || text === null || !('div' in text) || typeof text.div !== 'string') return undefined;
  const plain = narrativeText(text.div);
  return plain === '' ? undefined : plain;
}
