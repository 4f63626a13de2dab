import { JsonNumber, type OutcomeIssue } from '@phr/common';
import { periodStartNotAfterEnd } from '../fhir/validation/period-order';
import { describe, warning } from './ccda-issues';
import { cdaNarrativeToXhtml } from './cda-narrative';
import type { GoalStatuses } from './goal-statuses';

type Json = Record<string, unknown>;

/**
 * What the document says that the converter could not put into FHIR as it is, read from the
 * document before conversion, and where repairs write what they left out.
 */
export interface RepairContext {
  /** Goal statuses @medplum/ccda does not map, from the observation each Goal was made of. */
  goalStatuses: GoalStatuses;
  warnings: OutcomeIssue[];
}

/**
 * What FHIR requires and the converter's output misses. Nothing here changes what the document
 * says: a value FHIR cannot hold is left out with a warning (the original document, which the
 * patient receives too, still has it), and a required element the document does not state says so.
 * - empty arrays, objects and strings go (FHIR forbids them; the converter leaves them for absent data);
 * - an Immunization the document gives no time or vaccine for says so (`occurrence[x]` and
 *   `vaccineCode` are required), and an Observation with no code;
 * - a Condition with an abatement is not "active" (C-CDA: the problem observation's effectiveTime/high
 *   is when it resolved; FHIR con-4), which the converter leaves as the concern act's status;
 * - a Goal gets the lifecycle status its statusCode names (the converter maps four ActStatus codes);
 * - a period whose end precedes its start (per-1) loses its end, an organization address or telecom
 *   its `home` use (org-2, org-3), a dose timing a period unit FHIR does not know, a reference range with no range.
 */
export function repairResource(resource: Json, context: RepairContext): void {
  const type = String(resource.resourceType);
  if (type === 'Composition') repairComposition(resource);
  pruneEmpty(resource);
  const warned = context.warnings.length;
  REPAIRS[type]?.(resource, context);
  reversedPeriods(resource, [type], context.warnings);
  // What a repair left out may leave its parent empty (a timing with no repeat).
  if (context.warnings.length > warned) pruneEmpty(resource);
}

const REPAIRS: Readonly<Record<string, (resource: Json, context: RepairContext) => void>> = {
  Immunization: (resource) => {
    if (!Object.keys(resource).some((k) => k.startsWith('occurrence'))) {
      resource.occurrenceString = 'not stated in the C-CDA document';
    }
    resource.vaccineCode ??= { text: 'no vaccine code in the C-CDA document' };
  },
  Observation: (resource, { warnings }) => {
    resource.code ??= { text: 'no code in the C-CDA document' };
    rangelessReferenceRanges(resource, warnings);
  },
  Condition: (resource) => {
    if (!Object.keys(resource).some((k) => k.startsWith('abatement'))) return;
    const coding = (resource.clinicalStatus as { coding?: { code?: string }[] } | undefined)?.coding?.[0];
    if (coding && ['active', 'recurrence', 'relapse'].includes(coding.code ?? '')) coding.code = 'resolved';
  },
  Goal: (resource, { goalStatuses, warnings }) => {
    resource.lifecycleStatus ??= goalStatuses.of(resource, warnings);
  },
  Organization: (resource, { warnings }) => homeUse(resource, warnings),
  MedicationRequest: (resource, { warnings }) => timingUnits(resource, warnings),
  MedicationStatement: (resource, { warnings }) => timingUnits(resource, warnings),
};

/**
 * Units of time as senders write them in a PIVL_TS period, to FHIR's UnitsOfTime (whose codes are
 * UCUM's, so `h` or `d` pass as they are).
 */
const UNITS_OF_TIME: ReadonlyMap<string, string> = new Map([
  ['s', 's'],
  ['sec', 's'],
  ['second', 's'],
  ['seconds', 's'],
  ['min', 'min'],
  ['minute', 'min'],
  ['minutes', 'min'],
  ['h', 'h'],
  ['hr', 'h'],
  ['hrs', 'h'],
  ['hour', 'h'],
  ['hours', 'h'],
  ['d', 'd'],
  ['day', 'd'],
  ['days', 'd'],
  ['wk', 'wk'],
  ['week', 'wk'],
  ['weeks', 'wk'],
  ['mo', 'mo'],
  ['month', 'mo'],
  ['months', 'mo'],
  ['a', 'a'],
  ['yr', 'a'],
  ['year', 'a'],
  ['years', 'a'],
]);

function timingUnits(resource: Json, warnings: OutcomeIssue[]): void {
  const type = String(resource.resourceType);
  visitObjects(resource, (node) => {
    const repeat = node.repeat as Json | undefined;
    if (typeof repeat !== 'object' || repeat === null) return;
    for (const [unitKey, valueKeys] of [
      ['periodUnit', ['period', 'periodMax']],
      ['durationUnit', ['duration', 'durationMax']],
    ] as const) {
      const unit = repeat[unitKey];
      if (typeof unit !== 'string') continue;
      const known = UNITS_OF_TIME.get(unit) ?? UNITS_OF_TIME.get(unit.toLowerCase());
      if (known !== undefined) {
        repeat[unitKey] = known;
        continue;
      }
      delete repeat[unitKey];
      for (const k of valueKeys) delete repeat[k];
      warnings.push(
        warning(
          `${type}: a dose timing's unit '${unit.slice(0, 40)}' is not a unit of time FHIR knows (s, min, h, d, wk, mo, a): ` +
            'that period is left out of the FHIR resource; it is in the original document (DocumentReference)',
        ),
      );
    }
    if (Object.keys(repeat).length === 0) delete node.repeat;
  });
}

