import type { DatabaseSync, StatementSync } from 'node:sqlite';
import type { ResearchCode } from '@phr/common';

/** One standardized element with its patient's coarse demographics: what an extract is built from. */
export interface SourceRow {
  pseudonym: string;
  birthYear?: number;
  gender?: string;
  postalCode3?: string;
  system: string;
  code: string;
  valueType?: 'number' | 'boolean' | 'string';
  /** The value's text as stored (a number as the EHR wrote it). */
  valueText?: string;
  unit?: string;
  /** ISO 8601 as stored; the builder keeps its year only. */
  time?: string;
}

interface Row {
  pseudonym: string;
  birth_year: number | null;
  gender: string | null;
  postal_code3: string | null;
  system: string;
  code: string;
  value_type: 'number' | 'boolean' | 'string' | null;
  value_text: string | null;
  unit: string | null;
  effective_time: string | null;
}

// deliveries.created_at is an ISO 8601 instant in UTC (toISOString), so text order is time order.
const SELECT = `SELECT e.pseudonym, p.birth_year, p.gender, p.postal_code3, e.system, e.code,
    e.value_type, e.value_text, e.unit, e.effective_time
  FROM std_element e
  JOIN deliveries d ON d.delivery_id = e.delivery_id
  LEFT JOIN std_patient p ON p.pseudonym = e.pseudonym
  WHERE e.system = ? AND (? IS NULL OR e.code = ?)
    AND (? IS NULL OR d.created_at >= ?) AND (? IS NULL OR d.created_at < ?)
  ORDER BY e.seq`;

/**
 * Reads the standardized DB for an extract (tables std_element, std_patient, erasure_receipt).
 * Read-only: the extract's log is ResearchExtractLog's.
 */
export class ExtractSource {
  private readonly select: StatementSync;
  private readonly erased: StatementSync;

  constructor(db: DatabaseSync) {
    this.select = db.prepare(SELECT);
    this.erased = db.prepare('SELECT pseudonym FROM erasure_receipt');
  }

  /**
   * Every element with one of `codes` (a code without `code` matches any code of its system), each
   * once even when two codes match it, in the order they were stored; only from deliveries received
   * within `received` when given.
   */
  rows(codes: readonly ResearchCode[], received: { from?: string; to?: string } = {}): SourceRow[] {
    const from = received.from ?? null;
    const to = received.to ?? null;
    const seen = new Set<string>();
    const unique = codes.filter((c) => {
      const key = JSON.stringify([c.system, c.code ?? null]);
      if (seen.has(key)) return false;
      seen.add(key);
      return true;
    });
    // A system-wide code covers the same system's single codes: read it alone.
    const wholeSystems = new Set(unique.filter((c) => c.code === undefined).map((c) => c.system));
    const out: SourceRow[] = [];
    for (const c of unique) {
      if (c.code !== undefined && wholeSystems.has(c.system)) continue;
      const code = c.code ?? null;
      for (const row of this.select.all(c.system, code, code, from, from, to, to) as unknown as Row[]) {
        out.push(toSourceRow(row));
      }
    }
    return out;
  }

  /** Patients who erased their records at this gateway (what the hospital kept of them is not for research). */
  erasedHere(): Set<string> {
    return new Set((this.erased.all() as { pseudonym: string }[]).map((r) => r.pseudonym));
  }
}

function toSourceRow(row: Row): SourceRow {
  return {
    pseudonym: row.pseudonym,
    system: row.system,
    code: row.code,
    ...(row.birth_year !== null ? { birthYear: row.birth_year } : {}),
    ...(row.gender !== null ? { gender: row.gender } : {}),
    ...(row.postal_code3 !== null ? { postalCode3: row.postal_code3 } : {}),
    ...(row.value_type !== null ? { valueType: row.value_type } : {}),
    ...(row.value_text !== null ? { valueText: row.value_text } : {}),
    ...(row.unit !== null ? { unit: row.unit } : {}),
    ...(row.effective_time !== null ? { time: row.effective_time } : {}),
  };
}
