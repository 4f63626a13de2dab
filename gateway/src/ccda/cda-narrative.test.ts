import { XMLParser } from 'fast-xml-parser';
import { checkNarrativeXhtml } from '../fhir/validation/narrative';
import { cdaNarrativeToXhtml } from './cda-narrative';

const XHTML = 'http://www.w3.org/1999/xhtml';

/** A section narrative as @medplum/ccda hands it over: the CDA `<text>` content inside an XHTML div. */
const div = (inner: string) => `<div xmlns="${XHTML}">${inner}</div>`;

/** The XHTML for a CDA narrative; fails the test when there is none or it is not valid narrative. */
function xhtml(inner: string): string {
  const out = cdaNarrativeToXhtml(div(inner));
  if (out === undefined) throw new Error(`no narrative for ${inner}`);
  expect(checkNarrativeXhtml(out)).toEqual([]);
  return out;
}

type Node = Record<string, unknown> & { ':@'?: Record<string, string> };
const reader = new XMLParser({
  preserveOrder: true,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  processEntities: false,
  parseTagValue: false,
  trimValues: false,
});

/** An element of the output, as a small tree: name, attributes, children (text as strings). */
interface Element {
  name: string;
  attributes: Record<string, string>;
  children: (Element | string)[];
}

function toTree(node: Node): Element | string {
  const name = Object.keys(node).find((k) => k !== ':@') ?? '';
  if (name === '#text') return String(node['#text']);
  return { name, attributes: node[':@'] ?? {}, children: ((node[name] as Node[]) ?? []).map(toTree) };
}

/** The children of the output's root div. */
function body(inner: string): (Element | string)[] {
  const [root] = (reader.parse(xhtml(inner)) as Node[]).map(toTree);
  if (!root || typeof root === 'string' || root.name !== 'div') throw new Error('the output has no div root');
  return root.children;
}

/** Every element of a tree, depth first. */
function elements(nodes: (Element | string)[]): Element[] {
  return nodes.flatMap((n) => (typeof n === 'string' ? [] : [n, ...elements(n.children)]));
}

function only(nodes: (Element | string)[]): Element {
  expect(nodes).toHaveLength(1);
  const [node] = nodes;
  if (node === undefined || typeof node === 'string') throw new Error('expected one element');
  return node;
}

/** The text content of a tree. */
function text(nodes: (Element | string)[]): string {
  return nodes.map((n) => (typeof n === 'string' ? n : text(n.children))).join('');
}

