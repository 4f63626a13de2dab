import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { convertXmlToCcda } from '@medplum/ccda';
import { MEDPLUM_ARRAY_PATHS, readCcdaXml } from './ccda-xml';
import { DEFAULT_XML_LIMITS, guardXml } from './xml-guard';

const EXAMPLES = join(__dirname, '..', '..', '..', 'fixtures', 'ccda-examples');
const examples = readdirSync(EXAMPLES).filter((name) => name.endsWith('.xml'));
const example = (name: string) => readFileSync(join(EXAMPLES, name), 'utf8');

/**
 * medplum's own reading (fast-xml-parser), given what XML says beforehand: numeric character
 * references resolved (fast-xml-parser leaves them) and line ends normalised.
 */
function medplumReading(xml: string): unknown {
  const markup: Record<string, string> = { '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;', "'": '&apos;' };
  const resolved = xml
    .replace(/\r\n?/g, '\n')
    .replace(
      /<!\[CDATA\[[\s\S]*?\]\]>|<!--[\s\S]*?-->|&#(?:x([0-9A-Fa-f]+)|([0-9]+));/g,
      (whole, hex: string | undefined, decimal: string | undefined) => {
        if (hex === undefined && decimal === undefined) return whole;
        const char = String.fromCodePoint(hex !== undefined ? parseInt(hex, 16) : Number(decimal));
        return markup[char] ?? char;
      },
    );
  return withoutInstructions(convertXmlToCcda(resolved));
}

/** fast-xml-parser keeps a processing instruction as a `?target` key; the reader drops them. */
function withoutInstructions(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutInstructions);
  if (value === null || typeof value !== 'object') return value;
  const entries = Object.entries(value);
  const kept = entries.filter(([key]) => !key.startsWith('?'));
  const tree = Object.fromEntries(kept.map(([key, inner]) => [key, withoutInstructions(inner)]));
  if (kept.length === entries.length) return tree;
  // Without the instruction, fast-xml-parser would have given the element as its text, or ''.
  if (kept.length === 0) return '';
  return kept.length === 1 && typeof tree['#text'] === 'string' ? tree['#text'] : tree;
}

/** Order matters: medplum writes narratives back out in the order of the keys. */
const ordered = (value: unknown) => JSON.stringify(value);

