import type { DatabaseSync, StatementSync } from 'node:sqlite';

/** One extract this hospital produced: ids, hash and counts (which patients: on the ledger only). */
export interface ExtractLogEntry {
  extractId: string;
  requestId: string;
  researcher: string;
  /** Where the approval is documented: local only, never on the ledger. */
  approval: string;
  extractHash: string;
  k: number;
  quasiIdentifiers: string[];
  rowCount: number;
  patientCount: number;
  transactionId: string;
  createdAt: string;
}

interface Row {
  extract_id: string;
  request_id: string;
  researcher: string;
  approval: string;
  extract_hash: string;
  k: number;
  quasi_identifiers: string;
  row_count: number;
  patient_count: number;
  tx_id: string;
  created_at: string;
}

/** The hospital's log of research extracts (table research_extract_log, migration v6). */
export class ResearchExtractLog {
  private readonly insertRow: StatementSync;
  private readonly byRequest: StatementSync;
  private readonly byExtract: StatementSync;

  constructor(db: DatabaseSync) {
    this.insertRow = db.prepare(
      `INSERT INTO research_extract_log (extract_id, request_id, researcher, approval, extract_hash, k,
        quasi_identifiers, row_count, patient_count, tx_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.byRequest = db.prepare('SELECT * FROM research_extract_log WHERE request_id = ? ORDER BY created_at');
    this.byExtract = db.prepare('SELECT * FROM research_extract_log WHERE extract_id = ?');
  }

  add(e: ExtractLogEntry): void {
    this.insertRow.run(
      e.extractId,
      e.requestId,
      e.researcher,
      e.approval,
      e.extractHash,
      e.k,
      JSON.stringify(e.quasiIdentifiers),
      e.rowCount,
      e.patientCount,
      e.transactionId,
      e.createdAt,
    );
  }

  forRequest(requestId: string): ExtractLogEntry[] {
    return (this.byRequest.all(requestId) as unknown as Row[]).map(entryOf);
  }

  byId(extractId: string): ExtractLogEntry | undefined {
    const row = this.byExtract.get(extractId) as unknown as Row | undefined;
    return row ? entryOf(row) : undefined;
  }
}

function entryOf(r: Row): ExtractLogEntry {
  return {
    extractId: r.extract_id,
    requestId: r.request_id,
    researcher: r.researcher,
    approval: r.approval,
    extractHash: r.extract_hash,
    k: r.k,
    quasiIdentifiers: JSON.parse(r.quasi_identifiers) as string[],
    rowCount: r.row_count,
    patientCount: r.patient_count,
    transactionId: r.tx_id,
    createdAt: r.created_at,
  };
}
