/** Words for one consent, shared by the Consents list and the revoke confirmation. */
import type { ConsentRecord } from '@phr/common';
import { consentState, day, purposeText, when } from '../format';
import { html, type Html } from '../html';

/** The exclusive end as the patient thinks of it: the last day included when it ends at midnight. */
export function periodText(consent: ConsentRecord): Html {
  const end = new Date(consent.period.end);
  const midnight = end.getHours() === 0 && end.getMinutes() === 0 && end.getSeconds() === 0;
  const until = midnight
    ? html`until the end of ${day(new Date(end.getTime() - 1).toISOString())}`
    : html`until ${when(consent.period.end)}`;
  return html`from ${when(consent.period.start)} ${until}`;
}

export function purposesText(consent: ConsentRecord): string {
  return consent.purposes.map(purposeText).join(', ');
}

export function statusTag(consent: ConsentRecord, now: number): Html {
  switch (consentState(consent, now)) {
    case 'revoked':
      return html`<span class="tag revoked">Revoked</span
        >${consent.revokedAt ? html` <span class="muted">on ${when(consent.revokedAt)}</span>` : ''}`;
    case 'expired':
      return html`<span class="tag ended">Ended</span>`;
    case 'not-started':
      return html`<span class="tag waiting">Starts later</span>`;
    case 'active':
      return html`<span class="tag ok">Active</span>`;
  }
}
