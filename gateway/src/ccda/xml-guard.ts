/**
 * The gate in front of the C-CDA converter: a body is refused here, before any XML parser sees it,
 * when it could make a parser read files or URLs (XXE), expand entities without bound ("billion
 * laughs"), or nest or branch deeper than the gateway will pay for.
 *
 * Hostile input is judged by one linear scan of our own, so the verdict never depends on how a
 * parser treats a DTD. The same scan checks well-formedness (matched tags, XML names, attributes
 * given once, references) and says where a rule is broken. fast-xml-parser's own validator checked
 * names and repeated attributes in a second pass until the scan did: that pass cost more than the
 * scan itself, and a test keeps the scan at least as strict as the validator (xml-guard.test.ts).
 *
 * What is allowed but never acted on: processing instructions such as `<?xml-stylesheet href=…?>`
 * and `xsi:schemaLocation` attributes. The reader (ccda-xml.ts, on saxes) drops instructions and
 * keeps attributes as data; neither saxes nor `@medplum/ccda` opens a file or the network, so
 * nothing a document names is fetched.
 */
import { FhirError, type IssueType } from '@phr/common';

export interface XmlGuardLimits {
  /** deepest element nesting allowed */
  maxDepth: number;
  /** most elements+attributes allowed, optional */
  maxNodes?: number;
}

export interface GuardedXml {
  /** The document decoded to a string, byte-order mark removed: what the converter parses. */
  text: string;
  /** The root element: its local name and the namespace its prefix (or the default) binds to. */
  root: { name: string; namespace?: string };
}

/**
 * The deepest of HL7's 15 example C-CDA documents nests 16 elements; narrative tables and nested
 * entryRelationships in real exports go deeper, so 4 times that. They hold 20 to 35 elements and
 * attributes per KiB (Transfer_Summary.xml: 6,162 in 243 KiB), so a million lets a C-CDA of real
 * shape through up to about 30 MiB, while a dense hostile one (`<a/>` is 4 bytes) is held to a
 * million nodes instead of 8 million.
 */
export const DEFAULT_XML_LIMITS: XmlGuardLimits = { maxDepth: 64, maxNodes: 1_000_000 };

/** The HL7 v3 (CDA) namespace a ClinicalDocument's names are in. */
export const HL7_V3 = 'urn:hl7-org:v3';
const FHIR = 'http://hl7.org/fhir';

/**
 * `bytes` as a C-CDA document that is safe to parse: decoded (UTF-8, UTF-16 with a byte-order
 * mark, or the Latin single-byte encoding its XML declaration names), free of DTDs and entity declarations, within `limits`, well-formed, and rooted in an HL7
 * v3 `ClinicalDocument`. Every step is linear in the size of the body, and the hostile cases stop
 * at the first offending construct or limit.
 *
 * @throws FhirError 400 `security` for a DOCTYPE or entity declaration, `too-costly` past a limit,
 *   `structure` for undecodable or malformed XML (an undefined entity included), `not-supported`
 *   for an encoding it does not read, `invalid` for a root other than ClinicalDocument;
 *   415 `not-supported` for FHIR XML.
 */
export function guardXml(bytes: Uint8Array, limits: XmlGuardLimits): GuardedXml {
  const { text, encoding } = decode(bytes);
  checkDeclaredEncoding(text, encoding);
  checkCharacters(text);
  const root = new XmlScan(text, limits).run();
  checkRoot(root);
  return { text, root };
}

function refusal(status: number, code: IssueType, diagnostics: string): FhirError {
  return new FhirError(status, [{ severity: 'error', code, diagnostics }]);
}

/** `line L, column C` of a string offset, both from 1 (a column counts UTF-16 code units). */
function position(text: string, offset: number): string {
  let line = 1;
  let lineStart = 0;
  for (let nl = text.indexOf('\n'); nl !== -1 && nl < offset; nl = text.indexOf('\n', nl + 1)) {
    line++;
    lineStart = nl + 1;
  }
  return `line ${line}, column ${offset - lineStart + 1}`;
}

