/**
 * The confirmation step before a guardian approves a recovery request: approving sends this
 * agent's share to the device that asked, and only the check code the patient tells the guardian
 * in person shows that device is the patient's. So the code is shown large, with the question.
 */
import type { RecoveryRequest } from '../../agent-api';
import { when } from '../format';
import { html } from '../html';
import { csrfField, type PageContent } from '../layout';
import { requestState, stateTag } from './recovery';

export function approveRecoveryPage(request: RecoveryRequest, csrfToken: string, now: number): PageContent {
  const state = requestState(request, now);
  const who = request.pseudonym;
  return {
    title: 'Approve this recovery request?',
    section: 'backup',
    body: html`<dl class="summary-list" data-recovery-request="${request.requestId}">
        <dt>Patient</dt>
        <dd>${who}</dd>
        <dt>Check code</dt>
        <dd><code class="code-big" data-check-code>${request.checkCode}</code></dd>
        <dt>Asked</dt>
        <dd>${when(request.requestedAt)}</dd>
        <dt>Open until</dt>
        <dd>${when(request.expiresAt)}</dd>
        <dt>Through</dt>
        <dd>${request.hospital}</dd>
        <dt>Status</dt>
        <dd>${stateTag(state)}</dd>
      </dl>
      ${
        state === 'expired'
          ? html`<p class="lead">
              This request has expired: it can no longer be approved. If ${who} still needs your help, they start a new
              request on their new device.
            </p>`
          : html`<p class="lead">
                Approve only if ${who} told you this check code themselves, in person or by phone. If you did not hear
                it from them, someone else may be trying to take over their records: deny it.
              </p>
              <p>
                Approving sends your share, sealed to the device that asked, through ${request.hospital}. You never see
                their records, and their access log shows your answer.
              </p>`
      }
      <div class="actions">
        ${
          state === 'pending'
            ? html`<form method="post" action="/backup/recovery-requests/${request.requestId}/approve">
                ${csrfField(csrfToken)}
                <button type="submit">Yes, the code matches: send my share</button>
              </form>`
            : ''
        }
        <form method="post" action="/backup/recovery-requests/${request.requestId}/deny">
          ${csrfField(csrfToken)}
          <button type="submit" class="warning">No, deny this request</button>
        </form>
        <a href="/backup#recovery-requests">Back to Backup &amp; recovery</a>
      </div>`,
  };
}
