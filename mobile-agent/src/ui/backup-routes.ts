/** Backup & recovery: the page, a backup to a hospital, a rebuild, and erasure behind its confirmation. */
import type { Router } from 'express';
import type { BackupReport, RebuildReport } from '../agent-api';
import type { Flash } from './flash';
import { hospitalsOf, type PageKit } from './page-kit';
import { backupPage, ERASE_WORD, eraseConfirmPage, erasedPage } from './pages/backup';
import { problemPage } from './pages/problem';

const GONE = { pseudonym: '', hospitals: [], deliveries: 0, elements: 0, unreadNotifications: 0 };

export function backupRoutes(router: Router, kit: PageKit): void {
  const { api, csrf, agentStatus, send, redirectWith, failure } = kit;

  router.get('/backup', async (req, res) => {
    const agent = await agentStatus();
    const base = { hospitals: hospitalsOf(agent), csrfToken: csrf.value };
    try {
      return send(req, res, backupPage({ ...base, status: await api.backupStatus() }), 200, agent);
    } catch (err) {
      const problem = failure(err, 'backup status');
      return send(req, res, backupPage({ ...base, problem: problem.message }), problem.status, agent);
    }
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
      const error = { id: 'erase-confirm', field: 'confirm', message: `Type ${ERASE_WORD} to confirm the erasure` };
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

function backupFlash(r: BackupReport): Flash {
  const lines = [
    `Backup ${r.backupNumber} of ${r.deliveries} deliveries is kept at ${r.target}, encrypted: only your recovery code opens it.`,
  ];
  if (r.markedBackedUp.length > 0)
    lines.push(`${r.markedBackedUp.length} deliveries are now marked backed up on the ledger.`);
  for (const s of r.skipped) lines.push(`Left out: delivery ${s.deliveryId} (${s.reason}).`);
  if (r.recoveryCode) {
    lines.push(
      `Your recovery code: ${r.recoveryCode}. Write it down now and keep it apart from this device: it opens your backups and moves your records to a new device. It is shown only this once.`,
    );
  }
  return { kind: r.skipped.length > 0 ? 'error' : 'success', title: 'Backup made', lines };
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