function malformed(text: string, offset: number, what: string): FhirError {
  return refusal(400, 'structure', `the document is not well-formed XML: ${position(text, offset)}: ${what}`);
}

// --- decoding -------------------------------------------------------------------------------

type Encoding = 'utf-8' | 'utf-16le' | 'utf-16be' | LatinEncoding;
type LatinEncoding = 'windows-1252' | 'iso-8859-15';

/**
 * UTF-16 only with a byte-order mark; without one, a declaration that names a Latin single-byte
 * encoding (older EHRs write `encoding="ISO-8859-1"` or `windows-1252`) is read in it; anything
 * else is read as UTF-8 (with or without its BOM). The declaration is ASCII in all of these, so
 * it is read before the encoding is known.
 */
function encodingOf(bytes: Uint8Array): Encoding {
  if (bytes[0] === 0xff && bytes[1] === 0xfe) return 'utf-16le';
  if (bytes[0] === 0xfe && bytes[1] === 0xff) return 'utf-16be';
  const head = Buffer.from(bytes.buffer, bytes.byteOffset, Math.min(bytes.length, 512)).toString('latin1');
  return latinEncoding(declaredEncoding(head)) ?? 'utf-8';
}

/**
 * A declared label as the WHATWG Encoding Standard reads it, when that is a Latin single-byte
 * encoding: ISO-8859-1, US-ASCII and their aliases are Windows-1252 there (it differs only in the
 * C1 controls, which no clinical text holds), ISO-8859-15 is its own. Every byte maps in both.
 */
function latinEncoding(label: string | undefined): LatinEncoding | undefined {
  if (label === undefined) return undefined;
  let encoding: string;
  try {
    encoding = new TextDecoder(label.trim()).encoding;
  } catch {
    return undefined;
  }
  return encoding === 'windows-1252' || encoding === 'iso-8859-15' ? encoding : undefined;
}

/**
 * The charset parameter the document's bytes need beside `text/xml` for a reader to decode them as
 * the gateway did (RFC 7303): none for UTF-8, `utf-16` (with its byte-order mark), or the Latin
 * encoding by its canonical name (`windows-1252` for a document that says ISO-8859-1).
 */
export function xmlCharset(bytes: Uint8Array): string | undefined {
  const encoding = encodingOf(bytes);
  if (encoding === 'utf-8') return undefined;
  return encoding.startsWith('utf-16') ? 'utf-16' : encoding;
}

function decode(bytes: Uint8Array): { text: string; encoding: Encoding } {
  const encoding = encodingOf(bytes);
  let text: string;
  try {
    // fatal: a byte that is not the named encoding is an error, not a silent U+FFFD. The decoder drops the BOM.
    text = new TextDecoder(encoding, { fatal: true }).decode(bytes);
  } catch {
    throw refusal(
      400,
      'structure',
      encoding === 'utf-8'
        ? 'the document is not valid UTF-8 (a document in ISO-8859-1 or Windows-1252 must say so in its XML declaration)'
        : `the document is not valid ${encoding.toUpperCase()}`,
    );
  }
  if (encoding !== 'utf-8' && !encoding.startsWith('utf-16') && isUtf8BeyondAscii(bytes)) {
    // `MÃ¼ller` committed as the patient's name is worse than a refusal the sender can fix.
    throw refusal(
      400,
      'structure',
      `the XML declaration names ${declaredEncoding(text) ?? encoding}, but the document's bytes are UTF-8: ` +
        'correct the declaration (encoding="UTF-8")',
    );
  }
  return { text, encoding };
}

/** Bytes beyond ASCII that are valid UTF-8: Latin text almost never is (`Ã¼` is how UTF-8's ü reads in Latin-1). */
function isUtf8BeyondAscii(bytes: Uint8Array): boolean {
  if (!bytes.some((b) => b >= 0x80)) return false;
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return true;
  } catch {
    return false;
  }
}

