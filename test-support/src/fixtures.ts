import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const FIXTURES = resolve(__dirname, '..', '..', 'fixtures');
export const SYNTHEA_DIR = join(FIXTURES, 'synthea-r4');
export const INVALID_DIR = join(FIXTURES, 'fhir-invalid');

export interface BundleEntry {
  fullUrl?: string;
  resource: Record<string, unknown> & { resourceType: string };
  request?: { method: string; url: string };
}

export interface Bundle {
  resourceType: 'Bundle';
  type: string;
  identifier?: { system?: string; value?: string };
  entry: BundleEntry[];
}

export function syntheaFiles(): string[] {
  return readdirSync(SYNTHEA_DIR)
    .filter((f) => f.endsWith('.json'))
    .sort();
}

/** Synthea writes patient bundles, plus two directory bundles (hospitals, practitioners) with no patient. */
export function isPatientBundleFile(file: string): boolean {
  return !/^(hospital|practitioner)Information/.test(file);
}

export function loadBundle(file: string): Bundle {
  return JSON.parse(readFileSync(join(SYNTHEA_DIR, file), 'utf8')) as Bundle;
}

/** The MRN Synthea gives each patient (identifier typed MR). */
export function mrnOf(bundle: Bundle): { system: string; value: string } {
  const patient = bundle.entry.find((e) => e.resource.resourceType === 'Patient')?.resource as
    { identifier?: { system?: string; value?: string; type?: { coding?: { code?: string }[] } }[] } | undefined;
  const mrn = patient?.identifier?.find((i) => i.type?.coding?.some((c) => c.code === 'MR'));
  if (!mrn?.system || !mrn.value) throw new Error('bundle has no MRN');
  return { system: mrn.system, value: mrn.value };
}

/** The Patient plus the next `n - 1` entries: a small realistic bundle. */
export function smallBundle(bundle: Bundle, n: number): Bundle {
  const patient = bundle.entry.findIndex((e) => e.resource.resourceType === 'Patient');
  const others = bundle.entry.filter((_, i) => i !== patient && bundle.entry[i]?.resource.resourceType !== 'Patient');
  return { ...bundle, entry: [bundle.entry[patient] as BundleEntry, ...others.slice(0, n - 1)] };
}

/** The same bundle for another patient: a fresh MRN, so tests don't collide over links. */
export function forNewPatient(bundle: Bundle, tag: string): Bundle {
  const copy = structuredClone(bundle);
  const patient = copy.entry.find((e) => e.resource.resourceType === 'Patient')?.resource as
    { identifier?: { value?: string; type?: { coding?: { code?: string }[] } }[] } | undefined;
  const mrn = patient?.identifier?.find((i) => i.type?.coding?.some((c) => c.code === 'MR'));
  if (!mrn) throw new Error('bundle has no MRN');
  mrn.value = `${mrn.value}-${tag}`;
  return copy;
}