describe('cdaNarrativeToXhtml: CDA narrative elements', () => {
  it('keeps the root div in the XHTML namespace', () => {
    const out = xhtml('<paragraph>Hello</paragraph>');
    expect(out.startsWith(`<div xmlns="${XHTML}">`)).toBe(true);
  });

  it('turns paragraph into p', () => {
    const p = only(body('<paragraph>Blood pressure normal</paragraph>'));
    expect(p).toEqual({ name: 'p', attributes: {}, children: ['Blood pressure normal'] });
  });

  it('turns content into span, its ID into id', () => {
    const span = only(body('<content ID="problem-1">Asthma</content>'));
    expect(span).toEqual({ name: 'span', attributes: { id: 'problem-1' }, children: ['Asthma'] });
  });

  it('turns an ordered list into ol and any other list into ul, item into li', () => {
    const [ordered, unordered, untyped] = body(
      '<list listType="ordered"><item>first</item><item>second</item></list>' +
        '<list listType="unordered"><item>a</item></list>' +
        '<list><item>b</item></list>',
    ) as Element[];
    expect(ordered?.name).toBe('ol');
    expect(ordered?.attributes).toEqual({}); // listType is not an XHTML attribute
    expect(ordered?.children).toEqual([
      { name: 'li', attributes: {}, children: ['first'] },
      { name: 'li', attributes: {}, children: ['second'] },
    ]);
    expect(unordered?.name).toBe('ul');
    expect(untyped?.name).toBe('ul');
    expect(elements(unordered?.children ?? []).map((e) => e.name)).toEqual(['li']);
  });

  it('keeps tables with their parts and table attributes', () => {
    const table = only(
      body(
        '<table border="1" width="100%">' +
          '<caption>Results</caption>' +
          '<colgroup span="2"><col width="50%"/></colgroup>' +
          '<thead><tr><th>Test</th><th>Value</th></tr></thead>' +
          '<tbody><tr><td colspan="2" rowspan="1" align="left" valign="top">Hemoglobin 13.2 g/dL</td></tr></tbody>' +
          '<tfoot><tr><td>Reviewed</td></tr></tfoot>' +
          '</table>',
      ),
    );
    expect(table.name).toBe('table');
    expect(table.attributes).toEqual({ border: '1', width: '100%' });
    expect(table.children.map((c) => (typeof c === 'string' ? c : c.name))).toEqual([
      'caption',
      'colgroup',
      'thead',
      'tbody',
      'tfoot',
    ]);
    const names = elements([table]).map((e) => e.name);
    expect(names).toEqual(expect.arrayContaining(['col', 'tr', 'th', 'td']));
    const cell = elements([table]).find((e) => e.name === 'td' && text(e.children).startsWith('Hemoglobin'));
    expect(cell?.attributes).toEqual({ colspan: '2', rowspan: '1', align: 'left', valign: 'top' });
    expect(text([table])).toContain('Hemoglobin 13.2 g/dL');
  });

  it('keeps a caption inside a table a caption, and makes one elsewhere a bold heading', () => {
    const [table] = body('<table><caption>In table</caption><tbody><tr><td>x</td></tr></tbody></table>') as Element[];
    expect(table?.children[0]).toEqual({ name: 'caption', attributes: {}, children: ['In table'] });

    const [heading, paragraph] = body('<caption>Medications</caption><paragraph>None</paragraph>') as Element[];
    expect(heading).toEqual({ name: 'b', attributes: {}, children: ['Medications'] });
    expect(paragraph?.name).toBe('p');

    const inCell = elements(body('<table><tbody><tr><td><caption>In a cell</caption></td></tr></tbody></table>'));
    expect(inCell.map((e) => e.name)).not.toContain('caption');
    expect(inCell.find((e) => text(e.children) === 'In a cell' && e.name === 'b')).toBeDefined();
  });

  it('turns linkHtml into a span that keeps its text and drops its href', () => {
    const out = xhtml(
      '<paragraph>See <linkHtml href="http://ehr.example/report/1" name="r1">the report</linkHtml></paragraph>',
    );
    const link = elements(body('<linkHtml href="http://ehr.example/report/1">the report</linkHtml>'))[0];
    expect(link).toEqual({ name: 'span', attributes: {}, children: ['the report'] });
    expect(out).toContain('the report');
    expect(out).not.toContain('href');
    expect(out).not.toContain('ehr.example');
    expect(out).not.toMatch(/<a[\s>]/);
  });

  it('drops a javascript: link target with the rest of the link', () => {
    const out = xhtml('<linkHtml href="javascript:alert(1)">click</linkHtml>');
    expect(out).not.toMatch(/javascript/i);
    expect(out).toContain('click');
  });

  it('drops renderMultiMedia, with anything inside it, and keeps what surrounds it', () => {
    const nodes = body(
      '<paragraph>Before</paragraph><renderMultiMedia referencedObject="MM1"><caption>X-ray</caption></renderMultiMedia>' +
        '<paragraph>After</paragraph>',
    );
    expect(elements(nodes).map((e) => e.name)).toEqual(['p', 'p']);
    expect(text(nodes)).toBe('BeforeAfter');
  });

  it('keeps footnotes as small and footnote references as sup', () => {
    const names = elements(
      body('<paragraph>Dose<footnoteRef IDREF="fn1"/></paragraph><footnote ID="fn1">per day</footnote>'),
    );
    expect(names.map((e) => e.name)).toEqual(['p', 'sup', 'small']);
    expect(names.find((e) => e.name === 'small')?.attributes).toEqual({ id: 'fn1' });
  });

  it('keeps br, sub and sup', () => {
    const names = elements(body('<paragraph>H<sub>2</sub>O<br/>m<sup>2</sup></paragraph>')).map((e) => e.name);
    expect(names).toEqual(['p', 'sub', 'br', 'sup']);
  });

  it('turns an element XHTML does not know into a span that keeps its text', () => {
    const nodes = body('<paragraph><unknownThing code="x">kept text</unknownThing></paragraph>');
    expect(elements(nodes).map((e) => e.name)).toEqual(['p', 'span']);
    expect(text(nodes)).toBe('kept text');
  });

  it('drops comments and processing instructions', () => {
    const out = xhtml('<!-- internal note --><paragraph>x</paragraph><?render fast?>');
    expect(out).not.toContain('internal note');
    expect(out).not.toContain('render');
  });
});

describe('cdaNarrativeToXhtml: attributes', () => {
  it('makes styleCode a lower-case class', () => {
    const span = only(body('<content styleCode="Bold Italics">x</content>'));
    expect(span.attributes).toEqual({ class: 'bold italics' });
  });

  it('strips from styleCode what could leave the class attribute', () => {
    const out = xhtml('<content styleCode="Bold&quot; onmouseover=&quot;alert(1)">x</content>');
    const span = only(body('<content styleCode="Bold&quot; onmouseover=&quot;alert(1)">x</content>'));
    expect(Object.keys(span.attributes)).toEqual(['class']);
    expect(span.attributes.class).toMatch(/^[\w\s-]*$/);
    expect(out).not.toMatch(/onmouseover=/);
    expect(out).not.toContain('&quot;');
  });

  it('drops attributes XHTML narrative does not take, event handlers included', () => {
    const inner =
      '<paragraph onclick="alert(1)" ONLOAD="x()" style="color:red" xml:lang="en" IDREF="a" language="en" ' +
      'revised="insert" styleCode="Underline">text</paragraph>' +
      '<table onmouseover="steal()" border="0"><tbody><tr onfocus="x()"><td onblur="y()">c</td></tr></tbody></table>';
    const out = xhtml(inner);
    expect(out).not.toMatch(/\son\w+=/i);
    expect(out).not.toMatch(/style=|xml:lang=|IDREF=|language=|revised=/);
    for (const e of elements(body(inner))) {
      expect(Object.keys(e.attributes).filter((a) => /^on/i.test(a))).toEqual([]);
    }
    expect(only(body('<paragraph onclick="alert(1)" styleCode="Underline">t</paragraph>')).attributes).toEqual({
      class: 'underline',
    });
  });

  it('maps names Object.prototype has like any other: never its members', () => {
    const out = xhtml('<content constructor="x" __proto__="y" toString="z">a</content><Constructor>b</Constructor>');
    expect(out).toBe(`<div xmlns="${XHTML}"><span>a</span><span>b</span></div>`);
  });

  it('keeps an ID with an escaped quote escaped', () => {
    const out = xhtml('<content ID="a&quot;b">x</content>');
    expect(out).toContain('id="a&quot;b"');
  });
});

