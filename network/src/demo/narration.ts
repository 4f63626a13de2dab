import type { DataElement } from '@phr/common';
import type { AccessLogEntry } from '@phr/mobile-agent';

/**
 * The demo's sentences: plain words from what the network answered. Pure functions, so the
 * wording is tested without a network.
 */

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)} min ${s % 60} s`;
}

/** "a, b and c" */
export function andList(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}

/** "188 Observation, 16 DiagnosticReport, 14 Claim and 9 more resources of 10 other types" */
export function listCounts(counts: readonly [string, number][], max = 4): string {
  const shown = counts.slice(0, max).map(([type, n]) => `${n} ${type}`);
  const rest = counts.slice(max);
  if (rest.length === 0) return andList(shown);
  const more = rest.reduce((sum, [, n]) => sum + n, 0);
  return `${shown.join(', ')} and ${more} more of ${plural(rest.length, 'other type')}`;
}

/** The statuses a record went through, each once in order: "waiting → complete". */
export function statusPath(history: readonly { status: string }[]): string {
  const path: string[] = [];
  for (const { status } of history) if (path[path.length - 1] !== status) path.push(status);
  return path.join(' → ');
}

const SYSTEM_NAMES: Readonly<Record<string, string>> = {
  'http://loinc.org': 'LOINC',
  'http://snomed.info/sct': 'SNOMED CT',
};

/** "LOINC 4548-4", or system|code for systems without a short name. */
export function codeLabel(system: string | undefined, code: string | undefined): string {
  const name = system ? SYSTEM_NAMES[system] : undefined;
  return name ? `${name} ${code ?? ''}` : `${system ?? ''}|${code ?? ''}`;
}

/** "10 × LOINC 4548-4 (Hemoglobin A1c/Hemoglobin.total in Blood)", one part per code, most first. */
export function codeSummary(elements: readonly DataElement[]): string {
  const byCode = new Map<string, { n: number; display?: string }>();
  for (const e of elements) {
    const key = codeLabel(e.system, e.code);
    const seen = byCode.get(key) ?? { n: 0 };
    byCode.set(key, { n: seen.n + 1, display: seen.display ?? e.display });
  }
  return andList(
    [...byCode]
      .sort((a, b) => b[1].n - a[1].n || a[0].localeCompare(b[0]))
      .map(([label, { n, display }]) => `${n} × ${label}${display ? ` (${display})` : ''}`),
  );
}

function valueText(e: DataElement): string {
  const v = typeof e.value === 'number' ? String(Number(e.value.toFixed(2))) : String(e.value);
  return e.unit ? `${v} ${e.unit}` : v;
}

/** "the earliest 6.1 % on 2011-12-26, the latest 6.39 % on 2020-01-13", from the elements that have a value and a time. */
export function resultRange(elements: readonly DataElement[]): string | undefined {
  const timed = elements
    .filter((e) => e.value !== undefined && e.time)
    .sort((a, b) => (a.time as string).localeCompare(b.time as string));
  const first = timed[0];
  const last = timed[timed.length - 1];
  if (!first || !last) return undefined;
  const at = (e: DataElement) => `${valueText(e)} on ${(e.time as string).slice(0, 10)}`;
  return first === last ? `${at(first)}` : `the earliest ${at(first)}, the latest ${at(last)}`;
}

/** One access-log entry as the patient reads it: "2026-12-05 14:15 UTC  Hospital2MSP (clinician) read … — allowed." */
export function accessLogLine(entry: Pick<AccessLogEntry, 'at' | 'summary'>): string {
  return `${entry.at.replace('T', ' ').slice(0, 19)} UTC  ${entry.summary}`;
}

/** A word as a POSIX shell reads it back. */
export function shellWord(word: string): string {
  return /^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** Every secret replaced: whatever reaches the terminal, no secret is in it. */
export function redact(text: string, secrets: Iterable<string>): string {
  let out = text;
  for (const s of secrets) if (s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}
