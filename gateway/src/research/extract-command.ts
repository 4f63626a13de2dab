import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { DatabaseSync } from 'node:sqlite';
import { ConfigError, loadConfig, type GatewayConfig } from '../config';
import { configuredLedger, gatewayIdentity } from '../gateway';
import type { LedgerPort } from '../ledger/ledger-port';
import { openDatabase } from '../store/database';
import type { ExtractReport } from './extract-builder';
import { ExtractRequestError, readExtractRequest } from './extract-request';
import { produceExtract, ResearchExtractError, type ProducedExtract } from './extract-service';
import { KAnonymityError } from './k-anonymity';

/** Exit codes of `phr-gateway research-extract`. */
export const EXIT = {
  ok: 0,
  /**
   * The ledger, the database or the files failed: nothing was released. Also when the request was
   * answered already and that extract's files are gone (a new extract needs a new requestId).
   */
  failed: 1,
  /** Wrong arguments, config or request: nothing was read. */
  usage: 2,
  /** No row reaches k (or too many patients for one extract): nothing was released. */
  notReleasable: 3,
} as const;

const USAGE =
  'usage: phr-gateway research-extract --request FILE --out DIR [--config gateway.json] [--json]\n' +
  '  FILE: {"requestId", "researcher" (identity key), "approval", "codes": [{"system", "code"?}],\n' +
  '         "quasiIdentifiers": subset of ageBand, gender, postalCode3, year, "k" (default 5, at least 5),\n' +
  '         "maxSuppressed" (share of rows suppression may take before generalising further; default 0.05)}\n' +
  '  writes DIR/extract.csv and DIR/extract.json, records the extract on the ledger, prints the report;\n' +
  '  run again with the same requestId and DIR after a failure: it finishes without recording twice\n' +
  '  --config defaults to PHR_GATEWAY_CONFIG; exit 0 done, 1 failed (or answered before, files gone),\n' +
  '  2 bad arguments, 3 nothing reaches k';

export interface ExtractCommandIo {
  out: (line: string) => void;
  err: (line: string) => void;
}

export interface ExtractCommandOptions {
  /** Tests: the ledger instead of the one the config names (it is not closed here). */
  ledger?: LedgerPort;
  now?: () => Date;
  env?: NodeJS.ProcessEnv;
}

interface Args {
  request: string;
  out: string;
  config: string;
  json: boolean;
}

/**
 * `phr-gateway research-extract`: an institutional research extract from this gateway's
 * standardized DB, with the gateway's own config, database and ledger identity, as the server
 * uses them (it may run beside the server: SQLite's WAL lets both at the file).
 */
export async function researchExtractCommand(
  argv: readonly string[],
  io: ExtractCommandIo,
  options: ExtractCommandOptions = {},
): Promise<number> {
  const args = parseArgs(argv, options.env ?? process.env);
  if (typeof args === 'string') {
    if (args !== '') io.err(`phr-gateway research-extract: ${args}`);
    io.err(USAGE);
    return args === '' ? EXIT.ok : EXIT.usage;
  }

  let config: GatewayConfig;
  let request;
  try {
    config = loadConfig(args.config);
    request = readExtractRequest(args.request);
  } catch (err) {
    if (err instanceof ConfigError || err instanceof ExtractRequestError) {
      io.err(`phr-gateway research-extract: ${err.message}`);
      return EXIT.usage;
    }
    throw err;
  }
  if (!options.ledger && config.ledger.mode !== 'fabric') {
    io.err('phr-gateway research-extract: research extracts need the ledger (this config has ledger.mode none)');
    return EXIT.usage;
  }
  // The file the gateway keeps (gateway.ts, openStores): an extract from a gateway that never ran is an error.
  const dbFile = join(config.dataDir, 'gateway.db');
  if (!existsSync(dbFile)) {
    io.err(`phr-gateway research-extract: no gateway database at ${dbFile}`);
    return EXIT.failed;
  }

  let db: DatabaseSync | undefined;
  let ownLedger: LedgerPort | undefined;
  try {
    db = openDatabase(dbFile);
    const ledger = options.ledger ?? (ownLedger = configuredLedger(config, gatewayIdentity(config)));
    const produced = await produceExtract(
      { db, ledger, hospital: config.hospital.mspId, ...(options.now ? { now: options.now } : {}) },
      request,
      resolve(args.out),
    );
    if (args.json) io.out(JSON.stringify(summary(produced), null, 2));
    else for (const line of describe(produced)) io.out(line);
    return EXIT.ok;
  } catch (err) {
    io.err(`phr-gateway research-extract: ${err instanceof Error ? err.message : String(err)}`);
    return exitCodeOf(err);
  } finally {
    db?.close();
    ownLedger?.close();
  }
}

