/** `inbox`, `records` and `verify`: records in, records out, and the vault checked against the ledger. */
import type { Command } from 'commander';
import { writePrivateFile, type CodeRef } from '@phr/common';
import type { Agent } from '../agent';
import type { RecordQuery } from '../vault/vault-types';
import { codeRef, integer, json, out, withAgent, type JsonOption } from './command-kit';
import { describeError } from './describe-error';
import { formatRecords, formatSync, formatVerify } from './format';

interface InboxOptions extends JsonOption {
  wait: number;
  watch?: boolean;
  fcmToken?: string;
}

interface RecordsOptions extends JsonOption {
  type?: string;
  code?: CodeRef[];
  from?: string;
  to?: string;
  delivery?: string;
  allElements?: boolean;
  limit?: number;
  export?: string;
}

export function addRecordCommands(p: Command): void {
  p.command('inbox')
    .alias('sync')
    .description('fetch, verify, store and acknowledge new records; refresh the access log')
    .option('--wait <seconds>', 'wait this long for mail when there is none', integer('wait'), 0)
    .option('--watch', 'keep running: fetch whenever mail arrives, retry after outages')
    .option(
      '--fcm-token <token>',
      "wake this device through Firebase Cloud Messaging instead of the gateway's local channel",
    )
    .option('--json', 'print JSON')
    .action((o: InboxOptions, cmd: Command) =>
      withAgent(cmd, (agent) => inbox(agent, o), {
        open: o.fcmToken ? { wakeup: { channel: 'fcm', token: o.fcmToken } } : {},
      }),
    );

  p.command('records')
    .description('list and search your records; export them as a FHIR Bundle')
    .option('--type <resourceType>', 'e.g. Observation')
    .option('--code <system|code>', 'e.g. http://loinc.org|4548-4', codeRef)
    .option('--from <date>', 'clinical date on or after')
    .option('--to <date>', 'clinical date before')
    .option('--delivery <id>', 'one delivery')
    .option('--all-elements', 'every coded element, not only one line per resource')
    .option('--limit <n>', 'at most n', integer('limit'))
    .option('--export <file>', 'write the matching resources as a FHIR R4 collection Bundle')
    .option('--json', 'print JSON')
    .action((o: RecordsOptions, cmd: Command) => withAgent(cmd, (agent) => records(agent, o)));

  p.command('verify')
    .description('re-check every element in the vault against the ledger; exit 1 when any does not match')
    .option('--json', 'print JSON')
    .action((o: JsonOption, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const report = await agent.verify();
        if (o.json) json(report);
        else out(formatVerify(report));
        if (report.mismatches.length > 0) process.exitCode = 1;
      }),
    );
}

/** One sync, or with --watch one after another; watching outlives outages, retrying with backoff. */
async function inbox(agent: Agent, o: InboxOptions): Promise<void> {
  let backoffMs = 1000;
  do {
    try {
      const report = await agent.sync({ waitMs: (o.watch ? Math.max(o.wait, 25) : o.wait) * 1000 });
      backoffMs = 1000;
      if (o.json) json(report);
      else if (!o.watch || report.deliveries.length > 0 || report.newAccessEvents > 0) out(formatSync(report));
    } catch (err) {
      if (!o.watch) throw err;
      // Watching outlives outages: nothing is lost, the mail waits at the gateway.
      process.stderr.write(`phr-agent: ${describeError(err)}; retrying in ${backoffMs / 1000} s\n`);
      await new Promise((r) => setTimeout(r, backoffMs));
      backoffMs = Math.min(backoffMs * 2, 60_000);
    }
  } while (o.watch);
}

/** The matching records listed, or with --export written as a Bundle to an owner-only file. */
async function records(agent: Agent, o: RecordsOptions): Promise<void> {
  const query = recordQuery(o);
  if (o.export) {
    const bundle = await agent.exportBundle(query);
    // health data: owner-only, also when it replaces an older file that was not
    writePrivateFile(o.export, JSON.stringify(bundle, null, 2) + '\n');
    out(`${(bundle['entry'] as unknown[]).length} resources written to ${o.export}\n`);
    return;
  }
  const elements = await agent.records(o.allElements || query.system ? query : { ...query, kind: 'resource' });
  if (o.json) json(elements);
  else out(formatRecords(elements));
}

function recordQuery(o: RecordsOptions): RecordQuery {
  const code = o.code?.[0];
  return {
    ...(o.type ? { resourceType: o.type } : {}),
    ...(code ? { system: code.system, code: code.code } : {}),
    ...(o.from ? { from: o.from } : {}),
    ...(o.to ? { to: o.to } : {}),
    ...(o.delivery ? { deliveryId: o.delivery } : {}),
    ...(o.limit !== undefined ? { limit: o.limit } : {}),
  };
}