describe('readCcdaXml', () => {
  it.each(examples)('reads %s exactly as @medplum/ccda does, key order included', (name) => {
    const xml = example(name);
    expect(ordered(readCcdaXml(xml))).toBe(ordered(medplumReading(xml)));
  });

  it('reads generated variations of real documents as @medplum/ccda does', () => {
    // Mixed content, comments inside text runs, CDATA, instructions, references at a run's ends,
    // elements and attributes on medplum's array paths, names it would otherwise have to guess.
    const pieces = [
      ' ',
      '\n    ',
      'x',
      ' two words ',
      '&amp;',
      '&lt;b&gt;',
      '&#x41;',
      '&#160;',
      '&#32;',
      ' &#233; ',
      '<!-- c -->',
      ' a <!-- c --> b ',
      '<![CDATA[ <b> ]]>',
      '<![CDATA[]]>',
      '<?pi x="1"?>',
      '<a/>',
      '<a></a>',
      '<a x=" 1 "/>',
      '<a id=" 1 "/>',
      '<id root="r"/>',
      '<name>n</name>',
      '<name><given>g</given></name>',
      '<a>t<b/>u</a>',
      '<a>t<!-- c -->u<b/> v </a>',
      '<name use="L"> given </name>',
      '<translation code="1"/>',
      '<section><entry/></section>',
    ];
    let seed = 20261207;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const originals = ['Diagnostic_Imaging_Report.xml', 'Operative_Note.xml', 'Procedure_Note.xml'].map(example);
    let compared = 0;
    for (let i = 0; i < 240; i++) {
      let text = originals[i % originals.length] as string;
      const body = text.indexOf('<ClinicalDocument');
      for (let edit = 0; edit <= next(3); edit++) {
        // Right after a tag inside the root: always content.
        const gt = text.indexOf('>', body + next(text.length - body));
        if (gt === -1 || gt >= text.lastIndexOf('</ClinicalDocument')) continue;
        text = text.slice(0, gt + 1) + (pieces[next(pieces.length)] as string) + text.slice(gt + 1);
      }
      // Only what the guard lets through reaches the reader (a piece can land inside a CDATA section or comment).
      try {
        guardXml(Buffer.from(text), DEFAULT_XML_LIMITS);
      } catch {
        continue;
      }
      compared++;
      const ours = ordered(readCcdaXml(text));
      const theirs = ordered(medplumReading(text));
      let at = 0;
      while (at < ours.length && ours[at] === theirs[at]) at++;
      const from = Math.max(0, at - 80);
      expect({ variation: i, ours: ours.slice(from, at + 80) }).toEqual({
        variation: i,
        ours: theirs.slice(from, at + 80),
      });
    }
    expect(compared).toBeGreaterThan(190);
  });

  it.each(examples)('reads %s with CDA, SDTC and XSI bound to other prefixes as it reads the original', (name) => {
    const xml = example(name);
    // Every element of the default (CDA) namespace written as c:name, sdtc as s:, xsi as i:.
    const prefixed = xml
      .replace(/xmlns="urn:hl7-org:v3"/, 'xmlns:c="urn:hl7-org:v3"')
      .replace(/xmlns:sdtc="urn:hl7-org:sdtc"/, 'xmlns:s="urn:hl7-org:sdtc"')
      .replace(
        /xmlns:xsi="http:\/\/www\.w3\.org\/2001\/XMLSchema-instance"/,
        'xmlns:i="http://www.w3.org/2001/XMLSchema-instance"',
      )
      .replace(
        /<!--[\s\S]*?-->|<!\[CDATA\[[\s\S]*?\]\]>|<(\/?)([A-Za-z_][\w.-]*(?::[\w.-]+)?)/g,
        (whole, slash: string | undefined, tag: string | undefined) => {
          if (tag === undefined) return whole;
          if (tag.startsWith('sdtc:')) return `<${slash}s:${tag.slice(5)}`;
          return tag.includes(':') ? whole : `<${slash}c:${tag}`;
        },
      )
      .replace(/\sxsi:type="([^"]*)"/g, ' i:type="c:$1"')
      .replace(/\sxsi:(nil|schemaLocation)=/g, ' i:$1=')
      .replace(/\ssdtc:(\w+)=/g, ' s:$1=');
    expect(prefixed).toMatch(/<c:ClinicalDocument /);
    expect(prefixed).not.toMatch(/ xsi:type=/);
    expect(prefixed.includes(' i:type="c:')).toBe(xml.includes('xsi:type="'));
    // The namespace declarations differ, as written; nothing else does.
    const undeclared = (tree: Record<string, unknown> | undefined) =>
      Object.fromEntries(Object.entries(tree ?? {}).filter(([key]) => !key.startsWith('@_xmlns')));
    expect(ordered(undeclared(readCcdaXml(prefixed)))).toBe(ordered(undeclared(readCcdaXml(xml))));
  });

  it('leaves names alone under the usual prefixes, and names in other namespaces as written', () => {
    const doc = (attrs: string, body: string) =>
      `<ClinicalDocument xmlns="urn:hl7-org:v3" ${attrs}><title>T</title>${body}</ClinicalDocument>`;
    expect(readCcdaXml(doc('xmlns:sdtc="urn:hl7-org:sdtc"', '<sdtc:raceCode code="1"/>'))).toEqual({
      title: 'T',
      'sdtc:raceCode': { '@_code': '1' },
      '@_xmlns': 'urn:hl7-org:v3',
      '@_xmlns:sdtc': 'urn:hl7-org:sdtc',
    });
    expect(readCcdaXml(doc('xmlns:x="urn:example"', '<x:thing a="1"/>'))).toEqual({
      title: 'T',
      'x:thing': { '@_a': '1' },
      '@_xmlns': 'urn:hl7-org:v3',
      '@_xmlns:x': 'urn:example',
    });
    // A prefix bound to CDA only inside one element: its names are CDA's there, and as written outside.
    expect(
      readCcdaXml(doc('', '<x:a xmlns:x="urn:hl7-org:v3"><x:b>1</x:b></x:a><x:c xmlns:x="urn:example">2</x:c>')),
    ).toEqual({
      title: 'T',
      a: { b: '1', '@_xmlns:x': 'urn:hl7-org:v3' },
      'x:c': { '#text': '2', '@_xmlns:x': 'urn:example' },
      '@_xmlns': 'urn:hl7-org:v3',
    });
  });

  it('keeps medplum’s array paths: its shipped source lists the same ones', () => {
    // The list is medplum's and not exported; its source map carries src/xml.ts, which must agree.
    const map = JSON.parse(
      readFileSync(require.resolve('@medplum/ccda').replace(/index\.cjs$/, 'index.cjs.map'), 'utf8'),
    ) as { sources: string[]; sourcesContent: string[] };
    const source = map.sourcesContent[map.sources.findIndex((s) => s.endsWith('src/xml.ts'))] ?? '';
    const listed = /const ARRAY_PATHS = \[([\s\S]*?)\];/.exec(source)?.[1] ?? '';
    const paths = [...listed.matchAll(/'([^']+)'/g)].map((m) => m[1]);
    expect(paths.length).toBeGreaterThan(40);
    expect(paths).toEqual(MEDPLUM_ARRAY_PATHS);
  });

  it('makes an element or attribute on an array path an array even when it occurs once', () => {
    const tree = readCcdaXml(
      '<ClinicalDocument><recordTarget><patientRole><id root="1"/><patient><name><given>A</given></name>' +
        '</patient></patientRole></recordTarget><title id="t">T</title></ClinicalDocument>',
    ) as Record<string, never>;
    expect(tree).toEqual({
      recordTarget: [{ patientRole: { id: [{ '@_root': '1' }], patient: { name: [{ given: ['A'] }] } } }],
      title: { '#text': 'T', '@_id': ['t'] },
    });
  });

  it('resolves every reference and normalises line ends and attribute whitespace, as XML says', () => {
    const tree = readCcdaXml(
      '<ClinicalDocument>\r\n<title>Jos&#233; &#x1F600;\r\nline &lt;2&gt;</title>' +
        '<code displayName="a\tb\r\nc" code=" 1 "/></ClinicalDocument>',
    ) as Record<string, never>;
    expect(tree).toEqual({
      title: 'José 😀\nline <2>',
      code: { '@_displayName': 'a b c', '@_code': '1' },
    });
  });

  it('joins an element’s text runs trimmed, CDATA kept as written, comments and instructions not content', () => {
    const tree = readCcdaXml(
      '<ClinicalDocument><text> a <!-- c --> b <br/> c <?pi d?> e <![CDATA[ <f> ]]></text><empty/></ClinicalDocument>',
    ) as Record<string, never>;
    expect(tree).toEqual({ text: { br: '', '#text': 'a  bce <f> ' }, empty: '' });
  });

  it('builds plain objects whatever the element names: no prototype is reached', () => {
    const tree = readCcdaXml(
      '<ClinicalDocument><__proto__><polluted>1</polluted></__proto__><constructor><prototype>2</prototype>' +
        '</constructor><hasOwnProperty>3</hasOwnProperty></ClinicalDocument>',
    ) as Record<string, unknown>;
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.getPrototypeOf(tree)).toBe(Object.prototype);
    expect(tree).toEqual({ '#__proto__': { polluted: '1' }, constructor: { prototype: '2' }, hasOwnProperty: '3' });
  });

  it('answers undefined for a document whose root is not an element with content', () => {
    expect(readCcdaXml('<ClinicalDocument/>')).toBeUndefined();
    expect(readCcdaXml('<Other><x/></Other>')).toBeUndefined();
  });

  it('throws on XML that is not well-formed', () => {
    expect(() => readCcdaXml('<ClinicalDocument><a></ClinicalDocument>')).toThrow(/unexpected close tag/);
  });
});
