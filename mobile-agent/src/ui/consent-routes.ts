/** Consents: the list with the grant form, granting, and revoking (a confirmation page, then the revocation). */
import { isRecordId } from '@phr/common';
import type { Request, Response, Router } from 'express';
import {
  agentFieldError,
  EMPTY_GRANT_FORM,
  readGrantForm,
  validateGrantForm,
  type GrantFormValues,
} from './consent-form';
import type { FieldError } from './form-errors';
import { granteeText, scopeText } from './format';
import { hospitalsOf, type PageKit } from './page-kit';
import { consentsPage } from './pages/consents';
import { problemPage } from './pages/problem';
import { revokeConsentPage } from './pages/revoke-consent';

export function consentRoutes(router: Router, kit: PageKit): void {
  const { api, csrf, agentStatus, send, redirectWith, failure } = kit;

  /** The consents page with the grant form as entered, its errors, and the status to answer with. */
  async function showConsents(
    req: Request,
    res: Response,
    form: GrantFormValues,
    errors: FieldError[],
    status: number,
    grantProblem?: string,
  ): Promise<void> {
    const agent = await agentStatus();
    const base = { hospitals: agent?.hospitals ?? [], now: Date.now(), form, errors, csrfToken: csrf.value };
    const extra = grantProblem !== undefined ? { grantProblem } : {};
    try {
      const consents = await api.consents();
      return send(req, res, consentsPage({ ...base, ...extra, consents }), status, agent);
    } catch (err) {
      const problem = failure(err, 'consents');
      return send(
        req,
        res,
        consentsPage({ ...base, ...extra, problem: problem.message }),
        Math.max(status, problem.status),
        agent,
      );
    }
  }

  router.get('/consents', (req, res) => showConsents(req, res, EMPTY_GRANT_FORM, [], 200));

  router.post('/consents', async (req, res) => {
    const form = readGrantForm(req.body as Record<string, unknown>);
    const checked = validateGrantForm(form, new Date());
    if (!checked.ok) return showConsents(req, res, form, checked.errors, 422);
    let granted;
    try {
      granted = await api.grantConsent(checked.request);
    } catch (err) {
      const inPlace = agentFieldError(err);
      if (inPlace) return showConsents(req, res, form, [inPlace], 422);
      const problem = failure(err, 'grant');
      return showConsents(req, res, form, [], problem.status, problem.message);
    }
    const hospitals = (await agentStatus())?.hospitals ?? [];
    redirectWith(
      res,
      '/consents',
      {
        kind: 'success',
        title: 'Consent given',
        lines: [
          `${granteeText(granted.grantee, hospitals)} may now read: ${scopeText(granted.scope)}. The ledger has recorded it.`,
        ],
      },
      `#consent-${granted.consentId}`,
    );
  });

  router.get('/consents/:id/revoke', async (req, res) => {
    const id = req.params.id;
    const agent = await agentStatus();
    try {
      const consent = isRecordId(id) ? (await api.consents()).find((c) => c.consentId === id) : undefined;
      if (!consent)
        return send(
          req,
          res,
          problemPage(
            'Consent not found',
            'There is no consent with this reference. It may have been removed from the list; see your consents.',
          ),
          404,
          agent,
        );
      if (consent.status === 'revoked') {
        return redirectWith(res, '/consents', { kind: 'success', title: 'This consent was already revoked' });
      }
      return send(req, res, revokeConsentPage(consent, hospitalsOf(agent), csrf.value, Date.now()), 200, agent);
    } catch (err) {
      const problem = failure(err, 'consents');
      return send(req, res, problemPage('Your consents could not be shown', problem.message), problem.status, agent);
    }
  });

  router.post('/consents/:id/revoke', async (req, res) => {
    const id = req.params.id;
    if (!isRecordId(id))
      return send(req, res, problemPage('Consent not found', 'There is no consent with this reference.'), 404);
    try {
      const revoked = await api.revokeConsent(id);
      const who = granteeText(revoked.grantee, hospitalsOf(await agentStatus()));
      return redirectWith(res, '/consents', {
        kind: 'success',
        title: 'Consent revoked',
        lines: [`${who} can no longer read ${scopeText(revoked.scope)}. The ledger has recorded the revocation.`],
      });
    } catch (err) {
      const problem = failure(err, 'revoke');
      return send(req, res, problemPage('The consent was not revoked', problem.message), problem.status);
    }
  });
}
