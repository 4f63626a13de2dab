import { escapeHtml } from '../html';
import { layout } from '../layout';
import {
  CCDA_COMPOSITION,
  CCDA_DOCUMENT,
  CCDA_PROVENANCE,
  HBA1C,
  HOSTILE_CCDA_XML,
  segmentElements,
} from '../testing/sample-records';
import { recordHref, recordPage } from './record';

type Resource = Record<string, unknown> & { resourceType: string };

/** The whole page, as the browser receives it. */
function pageFor(resource: Resource, sender?: string): string {
  const [row] = segmentElements('delivery-0009', 'delivery-0009-s0', resource);
  const content = recordPage({ row: row!, ...(sender ? { sender } : {}) });
  return layout({ csrfToken: 't'.repeat(43), path: recordHref(row!) }, content);
}

const documentWith = (attachment: Record<string, unknown>): Resource => ({
  ...CCDA_DOCUMENT,
  content: [{ attachment }],
});

/** The text of the document's <pre>, as the browser would show it. */
function shownDocument(markup: string): string | undefined {
  const m = /<div class="document-text"[^>]*>\s*<pre>([\s\S]*?)<\/pre>/.exec(markup);
  return m?.[1]
    ?.replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

describe('record page', () => {
  it('shows a C-CDA document as text: its markup appears literally and is never markup', () => {
    const markup = pageFor(CCDA_DOCUMENT, 'Hospital One');
    expect(shownDocument(markup)).toBe(HOSTILE_CCDA_XML);
    expect(markup).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(markup).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(markup).toContain('&lt;linkHtml href=&quot;javascript:alert(1)&quot;&gt;');
    expect(markup).not.toMatch(/<script|<img|<linkhtml|<ClinicalDocument|href="javascript:|onerror="/i);
    expect(markup).toContain('data-document="text"');
    expect(markup).toContain('<h1>Patient Chart Summary (C-CDA)</h1>');
    expect(markup).toMatch(/<dt>From<\/dt>\s*<dd>Hospital One<\/dd>/);
    // the full record leaves the base64 out only when it is long; this one is short and kept
    expect(markup).toContain(escapeHtml(CCDA_DOCUMENT.content[0]!.attachment.data));
  });

  it('shows the start of a very large document and says it was cut', () => {
    const big = `<ClinicalDocument>${'<p>é</p>'.repeat(300_000)}</ClinicalDocument>`;
    const markup = pageFor(documentWith({ contentType: 'text/xml', data: Buffer.from(big).toString('base64') }));
    const shown = shownDocument(markup) ?? '';
    expect(Buffer.byteLength(shown)).toBeLessThanOrEqual(2 * 1024 * 1024);
    expect(Buffer.byteLength(shown)).toBeGreaterThan(2 * 1024 * 1024 - 4);
    expect(big.startsWith(shown)).toBe(true);
    expect(markup).toMatch(/data-document-cut>\s*This document is 2.6 MB, so only its first 2 MB are shown/);
    // the base64 is named by its size in the full record, not repeated
    expect(markup).toContain('[2.6 MB of data, left out here; the FHIR download has it whole]');
  });

  it('says so when the document cannot be read, and shows nothing of it', () => {
    const broken = pageFor(documentWith({ contentType: 'application/cda+xml', data: 'PHNjcmlwdD4*not-base64' }));
    expect(broken).toContain('data-document="unreadable"');
    expect(broken).toContain('its content is not valid base64');
    expect(shownDocument(broken)).toBeUndefined();

    const latin1 = Buffer.from('<p>Pénicilline</p>', 'latin1').toString('base64');
    const notUtf8 = pageFor(documentWith({ contentType: 'text/plain', data: latin1 }));
    expect(notUtf8).toContain('it is not UTF-8 text');
    expect(shownDocument(notUtf8)).toBeUndefined();
  });

  it('describes a binary document by type and size and does not open it', () => {
    const pdf = Buffer.from('%PDF-1.7 <script>alert(1)</script>');
    const markup = pageFor(documentWith({ contentType: 'application/pdf', data: pdf.toString('base64') }));
    expect(markup).toContain('data-document="binary"');
    expect(markup).toMatch(/of type <code>application\/pdf<\/code>, 34 bytes\./);
    expect(shownDocument(markup)).toBeUndefined();
    expect(markup).not.toContain('alert(1)</script>');

    const elsewhere = pageFor(documentWith({ contentType: 'text/xml', url: 'javascript:alert(1)' }));
    expect(elsewhere).toContain('data-document="elsewhere"');
    expect(elsewhere).not.toMatch(/href="javascript:/);
  });

  it("shows a Composition's sections as their words, never as the hospital's markup", () => {
    const markup = pageFor(CCDA_COMPOSITION);
    expect(markup).toContain('<h3 id="section-0">ALLERGIES</h3>');
    expect(markup).toContain('<p class="narrative">Substance\tReaction\nPenicillin\tHives &amp; rash\n\ndetails</p>');
    // a section without text is named by its code
    expect(markup).toMatch(/<h3 id="section-1">Medications<\/h3>\s*<p class="muted">No text.<\/p>/);
    expect(markup).toMatch(/<dt>Written by<\/dt>\s*<dd>Patricia Primary M.D.<\/dd>/);
    expect(markup).toMatch(/<dt>Kept by<\/dt>\s*<dd>Good Health Clinic<\/dd>/);
    // the div itself is only in the full record, escaped
    expect(markup).not.toMatch(/<script|<img|<b>|<table>|<a href="javascript:/);
    expect(markup).toContain('&lt;img src=\\&quot;x\\&quot; onerror=\\&quot;alert(1)\\&quot;/&gt;');
  });

  it("shows any resource's own narrative as text", () => {
    const withText = {
      ...HBA1C,
      text: { status: 'generated', div: '<div><p>HbA1c <b>6.1 %</b></p><img src=x onerror=alert(1)></div>' },
    };
    const markup = pageFor(withText);
    expect(markup).toContain('<p class="narrative" data-narrative>HbA1c 6.1 %</p>');
    expect(markup).not.toMatch(/<img|<b>/);
    expect(markup).toMatch(/<dt>Result or status<\/dt>\s*<dd>6.1 %<\/dd>/);
    expect(markup).toMatch(/<dt>From<\/dt>\s*<dd><span class="muted">unknown<\/span><\/dd>/);
  });

  it('names a Provenance by where its records came from', () => {
    const markup = pageFor(CCDA_PROVENANCE);
    expect(markup).toContain('<h1>Converted from a document</h1>');
    expect(markup).toMatch(/<dt>Result or status<\/dt>\s*<dd>2 records<\/dd>/);
    expect(markup).not.toContain('data-document');
  });

  it('links with ids the page can find again', () => {
    expect(recordHref({ deliveryId: 'delivery-0001', segmentId: 'a/b?c' })).toBe('/records/delivery-0001/a%2Fb%3Fc');
  });
});
