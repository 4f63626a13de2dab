import { escapeHtml, html } from './html';

// Prettier formats templates tagged `html`; an alias keeps these expected strings byte for byte.
const h = html;

describe('html template', () => {
  it('escapes every interpolated value, in text and in attributes', () => {
    const evil = `<script>alert("x")</script>' onmouseover='y' &amp;`;
    expect(h`<p title="${evil}">${evil}</p>`.markup).toBe(
      '<p title="&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;y&#39; &amp;amp;">' +
        '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&#39; onmouseover=&#39;y&#39; &amp;amp;</p>',
    );
  });

  it('nests its own output unescaped, renders arrays, and drops null, undefined and false', () => {
    const items = ['a<', 'b'].map((x) => h`<li>${x}</li>`);
    expect(h`<ul>${items}</ul>${null}${undefined}${false}${0}`.markup).toBe('<ul><li>a&lt;</li><li>b</li></ul>0');
  });

  it('leaves plain text alone', () => {
    expect(escapeHtml('Hospital One (Hospital1MSP) — 6.1 %')).toBe('Hospital One (Hospital1MSP) — 6.1 %');
  });
});
