/**
 * Research: the studies whose criteria this device's records meet, each with exactly what would
 * be shared (and how it was de-identified), accept and decline buttons; what each study got;
 * the credits earned; and opting out of research altogether. Everything a researcher wrote
 * (titles) is escaped like any other text.
 */
import type {
  ResearchCredits,
  ResearchHistoryEntry,
  ResearchOfferView,
  ResearchPreviewRow,
  ResearchStatus,
} from '../../agent-api';
import { codeText, day } from '../format';
import { html, type Html } from '../html';
import { csrfField, type PageContent } from '../layout';

export interface ResearchPageData {
  csrfToken: string;
  offers?: ResearchOfferView[];
  offersProblem?: string;
  history?: ResearchHistoryEntry[];
  historyProblem?: string;
  credits?: ResearchCredits;
  creditsProblem?: string;
  status?: ResearchStatus;
  statusProblem?: string;
}

const CHANGE_TEXT: Record<string, string> = {
  'time year': 'date cut to the year',
  'time shift': 'date shifted',
  'value removed': 'text value left out',
  'display removed': 'description left out',
};

function how(row: ResearchPreviewRow): string {
  if (row.status === 'unchanged') return 'As recorded (the study can verify it)';
  if (row.status === 'withheld') return 'Not shared: the delivery it came from is no longer on this device';
  return row.changes.map((c) => CHANGE_TEXT[`${c.field} ${c.rule}`] ?? `${c.field} ${c.rule}`).join(', ');
}

function demographicsText(d: ResearchOfferView['preview']['demographics']): string {
  const parts: string[] = [];
  if (d.age !== undefined) parts.push(`age ${String(d.age)}`);
  if (d.gender !== undefined) parts.push(`gender ${d.gender}`);
  if (d.postalCode3 !== undefined) parts.push(`first 3 digits of your postal code (${d.postalCode3})`);
  return parts.length > 0 ? parts.join(', ') : 'none';
}

