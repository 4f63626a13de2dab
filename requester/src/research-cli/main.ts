#!/usr/bin/env node
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, Option } from 'commander';
import {
  checkSafeHarbor,
  fabricX509Id,
  identityKey,
  isRecordId,
  RESEARCH_USES,
  type KnownIdentifiers,
  type ResearchOfferRecord,
  type ResearchUse,
} from '@phr/common';
import { LedgerError } from '@phr/ledger-client';
import { CliConfigError } from '../cli-kit/cli-config';
import { ledgerClientOptions, withLedgerNames, withLedgerOptions } from '../cli-kit/ledger-connection';
import { newProgram, runCli } from '../cli-kit/run-cli';
import { readTermsFile, researchConfig, type ResearchConfig, type ResearchFlags } from './config';
import { buildDataset } from './dataset';
import { collect, type CollectReport } from './collect';
import { ResearchError } from './research-errors';
import { ResearchGateway } from './research-gateway';
import { FabricResearchLedger, type ResearchLedger } from './research-ledger';
import { ResearchState } from './research-state';

const out = (text: string) => process.stdout.write(text);
const print = (json: boolean | undefined, value: unknown, text: string) =>
  out(json ? `${JSON.stringify(value, null, 2)}\n` : text);

/** How the CLI reaches the ledger and the gateway; tests put the in-memory chaincode here. */
export interface ResearchCliDeps {
  connectLedger(config: ResearchConfig): ResearchLedger & { close(): void };
}

const fabricLedger: ResearchCliDeps['connectLedger'] = (config) =>
  FabricResearchLedger.connect(ledgerClientOptions(config));

/** The options every command takes: who the researcher is and where the ledger is. */
function withConnection(cmd: Command): Command {
  return withLedgerNames(
    withLedgerOptions(cmd, {
      cert: 'your certificate (PEM), role researcher',
      mspIdExample: 'Hospital1MSP',
      peer: "a peer's gateway service",
    })
      .option('--gateway <url>', "the collecting hospital's gateway (the offer's collectVia), for collect")
      .option('--ca <file>', "the root certificate (PEM) of the gateway's TLS certificate"),
  )
    .option('--timeout <seconds>', 'deadline of each request', '30')
    .option(
      '--state-dir <dir>',
      'where sealing keys (mode 0600) and verified extracts are kept',
      join(homedir(), '.phr-research'),
    )
    .option('--json', 'print JSON');
}

/** Connects, runs, and always closes the ledger connection. */
async function withLedger<T>(
  deps: ResearchCliDeps,
  flags: ResearchFlags,
  fn: (ledger: ResearchLedger, config: ResearchConfig) => Promise<T>,
): Promise<T> {
  const config = researchConfig(flags);
  const ledger = deps.connectLedger(config);
  try {
    return await fn(ledger, config);
  } finally {
    ledger.close();
  }
}

export function program(deps: ResearchCliDeps = { connectLedger: fabricLedger }): Command {
  const p = newProgram(
    'phr-research',
    'Post research offers, collect the extracts patients chose to send, verify them against the ledger, and export a de-identified dataset.',
  );
  addAccount(p, deps);
  addOffer(p, deps);
  addCollect(p, deps);
  addExport(p, deps);
  addUse(p, deps);
  return p;
}

function addAccount(p: Command, deps: ResearchCliDeps): void {
  withConnection(p.command('account').description('open your credit account (once) and show it')).action(
    async (o: ResearchFlags) => {
      await withLedger(deps, o, async (ledger) => {
        const account = await ledger.openAccount();
        print(o.json, account, `account ${account.accountId} (${account.mspId}): ${account.balance} credits\n`);
      });
    },
  );
  withConnection(p.command('balance').description('your balance and statement')).action(async (o: ResearchFlags) => {
    await withLedger(deps, o, async (ledger) => {
      const account = await ledger.readAccount();
      const entries = await ledger.listEntries();
      const lines = entries.map(
        (e) =>
          `  ${e.recordedAt}  ${e.kind.padEnd(7)} ${String(e.amount).padStart(8)}  → ${String(e.balanceAfter).padStart(8)}` +
          `${e.offerId ? `  offer ${e.offerId}` : ''}\n`,
      );
      print(o.json, { account, entries }, `balance: ${account.balance} credits\n${lines.join('')}`);
    });
  });
}

