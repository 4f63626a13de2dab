import {
  numberText,
  isCodeLabel,
  isExactNumber,
  yearOf,
  type ExtractDemographics,
  type ExtractElement,
  type ResearchOfferRecord,
} from '@phr/common';
import type { VerifiedExtract } from './verify-extract';

/** Where the dataset's own extensions are defined. */
export const DATASET_EXTENSION_BASE = 'https://phr-ledger.example/fhir/StructureDefinition/';

export interface Dataset {
  csv: string;
  bundle: Record<string, unknown>;
  participants: number;
  rows: number;
}

export interface DatasetSource {
  offer: ResearchOfferRecord;
  /** Where the verification was made: the ledger the proofs were checked on. */
  ledger: { channel: string; chaincode: string };
  extracts: readonly VerifiedExtract[];
  now?: Date;
}

export const CSV_COLUMNS = [
  'participant',
  'age',
  'gender',
  'postal_code3',
  'resource_type',
  'system',
  'code',
  'display',
  'value',
  'unit',
  'year',
  'verified',
  'changes',
] as const;

/**
 * The researcher's dataset: one CSV row per element and a FHIR Bundle (collection) with a Patient
 * per participant (P001…, no identifier, age/gender/3-digit postal area only), an Observation per
 * element and one Provenance over all of it. Participants are numbered in the order of their
 * random participation ids, which the dataset does not hold. Every date is cut to its year:
 * Safe Harbor keeps no finer date, and a shifted date (`dates: 'shift'`) stays in the local
 * verified store only.
 */
export function buildDataset(source: DatasetSource): Dataset {
  const now = source.now ?? new Date();
  const extracts = [...source.extracts].sort((a, b) => (a.participationId < b.participationId ? -1 : 1));
  const rows: string[][] = [[...CSV_COLUMNS]];
  const entries: Record<string, unknown>[] = [];
  const observationRefs: { reference: string }[] = [];
  let unchanged = 0;
  let changed = 0;
  let n = 0;
  extracts.forEach((x, p) => {
    const participant = `P${String(p + 1).padStart(3, '0')}`;
    const d = x.extract.demographics;
    entries.push({ resource: patient(participant, d) });
    for (const e of x.extract.elements) {
      n++;
      const id = `O${String(n).padStart(5, '0')}`;
      const el = e.element;
      const verified = e.status === 'unchanged';
      if (verified) unchanged++;
      else changed++;
      const changes = e.status === 'changed' ? e.changes.map((c) => `${c.field}:${c.rule}`).join(' ') : '';
      rows.push([
        participant,
        d.age === undefined ? '' : String(d.age),
        d.gender ?? '',
        d.postalCode3 ?? '',
        el.resourceType,
        el.system ?? '',
        el.code ?? '',
        labelOf(el.display) ?? '',
        valueText(el.value),
        el.unit ?? '',
        yearOf(el.time) ?? '',
        verified ? 'ledger-proof' : 'changed',
        changes,
      ]);
      entries.push({ resource: observation(id, participant, e) });
      observationRefs.push({ reference: `Observation/${id}` });
    }
  });
  entries.push({
    resource: provenance(source, extracts.length, unchanged, changed, now, [
      ...extracts.map((_x, p) => ({ reference: `Patient/P${String(p + 1).padStart(3, '0')}` })),
      ...observationRefs,
    ]),
  });
  return {
    csv:
      rows.map((r, i) => r.map((cell, c) => csvField(cell, i > 0 && NUMBER_COLUMNS.has(c))).join(',')).join('\r\n') +
      '\r\n',
    bundle: { resourceType: 'Bundle', type: 'collection', timestamp: now.toISOString(), entry: entries },
    participants: extracts.length,
    rows: n,
  };
}

