import { SaxesParser, type SaxesTagPlain } from 'saxes';

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

/**
 * The XHTML narrative for a converted `div` (a `<div xmlns=XHTML>` around CDA narrative), or
 * undefined when it holds no text at all (FHIR requires a narrative to have content) or is not
 * well-formed. One pass of saxes' events writes the XHTML as they come.
 */
export function cdaNarrativeToXhtml(div: string): string | undefined {
  const out: string[] = [];
  /** The XHTML element each open CDA element became; null while inside a dropped subtree. */
  const open: (string | null)[] = [];
  let skipping = 0;
  let text = false;
  const parser = new SaxesParser({ xmlns: false });
  parser.on('opentag', (tag: SaxesTagPlain) => {
    if (open.length === 0) {
      open.push(tag.name === 'div' ? 'div' : null);
      if (tag.name !== 'div') skipping++;
      return;
    }
    const local = localName(tag.name);
    // Multimedia refers to an observationMedia entry (an image in the document): not in the narrative.
    if (skipping > 0 || local.toLowerCase() === 'rendermultimedia') {
      skipping++;
      open.push(null);
      return;
    }
    const target = targetOf(local, tag.attributes, open[open.length - 1] ?? undefined);
    out.push(`<${target}${attributesOf(tag.attributes)}>`);
    open.push(target);
  });
  parser.on('closetag', () => {
    const target = open.pop();
    if (target === null) skipping--;
    else if (open.length > 0) out.push(`</${target}>`);
  });
  const write = (value: string) => {
    if (skipping > 0 || open.length === 0) return;
    if (!text && value.trim() !== '') text = true;
    out.push(escapeText(value));
  };
  // CDATA is text: written out as it is, `<![CDATA[<b>]]>` would become an element.
  parser.on('text', write);
  parser.on('cdata', write);
  try {
    parser.write(div).close();
  } catch {
    return undefined;
  }
  return text ? `<div xmlns="${XHTML}">${out.join('')}</div>` : undefined;
}

function targetOf(local: string, attributes: Record<string, string>, parent: string | undefined): string {
  const lower = local.toLowerCase();
  if (lower === 'list') return attributes.listType === 'ordered' ? 'ol' : 'ul';
  if (lower === 'caption' && parent === 'table') return TABLE_CAPTION;
  // Own names only: `constructor` or `toString` would find Object's members.
  return Object.hasOwn(ELEMENTS, lower) ? (ELEMENTS[lower] as string) : 'span';
}

function attributesOf(attributes: Record<string, string>): string {
  let out = '';
  for (const [name, value] of Object.entries(attributes)) {
    if (!Object.hasOwn(ATTRIBUTES, name)) continue;
    const target = ATTRIBUTES[name] as string;
    const kept = target === 'class' ? value.replace(/[^\w\s-]/g, '').toLowerCase() : value;
    out += ` ${target}="${escapeAttribute(kept)}"`;
  }
  return out;
}

/** Text as XML character data: `&`, `<` and `>` escaped. */
export function escapeText(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function escapeAttribute(text: string): string {
  return escapeText(text).replace(/"/g, '&quot;');
}

function localName(name: string): string {
  const colon = name.indexOf(':');
  return colon >= 0 ? name.slice(colon + 1) : name;
}
