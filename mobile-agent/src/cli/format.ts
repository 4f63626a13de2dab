import type { ConsentRecord } from '@phr/common';
import type { AccessLogEntry, SyncReport, VerifyReport } from '../agent-api';
import { PURPOSE_TEXT } from '../access-log/describe';
import { studyGranteeText } from '../consent/study-grantee';
import type { AgentNotification, VaultElement } from '../vault/vault-types';

/** Plain-text tables and sentences for the terminal; `--json` gives the raw shapes instead. */

export function table(headers: string[], rows: string[][]): string {
  if (rows.length === 0) return '';
  const widths = headers.map((h, i) => Math.min(60, Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length))));
  const line = (cells: string[]) =>
    cells
      .map((c, i) => {
        const w = widths[i] as number;
        const text = c.length > w ? `${c.slice(0, w - 1)}…` : c;
        return i === cells.length - 1 ? text : text.padEnd(w);
      })
      .join('  ');
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n') + '\n';
}

export function day(iso: string | undefined): string {
  return iso ? iso.slice(0, 10) : '';
}

export function minute(iso: string): string {
  return iso.replace('T', ' ').slice(0, 16);
}

export function formatRecords(elements: VaultElement[]): string {
  const rows = elements.map(({ element: e }) => [
    day(e.time),
    e.resourceType,
    e.display ?? e.code ?? '',
    e.value === undefined ? '' : `${String(e.value)}${e.unit ? ` ${e.unit}` : ''}`,
    e.system && e.code ? `${e.system}|${e.code}` : '',
  ]);
  return table(['date', 'type', 'what', 'value', 'code'], rows) || 'No records match.\n';
}

export function formatConsents(consents: ConsentRecord[]): string {
  const rows = consents.map((c) => [
    c.consentId,
    c.status,
    c.grantee.kind === 'study'
      ? studyGranteeText(c.grantee.id)
      : `${c.grantee.id}${c.grantee.kind === 'identity' ? ' (one identity)' : ''}`,
    [...c.scope.categories, ...c.scope.codes.map((k) => `${k.system}|${k.code}`)].join(', '),
    c.purposes.map((p) => PURPOSE_TEXT[p]).join(', '),
    `${day(c.period.start)} → ${day(c.period.end)}`,
  ]);
  return (
    table(['consent', 'status', 'who', 'what', 'purpose', 'period'], rows) || 'You have not granted any consent.\n'
  );
}

export function formatAccessLog(entries: AccessLogEntry[]): string {
  if (entries.length === 0) return 'Nobody has accessed your records yet.\n';
  return entries.map((e) => `${minute(e.at)}  ${e.breakGlass ? '⚠ ' : ''}${e.summary}`).join('\n') + '\n';
}

export function formatNotifications(notes: AgentNotification[]): string {
  if (notes.length === 0) return 'No notifications.\n';
  return notes.map((n) => `${n.read ? ' ' : '•'} ${minute(n.createdAt)}  ${n.message}`).join('\n') + '\n';
}

export function formatSync(r: SyncReport): string {
  const lines = r.deliveries.map((d) =>
    d.result === 'refused'
      ? `refused  ${d.deliveryId} from ${d.hospital}: ${d.detail ?? d.reason ?? ''}`
      : `${d.result === 'stored' ? 'stored  ' : 'had     '} ${d.deliveryId} from ${d.hospital}`,
  );
  for (const q of r.requests) {
    lines.push(
      q.result === 'answered'
        ? `answered ${q.breakGlass ? 'EMERGENCY ' : ''}request ${q.requestId} via ${q.hospital}: ${q.elements} element(s) sent`
        : `${q.result} request ${q.requestId} via ${q.hospital}${q.detail ? `: ${q.detail}` : ''}`,
    );
  }
  const stored = r.deliveries.filter((d) => d.result === 'stored').length;
  const refused = r.deliveries.filter((d) => d.result === 'refused').length;
  lines.push(
    `${stored} new deliver${stored === 1 ? 'y' : 'ies'} stored, ${refused} refused, ${r.newAccessEvents} new access event(s).`,
  );
  if (r.newStudies > 0) {
    lines.push(
      `${r.newStudies} new research offer(s) match your records: \`phr-agent research list\` (nothing is shared unless you accept).`,
    );
  }
  for (const h of r.unreachable) lines.push(`${h} could not be reached; its mail waits there.`);
  return lines.join('\n') + '\n';
}

export function formatVerify(r: VerifyReport): string {
  const lines = r.mismatches.map((m) => `MISMATCH  ${m.elementId} (delivery ${m.deliveryId}): ${m.reason}`);
  lines.push(
    r.mismatches.length === 0
      ? `All ${r.elementsChecked} elements of ${r.deliveriesChecked} deliveries match the ledger.`
      : `${r.mismatches.length} of ${r.elementsChecked} elements do not match the ledger.`,
  );
  return lines.join('\n') + '\n';
}
