import { checkNarrativeXhtml } from './narrative';

const NS = 'xmlns="http://www.w3.org/1999/xhtml"';

describe('checkNarrativeXhtml', () => {
  it('accepts XHTML narrative with XML entities, character references, CDATA, images and a prefixed root', () => {
    expect(checkNarrativeXhtml(`<div ${NS}><p>Hi &amp; bye &#169; &#x2014;</p><!-- note --></div>`)).toEqual([]);
    expect(
      checkNarrativeXhtml(`<div ${NS}><img src="#a" alt=""/><img src="data:image/png;base64,AAAA"/></div>`),
    ).toEqual([]);
    expect(checkNarrativeXhtml(`<div ${NS}><a href="https://example.org/a">x</a><a href="#b">y</a></div>`)).toEqual([]);
    expect(checkNarrativeXhtml('<x:div xmlns:x="http://www.w3.org/1999/xhtml"><x:p>a</x:p></x:div>')).toEqual([]);
    expect(checkNarrativeXhtml(`\n<div ${NS}>a</div>\n`)).toEqual([]);
  });

  it('names an entity XML does not define, before anything else', () => {
    expect(checkNarrativeXhtml(`<div ${NS}>&reg; &nbsp</div>`)).toEqual([
      "Invalid entity in the XHTML ('&reg;'): only XML's entities and numeric references",
      "Invalid entity in the XHTML ('&nbsp'): only XML's entities and numeric references",
    ]);
  });

  it('says where XHTML is not well-formed', () => {
    expect(checkNarrativeXhtml(`<div ${NS}><p>unclosed</div>`)).toEqual([
      expect.stringMatching(/^The narrative is not well-formed XHTML: 1:\d+: unexpected close tag/),
    ]);
    expect(checkNarrativeXhtml(`<div ${NS}><p hidden>x</p></div>`)).toEqual([
      expect.stringMatching(/^The narrative is not well-formed XHTML: 1:\d+: attribute without value/),
    ]);
    expect(checkNarrativeXhtml(`<div ${NS}>a -- b <!-- x -- y --></div>`)).toEqual([
      expect.stringMatching(/^The narrative is not well-formed XHTML: /),
    ]);
  });

  it('wants a single div root in the XHTML namespace', () => {
    const single = ['The narrative must be a single <div> element'];
    expect(checkNarrativeXhtml(`<p ${NS}>x</p>`)).toEqual(single);
    expect(checkNarrativeXhtml(`<div ${NS}>a</div><div ${NS}>b</div>`)).toEqual(single);
    expect(checkNarrativeXhtml(`<div ${NS}>a</div>b`)).toEqual(single);
    expect(checkNarrativeXhtml('<div>x</div>')).toEqual([
      'The narrative <div> must be in the XHTML namespace (http://www.w3.org/1999/xhtml)',
    ]);
    expect(checkNarrativeXhtml('<div xmlns="http://example.org">x<script/></div>')).toEqual([
      'The narrative <div> must be in the XHTML namespace (http://www.w3.org/1999/xhtml)',
      'Element <script> is not allowed in narrative',
    ]);
  });

  it('refuses active content and elements outside the narrative subset', () => {
    expect(
      checkNarrativeXhtml(
        `<div ${NS}><script>alert(1)</script><a href=" JavaScript:x()">a</a><p onClick="x()">b</p>` +
          '<img src="vbscript:y"/><iframe/><constructor/></div>',
      ),
    ).toEqual([
      'Element <script> is not allowed in narrative',
      "Script URL in attribute 'href' is not allowed in narrative",
      "Event attribute 'onClick' is not allowed in narrative",
      "Script URL in attribute 'src' is not allowed in narrative",
      'Element <iframe> is not allowed in narrative',
      'Element <constructor> is not allowed in narrative',
    ]);
  });

  it('wants some content: text, CDATA or an image, not whitespace or comments alone', () => {
    const empty = ['The narrative has no non-whitespace content'];
    expect(checkNarrativeXhtml(`<div ${NS}>  <p> </p></div>`)).toEqual(empty);
    expect(checkNarrativeXhtml(`<div ${NS}><!-- only a comment --></div>`)).toEqual(empty);
  });

  it('refuses what an HTML parser would read as markup where XML reads text', () => {
    // Each hides an image with an onerror handler from an XML reader; HTML (innerHTML) makes it live.
    const live = '<img src=x onerror=alert(1)>';
    expect(checkNarrativeXhtml(`<div ${NS}>a<![CDATA[>${live}]]></div>`)).toEqual([
      'CDATA sections are not allowed in narrative (write the text escaped)',
    ]);
    expect(checkNarrativeXhtml(`<div ${NS}>a<!-->${live}--></div>`)).toEqual([
      'A comment starting with > or -> is not allowed in narrative (HTML ends it at once)',
    ]);
    expect(checkNarrativeXhtml(`<div ${NS}>a<!--->${live}--></div>`)).toEqual([
      'A comment starting with > or -> is not allowed in narrative (HTML ends it at once)',
    ]);
    expect(checkNarrativeXhtml(`<div ${NS}>a<?x >${live}?></div>`)).toEqual([
      'Processing instructions are not allowed in narrative',
    ]);
    expect(checkNarrativeXhtml(`<div ${NS}><?xml-stylesheet href="http://evil/x.xsl"?>a</div>`)).toEqual([
      'Processing instructions are not allowed in narrative',
    ]);
    expect(
      checkNarrativeXhtml(`<!DOCTYPE div [<!ENTITY % x SYSTEM "http://evil/x.dtd"> %x;]><div ${NS}>a</div>`),
    ).toEqual(['A DOCTYPE is not allowed in narrative']);
  });

  it('refuses script URLs however a browser would still read them, and data URLs but a bitmap image', () => {
    for (const href of ['jav&#x9;ascript:alert(1)', 'java&#10;script:x', '&#13;javascript:x', ' &#9; VBScript:x']) {
      expect(checkNarrativeXhtml(`<div ${NS}><a href="${href}">x</a></div>`)).toEqual([
        "Script URL in attribute 'href' is not allowed in narrative",
      ]);
    }
    const data = "Data URL in attribute 'href' is not allowed in narrative (only a bitmap image's src)";
    expect(checkNarrativeXhtml(`<div ${NS}><a href="data:text/html,&lt;script&gt;x">x</a></div>`)).toEqual([data]);
    expect(checkNarrativeXhtml(`<div ${NS}><a href="data:image/png;base64,AAAA">x</a></div>`)).toEqual([data]);
    expect(checkNarrativeXhtml(`<div ${NS}><img src="data:image/svg+xml;base64,AAAA"/></div>`)).toEqual([
      "Data URL in attribute 'src' is not allowed in narrative (only a bitmap image's src)",
    ]);
  });
});
