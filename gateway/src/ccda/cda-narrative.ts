import { XMLBuilder, XMLParser } from 'fast-xml-parser';

/**
 * CDA narrative blocks (CDA R2 §4.3.5: `paragraph`, `content`, `list`/`item`, `linkHtml`,
 * `footnote`, `renderMultiMedia`, tables) turned into the XHTML a FHIR narrative allows. Needed
 * because @medplum/ccda copies a section's `<text>` into `Composition.section.text.div` as it is,
 * which FHIR (and the gateway's validator) refuse. The mapping is the one HL7's CDA stylesheet
 * makes; what has no XHTML counterpart keeps its text inside a `span`.
 */

const XHTML = 'http://www.w3.org/1999/xhtml';

/** CDA element → XHTML element; `list` depends on its listType. */
const ELEMENTS: Record<string, string> = {
  paragraph: 'p',
  content: 'span',
  item: 'li',
  caption: 'b',
  footnote: 'small',
  footnoteref: 'sup',
  // The link's target is a file in the sender's system, unreachable by the patient: keep the text.
  linkhtml: 'span',
  br: 'br',
  sub: 'sub',
  sup: 'sup',
  table: 'table',
  thead: 'thead',
  tbody: 'tbody',
  tfoot: 'tfoot',
  tr: 'tr',
  th: 'th',
  td: 'td',
  col: 'col',
  colgroup: 'colgroup',
};
/** Table captions stay captions (a `caption` elsewhere is a heading). */
const TABLE_CAPTION = 'caption';
/** Attributes kept, by their CDA name; `styleCode` becomes `class`, `ID` becomes `id`. */
const ATTRIBUTES: Record<string, string> = {
  ID: 'id',
  styleCode: 'class',
  border: 'border',
  width: 'width',
  cellpadding: 'cellpadding',
  cellspacing: 'cellspacing',
  align: 'align',
  valign: 'valign',
  colspan: 'colspan',
  rowspan: 'rowspan',
  span: 'span',
  summary: 'summary',
  frame: 'frame',
  rules: 'rules',
};

type XmlNode = Record<string, unknown> & { ':@'?: Record<string, string> };

const parser = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  htmlEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: false,
  cdataPropName: '#cdata',
});
const builder = new XMLBuilder({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  suppressEmptyNode: false,
});

/**
 * The XHTML narrative for a converted `div` (a `<div xmlns=XHTML>` around CDA narrative), or
 * undefined when it holds no text at all (FHIR requires a narrative to have content).
 */
export function cdaNarrativeToXhtml(div: string): string | undefined {
  let nodes: XmlNode[];
  try {
    nodes = parser.parse(div) as XmlNode[];
  } catch {
    return undefined;
  }
  const root = nodes.find((n) => nameOf(n) === 'div');
  if (!root) return undefined;
  const children = mapChildren(root.div as XmlNode[], undefined);
  const xhtml = builder.build([{ div: children, ':@': { xmlns: XHTML } }]);
  return /[^\s]/.test(xhtml.replace(/<[^>]*>/g, '')) ? xhtml : undefined;
}

function mapChildren(children: XmlNode[] | undefined, parent: string | undefined): XmlNode[] {
  return (children ?? []).flatMap((child) => mapNode(child, parent));
}

function mapNode(node: XmlNode, parent: string | undefined): XmlNode[] {
  const name = nameOf(node);
  if (name === undefined || name === '#comment' || name.startsWith('?')) return [];
  if (name === '#text') return [node];
  // CDATA is text: written out as it is, `<![CDATA[<b>]]>` would become an element.
  if (name === '#cdata') return [{ '#text': escapeText(textOf(node[name] as XmlNode[])) }];
  const local = localName(name);
  // Multimedia refers to an observationMedia entry (an image in the document): not in the narrative.
  if (local.toLowerCase() === 'rendermultimedia') return [];
  const target = targetOf(local, node, parent);
  const attributes = mapAttributes(node[':@']);
  const mapped: XmlNode = { [target]: mapChildren(node[name] as XmlNode[], target) };
  if (Object.keys(attributes).length > 0) mapped[':@'] = attributes;
  return [mapped];
}

function targetOf(local: string, node: XmlNode, parent: string | undefined): string {
  const lower = local.toLowerCase();
  if (lower === 'list') return node[':@']?.listType === 'ordered' ? 'ol' : 'ul';
  if (lower === 'caption' && parent === 'table') return TABLE_CAPTION;
  return ELEMENTS[lower] ?? 'span';
}

function mapAttributes(attributes: Record<string, string> | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes ?? {})) {
    const target = ATTRIBUTES[name];
    if (!target) continue;
    out[target] = target === 'class' ? value.replace(/[^\w\s-]/g, '').toLowerCase() : value;
  }
  return out;
}

function textOf(nodes: XmlNode[] | undefined): string {
  return (nodes ?? []).map((n) => (typeof n['#text'] === 'string' ? n['#text'] : '')).join('');
}

function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function nameOf(node: XmlNode): string | undefined {
  return Object.keys(node).find((key) => key !== ':@');
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon >= 0 ? name.slice(colon + 1) : name;
}