/**
 * org-2 and org-3: an organization's address and telecom are never a home's. The use is left out,
 * the address or number kept (senders mark a practice's address HP).
 */
function homeUse(resource: Json, warnings: OutcomeIssue[]): void {
  for (const [element, rule] of [
    ['address', 'org-2'],
    ['telecom', 'org-3'],
  ] as const) {
    for (const item of (resource[element] as Json[] | undefined) ?? []) {
      if (item.use !== 'home') continue;
      delete item.use;
      warnings.push(
        warning(
          `Organization "${typeof resource.name === 'string' ? resource.name : 'unnamed'}": its ${element} is marked as a ` +
            `home ${element} (use HP), which FHIR forbids for an organization (${rule}): it is kept without its use`,
        ),
      );
    }
  }
}

/**
 * obs-3: a reference range has a low, a high or a text. The converter keeps a range that is only a
 * pointer into the section's narrative (the narrative itself is in the Composition), or only its
 * type or age.
 */
function rangelessReferenceRanges(resource: Json, warnings: OutcomeIssue[]): void {
  const ranges = resource.referenceRange as Json[] | undefined;
  if (!Array.isArray(ranges)) return;
  const kept = ranges.filter((r) => r.low !== undefined || r.high !== undefined || r.text !== undefined);
  if (kept.length === ranges.length) return;
  if (kept.length > 0) resource.referenceRange = kept;
  else delete resource.referenceRange;
  warnings.push(
    warning(
      `Observation "${describe(resource.code)}": a reference range with no low, high or text (FHIR obs-3; the converter ` +
        "keeps one that only points into the section's narrative) is left out of the FHIR resource; the narrative is in " +
        'the Composition, and the whole range in the original document (DocumentReference)',
    ),
  );
}

/**
 * per-1: a period's start is not after its end. Senders write intervals whose high precedes their
 * low (`20130130` to `20120130`, or a high of `00010101` for "unknown"), and intervals whose two ends
 * FHIRPath cannot order (the same day, one with a time and one without). The end is left out: the
 * start is what the converter relies on for the resource's time.
 */
function reversedPeriods(node: unknown, path: string[], warnings: OutcomeIssue[]): void {
  if (Array.isArray(node)) {
    for (const child of node) reversedPeriods(child, path, warnings);
    return;
  }
  if (typeof node !== 'object' || node === null || node instanceof JsonNumber) return;
  const record = node as Json;
  if (path.length > 1 && typeof record.start === 'string' && typeof record.end === 'string') {
    if (periodStartNotAfterEnd(record.start, record.end) !== true) {
      warnings.push(
        warning(
          `${path.join('.')}: the interval's end (${record.end}) is not after its start (${record.start}) in the ` +
            'document: the end is left out of the FHIR resource; it is in the original document (DocumentReference)',
        ),
      );
      delete record.end;
    }
  }
  for (const key in record) {
    const child = record[key];
    if (typeof child !== 'object' || child === null) continue;
    path.push(key);
    reversedPeriods(child, path, warnings);
    path.pop();
  }
}

function pruneEmpty(node: unknown): boolean {
  if (node instanceof JsonNumber) return false;
  if (Array.isArray(node)) {
    for (let i = node.length - 1; i >= 0; i--) if (pruneEmpty(node[i])) node.splice(i, 1);
    return node.length === 0;
  }
  if (typeof node === 'object' && node !== null) {
    const record = node as Record<string, unknown>;
    for (const [key, value] of Object.entries(record)) if (pruneEmpty(value)) delete record[key];
    return Object.keys(record).length === 0;
  }
  return node === undefined || node === null || node === '';
}

/**
 * The converter copies each section's CDA narrative into `text.div` as it is and leaves empty
 * `entry` arrays: the narrative becomes XHTML (cda-narrative.ts), a section without text loses
 * its `text`, and empty arrays go (FHIR forbids them). A document without a title (FHIR requires
 * one) is named by its type, as the document states it.
 */
function repairComposition(composition: Json): void {
  const repairSections = (sections: unknown): void => {
    if (!Array.isArray(sections)) return;
    for (const section of sections as Json[]) {
      const text = section.text as { div?: unknown } | undefined;
      const div = typeof text?.div === 'string' ? cdaNarrativeToXhtml(text.div) : undefined;
      if (div) section.text = { status: 'generated', div };
      else delete section.text;
      if (Array.isArray(section.entry) && section.entry.length === 0) delete section.entry;
      repairSections(section.section);
      if (Array.isArray(section.section) && section.section.length === 0) delete section.section;
    }
    // A section left with no text, entry or subsection (FHIR cmp-1) has nothing to say: its warning did.
    if (Array.isArray(sections)) {
      for (let i = sections.length - 1; i >= 0; i--) {
        const s = sections[i] as Json;
        if (!s.text && !s.entry && !s.section) sections.splice(i, 1);
      }
    }
  };
  repairSections(composition.section);
  if (Array.isArray(composition.section) && composition.section.length === 0) delete composition.section;
  if (typeof composition.title !== 'string' || composition.title.trim() === '') {
    composition.title = describe(composition.type) || 'untitled C-CDA document';
  }
}

function visitObjects(node: unknown, visit: (record: Json) => void): void {
  if (Array.isArray(node)) {
    for (const child of node) visitObjects(child, visit);
    return;
  }
  if (typeof node !== 'object' || node === null || node instanceof JsonNumber) return;
  visit(node as Json);
  for (const child of Object.values(node as Json)) visitObjects(child, visit);
}
