/** "Check for new records" as the patient reads the outcome: what arrived, what was refused, who was unreachable. */
import type { SyncReport } from '../agent-api';
import type { Flash } from './flash';

export function syncFlash(report: SyncReport): Flash {
  const lines: string[] = [];
  const stored = report.deliveries.filter((d) => d.result === 'stored');
  const refused = report.deliveries.filter((d) => d.result === 'refused');
  for (const d of stored) lines.push(`New records from ${d.hospital} were checked against the ledger and stored.`);
  for (const d of refused) {
    const why = [d.reason, d.detail].filter(Boolean).join(': ');
    lines.push(`Records from ${d.hospital} were refused${why ? ` (${why})` : ''}; the ledger has been told.`);
  }
  for (const q of report.requests) {
    if (q.result === 'answered') {
      lines.push(
        `${q.breakGlass ? 'EMERGENCY access: ' : ''}a request through ${q.hospital} was answered with ${q.elements} element(s)${q.breakGlass ? ' without your consent' : ' under your consent'}.`,
      );
    } else if (q.result === 'declined') {
      lines.push(`A request through ${q.hospital} was declined: your consents do not allow it.`);
    }
  }
  if (report.newAccessEvents > 0) {
    lines.push(`${report.newAccessEvents} new entr${report.newAccessEvents === 1 ? 'y' : 'ies'} in your access log.`);
  }
  if (report.newStudies > 0) {
    lines.push(
      `${report.newStudies} new research stud${report.newStudies === 1 ? 'y matches' : 'ies match'} your records: see Research. Nothing is shared unless you accept.`,
    );
  }
  for (const h of report.unreachable) lines.push(`${h} could not be reached; its records wait there until next time.`);
  if (lines.length === 0) lines.push('Nothing new.');
  const title =
    stored.length > 0
      ? `${stored.length} new deliver${stored.length === 1 ? 'y' : 'ies'} of records`
      : refused.length > 0 || report.unreachable.length > 0
        ? 'Checked, with problems'
        : 'No new records';
  return { kind: refused.length > 0 || report.unreachable.length > 0 ? 'error' : 'success', title, lines };
}
