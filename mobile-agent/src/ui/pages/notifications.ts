/**
 * Notifications: what the agent noticed (new records, refused deliveries, accesses, consent
 * changes), newest first. Unread ones stand out by weight, colour and the word "New", and one
 * button marks them all read.
 */
import type { AgentNotification, NotificationKind } from '../../vault/vault-types';
import { when } from '../format';
import { html, type Html } from '../html';
import { csrfField, type PageContent } from '../layout';

const KINDS: Record<NotificationKind, string> = {
  access: 'Access to your records',
  'delivery-stored': 'New records',
  'delivery-refused': 'Records refused',
  consent: 'Consent',
  recovery: 'Key recovery',
  research: 'Research',
};

function item(n: AgentNotification): Html {
  return html`<li
    class="${n.read ? 'read' : 'unread'}"
    data-notification-id="${n.id}"
    data-read="${n.read ? 'true' : 'false'}"
  >
    ${n.read ? '' : html`<span class="tag ok">New</span> `}${n.message}
    ${
      // a guardian answers a recovery request on the page too, not only with the command the message names
      n.kind === 'recovery' && n.ref.startsWith('request:')
        ? html` <a href="/backup#recovery-requests">Answer it on Backup &amp; recovery</a>`
        : ''
    }
    <span class="meta">${KINDS[n.kind] ?? n.kind} · ${when(n.createdAt)}</span>
  </li>`;
}

export function notificationsPage(
  list: readonly AgentNotification[] | undefined,
  csrfToken: string,
  problem?: string,
): PageContent {
  let body: Html;
  if (problem !== undefined || list === undefined) {
    body = html`<div class="notice error" role="alert">
      <h2>Your notifications could not be shown</h2>
      <p>${problem ?? ''}</p>
    </div>`;
  } else if (list.length === 0) {
    body = html`<p>No notifications yet.</p>`;
  } else {
    const unread = list.filter((n) => !n.read).length;
    body = html`<p>${unread === 0 ? 'You have read them all.' : `${unread} unread.`}</p>
      ${
        unread > 0
          ? html`<form method="post" action="/notifications/read" class="actions">
              ${csrfField(csrfToken)}
              <button type="submit" class="secondary">Mark all as read</button>
            </form>`
          : ''
      }
      <ul class="notifications" aria-label="Notifications, newest first">
        ${list.map(item)}
      </ul>`;
  }
  return { title: 'Notifications', section: 'notifications', body };
}
