/**
 * Invariant per-1 on Period ("start SHALL have a lower value than end":
 * `start.hasValue().not() or end.hasValue().not() or (start <= end)`) with FHIRPath's rule for values
 * of different precision: they are compared to the precision they share, and if equal there the
 * result is empty, so the invariant is not met (`2023-06-21` vs `2023-06-21T06:20:00Z`). Medplum's
 * FHIRPath engine compares such values as if the shorter were complete and answers true.
 */

const PARTS = /^(\d{4})(?:-(\d{2})(?:-(\d{2})(?:T(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?(Z|[+-]\d{2}:\d{2})?)?)?)?$/;

/** true when start <= end, false when start > end, undefined when FHIRPath's answer is empty. */
export function periodStartNotAfterEnd(start: string, end: string): boolean | undefined {
  const a = PARTS.exec(start);
  const b = PARTS.exec(end);
  if (!a || !b) return undefined;
  const aHasTime = a[4] !== undefined;
  const bHasTime = b[4] !== undefined;
  if (aHasTime && bHasTime) {
    const difference = Date.parse(withSeconds(start)) - Date.parse(withSeconds(end));
    return Number.isNaN(difference) ? undefined : difference <= 0;
  }
  // Compare year, month, day while both have them.
  for (let i = 1; i <= 3; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined) return x === y ? true : undefined;
    if (x !== y) return x < y;
  }
  // Same day; only one side has a time.
  return aHasTime === bHasTime ? true : undefined;
}

function withSeconds(value: string): string {
  return /T\d{2}:\d{2}(Z|[+-]|$)/.test(value) ? value.replace(/(T\d{2}:\d{2})/, '$1:00') : value;
}