function addOffer(p: Command, deps: ResearchCliDeps): void {
  const offer = p.command('offer').description('your research offers');
  withConnection(
    offer
      .command('post')
      .description('post an offer; the key extracts are sealed to is made here and never leaves --state-dir')
      .requiredOption('--file <terms.json>', 'the offer terms (OfferTerms without encryptionPublicKey)'),
  ).action(async (o: ResearchFlags & { file: string }) => {
    const terms = readTermsFile(o.file);
    await withLedger(deps, o, async (ledger, config) => {
      // Saved before it is posted: an offer whose key was lost could never be read.
      const keys = new ResearchState(config.stateDir).sealingKey(terms.offerId);
      const record = await ledger.postOffer({ ...terms, encryptionPublicKey: keys.publicKeyPem });
      print(o.json, record, `${describeOffer(record)}escrow: ${record.escrow} credits\n`);
    });
  });
  withConnection(
    offer.command('list').description('your offers').option('--all', 'every open offer on the ledger, not only yours'),
  ).action(async (o: ResearchFlags & { all?: boolean }) => {
    await withLedger(deps, o, async (ledger, config) => {
      const me = identityKey(config.mspId, fabricX509Id(config.certificatePem));
      const offers = o.all
        ? await ledger.listOffers('open')
        : (await ledger.listOffers('')).filter((r) => r.institute.id === me);
      print(o.json, offers, offers.length === 0 ? 'no offers\n' : offers.map(describeOffer).join(''));
    });
  });
  withConnection(
    offer.command('withdraw').description('withdraw an offer; unspent escrow comes back').argument('<offerId>'),
  ).action(async (offerId: string, o: ResearchFlags) => {
    await withLedger(deps, o, async (ledger) => {
      const record = await ledger.withdrawOffer(checkedId(offerId, 'offer id'));
      print(o.json, record, `${describeOffer(record)}still held for accepted participants: ${record.escrow} credits\n`);
    });
  });
}

function addCollect(p: Command, deps: ResearchCliDeps): void {
  withConnection(
    p
      .command('collect')
      .description(
        "fetch the offer's sealed extracts from the gateway, verify each against the ledger, keep and acknowledge them",
      )
      .argument('<offerId>'),
  ).action(async (offerId: string, o: ResearchFlags) => {
    await withLedger(deps, o, async (ledger, config) => {
      if (!config.gateway)
        throw new CliConfigError("collect needs --gateway and --ca: the gateway of the offer's collectVia");
      const gateway = new ResearchGateway({
        gatewayUrl: config.gateway.url,
        caPem: config.gateway.caPem,
        certificatePem: config.certificatePem,
        privateKeyPem: config.privateKeyPem,
        timeoutMs: config.timeoutMs,
      });
      try {
        const report = await collect({
          offerId: checkedId(offerId, 'offer id'),
          ledger,
          gateway,
          state: new ResearchState(config.stateDir),
        });
        print(o.json, report, describeCollect(report));
      } finally {
        await gateway.close();
      }
    });
  });
}

function addExport(p: Command, deps: ResearchCliDeps): void {
  withConnection(
    p
      .command('export')
      .description(
        'write dataset.csv and dataset.json (FHIR Bundle) of the verified extracts, after the Safe Harbor check; declares the export on the ledger',
      )
      .argument('<offerId>')
      .requiredOption('--out <dir>', 'where to write the dataset')
      .option('--known-identifiers <file>', 'JSON KnownIdentifiers that must not appear anywhere (names, MRNs, …)')
      .option('--use-id <id>', 'the id of the declared use (default: a new one)'),
  ).action(async (offerId: string, o: ResearchFlags & { out: string; knownIdentifiers?: string; useId?: string }) => {
    const known = o.knownIdentifiers ? readKnown(o.knownIdentifiers) : undefined;
    await withLedger(deps, o, async (ledger, config) => {
      const offer = await readOffer(ledger, checkedId(offerId, 'offer id'));
      const { extracts, corrupt } = new ResearchState(config.stateDir).readExtracts(offer.offerId);
      // A kept file that no longer reads is left out, and said: a later collect cannot fetch it again.
      for (const f of corrupt) process.stderr.write(`warning: kept extract ${f} cannot be read; left out\n`);
      if (extracts.length === 0) {
        throw new ResearchError('STATE', `no verified extracts of offer ${offer.offerId} here: run collect first`);
      }
      const dataset = buildDataset({
        offer,
        ledger: { channel: config.channel, chaincode: config.chaincode },
        extracts,
      });
      const findings = checkSafeHarbor({ csv: dataset.csv, bundle: dataset.bundle, ...(known ? { known } : {}) });
      if (findings.length > 0) {
        const lines = findings.slice(0, 50).map((f) => `  ${f.kind} at ${f.where} (${f.sample})`);
        throw new ResearchError(
          'SAFE_HARBOR',
          `the dataset would hold ${findings.length} Safe Harbor identifier(s); nothing was written or declared:\n${lines.join('\n')}`,
        );
      }
      // Declared before it is written: the participants see every export, even one whose write fails.
      const declared = await ledger.declareUse(offer.offerId, o.useId ?? `export-${randomUUID()}`, 'export');
      mkdirSync(o.out, { recursive: true });
      writeFileSync(join(o.out, 'dataset.csv'), dataset.csv);
      writeFileSync(join(o.out, 'dataset.json'), `${JSON.stringify(dataset.bundle, null, 2)}\n`);
      const summary = {
        offerId: offer.offerId,
        participants: dataset.participants,
        rows: dataset.rows,
        out: o.out,
        declared,
        corrupt,
      };
      print(
        o.json,
        summary,
        `${dataset.participants} participants, ${dataset.rows} rows: ${join(o.out, 'dataset.csv')}, ${join(o.out, 'dataset.json')}\n` +
          `Safe Harbor check: nothing found. Export declared on the ledger (use ${declared.useId}, ${declared.count} participants' access logs).\n`,
      );
    });
  });
}

