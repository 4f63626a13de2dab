/**
 * A FHIR Attachment read for the page: the original document a hospital sent (a C-CDA's XML, a
 * plain-text letter) becomes text the page shows inside a <pre>, escaped like every other value.
 * Nothing here is ever rendered: the XML may hold <script>, event handlers or javascript: links, and
 * the page only ever shows them as characters. Documents that are not text are described, not opened.
 */

/** Above this many bytes only the start is shown: the page stays usable, the FHIR download keeps it all. */
export const DOCUMENT_TEXT_LIMIT = 2 * 1024 * 1024;

/** Media types shown as text. Others (PDF, images, Word…) are described by type and size only. */
const TEXT_TYPES: ReadonlySet<string> = new Set([
  'application/cda+xml',
  'application/hl7-v3+xml',
  'application/xml',
  'text/xml',
  'text/plain',
]);

/**
 * Encodings a text attachment is read in, its charset resolved as the WHATWG Encoding Standard
 * resolves labels (ISO-8859-1 and US-ASCII are Windows-1252 there): a C-CDA the gateway took in
 * UTF-16 or a Latin encoding arrives with that charset, the bytes as sent. Anything else is not
 * read by guesswork.
 */
const READABLE: ReadonlySet<string> = new Set(['utf-8', 'utf-16le', 'utf-16be', 'windows-1252', 'iso-8859-15']);
type Decoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'windows-1252' | 'iso-8859-15';

/**
 * The encoding `charset` names for these bytes. `utf-16` is read by the byte-order mark at `start`
 * (big-endian without one, RFC 2781), where WHATWG would take it as little-endian.
 */
function decodingOf(charset: string | undefined, start: Buffer): Decoding | undefined {
  if (charset === undefined) return 'utf-8';
  if (charset === 'utf-16') return start[0] === 0xff && start[1] === 0xfe ? 'utf-16le' : 'utf-16be';
  try {
    const encoding = new TextDecoder(charset).encoding;
    return READABLE.has(encoding) ? (encoding as Decoding) : undefined;
  } catch {
    return undefined;
  }
}

export type AttachmentView =
  /** `cut`: only the first `limit` bytes are in `text`; `bytes` is the whole document's size. */
  | { kind: 'text'; contentType: string; text: string; bytes: number; cut: boolean }
  /** Not text, or of no stated type: only what it is and how large. */
  | { kind: 'binary'; contentType?: string; bytes?: number }
  /** The hospital gave only an address: never followed or linked from this page. */
  | { kind: 'elsewhere' }
  | { kind: 'empty' }
  | { kind: 'unreadable'; contentType: string; reason: 'base64' | 'encoding'; bytes?: number };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** "application/cda+xml; charset=UTF-8" → its type and charset, lower-cased. */
