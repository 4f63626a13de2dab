/**
 * How a form says what is wrong: an error summary at the top (role="alert", each message a link
 * to its field) and the same message beside the field, tied to it with aria-describedby — the
 * pattern screen reader and keyboard users can act on without hunting.
 */
import { html, type Html } from './html';

export interface FieldError {
  /** The id of the control to jump to (the first one of a group). */
  id: string;
  /** The field (or group) the message belongs to, for showing it in place. */
  field: string;
  message: string;
}

export function errorSummary(errors: readonly FieldError[]): Html {
  if (errors.length === 0) return html``;
  return html`<div class="error-summary" role="alert" aria-labelledby="error-summary-title" data-error-summary>
    <h2 id="error-summary-title">There is a problem</h2>
    <ul>
      ${errors.map((e) => html`<li><a href="#${e.id}">${e.message}</a></li>`)}
    </ul>
  </div>`;
}

export function errorFor(errors: readonly FieldError[], field: string): FieldError | undefined {
  return errors.find((e) => e.field === field);
}

/** The in-place message; its id is what the control's aria-describedby points at. */
export function errorMessage(error: FieldError | undefined, field: string): Html {
  return error
    ? html`<p class="error-message" id="${field}-error">
        <span class="visually-hidden">Error: </span>${error.message}
      </p>`
    : html``;
}

/** aria-describedby value: the hint and, when there is one, the error. */
export function describedBy(field: string, error: FieldError | undefined, hasHint = true): string {
  return [hasHint ? `${field}-hint` : '', error ? `${field}-error` : ''].filter(Boolean).join(' ');
}
