/** What happened: the access log from the ledger, and the agent's notifications. */
import type { Router } from 'express';
import type { PageKit } from './page-kit';
import { accessLogPage } from './pages/access-log';
import { notificationsPage } from './pages/notifications';

export function activityRoutes(router: Router, { api, csrf, send, redirectWith, failure }: PageKit): void {
  router.get('/access-log', async (req, res) => {
    try {
      return send(req, res, accessLogPage(await api.accessLog()));
    } catch (err) {
      const problem = failure(err, 'access log');
      return send(req, res, accessLogPage(undefined, problem.message), problem.status);
    }
  });

  router.get('/notifications', async (req, res) => {
    try {
      return send(req, res, notificationsPage(await api.notifications(), csrf.value));
    } catch (err) {
      const problem = failure(err, 'notifications');
      return send(req, res, notificationsPage(undefined, csrf.value, problem.message), problem.status);
    }
  });

  router.post('/notifications/read', async (req, res) => {
    try {
      await api.markNotificationsRead();
      return redirectWith(res, '/notifications', { kind: 'success', title: 'All notifications marked as read' });
    } catch (err) {
      const problem = failure(err, 'notifications');
      return send(req, res, notificationsPage(undefined, csrf.value, problem.message), problem.status);
    }
  });
}