export function mediaType(contentType: unknown): { type: string; charset?: string } | undefined {
  if (typeof contentType !== 'string' || contentType.trim() === '') return undefined;
  const [type = '', ...params] = contentType.split(';').map((p) => p.trim().toLowerCase());
  const charset = params
    .find((p) => p.startsWith('charset='))
    ?.slice('charset='.length)
    .replace(/"/g, '');
  return charset ? { type, charset } : { type };
}

export function isTextType(type: string): boolean {
  return TEXT_TYPES.has(type);
}

/**
 * The base64 without the whitespace FHIR allows in it, or undefined when it is not base64.
 * Checked by hand rather than with Buffer (which skips bad characters silently) or one big regex
 * (whose backtracking grows with a multi-megabyte document).
 */
export function strictBase64(data: string): string | undefined {
  const compact = data.replace(/\s+/g, '');
  if (compact.length % 4 !== 0 || /[^A-Za-z0-9+/=]/.test(compact)) return undefined;
  const pad = compact.indexOf('=');
  if (pad !== -1 && (pad < compact.length - 2 || !compact.endsWith('='))) return undefined;
  return compact;
}

/** Bytes that valid, compact base64 decodes to, without decoding it. */
export function base64Size(compact: string): number {
  const padding = compact.endsWith('==') ? 2 : compact.endsWith('=') ? 1 : 0;
  return (compact.length / 4) * 3 - padding;
}

/** The first `limit` bytes (all when fewer), ending on a whole character of `decoding`. */
function leadingBytes(compact: string, bytes: number, limit: number, decoding: Decoding): Buffer {
  if (bytes <= limit) return Buffer.from(compact, 'base64');
  // decode only what is shown: a 4-character group is 3 bytes
  const buffer = Buffer.from(compact.slice(0, Math.ceil(limit / 3) * 4), 'base64');
  let end = limit;
  if (decoding === 'utf-8') {
    // a continuation byte (10xxxxxx) at the cut means a character straddles it
    while (end > 0 && ((buffer[end] ?? 0) & 0xc0) === 0x80) end--;
  } else if (decoding.startsWith('utf-16')) {
    end -= end % 2;
    // a high surrogate (D800–DBFF) just before the cut: its pair is cut off
    const high = decoding === 'utf-16le' ? buffer[end - 1] : buffer[end - 2];
    if (end >= 2 && high !== undefined && (high & 0xfc) === 0xd8) end -= 2;
  }
  return buffer.subarray(0, end);
}

/** The attachment's size in bytes: from its data when it has valid data, else as the hospital stated it. */
export function attachmentSize(attachment: Record<string, unknown>): number | undefined {
  if (typeof attachment.data === 'string') {
    const compact = strictBase64(attachment.data);
    if (compact !== undefined) return base64Size(compact);
  }
  return typeof attachment.size === 'number' && attachment.size >= 0 ? attachment.size : undefined;
}

export function readAttachment(attachment: unknown, limit = DOCUMENT_TEXT_LIMIT): AttachmentView {
  if (!isObject(attachment)) return { kind: 'empty' };
  const media = mediaType(attachment.contentType);
  if (typeof attachment.data !== 'string' || attachment.data.trim() === '') {
    return typeof attachment.url === 'string' && attachment.url !== '' ? { kind: 'elsewhere' } : { kind: 'empty' };
  }
  const bytes = attachmentSize(attachment);
  if (!media || !isTextType(media.type)) {
    return { kind: 'binary', ...(media ? { contentType: media.type } : {}), ...(bytes !== undefined ? { bytes } : {}) };
  }
  const compact = strictBase64(attachment.data);
  if (compact === undefined) {
    return { kind: 'unreadable', contentType: media.type, reason: 'base64', ...(bytes !== undefined ? { bytes } : {}) };
  }
  const size = base64Size(compact);
  const unreadable = { kind: 'unreadable', contentType: media.type, reason: 'encoding', bytes: size } as const;
  const decoding = decodingOf(media.charset, Buffer.from(compact.slice(0, 4), 'base64'));
  if (decoding === undefined) return unreadable;
  try {
    // fatal: bytes that are not the charset are named, never shown as replacement characters
    const text = new TextDecoder(decoding, { fatal: true }).decode(leadingBytes(compact, size, limit, decoding));
    return { kind: 'text', contentType: media.type, text, bytes: size, cut: size > limit };
  } catch {
    return unreadable;
  }
}

/** "812 bytes", "12.3 KB", "3.4 MB": sizes as a patient reads them (1 KB = 1,024 bytes). */
export function sizeText(bytes: number): string {
  if (bytes < 1024) return `${bytes} byte${bytes === 1 ? '' : 's'}`;
  const [value, unit] = bytes < 1024 * 1024 ? [bytes / 1024, 'KB'] : [bytes / (1024 * 1024), 'MB'];
  return `${value < 10 ? value.toFixed(1).replace(/\.0$/, '') : Math.round(value)} ${unit}`;
}
