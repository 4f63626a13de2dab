/** The records: the list with its search and trends, one record's page, the export, and "check for new records". */
import { isRecordId } from '@phr/common';
import type { Router } from 'express';
import type { AgentStatus } from '../agent-api';
import type { VaultDelivery } from '../vault/vault-types';
import type { Flash } from './flash';
import { localDateInput } from './format';
import { SECTIONS } from './layout';
import { hospitalsOf, type PageKit } from './page-kit';
import { problemPage } from './pages/problem';
import { recordPage } from './pages/record';
import { recordsPage } from './pages/records';
import { exportQuery, parseRecordsFilter, readRecordsFilter, searchRecords } from './records-search';
import { syncFlash } from './sync-report';
import { searchTrends } from './trends/trend-search';

export function recordRoutes(router: Router, { api, flashes, agentStatus, send, failure }: PageKit): void {
  router.get('/records', async (req, res) => {
    const filter = readRecordsFilter(req.query);
    const parsed = parseRecordsFilter(filter);
    const agent = await agentStatus();
    const search = new URLSearchParams(Object.entries(filter).filter(([, v]) => v !== '')).toString();
    const exportHref = `/export.json${search ? `?${search}` : ''}`;
    if (parsed.errors.length > 0) {
      return send(req, res, recordsPage({ filter, errors: parsed.errors, senders: new Map(), exportHref }), 400, agent);
    }
    try {
      const [result, deliveries, trends] = await Promise.all([
        searchRecords(api, parsed),
        api.deliveries(),
        searchTrends(api, parsed),
      ]);
      const senders = senderNames(deliveries, agent);
      return send(req, res, recordsPage({ filter, errors: [], result, trends, senders, exportHref }), 200, agent);
    } catch (err) {
      const problem = failure(err, 'records');
      return send(
        req,
        res,
        recordsPage({ filter, errors: [], senders: new Map(), problem: problem.message, exportHref }),
        problem.status,
        agent,
      );
    }
  });

  router.get('/records/:deliveryId/:segmentId', async (req, res) => {
    const { deliveryId, segmentId } = req.params;
    const agent = await agentStatus();
    const notFound = () =>
      send(
        req,
        res,
        problemPage('Record not found', 'There is no record at this address on this device; see your records.'),
        404,
        agent,
      );
    if (!isRecordId(deliveryId) || !isRecordId(segmentId)) return notFound();
    try {
      const [rows, deliveries] = await Promise.all([api.records({ deliveryId, kind: 'resource' }), api.deliveries()]);
      const row = rows.find((r) => r.segmentId === segmentId);
      if (!row) return notFound();
      const sender = senderNames(deliveries, agent).get(deliveryId);
      return send(req, res, recordPage({ row, ...(sender !== undefined ? { sender } : {}) }), 200, agent);
    } catch (err) {
      const problem = failure(err, 'record');
      return send(req, res, problemPage('This record could not be shown', problem.message), problem.status, agent);
    }
  });

  router.get('/export.json', async (req, res) => {
    const parsed = parseRecordsFilter(readRecordsFilter(req.query));
    if (parsed.errors.length > 0) {
      return send(
        req,
        res,
        problemPage('The export could not be made', parsed.errors.map((e) => e.message).join('. ')),
        400,
      );
    }
    try {
      const bundle = await api.exportBundle(exportQuery(parsed));
      res.set({
        'Content-Type': 'application/fhir+json; charset=utf-8',
        'Content-Disposition': `attachment; filename="health-records-${localDateInput(new Date())}.json"`,
      });
      res.send(JSON.stringify(bundle, null, 2));
    } catch (err) {
      const problem = failure(err, 'export');
      return send(req, res, problemPage('The export could not be made', problem.message), problem.status);
    }
  });

  // The header's "Check for new records", from any page: back to that page with what was found.
  router.post('/sync', async (req, res) => {
    const back = returnPath((req.body as Record<string, unknown>).return);
    let flash: Flash;
    try {
      flash = syncFlash(await api.sync());
    } catch (err) {
      flash = { kind: 'error', title: 'Could not check for new records', lines: [failure(err, 'sync').message] };
    }
    const [path, search = ''] = back.split('?');
    const params = new URLSearchParams(search);
    params.set('notice', flashes.put(flash));
    res.redirect(303, `${path}?${params.toString()}`);
  });
}

/** Delivery id → the hospital that sent it, by name where the agent knows it. */
function senderNames(deliveries: readonly VaultDelivery[], agent: AgentStatus | undefined): Map<string, string> {
  const names = new Map(hospitalsOf(agent).map((h) => [h.mspId, h.name]));
  return new Map(deliveries.map((d) => [d.deliveryId, names.get(d.sender) ?? d.sender]));
}

/** A record's own page: "Check for new records" there comes back to it. */
const RECORD_PATH = /^\/records\/[A-Za-z0-9._-]{8,128}\/[A-Za-z0-9._-]{8,128}$/;

/** Only our own sections may be a way back: no open redirect through the sync form. */
function returnPath(value: unknown): string {
  if (typeof value !== 'string' || !value.startsWith('/') || value.startsWith('//')) return '/records';
  const url = new URL(value, 'http://ui.invalid');
  if (url.origin !== 'http://ui.invalid') return '/records';
  const allowed = SECTIONS.some((s) => url.pathname === s.path) || RECORD_PATH.test(url.pathname);
  url.searchParams.delete('notice');
  return allowed ? url.pathname + url.search : '/records';
}
