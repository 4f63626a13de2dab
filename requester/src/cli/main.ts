#!/usr/bin/env node
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { parseCodeRef, PURPOSES_OF_USE, type CodeRef } from '@phr/common';
import { PullRequestError, PullVerificationError } from '../errors';
import { FabricRequesterLedger, type RequesterLedger } from '../ledger';
import { PullClient, type PendingPull, type VerifiedPull } from '../pull-client';
import { CliConfigError, parse } from '../cli-kit/cli-config';
import { ledgerClientOptions, withLedgerNames, withLedgerOptions } from '../cli-kit/ledger-connection';
import { newProgram, runCli } from '../cli-kit/run-cli';
import { connectionConfig, patientSchema, type ConnectionConfig, type ConnectionFlags } from './config';
import { formatPull } from './format';

const out = (text: string) => process.stdout.write(text);
const POLL_INTERVAL_MS = 1_000;

const codeRef = (value: string, previous: CodeRef[] = []): CodeRef[] => {
  const ref = parseCodeRef(value);
  if (!ref) throw new InvalidArgumentError('write a code as system|code, e.g. http://loinc.org|29463-7');
  return [...previous, ref];
};

const seconds = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0) throw new InvalidArgumentError('must be a number of seconds');
  return n;
};

interface CommonFlags extends ConnectionFlags {
  json?: boolean;
  stateDir: string;
  wait: number;
}

/** The connection options every command takes: the gateway (mutual TLS) and the peer the proofs are checked on. */
function withConnection(cmd: Command): Command {
  return withLedgerNames(
    withLedgerOptions(
      cmd
        .requiredOption('--gateway <url>', 'the hospital gateway, e.g. https://127.0.0.1:8443')
        .requiredOption(
          '--ca <file>',
          "the hospital CA's root certificate (PEM): it signed the gateway's TLS certificate",
        ),
      {
        cert: 'your certificate (PEM) from a hospital CA, role clinician, agent or researcher',
        mspIdExample: 'Hospital2MSP',
        peer: "a hospital peer's gateway service, where every proof is checked",
      },
    ),
  )
    .option('--patients-ca <file>', "the patients' CA root (PEM): also accept a re-enrolled patient key it certified")
    .option('--timeout <seconds>', 'deadline of each request to the gateway', '30')
    .addOption(
      new Option('--wait <seconds>', 'when the answer is pending, keep polling this long')
        .argParser(seconds)
        .default(0),
    )
    .option(
      '--state-dir <dir>',
      'where answer keys of pending requests are kept (mode 0600)',
      join(homedir(), '.phr-request'),
    )
    .option('--json', 'print JSON');
}

function withQuery(cmd: Command): Command {
  return cmd
    .addOption(new Option('--purpose <code>', 'purpose of use').choices(PURPOSES_OF_USE))
    .option('--break-glass', 'emergency access without consent (emergency clinicians; flagged, the patient is told)')
    .option('--async', "do not wait for the patient's agent: get a request id to poll");
}

/** How the CLI reaches the ledger; tests put an in-memory ledger here. */
export interface CliDeps {
  connectLedger(config: ConnectionConfig): RequesterLedger & { close(): void };
}

const fabricLedger: CliDeps['connectLedger'] = (config) => FabricRequesterLedger.connect(ledgerClientOptions(config));

/** Connects, runs, and always closes both connections. */
async function run(
  deps: CliDeps,
  flags: CommonFlags,
  fn: (client: PullClient) => Promise<VerifiedPull>,
): Promise<void> {
  const config = connectionConfig(flags);
  const ledger = deps.connectLedger(config);
  const client = new PullClient({ ...config, ledger });
  try {
    let pull = await fn(client);
    const until = Date.now() + flags.wait * 1000;
    while (pull.status === 'pending' && Date.now() < until) {
      await new Promise((r) => setTimeout(r, POLL_INTERVAL_MS));
      pull = await client.poll(pull.requestId);
    }
    if (pull.status === 'pending') savePending(flags.stateDir, client.pending(pull.requestId));
    else removePending(flags.stateDir, pull.requestId);
    out(flags.json ? JSON.stringify(pull, null, 2) + '\n' : formatPull(pull));
  } finally {
    await client.close();
    ledger.close();
  }
}