function previewTable(o: ResearchOfferView): Html {
  // withheld rows stay in the table: the patient sees what is wanted but would not be shared
  if (o.preview.elements.length === 0) return html`<p>No records would be shared.</p>`;
  return html`<div class="table-wrap" role="region" aria-labelledby="preview-${o.offerId}" tabindex="0">
    <table data-preview="${o.offerId}">
      <caption id="preview-${o.offerId}">
        What “${o.title}” would get
      </caption>
      <thead>
        <tr>
          <th scope="col">Date</th>
          <th scope="col">What</th>
          <th scope="col">Value</th>
          <th scope="col">Code</th>
          <th scope="col">How it leaves</th>
        </tr>
      </thead>
      <tbody>
        ${o.preview.elements.map(
          (e) =>
            html`<tr data-preview-row data-status="${e.status}">
              <td>${e.time ?? ''}</td>
              <td>${e.display ?? e.resourceType}</td>
              <td>${e.value === undefined ? '' : `${e.value}${e.unit ? ` ${e.unit}` : ''}`}</td>
              <td>${e.code ? codeText(e.system, e.code) : ''}</td>
              <td>${how(e)}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

/** Where the patient's decision on the study stands, or nothing before one. */
function decisionPart(o: ResearchOfferView): Html | '' {
  return o.decision === 'accepted'
    ? o.stage === 'delivered'
      ? html`<p><span class="tag ok">Accepted</span> Delivered: see “What each study got”.</p>`
      : o.finishable
        ? html`<p data-finishable>
            <span class="tag waiting">Accepted, not delivered yet</span>
            ${
              o.status === 'open'
                ? 'Finish sharing to send it.'
                : html`The study takes no new participants, but your place is kept until ${day(o.expiresAt)}: finish
                  sharing to send it.`
            }
          </p>`
        : html`<p><span class="tag waiting">Accepted, not delivered yet</span> Accept again to finish sending it.</p>`
    : o.decision === 'declined'
      ? o.placeKept
        ? html`<p>
            <span class="tag ended">Declined</span> Nothing was sent. Its consent is revoked; the place you took stays
            accepted on the ledger.
          </p>`
        : html`<p><span class="tag ended">Declined</span> Nothing was sent.</p>`
      : '';
}

function offerSection(o: ResearchOfferView, data: ResearchPageData): Html {
  const optedOut = data.status?.optedOut === true;
  const decided = decisionPart(o);
  // an interrupted delivery can finish whatever the offer's status: the ledger keeps its place until expiry
  const canFinish = o.finishable === true && !optedOut;
  const canAccept =
    canFinish ||
    (o.matches &&
      o.status === 'open' &&
      !optedOut &&
      !(o.decision === 'accepted' && o.stage === 'delivered') &&
      o.placeKept !== true);
  // an accepted study can still be declined until its extract is sealed for sending
  const canDecline =
    o.decision === undefined ||
    (o.decision === 'accepted' && (o.stage === 'prepared' || o.stage === 'consented' || o.stage === 'accepted'));
  return html`<section
    class="study"
    data-offer-id="${o.offerId}"
    data-matches="${o.matches ? 'true' : 'false'}"
    aria-labelledby="study-${o.offerId}"
  >
    <h3 id="study-${o.offerId}">${o.title}</h3>
    <dl>
      <dt>Asked by</dt>
      <dd>${o.institute}</dd>
      <dt>Credits for taking part</dt>
      <dd data-credits>${o.creditsPerParticipant}</dd>
      <dt>Open until</dt>
      <dd>${day(o.expiresAt)}</dd>
      <dt>Dates</dt>
      <dd>
        ${o.dates === 'year' ? 'Cut to the year' : 'Moved by a secret number of days, the same for the whole study'}
      </dd>
      <dt>About you</dt>
      <dd data-demographics>${demographicsText(o.preview.demographics)}</dd>
    </dl>
    ${o.matches ? '' : html`<p data-no-match>Your records do not match: ${o.reasons.join('; ')}.</p>`}
    ${previewTable(o)}
    <p>Never shared: your name, identifiers, address, exact dates or any free text.</p>
    ${decided}
    <div class="actions">
      ${
        canAccept
          ? html`<form method="post" action="/research/${o.offerId}/accept">
              ${csrfField(data.csrfToken)}
              <button type="submit">
                ${canFinish ? 'Finish sharing' : 'Accept and share'}<span class="visually-hidden">
                  with ${o.title}</span
                >
              </button>
            </form>`
          : ''
      }
      ${
        canDecline
          ? html`<form method="post" action="/research/${o.offerId}/decline">
              ${csrfField(data.csrfToken)}
              <button type="submit" class="secondary">Decline<span class="visually-hidden"> ${o.title}</span></button>
            </form>`
          : ''
      }
    </div>
  </section>`;
}

function historyTable(entries: readonly ResearchHistoryEntry[]): Html {
  if (entries.length === 0) return html`<p data-history-count="0">You have not decided on any study yet.</p>`;
  return html`<div class="table-wrap" role="region" aria-labelledby="history-caption" tabindex="0">
    <table data-history>
      <caption id="history-caption">
        Studies you decided on
      </caption>
      <thead>
        <tr>
          <th scope="col">Study</th>
          <th scope="col">Decided</th>
          <th scope="col">Status</th>
          <th scope="col">What it got</th>
          <th scope="col">Credits</th>
        </tr>
      </thead>
      <tbody>
        ${entries.map(
          (e) =>
            html`<tr data-history-offer="${e.offerId}" data-status="${e.status}">
              <th scope="row">${e.title || e.offerId}</th>
              <td>${day(e.decidedAt)}</td>
              <td>
                ${e.status === 'delivered' ? 'Delivered' : e.status === 'pending' ? 'Accepted, not delivered yet' : 'Declined'}
              </td>
              <td>
                ${
                  e.shared
                    ? [
                        ...e.shared.codes.map((c) => `${c.display ?? codeText(c.system, c.code)} (${c.count})`),
                        ...e.shared.demographics,
                      ].join(', ')
                    : e.status === 'declined'
                      ? 'Nothing'
                      : ''
                }
              </td>
              <td data-credits>${e.credits}</td>
            </tr>`,
        )}
      </tbody>
    </table>
  </div>`;
}

function creditsPart(c: ResearchCredits): Html {
  return html`<p>Balance: <strong data-balance="${c.balance}">${c.balance} credits</strong></p>
    ${
      c.entries.length === 0
        ? html`<p>No credits yet.</p>`
        : html`<ul data-credit-entries>
            ${c.entries.map((e) => html`<li>${day(e.recordedAt)}: ${e.kind} ${e.amount} (${e.offerId ?? ''})</li>`)}
          </ul>`
    }`;
}

function optOutPart(data: ResearchPageData): Html {
  if (!data.status) return html`<p role="alert">${data.statusProblem ?? ''}</p>`;
  const out = data.status.optedOut;
  return html`<p data-opted-out="${out ? 'true' : 'false'}">
      ${
        out
          ? 'You opted out of research: no study can be accepted, and hospitals leave you out of their research extracts.'
          : 'You take part in research on your terms: you decide on each study.'
      }
    </p>
    <form method="post" action="/research/${out ? 'opt-in' : 'opt-out'}">
      ${csrfField(data.csrfToken)}
      <button type="submit" class="${out ? '' : 'secondary'}">
        ${out ? 'Opt in to research again' : 'Opt out of research altogether'}
      </button>
    </form>`;
}

export function researchPage(data: ResearchPageData): PageContent {
  const offers = data.offers;
  return {
    title: 'Research',
    section: 'research',
    body: html`<p>
        Studies ask for records like yours. Your agent checks each one here, on this device; a study learns nothing
        about you unless you accept, and then only what is shown below it.
      </p>
      <section aria-labelledby="offers-title">
        <h2 id="offers-title">Studies for you</h2>
        ${
          offers === undefined
            ? html`<p role="alert">${data.offersProblem ?? ''}</p>`
            : offers.length === 0
              ? html`<p data-offers-count="0">No open study matches your records.</p>`
              : offers.map((o) => offerSection(o, data))
        }
      </section>
      <section aria-labelledby="history-title">
        <h2 id="history-title">What each study got</h2>
        ${data.history === undefined ? html`<p role="alert">${data.historyProblem ?? ''}</p>` : historyTable(data.history)}
      </section>
      <section aria-labelledby="credits-title">
        <h2 id="credits-title">Credits earned</h2>
        ${data.credits === undefined ? html`<p role="alert">${data.creditsProblem ?? ''}</p>` : creditsPart(data.credits)}
      </section>
      <section aria-labelledby="opt-out-title">
        <h2 id="opt-out-title">Research altogether</h2>
        ${optOutPart(data)}
      </section>`,
  };
}
