/**
 * What an XML body is, from its first element: enough to tell a C-CDA document (root element
 * `ClinicalDocument`, HL7 v3 namespace `urn:hl7-org:v3`) from FHIR XML without parsing it all.
 */
export interface XmlRoot {
  /** Local name of the root element, without a namespace prefix. */
  name: string;
  /** The default namespace or the prefix's, when declared in the root's own start tag. */
  namespace?: string;
}

/**
 * The root element of the XML document `prefix` starts with, or undefined when `prefix` is not
 * XML or ends before the root's start tag. Skips a byte-order mark, the XML declaration,
 * processing instructions (such as a stylesheet), comments and a DOCTYPE.
 */
export function xmlRoot(prefix: Uint8Array): XmlRoot | undefined {
  const text = decode(prefix);
  let at = 0;
  for (;;) {
    while (at < text.length && /\s/.test(text[at]!)) at++;
    if (text.startsWith('<?', at)) at = after(text, '?>', at);
    else if (text.startsWith('<!--', at)) at = after(text, '-->', at);
    else if (/^<!DOCTYPE/i.test(text.slice(at, at + 9))) at = afterDoctype(text, at);
    else break;
    if (at < 0) return undefined;
  }
  const tag = /^<(?:([A-Za-z_][\w.-]*):)?([A-Za-z_][\w.-]*)(?=[\s/>])([^>]*)/.exec(text.slice(at, at + 8192));
  if (!tag) return undefined;
  const [, prefixName, name, attributes = ''] = tag as unknown as [string, string | undefined, string, string?];
  const ns = new RegExp(`\\sxmlns${prefixName ? `:${prefixName}` : ''}\\s*=\\s*["']([^"']*)["']`).exec(attributes);
  return { name, ...(ns?.[1] !== undefined ? { namespace: ns[1] } : {}) };
}

/** Whether `prefix` starts a C-CDA (HL7 CDA R2) document. */
export function isClinicalDocument(prefix: Uint8Array): boolean {
  return xmlRoot(prefix)?.name === 'ClinicalDocument';
}

function decode(bytes: Uint8Array): string {
  const b = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (b[0] === 0xff && b[1] === 0xfe) return b.subarray(2).toString('utf16le');
  if (b[0] === 0xfe && b[1] === 0xff) {
    const swapped = Buffer.from(b.subarray(2, 2 + ((b.length - 2) & ~1)));
    return swapped.swap16().toString('utf16le');
  }
  const text = b.toString('utf8');
  return text.startsWith('\uFEFF') ? text.slice(1) : text;
}

function after(text: string, end: string, from: number): number {
  const i = text.indexOf(end, from);
  return i < 0 ? -1 : i + end.length;
}

/** A DOCTYPE may carry an internal subset in brackets, which may hold `>`. */
function afterDoctype(text: string, from: number): number {
  let depth = 0;
  for (let i = from; i < text.length; i++) {
    const c = text[i];
    if (c === '[') depth++;
    else if (c === ']') depth--;
    else if (c === '>' && depth <= 0) return i + 1;
  }
  return -1;
}
