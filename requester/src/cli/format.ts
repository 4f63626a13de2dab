import type { DisclosedElement } from '@phr/common';
import type { VerifiedPull } from '../pull-client';

const MAX_CELL = 48;

function cell(text: string): string {
  // Element text comes from the patient's records: no control characters reach the terminal.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  const clean = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, ' ');
  return clean.length > MAX_CELL ? `${clean.slice(0, MAX_CELL - 1)}…` : clean;
}

function row(d: DisclosedElement): string[] {
  const e = d.element;
  if (e.kind === 'resource') {
    const id = typeof e.resource?.id === 'string' ? `${e.resourceType}/${e.resource.id}` : e.resourceType;
    return [e.resourceType, e.time ?? '', `(resource ${id})`, '', ''];
  }
  const value = e.value === undefined ? '' : `${String(e.value)}${e.unit ? ` ${e.unit}` : ''}`;
  return [e.resourceType, e.time ?? '', `${e.system}|${e.code}`, e.display ?? '', value];
}

/** A fixed-width table of the verified elements, with what was checked above it. */
export function formatPull(pull: VerifiedPull): string {
  if (pull.status === 'pending') {
    return (
      `request ${pull.requestId} is pending: the patient's agent has not answered yet.\n` +
      `poll it with: phr-request poll ${pull.requestId} (same connection options)\n`
    );
  }
  const head =
    `request ${pull.requestId}${pull.breakGlass ? ' (break-glass)' : ''}: ${pull.elements.length} elements verified ` +
    `against ${pull.deliveriesChecked} delivery roots on the ledger (${pull.ledgerReads} ledger reads)\n`;
  if (pull.elements.length === 0) return `${head}nothing was disclosed.\n`;
  const rows = [['TYPE', 'TIME', 'CODE', 'DISPLAY', 'VALUE'], ...pull.elements.map((d) => row(d).map(cell))];
  const widths = rows[0]!.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  const lines = rows.map((r) =>
    r
      .map((v, c) => v.padEnd(widths[c]!))
      .join('  ')
      .trimEnd(),
  );
  return `${head}\n${lines.join('\n')}\n`;
}
