import { existsSync } from 'node:fs';
import type { DatabaseSync } from 'node:sqlite';
import { isChaincodeErrorCode, type InstitutionalExtractRecord, type PatientRecord } from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import type { LedgerPort } from '../ledger/ledger-port';
import { buildExtract, extractCsv, type ExclusionReason, type ExtractReport } from './extract-builder';
import {
  documentIn,
  finalFiles,
  holdsCsv,
  pendingFiles,
  promote,
  removePending,
  sha256Hex,
  writePending,
  type ExtractDocument,
  type ExtractFiles,
} from './extract-files';
import { ResearchExtractLog } from './extract-log';
import type { ExtractRequest } from './extract-request';
import { ExtractSource } from './extract-source';

export { EXTRACT_CSV, EXTRACT_JSON, type ExtractDocument } from './extract-files';

/** The ledger takes at most this many patients per extract (Research.RecordExtract, OptedOutAmong). */
export const MAX_EXTRACT_PATIENTS = 10_000;
/** Ledger reads in flight at once while the patients' records are checked. */
const READ_CONCURRENCY = 8;

export type ResearchExtractErrorCode =
  'NOTHING_TO_RELEASE' | 'TOO_MANY_PATIENTS' | 'OUTPUT_EXISTS' | 'ALREADY_ANSWERED' | 'LEDGER';

