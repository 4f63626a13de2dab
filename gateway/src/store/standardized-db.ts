import type { DatabaseSync, SQLInputValue, StatementSync } from 'node:sqlite';
import { exactNumber, isExactNumber, numberText, type DataElement, type JsonNumber } from '@phr/common';

/**
 * Layer 3, the institution's copy: every coded element the gateway accepted, normalized and
 * searchable by patient pseudonym, code and time (for recovery and, later, research). Whole
 * resources are not kept here; they travel encrypted to the patient.
 *
 * Writes join the caller's transaction: the ingest pipeline commits delivery, elements, outbox and
 * mailbox in one `BEGIN IMMEDIATE`, so a failed delivery leaves no rows and nothing here needs undoing.
 */

export interface StandardizedElementInput {
  pseudonym: string;
  deliveryId: string;
  segmentId: string;
  element: DataElement;
}

export interface StandardizedRecord {
  elementId: string;
  deliveryId: string;
  segmentId: string;
  pseudonym: string;
  resourceType: string;
  /** FHIRPath of the coding in its resource, e.g. `Observation.component[1].code.coding[0]`. */
  path: string;
  system: string;
  code: string;
  display?: string;
  /** The value as the element carried it (number, boolean or text). */
  value?: string | number | boolean | JsonNumber;
  unit?: string;
  /** ISO 8601 (UTC for date-times; partial dates as sent). */
  time?: string;
}

export interface StandardizedQuery {
  pseudonym?: string;
  resourceType?: string;
  system?: string;
  code?: string;
  /** Inclusive lower bound on the element time (ISO 8601, compared as normalized text). */
  from?: string;
  /** Exclusive upper bound on the element time. */
  to?: string;
  deliveryId?: string;
  limit: number;
  offset?: number;
}

export const MAX_SEARCH_LIMIT = 1000;

export class StandardizedDbError extends Error {
  override readonly name = 'StandardizedDbError';
  readonly code: 'invalid-query' | 'invalid-element';

  constructor(code: 'invalid-query' | 'invalid-element', message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
  }
}

