/**
 * Access log: every access to the patient's records that the ledger recorded, newest first, one
 * sentence each. Emergency (break-glass) access is marked in words and colour, since it happened
 * without the patient's consent and is what a patient most needs to notice.
 */
import type { AccessLogEntry } from '../../agent-api';
import { when } from '../format';
import { html, type Html } from '../html';
import type { PageContent } from '../layout';

const OUTCOMES: Record<AccessLogEntry['outcome'], { text: string; tag: string }> = {
  success: { text: 'Done', tag: 'ok' },
  denied: { text: 'Refused', tag: 'refused' },
  failed: { text: 'Failed', tag: 'refused' },
};

const ACTIONS: Record<AccessLogEntry['action'], string> = {
  push: 'Sent you records',
  pull: 'Read your records',
  backup: 'Backed up',
  restore: 'Restored',
  export: 'Exported',
  recovery: 'Key recovery',
  'delivery-failed': 'Delivery failed',
  rebuild: 'Rebuilt',
  erasure: 'Erased',
  research: 'Research use',
};

function row(entry: AccessLogEntry): Html {
  const outcome = OUTCOMES[entry.outcome] ?? { text: entry.outcome, tag: 'waiting' };
  return html`<tr
    data-event-id="${entry.eventId}"
    ${entry.breakGlass ? html` class="break-glass" data-break-glass` : ''}
  >
    <th scope="row">
      ${entry.breakGlass ? html`<span class="tag emergency">Emergency access</span> ` : ''}${entry.summary}
    </th>
    <td class="nowrap">${when(entry.at)}</td>
    <td>${entry.who}</td>
    <td>${ACTIONS[entry.action] ?? entry.action}</td>
    <td>
      ${entry.purposeText !== undefined && entry.purpose !== undefined ? `${entry.purposeText} (${entry.purpose})` : (entry.purpose ?? html`<span class="muted">not given</span>`)}
    </td>
    <td><span class="tag ${outcome.tag}">${outcome.text}</span></td>
  </tr>`;
}

export function accessLogPage(entries: readonly AccessLogEntry[] | undefined, problem?: string): PageContent {
  let body: Html;
  if (problem !== undefined || entries === undefined) {
    body = html`<div class="notice error" role="alert">
      <h2>The access log could not be shown</h2>
      <p>${problem ?? ''}</p>
    </div>`;
  } else if (entries.length === 0) {
    body = html`<p data-access-count="0">Nobody has accessed your records yet.</p>`;
  } else {
    const emergencies = entries.filter((e) => e.breakGlass).length;
    body = html`<p data-access-count="${entries.length}">
        ${entries.length} recorded
        access${entries.length === 1 ? '' : 'es'}.${
          emergencies > 0
            ? html` <strong
                  >${emergencies} ${emergencies === 1 ? 'was' : 'were'} emergency access without your consent</strong
                >, marked below.`
            : ''
        }
      </p>
      <div class="table-wrap" role="region" aria-labelledby="access-caption" tabindex="0">
        <table>
          <caption id="access-caption" class="visually-hidden">
            Who accessed your records, newest first
          </caption>
          <thead>
            <tr>
              <th scope="col">What happened</th>
              <th scope="col">When</th>
              <th scope="col">Who</th>
              <th scope="col">Action</th>
              <th scope="col">Purpose</th>
              <th scope="col">Outcome</th>
            </tr>
          </thead>
          <tbody>
            ${entries.map(row)}
          </tbody>
        </table>
      </div>`;
  }
  return {
    title: 'Access log',
    section: 'access-log',
    body: html`<p class="lead">
        Every time a hospital sent, read or tried to read your records, the ledger recorded it. Nobody can remove an
        entry.
      </p>
      ${body}`,
  };
}