const pendingFile = (dir: string, requestId: string) => join(dir, `${encodeURIComponent(requestId)}.json`);

/** The answer key must outlive this process for `poll` to open the answer; it is as secret as the answer. */
function savePending(dir: string, pending: PendingPull | undefined): void {
  if (!pending) return;
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileSync(pendingFile(dir, pending.requestId), JSON.stringify(pending), { mode: 0o600 });
}

function removePending(dir: string, requestId: string): void {
  rmSync(pendingFile(dir, requestId), { force: true });
}

function loadPending(dir: string, requestId: string): PendingPull {
  try {
    return JSON.parse(readFileSync(pendingFile(dir, requestId), 'utf8')) as PendingPull;
  } catch (err) {
    throw new CliConfigError(`no answer key for request ${requestId} in ${dir}: it was not made from here`, {
      cause: err,
    });
  }
}

export function program(deps: CliDeps = { connectLedger: fabricLedger }): Command {
  const p = newProgram(
    'phr-request',
    "Ask a hospital gateway for a patient's records; every element is verified against the ledger first.",
  );
  addSearch(p, deps);
  addEverything(p, deps);
  addPoll(p, deps);
  return p;
}

/** The options `withQuery` adds. */
interface QueryFlags {
  purpose?: string;
  breakGlass?: boolean;
  async?: boolean;
}

/** The query flags as the pull client takes them: only those given. */
function queryOptions(o: QueryFlags) {
  return {
    ...(o.purpose ? { purpose: o.purpose as (typeof PURPOSES_OF_USE)[number] } : {}),
    ...(o.breakGlass ? { breakGlass: true } : {}),
    ...(o.async ? { async: true } : {}),
  };
}

function addSearch(p: Command, deps: CliDeps): void {
  withQuery(
    withConnection(
      p
        .command('search')
        .description('FHIR search: GET /fhir/{type}?patient=&code=')
        .requiredOption('--patient <pseudonym>', "the patient's pseudonym")
        .requiredOption('--type <resourceType>', 'FHIR resource type, e.g. Observation')
        .option('--code <system|code>', 'only these codes (repeatable)', codeRef)
        .option('--post', 'POST /fhir/{type}/_search with a form body instead'),
    ),
  ).action(
    async (o: CommonFlags & QueryFlags & { patient: string; type: string; code?: CodeRef[]; post?: boolean }) => {
      const patient = parse(patientSchema, o.patient);
      await run(deps, o, (c) =>
        c.search({
          type: o.type,
          patient,
          ...(o.code ? { codes: o.code } : {}),
          ...queryOptions(o),
          ...(o.post ? { post: true } : {}),
        }),
      );
    },
  );
}

function addEverything(p: Command, deps: CliDeps): void {
  withQuery(
    withConnection(
      p
        .command('everything')
        .description('GET /fhir/Patient/{pseudonym}/$everything')
        .requiredOption('--patient <pseudonym>', "the patient's pseudonym"),
    ),
  ).action(async (o: CommonFlags & QueryFlags & { patient: string }) => {
    const patient = parse(patientSchema, o.patient);
    await run(deps, o, (c) => c.everything(patient, queryOptions(o)));
  });
}

function addPoll(p: Command, deps: CliDeps): void {
  withConnection(
    p
      .command('poll')
      .description('ask again for a request answered 202')
      .argument('<requestId>', 'from search --async'),
  ).action(async (requestId: string, o: CommonFlags) => {
    const pending = loadPending(o.stateDir, requestId);
    await run(deps, o, (c) => c.poll(requestId, pending));
  });
}

/** One line on stderr that says what happened, and a non-zero exit: refusals are never silent. */
export function describeFailure(err: unknown): string {
  if (err instanceof PullVerificationError) return `refused: ${err.message}`;
  if (err instanceof PullRequestError) return err.code === 'DENIED' ? err.message : `error: ${err.message}`;
  if (err instanceof CliConfigError) return `error: ${err.message}`;
  return `error: ${err instanceof Error ? err.message : String(err)}`;
}

/** Runs the CLI; resolves to the exit code. */
export function main(argv: readonly string[], deps?: CliDeps): Promise<number> {
  return runCli(program(deps), argv, describeFailure);
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
