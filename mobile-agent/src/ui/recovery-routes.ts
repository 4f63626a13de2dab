/**
 * Recovery on Backup & recovery: the patient's setup (guardians, paper codes, threshold), and a
 * guardian's answers to the recovery requests that reached this agent — approve (after a
 * confirmation page showing the check code) or deny — the same agent calls as
 * `phr-agent recovery setup|approve|deny`.
 */
import { isRecordId } from '@phr/common';
import type { Router } from 'express';
import type { GuardianDecision, RecoverySetup } from '../agent-api';
import { recoveryCodeBlock, showBackupPage } from './backup-routes';
import type { Flash, OneTimeCodes } from './flash';
import { hospitalsOf, type PageKit } from './page-kit';
import { approveRecoveryPage } from './pages/approve-recovery';
import { problemPage } from './pages/problem';
import { readSetupForm, setupFieldError, validateSetupForm } from './recovery-form';

const NO_SUCH_REQUEST = problemPage(
  'Recovery request not found',
  'No recovery request with this reference reached your agent. Check for new records, then look at Backup & recovery.',
);

export function recoveryRoutes(router: Router, kit: PageKit): void {
  const { api, csrf, agentStatus, send, redirectWith, failure } = kit;

  router.post('/backup/recovery', async (req, res) => {
    const setupForm = readSetupForm(req.body as Record<string, unknown>);
    const agent = await agentStatus();
    const checked = validateSetupForm(setupForm, {
      ...(agent ? { self: agent.pseudonym } : {}),
      hospitals: hospitalsOf(agent).map((h) => h.name),
    });
    if (!checked.ok) return showBackupPage(kit, req, res, { setupForm, errors: checked.errors }, 422);
    let setup: RecoverySetup;
    try {
      setup = await api.setupRecovery(checked.options);
    } catch (err) {
      const problem = failure(err, 'recovery setup');
      const inPlace = setupFieldError(err);
      if (inPlace) return showBackupPage(kit, req, res, { setupForm, errors: [inPlace] }, 422);
      return showBackupPage(kit, req, res, { setupForm, setupProblem: problem.message }, problem.status);
    }
    return redirectWith(res, '/backup', setupFlash(setup));
  });

  router.get('/backup/recovery-requests/:id', async (req, res) => {
    const id = req.params.id;
    const agent = await agentStatus();
    try {
      const request = isRecordId(id)
        ? (await api.recoveryStatus()).requests.find((r) => r.requestId === id)
        : undefined;
      if (!request) return send(req, res, NO_SUCH_REQUEST, 404, agent);
      if (request.status !== 'pending') {
        return redirectWith(res, '/backup', {
          kind: 'success',
          title: `You already ${request.status} this request`,
          lines: [`The recovery request for ${request.pseudonym} was ${request.status}; nothing more is needed.`],
        });
      }
      return send(req, res, approveRecoveryPage(request, csrf.value, Date.now()), 200, agent);
    } catch (err) {
      const problem = failure(err, 'recovery request');
      return send(req, res, problemPage('The request could not be shown', problem.message), problem.status, agent);
    }
  });

  router.post('/backup/recovery-requests/:id/approve', async (req, res) => {
    const id = req.params.id;
    if (!isRecordId(id)) return send(req, res, NO_SUCH_REQUEST, 404);
    try {
      return redirectWith(res, '/backup', decisionFlash(await api.approveRecovery(id)));
    } catch (err) {
      return redirectWith(res, '/backup', {
        kind: 'error',
        title: 'Your share was not sent',
        lines: [failure(err, 'recovery approve').message],
      });
    }
  });

  router.post('/backup/recovery-requests/:id/deny', async (req, res) => {
    const id = req.params.id;
    if (!isRecordId(id)) return send(req, res, NO_SUCH_REQUEST, 404);
    try {
      return redirectWith(res, '/backup', decisionFlash(await api.denyRecovery(id)));
    } catch (err) {
      return redirectWith(res, '/backup', {
        kind: 'error',
        title: 'The request was not denied',
        lines: [failure(err, 'recovery deny').message],
      });
    }
  });
}

function setupFlash(s: RecoverySetup): Flash {
  const lines = [
    `Any ${s.threshold} of these ${s.shareCount} shares rebuild your recovery secret; fewer tell nothing.`,
  ];
  if (s.guardians.length > 0) {
    lines.push(
      `Guardians: ${s.guardians.join(', ')}. Each one’s agent got a sealed share through ${s.hospital}; they cannot see your records.`,
    );
  }
  lines.push(
    'If you set up recovery before, destroy the paper codes of that setup: they still combine among themselves.',
  );
  const codes: OneTimeCodes[] = [];
  if (s.paperCodes.length > 0) {
    codes.push({
      title: s.paperCodes.length === 1 ? 'Your paper code' : 'Your paper codes',
      about:
        'Each one is a share. Keep them in different places, apart from this device; a typing mistake is caught by the code’s check.',
      codes: s.paperCodes,
    });
  }
  if (s.recoveryCode) codes.push(recoveryCodeBlock(s.recoveryCode));
  return { kind: 'success', title: 'Recovery is set up', lines, ...(codes.length > 0 ? { codes } : {}) };
}

function decisionFlash(d: GuardianDecision): Flash {
  return d.outcome === 'approved'
    ? {
        kind: 'success',
        title: 'Approved: your share was sent',
        lines: [
          `Your share for ${d.pseudonym} went to the device that asked, through ${d.hospital}. Their access log shows your approval.`,
        ],
      }
    : {
        kind: 'success',
        title: 'Denied: nothing was sent',
        lines: [`${d.pseudonym}’s access log shows your refusal.`],
      };
}
