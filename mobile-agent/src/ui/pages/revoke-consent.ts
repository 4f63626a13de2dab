/**
 * The confirmation step before a revoke: revoking is recorded on the ledger for good, so the
 * patient sees exactly which consent ends, and confirms with a button that says what it does.
 */
import type { ConsentRecord } from '@phr/common';
import { granteeText, scopeText } from '../format';
import { html } from '../html';
import { csrfField, type PageContent } from '../layout';
import { periodText, purposesText, statusTag } from './consent-text';

export function revokeConsentPage(
  consent: ConsentRecord,
  hospitals: readonly { name: string; mspId: string }[],
  csrfToken: string,
  now: number,
): PageContent {
  const who = granteeText(consent.grantee, hospitals);
  return {
    title: 'Revoke this consent?',
    section: 'consents',
    body: html`<dl class="summary-list">
        <dt>Who</dt>
        <dd>${who}</dd>
        <dt>Which records</dt>
        <dd>${scopeText(consent.scope)}</dd>
        <dt>Purposes</dt>
        <dd>${purposesText(consent)}</dd>
        <dt>Period</dt>
        <dd>${periodText(consent)}</dd>
        <dt>Status</dt>
        <dd>${statusTag(consent, now)}</dd>
      </dl>
      <p class="lead">
        ${who} will no longer be able to read these records. The ledger keeps a record that you revoked it. You can give
        a new consent at any time.
      </p>
      <form method="post" action="/consents/${consent.consentId}/revoke" class="actions">
        ${csrfField(csrfToken)}
        <button type="submit" class="warning">Yes, revoke this consent</button>
        <a href="/consents">No, keep it</a>
      </form>`,
  };
}
