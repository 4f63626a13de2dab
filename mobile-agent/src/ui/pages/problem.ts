/** A page that only says what went wrong and where to go next: refusals, not-found, agent failures. */
import { html } from '../html';
import type { PageContent } from '../layout';

export function problemPage(title: string, message: string): PageContent {
  return {
    title,
    hasErrors: true,
    body: html`<div class="notice error" role="alert"><p>${message}</p></div>
      <p><a href="/records">Go to your records</a></p>`,
  };
}