export class ResearchExtractError extends Error {
  override readonly name = 'ResearchExtractError';
  constructor(
    readonly code: ResearchExtractErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

export interface ExtractServiceDeps {
  db: DatabaseSync;
  ledger: LedgerPort;
  /** This hospital's MSP id: with the request id, it names the extract. */
  hospital: string;
  now?: () => Date;
}

export interface ProducedExtract {
  extractId: string;
  requestId: string;
  /** SHA-256 hex of extract.csv, as recorded on the ledger. */
  extractHash: string;
  transactionId: string;
  /** True when an earlier run of the same request had recorded it: this run only put its files in place. */
  alreadyRecorded: boolean;
  report: ExtractReport;
  files: ExtractFiles;
}

/**
 * The id of the extract answering `requestId` at `hospital`: the same on every run of the request,
 * so a retry finds what an earlier run recorded instead of recording a second extract.
 */
export function extractIdFor(hospital: string, requestId: string): string {
  return `ext-${sha256Hex(`${hospital}|${requestId}`).slice(0, 40)}`;
}

/**
 * Produces an institutional research extract (issue 16) from the standardized DB: the request's
 * codes, patients who opted out of research, erased their records or are not on the ledger left
 * out, the rest k-anonymous over the requested quasi-identifiers. The files are written under
 * pending names, the extract's hash and patients recorded on the ledger (Research.RecordExtract:
 * one `research` access event per patient), and only then are the files renamed into place and
 * the extract logged, so no extract exists that the ledger does not know.
 *
 * Idempotent per request: when the ledger already holds the request's extract (an earlier run
 * recorded it, then failed or lost the answer), its pending files are put in place and nothing is
 * recorded again (`alreadyRecorded`).
 *
 * @throws ResearchExtractError NOTHING_TO_RELEASE when no row reaches k, TOO_MANY_PATIENTS above
 * the ledger's limit, OUTPUT_EXISTS when `outDir` holds another extract, ALREADY_ANSWERED when the
 * ledger holds the request's extract but its files are gone (or it is for another researcher),
 * LEDGER when the ledger refuses or cannot be reached (its LedgerError is the cause).
 */
export async function produceExtract(
  d: ExtractServiceDeps,
  request: ExtractRequest,
  outDir: string,
): Promise<ProducedExtract> {
  const now = (d.now ?? (() => new Date()))();
  const extractId = extractIdFor(d.hospital, request.requestId);
  const recorded = await ledgerCall('read the extract', () => d.ledger.readExtract(extractId));
  if (recorded) return finishRecorded(d, request, outDir, recorded);

  const files = finalFiles(outDir);
  for (const f of [files.csv, files.json]) {
    if (existsSync(f)) throw new ResearchExtractError('OUTPUT_EXISTS', `${f} exists: choose an empty folder`);
  }

  const source = new ExtractSource(d.db);
  const rows = source.rows(request.codes, request.received);
  const excluded = await exclusions(d.ledger, [...new Set(rows.map((r) => r.pseudonym))], source.erasedHere());
  const built = buildExtract(rows, {
    k: request.k,
    quasiIdentifiers: request.quasiIdentifiers,
    referenceYear: now.getUTCFullYear(),
    excluded,
    maxSuppressedShare: request.maxSuppressed,
  });
  if (built.members.length === 0) {
    throw new ResearchExtractError(
      'NOTHING_TO_RELEASE',
      rows.length === 0
        ? `no element with the requested codes is in the standardized DB${windowText(request.received)}`
        : `no row reaches k = ${request.k} over ${request.quasiIdentifiers.join(', ') || 'no quasi-identifiers'}, even fully generalised`,
    );
  }
  if (built.members.length > MAX_EXTRACT_PATIENTS) {
    throw new ResearchExtractError(
      'TOO_MANY_PATIENTS',
      `the extract holds ${built.members.length} patients; the ledger records at most ${MAX_EXTRACT_PATIENTS}: narrow the codes`,
    );
  }

  const csv = extractCsv(built.rows, built.report.quasiIdentifiers, built.report.linkedRows);
  const extractHash = sha256Hex(csv);
  const pending = writePending(outDir, csv, {
    extractId,
    requestId: request.requestId,
    extractHash,
    report: built.report,
    rows: built.rows,
  });
  let record: InstitutionalExtractRecord;
  try {
    record = await d.ledger.recordExtract(
      {
        extractId,
        requestId: request.requestId,
        researcher: request.researcher,
        extractHash,
        k: built.report.kReached,
        quasiIdentifiers: built.report.quasiIdentifiers,
        rowCount: built.report.rows,
      },
      built.members,
    );
  } catch (err) {
    // An earlier run's record may have committed after this run read the ledger: the ledger then
    // refuses this build as a conflict, and that run's pending files answer the request.
    if (err instanceof LedgerError && err.code === 'CONFLICT') {
      const landed = await ledgerCall('read the extract', () => d.ledger.readExtract(extractId));
      if (landed) return finishRecorded(d, request, outDir, landed);
    }
    // A refusal is final: nothing was recorded, so nothing may stay behind. Anything else (a
    // timeout, an unreachable orderer) may have committed: the files stay for a re-run to finish.
    if (isRefusal(err)) removePending(outDir, extractId);
    throw ledgerFailure('record the extract', err);
  }

  promote(pending.json, files.json);
  promote(pending.csv, files.csv);
  removePending(outDir, extractId);
  const report = built.report;
  logOnce(d.db, request, record, report.participants, now.toISOString());
  return {
    extractId,
    requestId: request.requestId,
    extractHash,
    transactionId: record.txId,
    alreadyRecorded: false,
    report,
    files,
  };
}

/**
 * The request's extract is on the ledger already: put its files in place from where an earlier
 * run left them (or find them in place), log it if that run did not, record nothing.
 */
function finishRecorded(
  d: ExtractServiceDeps,
  request: ExtractRequest,
  outDir: string,
  record: InstitutionalExtractRecord,
): ProducedExtract {
  const { extractId, extractHash } = record;
  if (record.researcher !== request.researcher) {
    throw new ResearchExtractError(
      'ALREADY_ANSWERED',
      `request ${request.requestId} was answered: extract ${extractId} on the ledger is for researcher ${record.researcher}; a new extract needs a new requestId`,
    );
  }
  const files = finalFiles(outDir);
  const pending = pendingFiles(outDir, extractId, extractHash);
  const csvFrom = holdsCsv(files.csv, extractHash)
    ? files.csv
    : existsSync(files.csv)
      ? occupied(files.csv)
      : holdsCsv(pending.csv, extractHash)
        ? pending.csv
        : undefined;
  const jsonFrom = documentIn(files.json, extractId, extractHash)
    ? files.json
    : existsSync(files.json)
      ? occupied(files.json)
      : documentIn(pending.json, extractId, extractHash)
        ? pending.json
        : undefined;
  if (csvFrom === undefined || jsonFrom === undefined) {
    throw new ResearchExtractError(
      'ALREADY_ANSWERED',
      `request ${request.requestId} was answered: extract ${extractId} (sha256 ${extractHash}) is on the ledger, ` +
        `but its files are not in ${outDir}; run with the folder of that run, or make a new request (new requestId)`,
    );
  }
  const document = documentIn(jsonFrom, extractId, extractHash) as ExtractDocument;
  promote(jsonFrom, files.json);
  promote(csvFrom, files.csv);
  removePending(outDir, extractId);
  logOnce(d.db, request, record, document.report.participants, record.recordedAt);
  return {
    extractId,
    requestId: record.requestId,
    extractHash,
    transactionId: record.txId,
    alreadyRecorded: true,
    report: document.report,
    files,
  };
}

function occupied(file: string): never {
  throw new ResearchExtractError('OUTPUT_EXISTS', `${file} holds another extract: choose the folder of the first run`);
}

/** The hospital's log entry of the extract, unless a run before wrote it. */
function logOnce(
  db: DatabaseSync,
  request: ExtractRequest,
  record: InstitutionalExtractRecord,
  patientCount: number,
  createdAt: string,
): void {
  const log = new ResearchExtractLog(db);
  if (log.byId(record.extractId)) return;
  log.add({
    extractId: record.extractId,
    requestId: record.requestId,
    researcher: record.researcher,
    approval: request.approval,
    extractHash: record.extractHash,
    k: record.k,
    quasiIdentifiers: record.quasiIdentifiers,
    rowCount: record.rowCount,
    patientCount,
    transactionId: record.txId,
    createdAt,
  });
}

/** A chaincode refusal: the transaction was not endorsed, so it cannot have committed. */
function isRefusal(err: unknown): boolean {
  return err instanceof LedgerError && isChaincodeErrorCode(err.code);
}

/** Who is left out and why: erased here or on the ledger, not registered, opted out of research. */
async function exclusions(
  ledger: LedgerPort,
  candidates: readonly string[],
  erasedHere: ReadonlySet<string>,
): Promise<Map<string, ExclusionReason>> {
  const excluded = new Map<string, ExclusionReason>();
  const toCheck = candidates.filter((p) => {
    if (erasedHere.has(p)) excluded.set(p, 'erased');
    return !erasedHere.has(p);
  });
  const records = await mapLimited(toCheck, READ_CONCURRENCY, (p) =>
    ledgerCall('read a patient record', () => ledger.readPatient(p)),
  );
  const registered: string[] = [];
  toCheck.forEach((p, i) => {
    const record: PatientRecord | undefined = records[i];
    if (record === undefined) excluded.set(p, 'notRegistered');
    else if (record.erasedAt !== undefined) excluded.set(p, 'erased');
    else registered.push(p);
  });
  for (let i = 0; i < registered.length; i += MAX_EXTRACT_PATIENTS) {
    const chunk = registered.slice(i, i + MAX_EXTRACT_PATIENTS);
    const asked = new Set(chunk);
    const optedOut = await ledgerCall('read research opt-outs', () => ledger.optedOutAmong(chunk));
    for (const p of optedOut) if (asked.has(p)) excluded.set(p, 'optedOut');
  }
  return excluded;
}

async function ledgerCall<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw ledgerFailure(what, err);
  }
}

function ledgerFailure(what: string, err: unknown): ResearchExtractError {
  const message = err instanceof Error ? err.message : String(err);
  return new ResearchExtractError('LEDGER', `the ledger did not ${what}: ${message}`, { cause: err });
}

/** `fn` over `items` with at most `limit` calls in flight; results in the items' order. */
async function mapLimited<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

/** ` received from … to …` for a request's data window, or nothing. */
function windowText(received: ExtractRequest['received']): string {
  if (!received?.from && !received?.to) return '';
  return ` received${received.from ? ` from ${received.from}` : ''}${received.to ? ` until ${received.to}` : ''}`;
}
