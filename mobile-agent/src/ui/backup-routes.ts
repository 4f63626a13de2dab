/**
 * Backup & recovery: the page, a backup to a folder or to a hospital, a rebuild, and erasure
 * behind its confirmation. The recovery forms (setup, a guardian's answers) are in
 * recovery-routes.ts and re-show this page through `showBackupPage` when they need to.
 */
import type { Request, Response, Router } from 'express';
import type { BackupReport, RebuildReport } from '../agent-api';
import { EMPTY_FOLDER_FORM, folderFieldError, readFolderForm, validateFolderForm } from './backup-folder-form';
import type { Flash, OneTimeCodes } from './flash';
import type { FieldError } from './form-errors';
import { hospitalsOf, type PageKit } from './page-kit';
import { backupPage, ERASE_WORD, eraseConfirmPage, erasedPage, type BackupPageData } from './pages/backup';
import { problemPage } from './pages/problem';
import { EMPTY_SETUP_FORM } from './recovery-form';

const GONE = { pseudonym: '', hospitals: [], deliveries: 0, elements: 0, unreadNotifications: 0 };

/** What a re-shown page carries besides the agent's state: the posted form as entered, its errors. */
export type BackupPageInput = Partial<
  Pick<BackupPageData, 'folderForm' | 'setupForm' | 'errors' | 'folderProblem' | 'setupProblem'>
>;

/**
 * The page from the agent's current backup and recovery status; each part the agent cannot give
 * says so in place, and the answer's status is the worse of `status` and theirs.
 */
export async function showBackupPage(
  kit: PageKit,
  req: Request,
  res: Response,
  input: BackupPageInput = {},
  status = 200,
): Promise<void> {
  const { api, csrf, agentStatus, send, failure } = kit;
  const agent = await agentStatus();
  const data: BackupPageData = {
    hospitals: hospitalsOf(agent),
    csrfToken: csrf.value,
    now: Date.now(),
    folderForm: EMPTY_FOLDER_FORM,
    setupForm: EMPTY_SETUP_FORM,
    errors: [],
    ...input,
  };
  let worst = status;
  const [backup, recovery] = await Promise.allSettled([api.backupStatus(), api.recoveryStatus()]);
  if (backup.status === 'fulfilled') data.status = backup.value;
  else {
    const problem = failure(backup.reason, 'backup status');
    data.problem = problem.message;
    worst = Math.max(worst, problem.status);
  }
  if (recovery.status === 'fulfilled') data.recovery = recovery.value;
  else {
    const problem = failure(recovery.reason, 'recovery status');
    data.recoveryProblem = problem.message;
    worst = Math.max(worst, problem.status);
  }
  return send(req, res, backupPage(data), worst, agent);
}

