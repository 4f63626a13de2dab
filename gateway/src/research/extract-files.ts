import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { makePrivateDir, writePrivateFile } from '@phr/common';
import type { ExtractReport, ExtractRow } from './extract-builder';

/**
 * The files of an institutional extract in the output folder. An extract is written under pending
 * names first (mode 0600, named by extract id and hash), recorded on the ledger, and only then
 * renamed into place: a run that dies after the ledger committed leaves files a re-run can finish
 * with, and a folder never shows an extract the ledger does not know.
 */

export const EXTRACT_CSV = 'extract.csv';
export const EXTRACT_JSON = 'extract.json';

export interface ExtractFiles {
  csv: string;
  json: string;
}

/** extract.json: the rows and the report, and nothing that names a patient or a day. */
export interface ExtractDocument {
  extractId: string;
  requestId: string;
  /** SHA-256 hex of extract.csv, as recorded on the ledger. */
  extractHash: string;
  report: ExtractReport;
  rows: ExtractRow[];
}

export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export function finalFiles(outDir: string): ExtractFiles {
  return { csv: join(outDir, EXTRACT_CSV), json: join(outDir, EXTRACT_JSON) };
}

/** Dot files, so a listing of the folder does not show them as the extract. */
export function pendingFiles(outDir: string, extractId: string, extractHash: string): ExtractFiles {
  return {
    csv: join(outDir, `.${EXTRACT_CSV}.${extractId}.${extractHash}.pending`),
    json: join(outDir, `.${EXTRACT_JSON}.${extractId}.${extractHash}.pending`),
  };
}

/** Writes an extract under its pending names, in a folder only the gateway's user may enter. */
export function writePending(outDir: string, csv: string, document: ExtractDocument): ExtractFiles {
  makePrivateDir(outDir);
  const files = pendingFiles(outDir, document.extractId, document.extractHash);
  writePrivateFile(files.csv, csv);
  writePrivateFile(files.json, `${JSON.stringify(document, null, 2)}\n`);
  return files;
}

/** Whether `file` is the CSV of the extract with this hash. */
export function holdsCsv(file: string, extractHash: string): boolean {
  return existsSync(file) && sha256Hex(readFileSync(file)) === extractHash;
}

/** The document in `file` when it is the JSON of this extract; undefined otherwise. */
export function documentIn(file: string, extractId: string, extractHash: string): ExtractDocument | undefined {
  if (!existsSync(file)) return undefined;
  try {
    const document = JSON.parse(readFileSync(file, 'utf8')) as Partial<ExtractDocument>;
    return document.extractId === extractId && document.extractHash === extractHash
      ? (document as ExtractDocument)
      : undefined;
  } catch {
    // unreadable or not JSON: not this extract's document
    return undefined;
  }
}

/** Renames a pending file into place (same folder: atomic). */
export function promote(from: string, to: string): void {
  if (from !== to) renameSync(from, to);
}

/**
 * Removes the pending files of `extractId` but those of `keepHash`: left by runs whose record
 * never reached the ledger (it refused, or a later run recorded another build).
 */
export function removePending(outDir: string, extractId: string, keepHash?: string): void {
  if (!existsSync(outDir)) return;
  for (const name of readdirSync(outDir)) {
    const match = /^\.extract\.(?:csv|json)\.([^.]+)\.([0-9a-f]{64})\.pending$/.exec(name);
    if (match && match[1] === extractId && match[2] !== keepHash) rmSync(join(outDir, name), { force: true });
  }
}
