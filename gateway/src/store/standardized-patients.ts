import type { DatabaseSync, StatementSync } from 'node:sqlite';
import { postalCode3, yearOf } from '@phr/common';

/**
 * The quasi-identifiers of a patient the standardized DB keeps for research extracts, and nothing
 * finer: the birth year (never month or day), the FHIR administrative gender and the Safe Harbor
 * 3-digit postal area ('000' where restricted). Unknown values are absent.
 */
export interface CoarseDemographics {
  birthYear?: number;
  gender?: 'male' | 'female' | 'other' | 'unknown';
  postalCode3?: string;
}

export interface StandardizedPatient extends CoarseDemographics {
  pseudonym: string;
}

const GENDERS = new Set(['male', 'female', 'other', 'unknown']);

/**
 * The coarse demographics of a FHIR Patient resource. The address is the current home address when
 * there is one (else the first without an end), since that is where the patient is found today.
 */
export function coarseDemographics(patient: Readonly<Record<string, unknown>>): CoarseDemographics {
  const out: CoarseDemographics = {};
  const birthDate = own(patient, 'birthDate');
  const year = typeof birthDate === 'string' ? yearOf(birthDate) : undefined;
  if (year !== undefined) out.birthYear = Number(year);
  const gender = own(patient, 'gender');
  if (typeof gender === 'string' && GENDERS.has(gender)) out.gender = gender as CoarseDemographics['gender'];
  const postal = own(currentAddress(own(patient, 'address')), 'postalCode');
  if (typeof postal === 'string' && postal.trim() !== '') out.postalCode3 = postalCode3(postal);
  return out;
}

/**
 * Patients' coarse demographics beside their standardized elements (table std_patient, migration
 * v6). Writes join the ingest's transaction, as StandardizedDb's do.
 */
export class StandardizedPatients {
  private readonly upsertRow: StatementSync;
  private readonly selectRow: StatementSync;

  constructor(db: DatabaseSync) {
    // A later Patient resource replaces what it states, and leaves what it does not state as it was.
    this.upsertRow = db.prepare(
      `INSERT INTO std_patient (pseudonym, birth_year, gender, postal_code3, updated_at) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (pseudonym) DO UPDATE SET
         birth_year = coalesce(excluded.birth_year, birth_year),
         gender = coalesce(excluded.gender, gender),
         postal_code3 = coalesce(excluded.postal_code3, postal_code3),
         updated_at = excluded.updated_at`,
    );
    this.selectRow = db.prepare('SELECT birth_year, gender, postal_code3 FROM std_patient WHERE pseudonym = ?');
  }

  /** Records what the Patient resource says. Runs inside the caller's transaction; opens none. */
  record(pseudonym: string, demographics: CoarseDemographics, at: Date): void {
    this.upsertRow.run(
      pseudonym,
      demographics.birthYear ?? null,
      demographics.gender ?? null,
      demographics.postalCode3 ?? null,
      at.toISOString(),
    );
  }

  get(pseudonym: string): StandardizedPatient | undefined {
    const row = this.selectRow.get(pseudonym) as
      { birth_year: number | null; gender: string | null; postal_code3: string | null } | undefined;
    if (!row) return undefined;
    return {
      pseudonym,
      ...(row.birth_year !== null ? { birthYear: row.birth_year } : {}),
      ...(row.gender !== null ? { gender: row.gender as CoarseDemographics['gender'] } : {}),
      ...(row.postal_code3 !== null ? { postalCode3: row.postal_code3 } : {}),
    };
  }
}

function own(value: unknown, key: string): unknown {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

function currentAddress(addresses: unknown): unknown {
  if (!Array.isArray(addresses)) return undefined;
  const current = addresses.filter((a) => own(own(a, 'period'), 'end') === undefined);
  return current.find((a) => own(a, 'use') === 'home') ?? current[0] ?? addresses[0];
}
