/**
 * The frame every page shares: skip link, header with the patient's unread count and the
 * "Check for new records" button, the sections as a nav (aria-current on the open one), one
 * h1 per page, a notice after a Post/Redirect/Get, and a footer saying where this page runs.
 */
import { CSRF_FIELD } from './csrf';
import type { Flash, OneTimeCodes } from './flash';
import { html, type Html } from './html';

export const SECTIONS = [
  { id: 'records', path: '/records', label: 'Records' },
  { id: 'access-log', path: '/access-log', label: 'Access log' },
  { id: 'consents', path: '/consents', label: 'Consents' },
  { id: 'notifications', path: '/notifications', label: 'Notifications' },
  { id: 'research', path: '/research', label: 'Research' },
  { id: 'backup', path: '/backup', label: 'Backup & recovery' },
] as const;
export type Section = (typeof SECTIONS)[number]['id'];

/** What every page needs besides its own content. */
export interface PageContext {
  csrfToken: string;
  /** Path (with query) of this page: where "Check for new records" comes back to. */
  path: string;
  /** Unread notifications; undefined when the agent could not say. */
  unread?: number;
  flash?: Flash;
}

export interface PageContent {
  /** The h1, and the start of the window title. */
  title: string;
  section?: Section;
  body: Html;
  /** Prefixes the window title with "Error: " so screen reader users hear it first. */
  hasErrors?: boolean;
}

export function csrfField(token: string): Html {
  return html`<input type="hidden" name="${CSRF_FIELD}" value="${token}" />`;
}

function notice(flash: Flash | undefined): Html {
  if (!flash) return html``;
  // an error must interrupt; a success is announced politely
  const role = flash.kind === 'error' ? 'alert' : 'status';
  return html`<div class="notice ${flash.kind}" role="${role}" data-notice="${flash.kind}">
    <h2>${flash.title}</h2>
    ${
      flash.lines && flash.lines.length > 0
        ? html`<ul>
            ${flash.lines.map((l) => html`<li>${l}</li>`)}
          </ul>`
        : ''
    }
    ${flash.codes && flash.codes.length > 0 ? oneTimeCodes(flash.codes) : ''}
  </div>`;
}

/**
 * Codes the patient writes down now: large, one per line, and the only thing printed from this
 * page (see the stylesheet's print rules). The page keeps no copy, so the warning says so.
 */
function oneTimeCodes(blocks: readonly OneTimeCodes[]): Html {
  return html`<div class="one-time-codes" data-one-time-codes>
    <p class="write-down">
      <strong>Write these down now, or print this page: they are shown only this once.</strong> Your agent keeps no copy
      it could show again; reloading or leaving this page removes them. Printing prints only the codes.
    </p>
    ${blocks.map(
      (b, i) =>
        html`<section aria-labelledby="codes-${i}-title" data-codes="${b.title}">
          <h3 id="codes-${i}-title">${b.title}</h3>
          <p>${b.about}</p>
          <ol class="codes">
            ${b.codes.map((c) => html`<li><code data-code>${c}</code></li>`)}
          </ol>
        </section>`,
    )}
  </div>`;
}

function nav(section: Section | undefined, unread: number | undefined): Html {
  const items = SECTIONS.map((s) => {
    const badge =
      s.id === 'notifications' && unread !== undefined && unread > 0
        ? html` <span class="badge" data-unread="${unread}"
            >${unread}<span class="visually-hidden"> unread</span></span
          >`
        : '';
    const current = s.id === section ? html` aria-current="page"` : '';
    return html`<li><a href="${s.path}" ${current}>${s.label}${badge}</a></li>`;
  });
  return html`<nav aria-label="Sections" class="wrap">
    <ul>
      ${items}
    </ul>
  </nav>`;
}

export function layout(ctx: PageContext, content: PageContent): string {
  const title = `${content.hasErrors ? 'Error: ' : ''}${content.title} – Your health records`;
  const unreadLine =
    ctx.unread === undefined
      ? ''
      : ctx.unread === 0
        ? html`<small>No unread notifications</small>`
        : html`<small
            ><a href="/notifications">${ctx.unread} unread notification${ctx.unread === 1 ? '' : 's'}</a></small
          >`;
  return html`<!doctype html>
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light" />
        <title>${title}</title>
        <link rel="stylesheet" href="/ui.css" />
      </head>
      <body>
        <a class="skip-link" href="#main">Skip to main content</a>
        <header class="site-header">
          <div class="wrap top">
            <p class="site-name"><a href="/records">Your health records</a>${unreadLine}</p>
            <form method="post" action="/sync">
              ${csrfField(ctx.csrfToken)}
              <input type="hidden" name="return" value="${ctx.path}" />
              <button type="submit">Check for new records</button>
            </form>
          </div>
          ${nav(content.section, ctx.unread)}
        </header>
        <main id="main" class="wrap" tabindex="-1">
          ${notice(ctx.flash)}
          <h1>${content.title}</h1>
          ${content.body}
        </main>
        <footer class="wrap">
          <p>
            This page is served by your own agent, on this computer only. Your records stay on this device; the ledger
            holds only proofs, your consents and who accessed what.
          </p>
        </footer>
      </body>
    </html> `.markup;
}
