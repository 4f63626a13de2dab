/**
 * Consents: who may read which records for what purpose, in force and ended, each in force one
 * with a way to revoke it; and the form to give a new consent. The form works without script,
 * keeps what was entered when something is wrong, and names every problem next to its field.
 */
import { PURPOSES_OF_USE, type ConsentRecord } from '@phr/common';
import type { GrantFormValues } from '../consent-form';
import { describedBy, errorFor, errorMessage, errorSummary, type FieldError } from '../form-errors';
import { CATEGORIES_BY_LABEL, CATEGORY_LABELS, consentState, granteeText, PURPOSE_LABELS, scopeText } from '../format';
import { html, type Html } from '../html';
import { csrfField, type PageContent } from '../layout';
import { periodText, purposesText, statusTag } from './consent-text';

export interface ConsentsPageData {
  consents?: ConsentRecord[];
  /** Why the list could not be shown. */
  problem?: string;
  hospitals: readonly { name: string; mspId: string }[];
  now: number;
  form: GrantFormValues;
  errors: FieldError[];
  /** The agent or ledger refused an otherwise valid grant. */
  grantProblem?: string;
  csrfToken: string;
}

function consentRow(c: ConsentRecord, data: ConsentsPageData, revocable: boolean): Html {
  const who = granteeText(c.grantee, data.hospitals);
  return html`<tr
    id="consent-${c.consentId}"
    data-consent-id="${c.consentId}"
    data-status="${consentState(c, data.now)}"
  >
    <th scope="row">${who}</th>
    <td>${scopeText(c.scope)}</td>
    <td>${purposesText(c)}</td>
    <td>${periodText(c)}</td>
    <td>${statusTag(c, data.now)}</td>
    ${
      revocable
        ? html`<td>
            <a class="button secondary" href="/consents/${c.consentId}/revoke"
              >Revoke<span class="visually-hidden"> consent for ${who}</span></a
            >
          </td>`
        : ''
    }
  </tr>`;
}

function consentTable(
  id: string,
  caption: string,
  list: readonly ConsentRecord[],
  data: ConsentsPageData,
  revocable: boolean,
): Html {
  return html`<div class="table-wrap" role="region" aria-labelledby="${id}" tabindex="0">
    <table data-consents="${id}">
      <caption>
        <h2 id="${id}">${caption}</h2>
      </caption>
      <thead>
        <tr>
          <th scope="col">Who</th>
          <th scope="col">Which records</th>
          <th scope="col">Purposes</th>
          <th scope="col">Period</th>
          <th scope="col">Status</th>
          ${revocable ? html`<th scope="col"><span class="visually-hidden">Action</span></th>` : ''}
        </tr>
      </thead>
      <tbody>
        ${list.map((c) => consentRow(c, data, revocable))}
      </tbody>
    </table>
  </div>`;
}

function consentLists(data: ConsentsPageData): Html {
  if (data.problem !== undefined || !data.consents) {
    return html`<div class="notice error" role="alert">
      <h2>Your consents could not be shown</h2>
      <p>${data.problem ?? ''}</p>
    </div>`;
  }
  if (data.consents.length === 0) return html`<p>You have not given anyone access yet.</p>`;
  const newestFirst = [...data.consents].sort((a, b) => b.grantedAt.localeCompare(a.grantedAt));
  const inForce = newestFirst.filter((c) => ['active', 'not-started'].includes(consentState(c, data.now)));
  const ended = newestFirst.filter((c) => !inForce.includes(c));
  return html`${
    inForce.length > 0
      ? consentTable('in-force', 'In force', inForce, data, true)
      : html`<h2>In force</h2>
          <p>No consent is in force: nobody may read your records, except in an emergency.</p>`
  }
  ${ended.length > 0 ? consentTable('ended', 'Revoked or ended', ended, data, false) : ''}`;
}

function checkbox(name: string, id: string, value: string, label: string, checked: boolean, hint?: string): Html {
  return html`<div class="choice">
    <input
      type="checkbox"
      id="${id}"
      name="${name}"
      value="${value}"
      ${checked ? html` checked` : ''}${hint ? html` aria-describedby="${id}-hint"` : ''}
    />
    <label for="${id}">${label}${hint ? html`<span class="hint" id="${id}-hint">${hint}</span>` : ''}</label>
  </div>`;
}

function radio(id: string, value: string, label: string, checked: boolean): Html {
  return html`<div class="choice">
    <input type="radio" id="${id}" name="granteeKind" value="${value}" ${checked ? html` checked` : ''} />
    <label for="${id}">${label}</label>
  </div>`;
}