function patient(id: string, d: ExtractDemographics): Record<string, unknown> {
  const extension: Record<string, unknown>[] = [];
  if (typeof d.age === 'number') extension.push({ url: `${DATASET_EXTENSION_BASE}age`, valueInteger: d.age });
  else if (d.age !== undefined) extension.push({ url: `${DATASET_EXTENSION_BASE}age`, valueString: d.age });
  return {
    resourceType: 'Patient',
    id,
    ...(extension.length > 0 ? { extension } : {}),
    ...(d.gender ? { gender: d.gender } : {}),
    ...(d.postalCode3 ? { address: [{ postalCode: d.postalCode3, country: 'US' }] } : {}),
  };
}

function observation(id: string, participant: string, e: ExtractElement): Record<string, unknown> {
  const el = e.element;
  const year = yearOf(el.time);
  const value = el.value;
  return {
    resourceType: 'Observation',
    id,
    extension: [
      { url: `${DATASET_EXTENSION_BASE}source-resource-type`, valueCode: el.resourceType },
      {
        url: `${DATASET_EXTENSION_BASE}verification`,
        valueCode: e.status === 'unchanged' ? 'ledger-proof' : 'changed',
      },
      ...(e.status === 'changed'
        ? e.changes.map((c) => ({ url: `${DATASET_EXTENSION_BASE}change`, valueString: `${c.field}:${c.rule}` }))
        : []),
    ],
    status: 'final',
    code: {
      coding: [
        {
          ...(el.system ? { system: el.system } : {}),
          ...(el.code ? { code: el.code } : {}),
          ...(labelOf(el.display) ? { display: el.display } : {}),
        },
      ],
    },
    subject: { reference: `Patient/${participant}` },
    ...(year ? { effectiveDateTime: year } : {}),
    ...(isExactNumber(value)
      ? { valueQuantity: { value, ...(el.unit ? { unit: el.unit } : {}) } }
      : typeof value === 'boolean'
        ? { valueBoolean: value }
        : {}),
  };
}

function provenance(
  source: DatasetSource,
  participants: number,
  unchanged: number,
  changed: number,
  now: Date,
  target: { reference: string }[],
): Record<string, unknown> {
  const { offer, ledger } = source;
  return {
    resourceType: 'Provenance',
    id: 'dataset-provenance',
    target,
    recorded: now.toISOString(),
    reason: [{ coding: [{ system: 'http://terminology.hl7.org/CodeSystem/v3-ActReason', code: 'HRESCH' }] }],
    activity: { text: 'de-identified research dataset from verified participant extracts' },
    agent: [{ who: { display: 'phr-research export' } }],
    entity: [
      {
        role: 'source',
        what: {
          display: `research offer ${offer.offerId} (ledger channel ${ledger.channel}, chaincode ${ledger.chaincode})`,
        },
      },
    ],
    extension: [
      { url: `${DATASET_EXTENSION_BASE}offer`, valueString: offer.offerId },
      { url: `${DATASET_EXTENSION_BASE}participants`, valueInteger: participants },
      { url: `${DATASET_EXTENSION_BASE}elements-proven`, valueInteger: unchanged },
      { url: `${DATASET_EXTENSION_BASE}elements-changed`, valueInteger: changed },
      { url: `${DATASET_EXTENSION_BASE}dates`, valueCode: 'year' },
    ],
  };
}

function valueText(value: unknown): string {
  if (isExactNumber(value)) return numberText(value);
  if (typeof value === 'boolean') return String(value);
  // A string value is free text: de-identification drops it; one that slipped through is left out.
  return '';
}

/** Columns that hold numbers as written (an age, a value): a leading minus there is a sign, not a formula. */
const NUMBER_COLUMNS: ReadonlySet<number> = new Set([CSV_COLUMNS.indexOf('age'), CSV_COLUMNS.indexOf('value')]);

/** A display only when it reads as a code label: anything else may be free text (the agent's rule). */
function labelOf(display: string | undefined): string | undefined {
  return display !== undefined && isCodeLabel(display) ? display : undefined;
}

/**
 * One CSV cell. A text cell a spreadsheet would take for a formula (= + - @, or a leading tab or
 * carriage return) gets a leading single quote, so opening the dataset runs nothing.
 */
function csvField(text: string, isNumber: boolean): string {
  const safe = !isNumber && /^[=+\-@\t\r]/.test(text) ? `'${text}` : text;
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}