describe('cdaNarrativeToXhtml: text stays text', () => {
  it('keeps escaped markup escaped: it never becomes an element', () => {
    const out = xhtml('<paragraph>&lt;script&gt;alert(1)&lt;/script&gt;</paragraph>');
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(out).not.toMatch(/<script/i);
    expect(elements(body('<paragraph>&lt;script&gt;alert(1)&lt;/script&gt;</paragraph>')).map((e) => e.name)).toEqual([
      'p',
    ]);
  });

  it('keeps escaped text at the top level escaped too', () => {
    const nodes = body('&lt;b&gt;not bold&lt;/b&gt; &amp; more');
    expect(elements(nodes)).toEqual([]);
    expect(text(nodes)).toBe('&lt;b&gt;not bold&lt;/b&gt; &amp; more');
  });

  it('keeps ampersands, quotes and referenced characters: the same text, escaped only where XML must', () => {
    const out = xhtml('<paragraph>A &amp; B &gt; C &quot;q&quot; caf&#233; &#x263A;</paragraph>');
    expect(out).toContain('<p>A &amp; B &gt; C "q" café ☺</p>');
  });

  it('turns CDATA into escaped text, never into markup', () => {
    const inner = '<paragraph>x<![CDATA[<script>alert(1)</script> & <b>y</b>]]></paragraph>';
    const out = xhtml(inner);
    expect(out).not.toMatch(/<script|<b>/);
    expect(out).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;y&lt;/b&gt;');
    expect(elements(body(inner)).map((e) => e.name)).toEqual(['p']);
  });

  it('turns a script element into a harmless span', () => {
    const out = xhtml('<paragraph><script>alert(1)</script></paragraph>');
    expect(out).not.toMatch(/<script/i);
  });
});

describe('cdaNarrativeToXhtml: no narrative', () => {
  it.each([
    ['an empty div', ''],
    ['only whitespace', '  \n\t '],
    ['empty elements', '<paragraph/><list><item>  </item></list><br/>'],
    ['only multimedia', '<renderMultiMedia referencedObject="MM1"><caption>image</caption></renderMultiMedia>'],
    ['only a comment', '<!-- nothing -->'],
  ])('is undefined for %s', (_what, inner) => {
    expect(cdaNarrativeToXhtml(div(inner))).toBeUndefined();
  });

  it('is undefined when the input is not XML or has no div', () => {
    expect(cdaNarrativeToXhtml('<div xmlns="http://www.w3.org/1999/xhtml"><paragraph>unclosed')).toBeUndefined();
    expect(cdaNarrativeToXhtml('<paragraph>no div</paragraph>')).toBeUndefined();
    expect(cdaNarrativeToXhtml('')).toBeUndefined();
  });
});

describe('cdaNarrativeToXhtml: a real section narrative', () => {
  it('maps a mixed narrative to valid XHTML with all its text', () => {
    const inner =
      '<caption>Allergies</caption>' +
      '<table border="1"><thead><tr><th>Substance</th><th>Reaction</th></tr></thead><tbody>' +
      '<tr ID="allergy1"><td><content ID="substance1" styleCode="Bold">Penicillin G</content></td>' +
      '<td><list listType="ordered"><item>Hives</item><item>Wheezing</item></list></td></tr>' +
      '</tbody></table>' +
      '<paragraph>Last reviewed <content styleCode="Italics">2015-07-22</content>; see ' +
      '<linkHtml href="file:///c:/ehr/allergies.pdf">full list</linkHtml>.</paragraph>' +
      '<renderMultiMedia referencedObject="MM1"/>';
    const nodes = body(inner);
    expect(text(nodes)).toBe(
      'AllergiesSubstanceReactionPenicillin GHivesWheezingLast reviewed 2015-07-22; see full list.',
    );
    const names = new Set(elements(nodes).map((e) => e.name));
    expect([...names].sort()).toEqual(['b', 'li', 'ol', 'p', 'span', 'table', 'tbody', 'td', 'th', 'thead', 'tr']);
  });
});
