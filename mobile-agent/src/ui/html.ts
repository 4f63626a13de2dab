/**
 * HTML that escapes by default. Everything the page shows comes from the patient's vault, from
 * hospitals or from the ledger, so no value may ever be written into markup unescaped: the only
 * way to put markup in a page is the `html` template, which escapes every interpolated value
 * unless it is itself `Html` built by this template.
 *
 * Rule for templates: every attribute value is double-quoted (`href="${x}"`), so escaping the
 * five characters below is enough for both text and attribute contexts.
 */

const ENTITIES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ENTITIES[c] ?? c);
}

/** Markup that is already safe: produced by `html`, never by string concatenation. */
export class Html {
  /** Private by convention: only `html` creates instances. */
  constructor(readonly markup: string) {}
  toString(): string {
    return this.markup;
  }
}

/** What may be interpolated: nothing renders for null, undefined and false; arrays render each item. */
export type HtmlValue = Html | string | number | boolean | null | undefined | readonly HtmlValue[];

function render(value: HtmlValue): string {
  if (value instanceof Html) return value.markup;
  if (value === null || value === undefined || value === false) return '';
  if (Array.isArray(value)) return value.map((v: HtmlValue) => render(v)).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: HtmlValue[]): Html {
  let out = strings[0] ?? '';
  values.forEach((value, i) => {
    out += render(value) + (strings[i + 1] ?? '');
  });
  return new Html(out);
}
