/**
 * Observations for the trend tests, stored as the vault keeps them (whole-resource elements,
 * newest first, as its search returns them).
 */
import type { VaultElement } from '../../vault/vault-types';
import { segmentElements } from '../testing/sample-records';

export const LOINC = 'http://loinc.org';
export const UCUM = 'http://unitsofmeasure.org';

type Resource = Record<string, unknown> & { resourceType: string };

export interface ObservationInput {
  code: string;
  /** A number, or a JsonNumber keeping its text. */
  value: unknown;
  unit?: string;
  time?: string;
  /** Anything else on the Observation (status, a comparator goes in `quantity`). */
  extra?: Record<string, unknown>;
  /** Replaces the valueQuantity's own fields. */
  quantity?: Record<string, unknown>;
  text?: string;
}

export function observation(input: ObservationInput): Resource {
  const quantity = { value: input.value, unit: input.unit, system: UCUM, code: input.unit, ...input.quantity };
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: LOINC, code: input.code }], ...(input.text ? { text: input.text } : {}) },
    ...(input.time ? { effectiveDateTime: input.time } : {}),
    valueQuantity: quantity,
    ...input.extra,
  };
}

/** A blood pressure reading: a panel with systolic and diastolic components. */
export function bloodPressure(time: string, systolic: unknown, diastolic: unknown, panel = '85354-9'): Resource {
  const component = (code: string, value: unknown) => ({
    code: { coding: [{ system: LOINC, code }] },
    valueQuantity: { value, unit: 'mmHg', system: UCUM, code: 'mm[Hg]' },
  });
  return {
    resourceType: 'Observation',
    status: 'final',
    code: { coding: [{ system: LOINC, code: panel }] },
    effectiveDateTime: time,
    component: [component('8480-6', systolic), component('8462-4', diastolic)],
  };
}

let segment = 0;

/** The whole-resource rows of these resources, newest first (undated last), as the vault's search gives them. */
export function vaultRows(...resources: Resource[]): VaultElement[] {
  const rows = resources.map((r) => {
    const [row] = segmentElements('delivery-trends', `delivery-trends-s${segment++}`, r);
    return row as VaultElement;
  });
  const at = (r: VaultElement) => (r.element.time === undefined ? -Infinity : Date.parse(r.element.time));
  return rows.sort((a, b) => at(b) - at(a));
}
