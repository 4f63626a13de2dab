/**
 * The recovery parts of Backup & recovery: the patient's own setup (guardians and paper codes,
 * any T of which rebuild the recovery secret) with its form, and, for the patients who named this
 * agent a guardian, the recovery requests that reached it with their check codes, to approve or
 * deny (approving goes through a confirmation page: it sends a share).
 */
import type { RecoveryRequest, RecoveryStatus } from '../../agent-api';
import { describedBy, errorFor, errorMessage, type FieldError } from '../form-errors';
import { when } from '../format';
import { html, type Html } from '../html';
import { csrfField } from '../layout';
import { SETUP_FIELDS, type SetupFormValues } from '../recovery-form';

export interface RecoveryPartsData {
  recovery?: RecoveryStatus;
  /** Why the recovery status could not be shown. */
  recoveryProblem?: string;
  hospitals: readonly { name: string; mspId: string }[];
  csrfToken: string;
  now: number;
  setupForm: SetupFormValues;
  /** The setup form's errors (only when it was the one posted). */
  errors: readonly FieldError[];
  /** Why the agent did not set recovery up (not a field's fault). */
  setupProblem?: string;
}

/** Where a request stands, as the guardian would say it. */
export type RequestState = 'pending' | 'expired' | 'approved' | 'denied';

export function requestState(r: RecoveryRequest, now: number): RequestState {
  if (r.status !== 'pending') return r.status;
  return Date.parse(r.expiresAt) <= now ? 'expired' : 'pending';
}

const STATE_TAGS: Record<RequestState, Html> = {
  pending: html`<span class="tag waiting">Waiting for you</span>`,
  expired: html`<span class="tag ended">Expired</span>`,
  approved: html`<span class="tag ok">Approved</span>`,
  denied: html`<span class="tag refused">Denied</span>`,
};

export function stateTag(state: RequestState): Html {
  return STATE_TAGS[state];
}

function shareCountText(threshold: number, shareCount: number): string {
  return `any ${threshold} of ${shareCount} shares`;
}

function setupStatus(data: RecoveryPartsData): Html {
  const setup = data.recovery?.setup;
  if (!setup) {
    return html`<p data-recovery-setup="none">
      You have not set up recovery with guardians. Your recovery code alone then moves your records to a new device.
    </p>`;
  }
  return html`<dl class="summary-list" data-recovery-setup="${setup.setupId}">
    <dt>Rebuilt by</dt>
    <dd data-recovery-threshold>${shareCountText(setup.threshold, setup.shareCount)}</dd>
    <dt>Guardians</dt>
    <dd data-recovery-guardians>${setup.guardians.length > 0 ? setup.guardians.join(', ') : 'None'}</dd>
    <dt>Paper codes</dt>
    <dd>${setup.paper === 0 ? 'None' : `${setup.paper} printed`}</dd>
    <dt>Set up</dt>
    <dd>${when(setup.createdAt)}, the guardians’ shares sent through ${setup.hospital}</dd>
  </dl>`;
}

function setupForm(data: RecoveryPartsData): Html {
  const { setupForm: form, errors } = data;
  const e = (field: string) => errorFor(errors, field);
  const invalid = (field: string) => (e(field) ? ' invalid' : '');
  const ariaInvalid = (field: string) => (e(field) ? html` aria-invalid="true"` : '');
  const { guardians, paper, threshold, hospital } = SETUP_FIELDS;
  const again = data.recovery?.setup !== undefined;
  return html`${
      data.setupProblem !== undefined
        ? html`<div class="notice error" role="alert">
            <h3>Recovery was not set up</h3>
            <p>${data.setupProblem}</p>
          </div>`
        : ''
    }
    <form method="post" action="/backup/recovery" novalidate aria-labelledby="recovery-setup">
      ${csrfField(data.csrfToken)}
      <div class="field${invalid(guardians.field)}">
        <label for="${guardians.id}">Guardians’ pseudonyms</label>
        <p class="hint" id="${guardians.field}-hint">
          One per line: other patients of this network you trust. Their agents receive a share sealed to them; they
          never see your records. Leave it empty to use paper codes only.
        </p>
        ${errorMessage(e(guardians.field), guardians.field)}
        <textarea
          id="${guardians.id}"
          name="guardians"
          rows="3"
          spellcheck="false"
          autocomplete="off"
          aria-describedby="${describedBy(guardians.field, e(guardians.field))}"
          ${ariaInvalid(guardians.field)}
        >
${form.guardians}</textarea>
      </div>
      <div class="field${invalid(paper.field)}">
        <label for="${paper.id}">Paper codes to print</label>
        <p class="hint" id="${paper.field}-hint">Each one is a share on paper; keep them in different places.</p>
        ${errorMessage(e(paper.field), paper.field)}
        <input
          type="text"
          class="narrow"
          inputmode="numeric"
          id="${paper.id}"
          name="paper"
          value="${form.paper}"
          autocomplete="off"
          aria-describedby="${describedBy(paper.field, e(paper.field))}"
          ${ariaInvalid(paper.field)}
        />
      </div>
      <div class="field${invalid(threshold.field)}">
        <label for="${threshold.id}">Shares needed to recover</label>
        <p class="hint" id="${threshold.field}-hint">
          At least 2, and no more than guardians and paper codes together. Fewer shares than this tell nothing about
          your secret.
        </p>
        ${errorMessage(e(threshold.field), threshold.field)}
        <input
          type="text"
          class="narrow"
          inputmode="numeric"
          id="${threshold.id}"
          name="threshold"
          value="${form.threshold}"
          autocomplete="off"
          aria-describedby="${describedBy(threshold.field, e(threshold.field))}"
          ${ariaInvalid(threshold.field)}
        />
      </div>
      <div class="field${invalid(hospital.field)}">
        <label for="${hospital.id}">Send the guardians’ shares through</label>
        <p class="hint" id="${hospital.field}-hint">
          The hospital whose gateway delivers them to the guardians’ agents.
        </p>
        ${errorMessage(e(hospital.field), hospital.field)}
        <select
          id="${hospital.id}"
          name="hospital"
          aria-describedby="${describedBy(hospital.field, e(hospital.field))}"
          ${ariaInvalid(hospital.field)}
        >
          ${data.hospitals.map(
            (h) =>
              html`<option value="${h.name}" ${form.hospital === h.name ? html` selected` : ''}>${h.name}</option>`,
          )}
        </select>
      </div>
      ${
        again
          ? html`<p class="note">
              Setting it up again makes new shares: the guardians’ agents get new ones, and the old shares no longer
              combine with them. Destroy the old paper codes: they still combine among themselves.
            </p>`
          : ''
      }
      <div class="actions">
        <button type="submit">${again ? 'Set up recovery again' : 'Set up recovery'}</button>
      </div>
    </form>`;
}

