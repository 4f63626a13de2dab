import { SaxesParser, type SaxesTagPlain } from 'saxes';

/**
 * Sanity checks for `Narrative.div` (FHIR R4 §2.4 narrative.html#xhtml, invariants txt-1/txt-2,
 * which neither Medplum nor the JSON schema evaluate): well-formed XML, one `div` root in the XHTML
 * namespace, only XML's own entities (HTML ones like `&reg;` are undefined in XML), the basic HTML
 * elements the spec allows, no active content (scripts, event handlers, `javascript:` and
 * `vbscript:` URLs however spelled, `data:` URLs but a bitmap image's), nothing an HTML parser would
 * read as markup where XML reads text (CDATA, processing instructions, a DOCTYPE, comments that
 * start with `>`), and some non-whitespace content. Narratives reach patients' devices, so active
 * content matters.
 */

const XHTML_NAMESPACE = 'http://www.w3.org/1999/xhtml';

/** HTML 4.0 chapters 7-11 (less 9.4) and 15, `a`, `img` — the elements R4 allows in narrative. */
const ALLOWED_ELEMENTS = new Set([
  'a', 'abbr', 'acronym', 'address', 'b', 'bdo', 'big', 'blockquote', 'br', 'caption', 'cite', 'code', 'col',
  'colgroup', 'dd', 'dfn', 'div', 'dl', 'dt', 'em', 'h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'hr', 'i', 'img', 'kbd',
  'li', 'ol', 'p', 'pre', 'q', 'samp', 'small', 'span', 'strong', 'sub', 'sup', 'table', 'tbody', 'td', 'tfoot',
  'th', 'thead', 'tr', 'tt', 'ul', 'var', 'map', 'area',
]); // prettier-ignore

const XML_ENTITIES = new Set(['lt', 'gt', 'amp', 'quot', 'apos']);
const ENTITY = /&([^;\s&<]{0,32});?/g;
const NUMERIC_ENTITY = /^#(\d{1,7}|x[0-9a-fA-F]{1,6})$/;

/**
 * The problems of one narrative `div`, or none. The XHTML is read by saxes, a strict XML 1.0
 * parser (also the C-CDA reader's), in one pass: its events check the elements and attributes as
 * they come, without building a tree.
 */
export function checkNarrativeXhtml(div: string): string[] {
  const problems: string[] = [];
  for (const match of div.matchAll(ENTITY)) {
    const [text, name = ''] = match;
    if (!text.endsWith(';') || !(XML_ENTITIES.has(name) || NUMERIC_ENTITY.test(name))) {
      problems.push(`Invalid entity in the XHTML ('${text.slice(0, 40)}'): only XML's entities and numeric references`);
    }
  }
  if (problems.length > 0) return problems;

  const state = { rooted: false, depth: 0, hasText: false, rootProblem: undefined as string | undefined };
  const parser = new SaxesParser({ xmlns: false });
  parser.on('opentag', (tag: SaxesTagPlain) => {
    // saxes refuses a second root before its tag is reported: depth 0 is the one root.
    if (state.depth++ === 0) {
      state.rooted = true;
      state.rootProblem = rootProblem(tag);
    }
    checkElement(tag, problems, state);
  });
  parser.on('closetag', () => {
    state.depth--;
  });
  parser.on('text', (value) => {
    if (state.depth > 0 && value.trim() !== '') state.hasText = true;
  });
  // What an HTML parser reads differently from XML, so that markup hidden from this check would
  // come alive where a narrative is put into a page: `<![CDATA[>…` and `<!-->…` end at the first
  // `>` in HTML, and `<?x >…` is a comment there up to its first `>`. Narrative needs none of them.
  parser.on('cdata', () => problems.push(CDATA));
  parser.on('comment', (comment) => {
    if (comment.startsWith('>') || comment.startsWith('->')) problems.push(HTML_COMMENT);
  });
  parser.on('processinginstruction', () => problems.push(INSTRUCTION));
  parser.on('doctype', () => problems.push(DOCTYPE));
  try {
    parser.write(div).close();
  } catch (error) {
    // saxes stops at whatever follows the root (a second element, text): more than the one div.
    if (state.rooted && state.depth === 0) return [SINGLE_DIV];
    return [`The narrative is not well-formed XHTML: ${error instanceof Error ? error.message : String(error)}`];
  }
  if (state.rootProblem === SINGLE_DIV) return [SINGLE_DIV];
  if (state.rootProblem) problems.unshift(state.rootProblem);
  if (!state.hasText) problems.push('The narrative has no non-whitespace content');
  return problems;
}

const SINGLE_DIV = 'The narrative must be a single <div> element';
const CDATA = 'CDATA sections are not allowed in narrative (write the text escaped)';
const HTML_COMMENT = 'A comment starting with > or -> is not allowed in narrative (HTML ends it at once)';
const INSTRUCTION = 'Processing instructions are not allowed in narrative';
const DOCTYPE = 'A DOCTYPE is not allowed in narrative';
/** Schemes that run code where a link or image is followed. */
const SCRIPT_SCHEMES = new Set(['javascript', 'vbscript']);
/** Inline images only as bitmaps: an SVG or HTML `data:` URL can carry script. */
const DATA_IMAGE = /^data:image\/(?:png|gif|jpeg|jpg|webp|bmp)[;,]/i;

function rootProblem(root: SaxesTagPlain): string | undefined {
  if (localName(root.name) !== 'div') return SINGLE_DIV;
  const colon = root.name.indexOf(':');
  const attribute = colon >= 0 ? `xmlns:${root.name.slice(0, colon)}` : 'xmlns';
  return root.attributes[attribute] === XHTML_NAMESPACE
    ? undefined
    : `The narrative <div> must be in the XHTML namespace (${XHTML_NAMESPACE})`;
}

function checkElement(tag: SaxesTagPlain, problems: string[], state: { hasText: boolean }): void {
  const local = localName(tag.name).toLowerCase();
  if (!ALLOWED_ELEMENTS.has(local)) {
    problems.push(`Element <${local}> is not allowed in narrative`);
  } else if (local === 'img') {
    state.hasText = true; // an image is content
  }
  for (const [attribute, value] of Object.entries(tag.attributes)) {
    if (/^on/i.test(localName(attribute))) {
      problems.push(`Event attribute '${attribute}' is not allowed in narrative`);
      continue;
    }
    const url = urlText(value);
    const scheme = schemeOf(url);
    if (scheme !== undefined && SCRIPT_SCHEMES.has(scheme)) {
      problems.push(`Script URL in attribute '${attribute}' is not allowed in narrative`);
    } else if (scheme === 'data' && !(local === 'img' && attribute === 'src' && DATA_IMAGE.test(url))) {
      problems.push(`Data URL in attribute '${attribute}' is not allowed in narrative (only a bitmap image's src)`);
    }
  }
}

/**
 * A value as a browser reads it for a URL: without leading control characters and spaces and
 * without any tab or line break (WHATWG URL), so `jav&#x9;ascript:` is `javascript:`.
 */
function urlText(value: string): string {
  // eslint-disable-next-line no-control-regex -- the C0 controls are what a URL parser strips
  return value.replace(/[\t\n\r]/g, '').replace(/^[\u0000-\u0020]+/, '');
}

/** The scheme a URL (as urlText reads it) names, lower case; undefined when it names none. */
function schemeOf(url: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):/i.exec(url)?.[1]?.toLowerCase();
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon >= 0 ? name.slice(colon + 1) : name;
}