export function backupRoutes(router: Router, kit: PageKit): void {
  const { api, csrf, agentStatus, send, redirectWith, failure } = kit;

  router.get('/backup', (req, res) => showBackupPage(kit, req, res));

  router.post('/backup/folder', async (req, res) => {
    const folderForm = readFolderForm(req.body as Record<string, unknown>);
    const checked = validateFolderForm(folderForm);
    if (!checked.ok) return showBackupPage(kit, req, res, { folderForm, errors: checked.errors }, 422);
    let report: BackupReport;
    try {
      report = await api.backup({ to: 'folder', dir: checked.dir });
    } catch (err) {
      const inPlace = folderFieldError(err);
      if (inPlace) {
        failure(err, 'backup to a folder'); // logged; the field says what to do
        return showBackupPage(kit, req, res, { folderForm, errors: [inPlace] }, 422);
      }
      const problem = failure(err, 'backup to a folder');
      return showBackupPage(kit, req, res, { folderForm, folderProblem: problem.message }, problem.status);
    }
    return redirectWith(res, '/backup', backupFlash(report));
  });

  router.post('/backup', async (req, res) => {
    const hospital = (req.body as Record<string, unknown>).hospital;
    const known = hospitalsOf(await agentStatus()).some((h) => h.name === hospital);
    if (typeof hospital !== 'string' || !known) {
      return redirectWith(res, '/backup', { kind: 'error', title: 'Choose a hospital from the list' });
    }
    try {
      return redirectWith(res, '/backup', backupFlash(await api.backup({ to: 'gateway', hospital })));
    } catch (err) {
      return redirectWith(res, '/backup', {
        kind: 'error',
        title: 'The backup was not made',
        lines: [failure(err, 'backup').message],
      });
    }
  });

  router.post('/backup/rebuild', async (_req, res) => {
    try {
      return redirectWith(res, '/backup', rebuildFlash(await api.rebuild()));
    } catch (err) {
      return redirectWith(res, '/backup', {
        kind: 'error',
        title: 'Your records could not be rebuilt',
        lines: [failure(err, 'rebuild').message],
      });
    }
  });

  router.get('/backup/erase', (req, res) => send(req, res, eraseConfirmPage(csrf.value)));

  router.post('/backup/erase', async (req, res) => {
    if ((req.body as Record<string, unknown>).confirm !== ERASE_WORD) {
      const error: FieldError = {
        id: 'erase-confirm',
        field: 'confirm',
        message: `Type ${ERASE_WORD} to confirm the erasure`,
      };
      return send(req, res, eraseConfirmPage(csrf.value, [error]), 422);
    }
    try {
      const report = await api.erase();
      // Rendered here, not redirected to, and without asking the agent for its status: it is gone.
      return send(req, res, erasedPage(report), 200, GONE);
    } catch (err) {
      const problem = failure(err, 'erase');
      return send(req, res, problemPage('Your records were not erased', problem.message), problem.status);
    }
  });
}

/** The recovery code, for the notice that shows it the one time the agent hands it out. */
export function recoveryCodeBlock(code: string): OneTimeCodes {
  return {
    title: 'Your recovery code',
    about:
      'It alone opens your backups and moves your records to a new device. Keep it apart from this device, where only you can find it.',
    codes: [code],
  };
}

function backupFlash(r: BackupReport): Flash {
  const lines = [
    `Backup ${r.backupNumber} of ${r.deliveries} deliveries is kept at ${r.target}, encrypted: only your recovery code opens it.`,
  ];
  if (r.kind === 'folder') lines.push(`${r.written} written now, ${r.reused} already there and kept.`);
  if (r.markedBackedUp.length > 0)
    lines.push(`${r.markedBackedUp.length} deliveries are now marked backed up on the ledger.`);
  for (const s of r.skipped) lines.push(`Left out: delivery ${s.deliveryId} (${s.reason}).`);
  return {
    kind: r.skipped.length > 0 ? 'error' : 'success',
    title: 'Backup made',
    lines,
    ...(r.recoveryCode ? { codes: [recoveryCodeBlock(r.recoveryCode)] } : {}),
  };
}

function rebuildFlash(r: RebuildReport): Flash {
  const rebuilt = r.rows.filter((row) => row.result === 'rebuilt');
  const missing = r.rows.filter((row) => row.result === 'not-rebuilt');
  const lines = [
    ...rebuilt.map(
      (row) => `Delivery ${row.deliveryId} from ${row.hospital}: rebuilt and verified against the ledger.`,
    ),
    ...missing.map(
      (row) => `Delivery ${row.deliveryId} from ${row.hospital}: not rebuilt — ${row.reason ?? 'no reason given'}.`,
    ),
  ];
  if (r.rows.length === 0) lines.push('The ledger records no delivery to you: there is nothing to rebuild.');
  else if (lines.length === 0) lines.push('Every delivery on the ledger is already on this device.');
  return {
    kind: missing.length > 0 ? 'error' : 'success',
    title: `${rebuilt.length} deliver${rebuilt.length === 1 ? 'y' : 'ies'} rebuilt${missing.length > 0 ? `, ${missing.length} not` : ''}`,
    lines,
  };
}
