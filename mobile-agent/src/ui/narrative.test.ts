import { narrativeOf, narrativeText } from './narrative';

describe('narrativeText', () => {
  it('keeps the words of a narrative table in rows and cells, without the markup', () => {
    const div = `<div xmlns="http://www.w3.org/1999/xhtml">
      <table border="1"><thead><tr><th>Substance</th><th>Reaction</th></tr></thead>
        <tbody><tr><td ID="s1">Penicillin</td><td>Nausea</td></tr>
        <tr><td>Codeine</td><td><content styleCode="Bold">Wheezing</content></td></tr></tbody></table>
      <paragraph>Reviewed <br/>on   admission.</paragraph></div>`;
    expect(narrativeText(div)).toBe(
      'Substance\tReaction\nPenicillin\tNausea\nCodeine\tWheezing\n\nReviewed\non admission.',
    );
  });

  it('drops scripts, styles and comments, and leaves no tag behind', () => {
    const text = narrativeText(
      '<div><script>alert(1)</script><style>p{}</style><!-- note --><img src="x" onerror="alert(1)"/>' +
        '<a href="javascript:alert(1)">details</a></div>',
    );
    expect(text).toBe('details');
  });

  it('decodes entities once, so escaped markup stays text for the page to escape', () => {
    expect(narrativeText('<p>&lt;script&gt;alert(1)&lt;/script&gt; &amp;lt; &#233;&#xE9;&nbsp;&bogus; &#0;</p>')).toBe(
      '<script>alert(1)</script> &lt; éé &bogus; &#0;',
    );
  });

  it('reads a narrative element, and nothing from anything else', () => {
    expect(narrativeOf({ status: 'generated', div: '<div>Hello</div>' })).toBe('Hello');
    expect(narrativeOf({ status: 'empty', div: '<div> </div>' })).toBeUndefined();
    expect(narrativeOf('<div>Hello</div>')).toBeUndefined();
    expect(narrativeOf(undefined)).toBeUndefined();
  });
});