/** What went wrong, as the exit code says it: nothing was released in any case. */
function exitCodeOf(err: unknown): number {
  if (err instanceof KAnonymityError) return EXIT.usage;
  if (!(err instanceof ResearchExtractError)) return EXIT.failed;
  if (err.code === 'OUTPUT_EXISTS') return EXIT.usage;
  if (err.code === 'NOTHING_TO_RELEASE' || err.code === 'TOO_MANY_PATIENTS') return EXIT.notReleasable;
  return EXIT.failed;
}

/** The arguments, or what is wrong with them ('' for --help). */
function parseArgs(argv: readonly string[], env: NodeJS.ProcessEnv): Args | string {
  const values: Partial<Record<'request' | 'out' | 'config', string>> = {};
  let json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--help' || a === '-h') return '';
    if (a === '--json') {
      json = true;
      continue;
    }
    const name = a === '--request' ? 'request' : a === '--out' ? 'out' : a === '--config' ? 'config' : undefined;
    if (!name) return `unknown argument ${JSON.stringify(a)}`;
    const value = argv[++i];
    if (value === undefined || value.startsWith('--')) return `${a} needs a value`;
    values[name] = value;
  }
  const config = values.config ?? env.PHR_GATEWAY_CONFIG;
  if (!values.request) return '--request FILE is required';
  if (!values.out) return '--out DIR is required';
  if (!config) return '--config FILE (or PHR_GATEWAY_CONFIG) is required';
  return { request: values.request, out: values.out, config, json };
}

function summary(p: ProducedExtract): Record<string, unknown> {
  return {
    extractId: p.extractId,
    requestId: p.requestId,
    extractHash: p.extractHash,
    transactionId: p.transactionId,
    alreadyRecorded: p.alreadyRecorded,
    files: p.files,
    report: p.report,
  };
}

function describe(p: ProducedExtract): string[] {
  const r: ExtractReport = p.report;
  const g = r.generalisation;
  const qis = r.quasiIdentifiers.length > 0 ? r.quasiIdentifiers.join(', ') : 'no quasi-identifiers';
  return [
    `extract ${p.extractId} for request ${p.requestId}`,
    r.linkedRows
      ? '  rows linked by participant number (P001…, meaningful inside this extract only)'
      : '  rows not linked: years are released, so no participant number joins one patient’s rows',
    `  k: ${r.kReached} reached (${r.kRequested} requested) over ${qis}`,
    `  generalisation level ${g.level}: age bands ${g.ageBand}, postal area ${g.postalCode3}, gender ${g.gender}`,
    `  ${r.participants} participants, ${r.rows} rows; suppressed ${r.suppressedRows} rows, ${r.suppressedParticipants} participants`,
    `  excluded: ${r.excluded.optedOut} opted out of research, ${r.excluded.erased} erased, ${r.excluded.notRegistered} not registered`,
    `  not released: ${r.dropped.textValues} free-text values, ${r.dropped.units} units`,
    `  sha256 of ${p.files.csv}: ${p.extractHash}`,
    p.alreadyRecorded
      ? `  recorded on the ledger before, in transaction ${p.transactionId}: not recorded again, files put in place`
      : `  recorded on the ledger in transaction ${p.transactionId}`,
    `  files: ${p.files.csv}, ${p.files.json}`,
  ];
}
