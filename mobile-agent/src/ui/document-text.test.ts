import { base64Size, mediaType, readAttachment, sizeText, strictBase64 } from './document-text';

const b64 = (text: string | Buffer) => Buffer.from(text).toString('base64');
const xml = '<?xml version="1.0"?><ClinicalDocument><title>Summary</title></ClinicalDocument>';

describe('readAttachment', () => {
  it.each(['application/cda+xml', 'application/xml', 'text/xml', 'application/hl7-v3+xml', 'text/plain'])(
    'reads %s as text',
    (contentType) => {
      expect(readAttachment({ contentType, data: b64(xml) })).toEqual({
        kind: 'text',
        contentType,
        text: xml,
        bytes: Buffer.byteLength(xml),
        cut: false,
      });
    },
  );

  it('takes the type whatever its case and parameters, and base64 broken over lines', () => {
    const data = b64(xml).replace(/(.{16})/g, '$1\n ');
    expect(readAttachment({ contentType: 'Application/CDA+XML; charset="UTF-8"', data })).toMatchObject({
      kind: 'text',
      contentType: 'application/cda+xml',
      text: xml,
    });
  });

  it('keeps UTF-8 text whole, without its byte order mark', () => {
    const text = 'Allergie: Pénicilline — «urticaire» 💊';
    const data = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from(text)]).toString('base64');
    expect(readAttachment({ contentType: 'text/plain', data })).toMatchObject({ kind: 'text', text });
  });

  it('names base64 that is not base64 instead of guessing', () => {
    for (const data of ['PD94bWwg*', 'PD94bWw', 'P=D9', 'PD94bW==wg']) {
      expect(readAttachment({ contentType: 'text/xml', data, size: 10 })).toEqual({
        kind: 'unreadable',
        contentType: 'text/xml',
        reason: 'base64',
        bytes: 10,
      });
    }
  });

  it('names bytes that are not UTF-8, and charsets it does not read', () => {
    const latin1 = Buffer.from('<p>P\u00e9nicilline</p>', 'latin1').toString('base64');
    expect(readAttachment({ contentType: 'text/xml', data: latin1 })).toMatchObject({
      kind: 'unreadable',
      reason: 'encoding',
    });
    expect(readAttachment({ contentType: 'text/xml; charset=shift_jis', data: b64('<a/>') })).toMatchObject({
      kind: 'unreadable',
      reason: 'encoding',
    });
    // UTF-16 stated but the bytes are not: an odd length
    expect(readAttachment({ contentType: 'text/xml; charset=utf-16', data: b64('<ab/>') })).toMatchObject({
      kind: 'unreadable',
      reason: 'encoding',
    });
  });

  it('reads a C-CDA the gateway took in UTF-16 or a Latin encoding, by the charset it attached', () => {
    const xml = '<title>Pénicilline – 5 € 😀</title>';
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(xml, 'utf16le')]);
    const be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(xml, 'utf16le').swap16()]);
    for (const bytes of [le, be]) {
      expect(readAttachment({ contentType: 'text/xml; charset=utf-16', data: bytes.toString('base64') })).toEqual({
        kind: 'text',
        contentType: 'text/xml',
        text: xml,
        bytes: bytes.length,
        cut: false,
      });
    }
    const latin = '<title>Pénicilline</title>';
    expect(
      readAttachment({
        contentType: 'text/xml; charset=iso-8859-1',
        data: Buffer.from(latin, 'latin1').toString('base64'),
      }),
    ).toMatchObject({ kind: 'text', text: latin });
    // Windows-1252's euro sign is 0x80
    expect(readAttachment({ contentType: 'text/xml; charset=windows-1252', data: 'gA==' })).toMatchObject({
      text: '€',
    });
  });

  it('cuts UTF-16 on a whole character, never between a surrogate pair', () => {
    const bytes = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('ab😀c', 'utf16le')]);
    // BOM 2 + a 2 + b 2 + 😀 4: a cut after 8 bytes would split the emoji
    expect(
      readAttachment({ contentType: 'text/xml; charset=utf-16', data: bytes.toString('base64') }, 8),
    ).toMatchObject({
      kind: 'text',
      text: 'ab',
      cut: true,
    });
    expect(
      readAttachment({ contentType: 'text/xml; charset=utf-16', data: bytes.toString('base64') }, 9),
    ).toMatchObject({
      text: 'ab',
    });
    expect(
      readAttachment({ contentType: 'text/xml; charset=utf-16', data: bytes.toString('base64') }, 10),
    ).toMatchObject({
      text: 'ab😀',
    });
  });

  it('shows only the first bytes of a large document, ending on a whole character', () => {
    // "é" is two bytes: a cut after 5 bytes would split the third one
    const view = readAttachment({ contentType: 'text/plain', data: b64('ééééé') }, 5);
    expect(view).toEqual({ kind: 'text', contentType: 'text/plain', text: 'éé', bytes: 10, cut: true });
    expect(readAttachment({ contentType: 'text/plain', data: b64('abcdefghij') }, 4)).toMatchObject({
      text: 'abcd',
      cut: true,
    });
  });

  it('describes documents that are not text by type and size, and never decodes them', () => {
    const pdf = Buffer.from('%PDF-1.7 <script>alert(1)</script>');
    expect(readAttachment({ contentType: 'application/pdf', data: pdf.toString('base64') })).toEqual({
      kind: 'binary',
      contentType: 'application/pdf',
      bytes: pdf.length,
    });
    expect(readAttachment({ contentType: 'text/html', data: b64('<b>x</b>') })).toMatchObject({ kind: 'binary' });
    expect(readAttachment({ data: b64('x') })).toEqual({ kind: 'binary', bytes: 1 });
  });

  it('tells a document held elsewhere from a missing one', () => {
    expect(readAttachment({ contentType: 'text/xml', url: 'javascript:alert(1)' })).toEqual({ kind: 'elsewhere' });
    expect(readAttachment({ contentType: 'text/xml', data: '' })).toEqual({ kind: 'empty' });
    expect(readAttachment(undefined)).toEqual({ kind: 'empty' });
    expect(readAttachment('not an attachment')).toEqual({ kind: 'empty' });
  });
});

describe('base64 and sizes', () => {
  it('checks base64 strictly and sizes it without decoding', () => {
    expect(strictBase64(' QUJD\nRA== ')).toBe('QUJDRA==');
    expect(strictBase64('QUJD RA=')).toBeUndefined();
    expect(base64Size('QUJDRA==')).toBe(4);
    expect(base64Size('QUJDREU=')).toBe(5);
    expect(base64Size('QUJDREVG')).toBe(6);
  });

  it('reads media types and writes sizes as people read them', () => {
    expect(mediaType('text/plain; Charset=ISO-8859-1')).toEqual({ type: 'text/plain', charset: 'iso-8859-1' });
    expect(mediaType('  ')).toBeUndefined();
    expect([1, 812, 1024, 1536, 12_600, 2 * 1024 * 1024, 3.44 * 1024 * 1024].map(sizeText)).toEqual([
      '1 byte',
      '812 bytes',
      '1 KB',
      '1.5 KB',
      '12 KB',
      '2 MB',
      '3.4 MB',
    ]);
  });
});