const ENCODING_DECLARATION = /^<\?xml\s[^?]*?\bencoding\s*=\s*(["'])([^"']*)\1/;

function declaredEncoding(text: string): string | undefined {
  return ENCODING_DECLARATION.exec(text.slice(0, 512))?.[2];
}

/**
 * A declaration that names an encoding the bytes were not read in: a Latin one beside a byte-order
 * mark contradicts it (the mark decides), any other unknown one is refused. UTF-8 and UTF-16 are
 * taken as the byte-order mark, or its absence, says.
 */
function checkDeclaredEncoding(text: string, encoding: Encoding): void {
  const declared = declaredEncoding(text);
  if (declared === undefined || /^utf-(?:8|16)$/i.test(declared)) return;
  const latin = latinEncoding(declared);
  if (latin === encoding) return;
  if (latin !== undefined) {
    throw refusal(
      400,
      'structure',
      `the XML declaration names the encoding ${declared}, but the document begins with a ` +
        `${encoding === 'utf-8' ? 'UTF-8' : 'UTF-16'} byte-order mark`,
    );
  }
  throw refusal(
    400,
    'not-supported',
    `the XML declaration names the encoding ${declared}: UTF-8, UTF-16, ISO-8859-1, ISO-8859-15, Windows-1252 and US-ASCII are read (convert the document to UTF-8)`,
  );
}

// Characters XML 1.0 forbids outright (surrogates cannot occur: the decoders are fatal).
// eslint-disable-next-line no-control-regex
const NOT_XML_CHAR = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

function checkCharacters(text: string): void {
  const found = NOT_XML_CHAR.exec(text);
  if (found) {
    const code = found[0].charCodeAt(0);
    const hex = code.toString(16).toUpperCase().padStart(4, '0');
    // `<` followed by NUL is what UTF-16 sent without its byte-order mark looks like, read as UTF-8
    const hint = code === 0 && found.index <= 1 ? ' (UTF-16 must start with a byte-order mark)' : '';
    throw malformed(text, found.index, `the character U+${hex} is not allowed in XML${hint}`);
  }
}

// --- the scan --------------------------------------------------------------------------------

const BANG = 0x21;
const SLASH = 0x2f;
const QUESTION = 0x3f;
const GT = 0x3e;

// Names end where XML syntax begins; whether what was read is an XML Name is checked after
// (checkName). Whitespace is XML's four characters only: JavaScript's \s also takes U+00A0, U+3000
// and others, which XML does not allow between a tag's parts.
const START_NAME = /[^ \t\r\n<>/="'&]+/y;
const ATTRIBUTE = /[ \t\r\n]+([^ \t\r\n<>/="'&]+)[ \t\r\n]*=[ \t\r\n]*(["'])/y;
const TAG_END = /[ \t\r\n]*(\/?)>/y;
const END_TAG = /<\/([^ \t\r\n<>/]+)[ \t\r\n]*>/y;
const REFERENCE = /&([^\s&<;"']*)(;?)/y;
const DTD_MARKUP = /^<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST|NOTATION|\[)/i;
/** `version`, then optionally `encoding` and `standalone`, in that order; the version is group 2. */
const XML_DECLARATION =
  /^<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(["'])([^"']*)\1(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(["'])[A-Za-z][A-Za-z0-9._-]*\3)?(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(["'])(?:yes|no)\4)?[ \t\r\n]*\?>$/;
const DTD_IN_TEXT = /<!\s*(DOCTYPE|ENTITY)/i;
/** The five predefined entities, as they follow the `&`. */
const PREDEFINED_ENTITIES = ['amp;', 'lt;', 'gt;', 'quot;', 'apos;'];
/**
 * fast-xml-parser's validator and parser slow down faster than linearly with the attributes of one
 * element (a million on one tag: 3 s to validate, 6 s to parse); no CDA element needs more than a
 * handful (HL7's examples: at most 5).
 */
const MAX_ATTRIBUTES_PER_ELEMENT = 256;
/**
 * Element names that would reach Object.prototype where a reader builds plain objects (fast-xml-parser
 * throws on them; medplum's tree and the narrative mapping must never meet them).
 */
const PARSER_RESERVED_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

/** XML 1.0's NameStartChar and NameChar (fifth edition), the colon of a prefix included. */
const NAME_START =
  ':A-Z_a-z\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02FF\\u0370-\\u037D\\u037F-\\u1FFF\\u200C-\\u200D\\u2070-\\u218F\\u2C00-\\u2FEF\\u3001-\\uD7FF\\uF900-\\uFDCF\\uFDF0-\\uFFFD\\u{10000}-\\u{EFFFF}';
const NAME_REST = `${NAME_START}\\-.0-9\\u00B7\\u0300-\\u036F\\u203F-\\u2040`;
// eslint-disable-next-line no-misleading-character-class -- XML's NameChar includes the combining marks U+0300–U+036F
const XML_NAME = new RegExp(`^[${NAME_START}][${NAME_REST}]*$`, 'u');

/** The code point `#123` or `#x7B` names; NaN for any other spelling (`#X7B` included, as in XML). */
function codePoint(reference: string): number {
  if (/^#[0-9]+$/.test(reference)) return parseInt(reference.slice(1), 10);
  if (/^#x[0-9A-Fa-f]+$/.test(reference)) return parseInt(reference.slice(2), 16);
  return NaN;
}

/** Whether `code` is a Char of XML 1.0 (what a numeric character reference may name). */
function isXmlChar(code: number): boolean {
  return (
    code === 0x9 ||
    code === 0xa ||
    code === 0xd ||
    (code >= 0x20 && code <= 0xd7ff) ||
    (code >= 0xe000 && code <= 0xfffd) ||
    (code >= 0x10000 && code <= 0x10ffff)
  );
}

function isXmlSpace(c: number): boolean {
  return c === 0x20 || c === 0x9 || c === 0xa || c === 0xd;
}

type Root = GuardedXml['root'];

/**
 * One pass over the text with `indexOf` and sticky regexes, never recursive: the open elements are
 * a list that stops at maxDepth, so a million nested elements cost one step each until the limit,
 * and the next `<` and `&` are remembered, so no stretch of text is searched twice.
 */
class XmlScan {
  private pos = 0;
  /** The elements open at `pos`, outermost first: at most maxDepth of them. */
  private readonly open: { name: string; offset: number }[] = [];
  private nodes = 0;
  private root: Root | undefined;
  /** Offsets of the next `<` and `&` at or after the last place they were looked for (length: none). */
  private nextLt = -1;
  private nextAmp = -1;
  /** Likewise the next `]]>`, which text may not hold outside a CDATA section. */
  private nextCdataEnd = -1;
  private readonly maxNodes: number;
  /** Names already found to be XML Names: a document repeats a few dozen of them thousands of times. */
  private readonly names = new Set<string>();

  constructor(
    private readonly text: string,
    private readonly limits: XmlGuardLimits,
  ) {
    this.maxNodes = limits.maxNodes ?? Infinity;
  }

  run(): Root {
    const end = this.text.length;
    while (this.pos < end) {
      const lt = this.ltFrom(this.pos);
      this.characterData(this.pos, lt);
      if (lt === end) break;
      this.pos = this.markup(lt);
    }
    if (!this.root) throw malformed(this.text, end, 'there is no root element');
    const unclosed = this.open.pop();
    if (unclosed) {
      throw this.fail(
        end,
        `the document ends before <${unclosed.name}> (${position(this.text, unclosed.offset)}) is closed`,
      );
    }
    return this.root;
  }

  private ltFrom(from: number): number {
    if (this.nextLt < from) this.nextLt = indexOrEnd(this.text, '<', from);
    return this.nextLt;
  }

  private ampFrom(from: number): number {
    if (this.nextAmp < from) this.nextAmp = indexOrEnd(this.text, '&', from);
    return this.nextAmp;
  }

  private cdataEndFrom(from: number): number {
    if (this.nextCdataEnd < from) this.nextCdataEnd = indexOrEnd(this.text, ']]>', from);
    return this.nextCdataEnd;
  }

  private fail(offset: number, what: string): FhirError {
    return malformed(this.text, offset, what);
  }

  private characterData(start: number, end: number): void {
    if (this.open.length === 0) {
      let i = start;
      while (i < end && isXmlSpace(this.text.charCodeAt(i))) i++;
      if (i < end) throw this.fail(i, `text ${this.root ? 'after' : 'before'} the root element`);
      return;
    }
    const cdataEnd = this.cdataEndFrom(start);
    if (cdataEnd < end) throw this.fail(cdataEnd, '`]]>` in text, where XML allows it only to end a CDATA section');
    this.references(start, end);
  }

  /** Every `&` in [start, end) must begin one of the five predefined entities or a character reference. */
  private references(start: number, end: number): void {
    for (let amp = this.ampFrom(start); amp < end; amp = this.ampFrom(amp + 1)) this.reference(amp);
  }

  private reference(amp: number): void {
    // The common case without a regex match (and its garbage): narrative text is full of &amp; and &lt;.
    if (PREDEFINED_ENTITIES.some((entity) => this.text.startsWith(entity, amp + 1))) return;
    REFERENCE.lastIndex = amp;
    const [, name = '', semicolon] = REFERENCE.exec(this.text) ?? [];
    if (!semicolon || name === '') {
      throw this.fail(amp, 'an `&` that starts no entity or character reference (write &amp; for an ampersand)');
    }
    if (!name.startsWith('#')) {
      throw this.fail(
        amp,
        `the entity &${name.slice(0, 40)}; is not defined: only &lt; &gt; &amp; &quot; &apos; and numeric ` +
          'character references such as &#160; may be used (DTDs, which define other entities, are not accepted)',
      );
    }
    if (!isXmlChar(codePoint(name))) {
      throw this.fail(amp, `the character reference &${name.slice(0, 20)}; names no XML character`);
    }
  }

  /** Reads the markup at `lt`; returns the offset after it. */
  private markup(lt: number): number {
    const next = this.text.charCodeAt(lt + 1);
    if (next === SLASH) return this.endTag(lt);
    if (next === QUESTION) return this.processingInstruction(lt);
    if (next === BANG) return this.bangMarkup(lt);
    return this.startTag(lt);
  }

  private skipPast(terminator: string, from: number, start: number, what: string): number {
    const end = this.text.indexOf(terminator, from);
    if (end === -1) throw this.fail(start, `${what} is not closed with ${terminator}`);
    return end + terminator.length;
  }

  /** Comments and CDATA are skipped whole (a DOCTYPE inside either is text); anything else after `<!` is refused. */
  private bangMarkup(lt: number): number {
    const { text } = this;
    if (text.startsWith('<!--', lt)) {
      // XML allows `--` in a comment only as part of its closing `-->`.
      const dashes = text.indexOf('--', lt + 4);
      if (dashes === -1) throw this.fail(lt, 'a comment is not closed with -->');
      if (text.charCodeAt(dashes + 2) !== GT)
        throw this.fail(dashes, '`--` inside a comment (only its closing --> may hold it)');
      return dashes + 3;
    }
    if (text.startsWith('<![CDATA[', lt)) {
      if (this.open.length === 0) throw this.fail(lt, 'a CDATA section outside the root element');
      return this.skipPast(']]>', lt + 9, lt, 'a CDATA section');
    }
    const dtd = DTD_MARKUP.exec(text.slice(lt, lt + 64));
    if (dtd) throw dtdRefused(text, lt, dtd[1] ?? '');
    throw this.fail(lt, '`<!` starts neither a comment nor a CDATA section');
  }

  private processingInstruction(lt: number): number {
    const { text } = this;
    const after = this.skipPast('?>', lt + 2, lt, 'a processing instruction');
    // Its target runs to the first whitespace or the closing `?>`, and is an XML Name.
    let targetEnd = lt + 2;
    while (targetEnd < after - 2 && !isXmlSpace(text.charCodeAt(targetEnd))) targetEnd++;
    if (targetEnd === lt + 2) throw this.fail(lt, 'a processing instruction without a target name right after `<?`');
    const target = text.slice(lt + 2, targetEnd);
    this.checkName(target, lt + 2, 'processing instruction');
    if (target.toLowerCase() === 'xml') {
      if (lt !== 0) throw this.fail(lt, 'an XML declaration is allowed only at the very start of the document');
      this.declaration(after);
    }
    // A parser reads no DTD in a PI either; refused anyway, so no parser can be talked into it.
    const dtd = DTD_IN_TEXT.exec(text.slice(lt, after));
    if (dtd) throw dtdRefused(text, lt + dtd.index, dtd[1] ?? '');
    return after;
  }

  /** The XML declaration, in XML 1.0's grammar (§2.8), for XML 1.0. */
  private declaration(after: number): void {
    const version = XML_DECLARATION.exec(this.text.slice(0, after))?.[2];
    if (version === undefined) {
      throw this.fail(0, 'a malformed XML declaration (write <?xml version="1.0" encoding="UTF-8"?>)');
    }
    if (version !== '1.0') throw this.fail(0, `XML version ${version.slice(0, 10)}: only XML 1.0 is accepted`);
  }

  private endTag(lt: number): number {
    END_TAG.lastIndex = lt;
    const end = END_TAG.exec(this.text);
    const [, name = ''] = end ?? [];
    if (!end) throw this.fail(lt, 'a malformed end tag');
    const start = this.open.pop();
    if (!start) throw this.fail(lt, `the end tag </${name}> closes no element`);
    if (start.name !== name) {
      throw this.fail(
        lt,
        `the end tag </${name}> does not close <${start.name}> (${position(this.text, start.offset)})`,
      );
    }
    return END_TAG.lastIndex;
  }

  private startTag(lt: number): number {
    START_NAME.lastIndex = lt + 1;
    const name = START_NAME.exec(this.text)?.[0];
    if (name === undefined) throw this.fail(lt, 'a `<` that starts no tag (write &lt; for a less-than sign)');
    if (this.root && this.open.length === 0) {
      throw this.fail(lt, `a second root element <${name}> (a document has exactly one root element)`);
    }
    if (PARSER_RESERVED_NAMES.has(name)) throw this.fail(lt, `the element name ${name} is not accepted`);
    this.checkName(name, lt + 1, 'element');
    this.countNode(lt);
    if (this.open.length + 1 > this.limits.maxDepth) {
      throw refusal(
        400,
        'too-costly',
        `elements nest deeper than ${this.limits.maxDepth} levels at ${position(this.text, lt)}, ` +
          `the most this gateway accepts (maxDepth ${this.limits.maxDepth})`,
      );
    }
    const namespaces = this.root ? undefined : new Map<string, string>();
    const { after, selfClosing } = this.attributes(START_NAME.lastIndex, name, namespaces);
    if (!selfClosing) this.open.push({ name, offset: lt });
    if (namespaces) this.root = rootOf(name, namespaces);
    return after;
  }

  /** Reads attributes up to the tag's `>`; `namespaces` (root only) collects its xmlns declarations. */
  private attributes(
    from: number,
    element: string,
    namespaces: Map<string, string> | undefined,
  ): { after: number; selfClosing: boolean } {
    let at = from;
    const seen = new Set<string>();
    for (let count = 0; ; count++) {
      TAG_END.lastIndex = at;
      const end = TAG_END.exec(this.text);
      if (end) return { after: TAG_END.lastIndex, selfClosing: end[1] === '/' };
      if (count === MAX_ATTRIBUTES_PER_ELEMENT) {
        throw refusal(
          400,
          'too-costly',
          `the start tag <${element}> has more than ${MAX_ATTRIBUTES_PER_ELEMENT} attributes ` +
            `(${position(this.text, at)}), the most this gateway accepts on one element`,
        );
      }
      at = this.attribute(at, element, namespaces, seen);
    }
  }

  private attribute(
    at: number,
    element: string,
    namespaces: Map<string, string> | undefined,
    seen: Set<string>,
  ): number {
    const { text } = this;
    ATTRIBUTE.lastIndex = at;
    const attribute = ATTRIBUTE.exec(text);
    if (!attribute) {
      let shown = at;
      while (shown < text.length && isXmlSpace(text.charCodeAt(shown))) shown++;
      throw this.fail(shown, `a malformed attribute in the start tag <${element}> (attributes are name="value")`);
    }
    const [, name = '', quote = '"'] = attribute;
    this.countNode(at);
    const nameAt = text.indexOf(name, at);
    this.checkName(name, nameAt, 'attribute');
    if (seen.has(name)) throw this.fail(nameAt, `the attribute ${name} is given twice in <${element}>`);
    seen.add(name);
    const valueStart = ATTRIBUTE.lastIndex;
    const valueEnd = text.indexOf(quote, valueStart);
    if (valueEnd === -1) throw this.fail(valueStart - 1, `the value of the attribute ${name} is not closed`);
    const lt = this.ltFrom(valueStart);
    if (lt < valueEnd) throw this.fail(lt, `a \`<\` in the value of the attribute ${name} (write &lt;)`);
    this.references(valueStart, valueEnd);
    if (namespaces && (name === 'xmlns' || name.startsWith('xmlns:'))) {
      namespaces.set(name, text.slice(valueStart, valueEnd));
    }
    return valueEnd + 1;
  }

  private checkName(name: string, offset: number, what: 'element' | 'attribute' | 'processing instruction'): void {
    if (this.names.has(name)) return;
    if (!XML_NAME.test(name))
      throw this.fail(offset, `${JSON.stringify(name.slice(0, 60))} is not a valid ${what} name`);
    this.names.add(name);
  }

  private countNode(offset: number): void {
    if (++this.nodes > this.maxNodes) {
      throw refusal(
        400,
        'too-costly',
        `the document has more than ${this.maxNodes} elements and attributes (reached at ${position(this.text, offset)}), ` +
          `the most this gateway accepts (maxNodes ${this.maxNodes})`,
      );
    }
  }
}

function indexOrEnd(text: string, search: string, from: number): number {
  const i = text.indexOf(search, from);
  return i === -1 ? text.length : i;
}

function dtdRefused(text: string, offset: number, keyword: string): FhirError {
  const what = keyword === '[' ? 'a DTD conditional section' : `a ${keyword.toUpperCase()} declaration`;
  return refusal(
    400,
    'security',
    `${what} at ${position(text, offset)}: DTDs and entity declarations are not accepted, because they let ` +
      'a document make the parser read files or URLs (XXE) or expand entities without bound; ' +
      'a C-CDA document needs neither',
  );
}

/** The root's local name and the namespace its prefix, or the default namespace, is bound to in its own tag. */
function rootOf(qualifiedName: string, namespaces: Map<string, string>): Root {
  const colon = qualifiedName.indexOf(':');
  const name = colon === -1 ? qualifiedName : qualifiedName.slice(colon + 1);
  const namespace = namespaces.get(colon === -1 ? 'xmlns' : `xmlns:${qualifiedName.slice(0, colon)}`);
  return namespace === undefined ? { name } : { name, namespace };
}

// --- after the scan --------------------------------------------------------------------------

function checkRoot(root: Root): void {
  const namespace = root.namespace === undefined ? 'no namespace' : `namespace ${root.namespace}`;
  if (root.namespace === FHIR) {
    throw refusal(
      415,
      'not-supported',
      `the root element is \`${root.name}\` (${namespace}): FHIR XML is not accepted; ` +
        'post FHIR R4 JSON (application/fhir+json) to /fhir, and only C-CDA documents here',
    );
  }
  if (root.name !== 'ClinicalDocument' || root.namespace !== HL7_V3) {
    throw refusal(
      400,
      'invalid',
      `the root element is \`${root.name}\` (${namespace}), not an HL7 CDA ClinicalDocument (namespace ${HL7_V3})`,
    );
  }
}
