import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { CodeRef } from '@phr/common';

/** The Synthea R4 bundles the repository carries (fixtures/SOURCES-external.md says where they come from). */
export const SYNTHEA_DIR = resolve(__dirname, '..', '..', '..', 'fixtures', 'synthea-r4');

/**
 * The demo's patient: a synthetic record with ten HbA1c results (laboratory) and ten body weights
 * (vital signs) over the years, so one pull shows what a laboratory consent lets through and what
 * it keeps back. The file is named after the synthetic patient: the demo never prints it.
 */
export const DEMO_BUNDLE_FILE = 'Hilario_Barton_f5bccfe7-f57e-489e-bec3-2251cab963ee.json';

export const LOINC = 'http://loinc.org';
export const HBA1C: CodeRef = { system: LOINC, code: '4548-4' };
export const BODY_WEIGHT: CodeRef = { system: LOINC, code: '29463-7' };

interface Coding {
  system?: string;
  code?: string;
  display?: string;
}

interface Identifier {
  system?: string;
  value?: string;
  type?: { coding?: Coding[] };
}

export interface BundleResource {
  resourceType: string;
  identifier?: Identifier[];
  code?: { coding?: Coding[] };
  category?: { coding?: Coding[] }[];
  [key: string]: unknown;
}

export interface SyntheaBundle {
  resourceType: 'Bundle';
  type: string;
  entry: { fullUrl?: string; resource: BundleResource; request?: unknown }[];
}

export interface Mrn {
  system: string;
  value: string;
}

export function loadSyntheaBundle(file = DEMO_BUNDLE_FILE, dir = SYNTHEA_DIR): SyntheaBundle {
  const bundle = JSON.parse(readFileSync(join(dir, file), 'utf8')) as SyntheaBundle;
  if (bundle.resourceType !== 'Bundle' || !Array.isArray(bundle.entry)) throw new Error(`${file} is not a FHIR Bundle`);
  return bundle;
}

function patientOf(bundle: SyntheaBundle): BundleResource {
  const patients = bundle.entry.filter((e) => e.resource.resourceType === 'Patient');
  if (patients.length !== 1) throw new Error(`the bundle holds ${patients.length} Patient resources, not one`);
  return (patients[0] as { resource: BundleResource }).resource;
}

function mrnIdentifier(patient: BundleResource): Identifier & Mrn {
  const id = patient.identifier?.find((i) => i.type?.coding?.some((c) => c.code === 'MR'));
  if (!id?.system || !id.value) throw new Error('the Patient has no medical record number (identifier of type MR)');
  return id as Identifier & Mrn;
}

/** The hospital's medical record number of the bundle's patient. */
export function mrnOf(bundle: SyntheaBundle): Mrn {
  const { system, value } = mrnIdentifier(patientOf(bundle));
  return { system, value };
}

/**
 * The same record under another MRN. A hospital links each MRN to one patient only, so every run
 * of the demo is a new patient at hospital1 with the chart's MRN and the run's id.
 */
export function withMrnSuffix(bundle: SyntheaBundle, suffix: string): SyntheaBundle {
  const copy = structuredClone(bundle);
  const mrn = mrnIdentifier(patientOf(copy));
  mrn.value = `${mrn.value}-${suffix}`;
  return copy;
}

/** How many resources of each type, most first (ties by name). */
export function resourceCounts(bundle: SyntheaBundle): [string, number][] {
  const counts = new Map<string, number>();
  for (const e of bundle.entry) counts.set(e.resource.resourceType, (counts.get(e.resource.resourceType) ?? 0) + 1);
  return [...counts].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
}

/** Observations that carry `code` among their codings. */
export function observationsWith(bundle: SyntheaBundle, code: CodeRef): BundleResource[] {
  return bundle.entry
    .map((e) => e.resource)
    .filter(
      (r) =>
        r.resourceType === 'Observation' &&
        (r.code?.coding ?? []).some((c) => c.system === code.system && c.code === code.code),
    );
}

/** The observation-category codes of an Observation (laboratory, vital-signs, ...). */
export function observationCategories(r: BundleResource): string[] {
  return (r.category ?? []).flatMap((c) => (c.coding ?? []).map((k) => k.code ?? '')).filter(Boolean);
}

/** How many resources of a type the bundle holds. */
export function countOf(bundle: SyntheaBundle, resourceType: string): number {
  return bundle.entry.filter((e) => e.resource.resourceType === resourceType).length;
}