function grantForm(data: ConsentsPageData): Html {
  const { form, errors } = data;
  const e = (field: string) => errorFor(errors, field);
  const invalid = (field: string) => (e(field) ? ' invalid' : '');
  const ariaInvalid = (field: string) => (e(field) ? html` aria-invalid="true"` : '');
  const known = data.hospitals.map((h) => `${h.name} (${h.mspId})`).join(', ');
  return html`<h2 id="grant">Give access</h2>
    ${errorSummary(errors)}
    ${
      data.grantProblem !== undefined
        ? html`<div class="notice error" role="alert">
            <h2>The consent was not given</h2>
            <p>${data.grantProblem}</p>
          </div>`
        : ''
    }
    <form method="post" action="/consents" novalidate aria-labelledby="grant">
      ${csrfField(data.csrfToken)}
      <fieldset
        class="field${invalid('granteeKind')}"
        ${e('granteeKind') ? html` aria-describedby="granteeKind-error"` : ''}
      >
        <legend>Who gets access?</legend>
        ${errorMessage(e('granteeKind'), 'granteeKind')}
        ${radio('grantee-kind-organization', 'organization', 'An organisation, such as a hospital', form.granteeKind === 'organization')}
        ${radio('grantee-kind-identity', 'identity', 'One person, by their identity key', form.granteeKind === 'identity')}
      </fieldset>
      <div class="field${invalid('granteeId')}">
        <label for="grantee-id">Their ID</label>
        <p class="hint" id="granteeId-hint">
          For an organisation, its ledger ID, for example
          Hospital1MSP.${known ? ` Hospitals that send you records: ${known}.` : ''}
        </p>
        ${errorMessage(e('granteeId'), 'granteeId')}
        <input
          type="text"
          id="grantee-id"
          name="granteeId"
          value="${form.granteeId}"
          list="known-hospitals"
          autocomplete="off"
          spellcheck="false"
          aria-describedby="${describedBy('granteeId', e('granteeId'))}"
          ${ariaInvalid('granteeId')}
        />
        <datalist id="known-hospitals">
          ${data.hospitals.map((h) => html`<option value="${h.mspId}">${h.name}</option>`)}
        </datalist>
      </div>
      <fieldset class="field${invalid('categories')}" aria-describedby="${describedBy('categories', e('categories'))}">
        <legend>Which records?</legend>
        <p class="hint" id="categories-hint">Choose kinds of records, or enter exact codes below, or both.</p>
        ${errorMessage(e('categories'), 'categories')}
        <div class="choices">
          ${CATEGORIES_BY_LABEL.map((c) => checkbox('categories', `category-${c}`, c, CATEGORY_LABELS[c], form.categories.includes(c)))}
        </div>
      </fieldset>
      <div class="field${invalid('codes')}">
        <label for="codes">Exact codes (optional)</label>
        <p class="hint" id="codes-hint">One per line, as code system|code, for example http://loinc.org|4548-4</p>
        ${errorMessage(e('codes'), 'codes')}
        <textarea
          id="codes"
          name="codes"
          rows="3"
          spellcheck="false"
          aria-describedby="${describedBy('codes', e('codes'))}"
          ${ariaInvalid('codes')}
        >
${form.codes}</textarea>
      </div>
      <fieldset class="field${invalid('purposes')}" aria-describedby="${describedBy('purposes', e('purposes'))}">
        <legend>For what purpose?</legend>
        <p class="hint" id="purposes-hint">They may read the records only for the purposes you choose.</p>
        ${errorMessage(e('purposes'), 'purposes')}
        <div class="choices">
          ${PURPOSES_OF_USE.map((p) => checkbox('purposes', `purpose-${p}`, p, `${PURPOSE_LABELS[p].label} (${p})`, form.purposes.includes(p), PURPOSE_LABELS[p].hint))}
        </div>
      </fieldset>
      <div class="field${invalid('start')}">
        <label for="start">Starts on (optional)</label>
        <p class="hint" id="start-hint">Leave empty to start now.</p>
        ${errorMessage(e('start'), 'start')}
        <input
          type="date"
          id="start"
          name="start"
          value="${form.start}"
          aria-describedby="${describedBy('start', e('start'))}"
          ${ariaInvalid('start')}
        />
      </div>
      <div class="field${invalid('end')}">
        <label for="end">Last day</label>
        <p class="hint" id="end-hint">The consent ends at the end of this day.</p>
        ${errorMessage(e('end'), 'end')}
        <input
          type="date"
          id="end"
          name="end"
          value="${form.end}"
          aria-describedby="${describedBy('end', e('end'))}"
          ${ariaInvalid('end')}
        />
      </div>
      <div class="actions"><button type="submit">Give access</button></div>
    </form>`;
}

export function consentsPage(data: ConsentsPageData): PageContent {
  return {
    title: 'Consents',
    section: 'consents',
    hasErrors: data.errors.length > 0 || data.grantProblem !== undefined,
    body: html`<p class="lead">
        Who may read your records, which ones and why. Each consent is recorded on the ledger; hospitals check it before
        they read anything.
      </p>
      ${consentLists(data)} ${grantForm(data)}`,
  };
}