function addUse(p: Command, deps: ResearchCliDeps): void {
  withConnection(
    p
      .command('use')
      .description(
        "declare a use of an offer's or an institutional extract's data: it lands on every participant's access log",
      )
      .argument('<subject>', 'an offer id you posted, or an institutional extract id naming you')
      .addOption(new Option('--use <use>', 'what you did with it').choices(RESEARCH_USES).makeOptionMandatory())
      .option('--use-id <id>', 'the id of the declared use (default: a new one; give one to retry)'),
  ).action(async (subject: string, o: ResearchFlags & { use: ResearchUse; useId?: string }) => {
    await withLedger(deps, o, async (ledger) => {
      const declared = await ledger.declareUse(checkedId(subject, 'subject'), o.useId ?? `use-${randomUUID()}`, o.use);
      print(
        o.json,
        declared,
        `use ${declared.use} of ${declared.subject} declared (${declared.useId}): ${declared.count} participants' access logs\n`,
      );
    });
  });
}

async function readOffer(ledger: ResearchLedger, offerId: string): Promise<ResearchOfferRecord> {
  const offer = await ledger.readOffer(offerId);
  if (!offer) throw new ResearchError('NOT_FOUND', `no offer ${offerId} on the ledger`);
  return offer;
}

function readKnown(file: string): KnownIdentifiers {
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as KnownIdentifiers;
  } catch (err) {
    throw new CliConfigError(`--known-identifiers: ${file} is not a readable JSON file`, { cause: err });
  }
}

function checkedId(id: string, what: string): string {
  if (!isRecordId(id))
    throw new CliConfigError(`${what} ${String(id)} is not a record id (8–128 letters, digits, . _ -)`);
  return id;
}

function describeOffer(r: ResearchOfferRecord): string {
  return (
    `${r.offerId}  ${r.status}  "${r.title}"\n` +
    `  accepted ${r.accepted}, delivered ${r.delivered} of ${r.quota}; ${r.creditsPerParticipant} credits each; ` +
    `collected via ${r.collectVia}; expires ${r.expiresAt}\n`
  );
}

function describeCollect(r: CollectReport): string {
  const lines = [
    `offer ${r.offerId}: ${r.verified.length} extract(s) verified and kept (${r.verified.reduce((n, v) => n + v.unchanged, 0)} elements proven against the ledger, ${r.verified.reduce((n, v) => n + v.changed.length, 0)} changed)`,
  ];
  for (const v of r.verified) {
    const changes = v.changed.flatMap((c) => c.changes.map((x) => `${x.field}:${x.rule}`));
    const counted = [...new Set(changes)].map((c) => `${c} ×${changes.filter((x) => x === c).length}`);
    lines.push(
      `  ${v.participationId}: ${v.unchanged} proven, ${v.changed.length} changed${counted.length ? ` (${counted.join(', ')})` : ''}`,
    );
  }
  lines.push(
    `already kept here: ${r.alreadyKept}; waiting for the ledger: ${r.waiting.length}; refused: ${r.refused.length}`,
  );
  for (const f of r.refused)
    lines.push(`  refused ${f.participationId}: ${f.code}: ${f.message} (left at the gateway)`);
  for (const id of r.corruptKept) lines.push(`  kept file of ${id} could not be read: verified again from the gateway`);
  if (r.unreached) {
    const why = r.unreached.reason === 'no-progress' ? "the gateway's pages stopped making progress" : 'the page limit';
    lines.push(
      `not reached: at least ${r.unreached.atLeast} more extract(s) at the gateway (${why}); run collect again`,
    );
  }
  return `${lines.join('\n')}\n`;
}

/** One line on stderr that says what happened, and a non-zero exit. */
export function describeFailure(err: unknown): string {
  if (err instanceof ResearchError && err.code === 'SAFE_HARBOR') return `refused: ${err.message}`;
  if (err instanceof LedgerError) return `ledger: ${err.message}`;
  return `error: ${err instanceof Error ? err.message : String(err)}`;
}

/** Runs the CLI; resolves to the exit code. */
export function main(argv: readonly string[], deps?: ResearchCliDeps): Promise<number> {
  return runCli(program(deps), argv, describeFailure);
}

if (require.main === module) {
  void main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}