function requestRow(r: RecoveryRequest, data: RecoveryPartsData): Html {
  const state = requestState(r, data.now);
  const answer =
    state === 'pending' || state === 'expired'
      ? html`<div class="row-actions">
          ${
            state === 'pending'
              ? html`<a class="button" href="/backup/recovery-requests/${r.requestId}"
                  >Approve…<span class="visually-hidden"> the request for ${r.pseudonym}</span></a
                >`
              : ''
          }
          <form method="post" action="/backup/recovery-requests/${r.requestId}/deny">
            ${csrfField(data.csrfToken)}
            <button type="submit" class="secondary">
              Deny<span class="visually-hidden"> the request for ${r.pseudonym}</span>
            </button>
          </form>
        </div>`
      : html`${r.decidedAt ? when(r.decidedAt) : ''}`;
  return html`<tr data-recovery-request="${r.requestId}" data-state="${state}">
    <th scope="row">${r.pseudonym}</th>
    <td><code class="check-code">${r.checkCode}</code></td>
    <td>${when(r.requestedAt)}</td>
    <td>${when(r.expiresAt)}</td>
    <td>${stateTag(state)}</td>
    <td>${answer}</td>
  </tr>`;
}

function guardianPart(data: RecoveryPartsData): Html {
  const recovery = data.recovery;
  if (!recovery) return html``;
  const guarded =
    recovery.shares.length === 0
      ? html`<p data-guarded="none">No patient has named you a guardian.</p>`
      : html`<p>You keep a sealed share for:</p>
          <ul data-guarded>
            ${recovery.shares.map(
              (s) =>
                html`<li data-guarded-patient="${s.pseudonym}">
                  ${s.pseudonym}: ${shareCountText(s.threshold, s.shareCount)} rebuild their secret (since
                  ${when(s.createdAt)})
                </li>`,
            )}
          </ul>`;
  const requests =
    recovery.requests.length === 0
      ? html`<p data-recovery-requests="none">No recovery request has reached you.</p>`
      : html`<div class="table-wrap">
          <table data-recovery-requests>
            <caption>
              Recovery requests that reached you, newest first
            </caption>
            <thead>
              <tr>
                <th scope="col">Patient</th>
                <th scope="col">Check code</th>
                <th scope="col">Asked</th>
                <th scope="col">Open until</th>
                <th scope="col">Status</th>
                <th scope="col">Your answer</th>
              </tr>
            </thead>
            <tbody>
              ${recovery.requests.map((r) => requestRow(r, data))}
            </tbody>
          </table>
        </div>`;
  return html`${guarded}
    <p>
      When one of them loses their device, their new device asks for your share. Requests arrive with your mail:
      <strong>Check for new records</strong> fetches them. Approve only when the patient has told you the check code
      themselves, in person or by phone.
    </p>
    ${requests}`;
}

export function recoveryParts(data: RecoveryPartsData): Html {
  const problem =
    data.recoveryProblem !== undefined || !data.recovery
      ? html`<div class="notice error" role="alert">
          <h3>Your recovery setup could not be shown</h3>
          <p>${data.recoveryProblem ?? ''}</p>
        </div>`
      : html``;
  return html`<h2 id="recovery-setup">Recovery with guardians</h2>
    <p>
      In case you lose this device and your recovery code, your recovery secret can be split into shares: one for each
      guardian and paper codes you print. You choose how many of them rebuild it; fewer tell nothing.
    </p>
    ${problem} ${data.recovery ? setupStatus(data) : ''} ${setupForm(data)}

    <h2 id="recovery-requests">As a guardian for others</h2>
    ${guardianPart(data)}

    <h2 id="new-device">On a new device</h2>
    <p data-cli-only>
      Restoring and recovering run on the new device before it has an unlocked agent, so they are done in its terminal:
      <code>phr-agent restore --from DIR|gateway</code> with your recovery code, or
      <code>phr-agent recovery start</code> and then <code>phr-agent recovery finish</code> with your guardians and
      paper codes.
    </p>`;
}
