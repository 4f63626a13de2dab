/**
 * Backup & recovery: where the records are backed up, a backup to a folder or to a hospital,
 * recovery with guardians (and, for others, the requests this agent answers as a guardian), what
 * runs only on a new device, a rebuild from the hospitals, and erasure — the last behind a
 * confirmation page where the patient types ERASE, since nothing brings the records back after it.
 */
import type { BackupStatus, ErasureReport } from '../../agent-api';
import { FOLDER_FIELD, type FolderFormValues } from '../backup-folder-form';
import { describedBy, errorFor, errorMessage, errorSummary, type FieldError } from '../form-errors';
import { when } from '../format';
import { html, type Html } from '../html';
import { csrfField, type PageContent } from '../layout';
import { recoveryParts, type RecoveryPartsData } from './recovery';

export interface BackupPageData extends RecoveryPartsData {
  status?: BackupStatus;
  /** Why the status could not be shown. */
  problem?: string;
  folderForm: FolderFormValues;
  /** Why the agent did not back up to the folder (not the field's fault). */
  folderProblem?: string;
}

/** The word the patient types to confirm an erasure. */
export const ERASE_WORD = 'ERASE';

function statusPart(data: BackupPageData): Html {
  if (data.problem !== undefined || !data.status) {
    return html`<div class="notice error" role="alert">
      <h2>Your backups could not be shown</h2>
      <p>${data.problem ?? ''}</p>
    </div>`;
  }
  const s = data.status;
  const places = [...s.gateways.map((g) => `${g} (hospital)`), ...s.folders];
  return html`<dl class="summary-list" data-backup-status>
    <dt>Last backup</dt>
    <dd data-last-backup>
      ${
        s.last
          ? html`Backup ${s.last.backupNumber} of ${s.last.deliveries} deliveries, ${when(s.last.at)}, to ${s.last.to}`
          : 'None yet'
      }
    </dd>
    <dt>Kept at</dt>
    <dd data-backup-places>${places.length > 0 ? places.join(', ') : 'Nowhere yet'}</dd>
    <dt>Recovery code</dt>
    <dd>
      ${s.hasRecoverySecret ? 'Made; you wrote it down when it was shown' : 'Made with your first backup or recovery setup'}
    </dd>
  </dl>`;
}

function folderForm(data: BackupPageData): Html {
  const error = errorFor(data.errors, FOLDER_FIELD.field);
  const { field, id } = FOLDER_FIELD;
  return html`<h2 id="backup-to-folder">Back up to a folder</h2>
    <p>
      A folder on this computer or on a disk you plug in. After the first backup only what is new is written. Keep the
      disk apart from this device.
    </p>
    ${
      data.folderProblem !== undefined
        ? html`<div class="notice error" role="alert">
            <h3>The backup was not made</h3>
            <p>${data.folderProblem}</p>
          </div>`
        : ''
    }
    <form method="post" action="/backup/folder" novalidate aria-labelledby="backup-to-folder">
      ${csrfField(data.csrfToken)}
      <div class="field${error ? ' invalid' : ''}">
        <label for="${id}">Folder</label>
        <p class="hint" id="${field}-hint">
          Its full path, for example /media/usb/health-backup, or ~/health-backup in your home folder. It is made if it
          does not exist; your backup goes into a folder named after your pseudonym inside it.
        </p>
        ${errorMessage(error, field)}
        <input
          type="text"
          id="${id}"
          name="dir"
          value="${data.folderForm.dir}"
          autocomplete="off"
          spellcheck="false"
          aria-describedby="${describedBy(field, error)}"
          ${error ? html` aria-invalid="true"` : ''}
        />
      </div>
      <div class="actions"><button type="submit">Back up to this folder</button></div>
    </form>`;
}