const INSERT = `INSERT INTO std_element (element_id, delivery_id, segment_id, pseudonym, resource_type, path, system, code,
  display, value_type, value_text, value_num, unit, effective_time) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

const COLUMNS = `element_id, delivery_id, segment_id, pseudonym, resource_type, path, system, code, display,
  value_type, value_text, value_num, unit, effective_time`;

/** Search filters in a fixed order; a statement is prepared once per combination used. */
const FILTERS = [
  ['pseudonym', 'pseudonym = ?'],
  ['resourceType', 'resource_type = ?'],
  ['system', 'system = ?'],
  ['code', 'code = ?'],
  ['from', 'effective_time >= ?'],
  ['to', 'effective_time < ?'],
  ['deliveryId', 'delivery_id = ?'],
] as const satisfies readonly (readonly [keyof StandardizedQuery, string])[];

interface Row {
  element_id: string;
  delivery_id: string;
  segment_id: string;
  pseudonym: string;
  resource_type: string;
  path: string;
  system: string;
  code: string;
  display: string | null;
  value_type: 'number' | 'boolean' | 'string' | null;
  value_text: string | null;
  value_num: number | null;
  unit: string | null;
  effective_time: string | null;
}

export class StandardizedDb {
  private readonly insert: StatementSync;
  private readonly countDelivery: StatementSync;
  private readonly searches = new Map<number, StatementSync>();

  /** The table: store/migrations/ (openDatabase has applied them). */
  constructor(private readonly db: DatabaseSync) {
    this.insert = db.prepare(INSERT);
    this.countDelivery = db.prepare('SELECT count(*) AS n FROM std_element WHERE delivery_id = ?');
  }

  /**
   * Stores the coded elements among `rows` (resource elements are skipped) and returns how many
   * were stored. Runs inside the caller's transaction; opens none of its own.
   */
  insertElements(rows: Iterable<StandardizedElementInput>): number {
    let stored = 0;
    for (const { pseudonym, deliveryId, segmentId, element } of rows) {
      if (element.kind !== 'coded') continue;
      if (typeof element.system !== 'string' || typeof element.code !== 'string') {
        throw new StandardizedDbError('invalid-element', `coded element ${element.id} lacks system or code`);
      }
      const value = element.value;
      let valueType: string | null = null;
      let valueText: string | null = null;
      let valueNum: number | null = null;
      if (isExactNumber(value)) {
        // The text as the EHR wrote it (`7.10`) is what the element's hash covers; the number is for ranges.
        valueType = 'number';
        valueText = numberText(value);
        valueNum = Number(value);
      } else if (typeof value === 'boolean') {
        valueType = 'boolean';
        valueText = value ? 'true' : 'false';
      } else if (typeof value === 'string') {
        valueType = 'string';
        valueText = value;
      }
      this.insert.run(
        element.id,
        deliveryId,
        segmentId,
        pseudonym,
        element.resourceType,
        element.path,
        element.system,
        element.code,
        element.display ?? null,
        valueType,
        valueText,
        valueNum,
        element.unit ?? null,
        element.time ?? null,
      );
      stored++;
    }
    return stored;
  }

  /** Matching elements in insertion order (stable for paging while deliveries keep arriving). */
  search(query: StandardizedQuery): StandardizedRecord[] {
    const { limit } = query;
    const offset = query.offset ?? 0;
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_SEARCH_LIMIT) {
      throw new StandardizedDbError('invalid-query', `limit must be an integer from 1 to ${MAX_SEARCH_LIMIT}`);
    }
    if (!Number.isInteger(offset) || offset < 0) {
      throw new StandardizedDbError('invalid-query', 'offset must be a non-negative integer');
    }
    let mask = 0;
    const params: SQLInputValue[] = [];
    FILTERS.forEach(([field], bit) => {
      const value = query[field];
      if (value === undefined) return;
      if (typeof value !== 'string') throw new StandardizedDbError('invalid-query', `${field} must be a string`);
      mask |= 1 << bit;
      params.push(value);
    });
    params.push(limit, offset);
    const rows = this.searchStatement(mask).all(...params) as unknown as Row[];
    return rows.map(toRecord);
  }

  countByDelivery(deliveryId: string): number {
    const row = this.countDelivery.get(deliveryId) as { n: number } | undefined;
    return row?.n ?? 0;
  }

  private searchStatement(mask: number): StatementSync {
    let statement = this.searches.get(mask);
    if (statement === undefined) {
      const where = FILTERS.filter((_, bit) => (mask & (1 << bit)) !== 0).map(([, clause]) => clause);
      const sql =
        `SELECT ${COLUMNS} FROM std_element` +
        (where.length > 0 ? ` WHERE ${where.join(' AND ')}` : '') +
        ' ORDER BY seq LIMIT ? OFFSET ?';
      statement = this.db.prepare(sql);
      this.searches.set(mask, statement);
    }
    return statement;
  }
}

function toRecord(row: Row): StandardizedRecord {
  const record: StandardizedRecord = {
    elementId: row.element_id,
    deliveryId: row.delivery_id,
    segmentId: row.segment_id,
    pseudonym: row.pseudonym,
    resourceType: row.resource_type,
    path: row.path,
    system: row.system,
    code: row.code,
  };
  if (row.display !== null) record.display = row.display;
  if (row.value_type === 'number' && row.value_text !== null) record.value = exactNumber(row.value_text);
  else if (row.value_type === 'boolean') record.value = row.value_text === 'true';
  else if (row.value_type === 'string' && row.value_text !== null) record.value = row.value_text;
  if (row.unit !== null) record.unit = row.unit;
  if (row.effective_time !== null) record.time = row.effective_time;
  return record;
}
