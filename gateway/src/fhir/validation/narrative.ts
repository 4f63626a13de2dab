import { XMLParser, XMLValidator } from 'fast-xml-parser';

/**
 * Sanity checks for `Narrative.div` (FHIR R4 §2.4 narrative.html#xhtml, invariants txt-1/txt-2,
 * which neither Medplum nor the JSON schema evaluate): well-formed XML, one `div` root in the XHTML
 * namespace, only XML's own entities (HTML ones like `&reg;` are undefined in XML), the basic HTML
 * elements the spec allows, no active content (scripts, event handlers, `javascript:` links), and
 * some non-whitespace content. Narratives reach patients' devices, so active content matters.
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

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  allowBooleanAttributes: true,
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  commentPropName: '#comment',
});

type XmlNode = Record<string, unknown> & { ':@'?: Record<string, string> };

export function checkNarrativeXhtml(div: string): string[] {
  const problems: string[] = [];
  for (const match of div.matchAll(ENTITY)) {
    const [text, name = ''] = match;
    if (!text.endsWith(';') || !(XML_ENTITIES.has(name) || NUMERIC_ENTITY.test(name))) {
      problems.push(`Invalid entity in the XHTML ('${text.slice(0, 40)}'): only XML's entities and numeric references`);
    }
  }
  if (problems.length > 0) return problems;

  let parsed: XmlNode[];
  try {
    const wellFormed = XMLValidator.validate(div, { allowBooleanAttributes: false });
    if (wellFormed !== true) {
      return [`The narrative is not well-formed XHTML: ${wellFormed.err.msg} (line ${wellFormed.err.line})`];
    }
    parsed = parser.parse(div) as XmlNode[];
  } catch {
    // fast-xml-parser refuses names it cannot hold in a plain object (`constructor`, `__proto__`,
    // `prototype`) by throwing; none of them is an XHTML element or attribute.
    return ['The narrative could not be read as XHTML: an element or attribute name is not allowed in narrative'];
  }
  const roots = parsed.filter((node) => !('#text' in node && isBlank(node['#text'])));
  const root = roots[0];
  if (roots.length !== 1 || !root || localName(elementName(root)) !== 'div') {
    return ['The narrative must be a single <div> element'];
  }
  if (!declaresXhtml(root)) problems.push(`The narrative <div> must be in the XHTML namespace (${XHTML_NAMESPACE})`);
  const state = { hasText: false };
  visit(root, problems, state);
  if (!state.hasText) problems.push('The narrative has no non-whitespace content');
  return problems;
}

function visit(node: XmlNode, problems: string[], state: { hasText: boolean }): void {
  const name = elementName(node);
  if (name === '#text') {
    if (!isBlank(node['#text'])) state.hasText = true;
    return;
  }
  if (name === '#comment' || name === undefined) return;
  const local = localName(name).toLowerCase();
  if (!ALLOWED_ELEMENTS.has(local)) {
    problems.push(`Element <${local}> is not allowed in narrative`);
  } else if (local === 'img') {
    state.hasText = true; // an image is content
  }
  for (const [attribute, value] of Object.entries(node[':@'] ?? {})) {
    if (/^on/i.test(localName(attribute))) problems.push(`Event attribute '${attribute}' is not allowed in narrative`);
    else if (typeof value === 'string' && /^\s*(javascript|vbscript):/i.test(value)) {
      problems.push(`Script URL in attribute '${attribute}' is not allowed in narrative`);
    }
  }
  const children = node[name];
  if (Array.isArray(children)) for (const child of children as XmlNode[]) visit(child, problems, state);
}

function elementName(node: XmlNode): string | undefined {
  return Object.keys(node).find((key) => key !== ':@');
}

function localName(name: string | undefined): string {
  if (!name) return '';
  const colon = name.indexOf(':');
  return colon >= 0 ? name.slice(colon + 1) : name;
}

function declaresXhtml(root: XmlNode): boolean {
  const name = elementName(root) ?? '';
  const colon = name.indexOf(':');
  const attribute = colon >= 0 ? `xmlns:${name.slice(0, colon)}` : 'xmlns';
  return root[':@']?.[attribute] === XHTML_NAMESPACE;
}

function isBlank(value: unknown): boolean {
  return typeof value !== 'string' || value.trim() === '';
}