export function backupPage(data: BackupPageData): PageContent {
  const hospitals = data.hospitals;
  return {
    title: 'Backup & recovery',
    section: 'backup',
    hasErrors: data.errors.length > 0 || data.folderProblem !== undefined || data.setupProblem !== undefined,
    body: html`${errorSummary(data.errors)}
      <p class="lead">
        Your records live on this device. A backup keeps an encrypted copy elsewhere, which only your recovery code
        opens; every element is checked against the ledger again when it is restored.
      </p>
      ${statusPart(data)} ${folderForm(data)}

      <h2 id="backup-to-hospital">Back up to a hospital</h2>
      <p>The hospital keeps your backup encrypted; it cannot read it.</p>
      <form method="post" action="/backup" class="actions" aria-labelledby="backup-to-hospital">
        ${csrfField(data.csrfToken)}
        <div class="field">
          <label for="backup-hospital">Hospital</label>
          <select id="backup-hospital" name="hospital">
            ${hospitals.map((h) => html`<option value="${h.name}">${h.name}</option>`)}
          </select>
        </div>
        <button type="submit">Back up now</button>
      </form>

      ${recoveryParts(data)}

      <h2 id="rebuild">Rebuild from the hospitals</h2>
      <p>
        Without a backup, the hospitals that sent you records can send them again, sealed to this device. Each one is
        checked against the ledger before it is stored.
      </p>
      <form method="post" action="/backup/rebuild" class="actions" aria-labelledby="rebuild">
        ${csrfField(data.csrfToken)}
        <button type="submit" class="secondary">Rebuild my records</button>
      </form>

      <h2 id="erase">Erase everything</h2>
      <p>
        Destroys your records at every hospital that keeps them, your backups and this agent, and marks your pseudonym
        erased on the ledger. It cannot be undone.
      </p>
      <p><a class="button secondary" href="/backup/erase">Erase my records…</a></p>`,
  };
}

export function eraseConfirmPage(csrfToken: string, errors: readonly FieldError[] = []): PageContent {
  const error = errors[0];
  return {
    title: 'Erase all your records?',
    section: 'backup',
    hasErrors: errors.length > 0,
    body: html`${errorSummary(errors)}
      <p class="lead">This cannot be undone.</p>
      <ul>
        <li>Every hospital that keeps records or a backup for you destroys them and sends a signed receipt.</li>
        <li>What a hospital must keep by law is kept there, and the receipt says so.</li>
        <li>Your pseudonym is marked erased on the ledger and your consents are revoked.</li>
        <li>The backup folders this agent wrote, its keys and its vault are destroyed.</li>
      </ul>
      <form method="post" action="/backup/erase" novalidate>
        ${csrfField(csrfToken)}
        <div class="field${error ? ' invalid' : ''}">
          <label for="erase-confirm">Type ${ERASE_WORD} to confirm</label>
          <p class="hint" id="confirm-hint">In capital letters.</p>
          ${errorMessage(error, 'confirm')}
          <input
            type="text"
            id="erase-confirm"
            name="confirm"
            autocomplete="off"
            spellcheck="false"
            aria-describedby="${describedBy('confirm', error)}"
            ${error ? html` aria-invalid="true"` : ''}
          />
        </div>
        <div class="actions">
          <button type="submit" class="warning">Erase everything</button>
          <a href="/backup">No, keep my records</a>
        </div>
      </form>`,
  };
}

/** The last page the agent serves: what was destroyed, what each hospital keeps. */
export function erasedPage(report: ErasureReport): PageContent {
  return {
    title: 'Your records are erased',
    body: html`<ul data-erasure>
        ${report.hospitals.map((h) =>
          h.receipt
            ? html`<li data-receipt="${h.receipt.receiptId}">
                ${h.hospital} destroyed
                ${h.receipt.destroyed.map((d) => `${d.count} ${d.what}`).join(', ') || 'nothing it held'} (signed
                receipt ${h.receipt.receiptId}).
                ${h.receipt.kept.map(
                  (k) =>
                    html` It keeps ${k.count} ${k.what}${k.until ? ` until ${k.until.slice(0, 10)}` : ''}: ${k.basis}.`,
                )}
              </li>`
            : html`<li>${h.hospital} could not be reached; it held nothing known for you.</li>`,
        )}
        <li>
          ${report.ledger === 'erased' ? 'The ledger now marks your pseudonym erased' : 'The ledger already marked it erased'};
          your consents are revoked.
        </li>
        ${report.foldersDeleted.map((f) => html`<li>Backup folder deleted: ${f}</li>`)}
        <li>This agent's keys and vault are destroyed. You can close this page.</li>
      </ul>
      <p>A copy of a backup you made elsewhere can still be opened with your recovery code: destroy the code too.</p>`,
  };
}
