#!/usr/bin/env node
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import {
  ENCRYPTION_ALGORITHMS,
  parseCodeRef,
  PURPOSES_OF_USE,
  writePrivateFile,
  type CodeRef,
  type PurposeOfUse,
} from '@phr/common';
import { Agent, type OpenOptions } from '../agent';
import type { ConsentRequest } from '../agent-api';
import { createLogger, type Logger } from '../logger';
import { loadProfile } from '../profile/network-profile';
import { initAgent } from '../setup';
import { startUi } from '../ui';
import type { RecordQuery } from '../vault/vault-types';
import { describeError } from './describe-error';
import {
  formatAccessLog,
  formatConsents,
  formatNotifications,
  formatRecords,
  formatSync,
  formatVerify,
} from './format';
import { readPassphrase } from './passphrase';

interface Globals {
  home: string;
  passphraseFile?: string;
  logLevel: string;
}

const out = (text: string) => process.stdout.write(text);
const json = (value: unknown) => out(JSON.stringify(value, null, 2) + '\n');

function globals(cmd: Command): Globals {
  return cmd.optsWithGlobals<Globals>();
}

/** Opens the agent of --home, runs `fn`, and always closes it (keys leave memory with the process). */
/**
 * Opens the agent for one command and closes it after. `passphrase` is given when the command
 * already has it (init), so the patient is not asked twice.
 */
async function withAgent<T>(
  cmd: Command,
  fn: (agent: Agent, log: Logger) => Promise<T>,
  options: { passphrase?: string; open?: Omit<OpenOptions, 'log'> } = {},
): Promise<T> {
  const g = globals(cmd);
  const log = createLogger(g.logLevel);
  const passphrase = options.passphrase ?? (await readPassphrase(g.passphraseFile, 'Passphrase: '));
  const agent = await Agent.open(g.home, passphrase, { ...options.open, log });
  try {
    return await fn(agent, log);
  } finally {
    await agent.close();
  }
}

const integer = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number`);
  return n;
};

const codeRef = (value: string, previous: CodeRef[] = []): CodeRef[] => {
  const ref = parseCodeRef(value);
  if (!ref) throw new InvalidArgumentError('write a code as system|code, e.g. http://loinc.org|4548-4');
  return [...previous, ref];
};
const collect = (value: string, previous: string[] = []) => [...previous, value];

function recordQuery(o: {
  type?: string;
  code?: CodeRef[];
  from?: string;
  to?: string;
  delivery?: string;
  limit?: number;
}): RecordQuery {
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

export function program(): Command {
  const p = new Command('phr-agent')
    .description("The patient's own node: your keys, your verified records, your consents and who looked at what.")
    .option(
      '--home <dir>',
      'the agent folder (one per patient)',
      process.env['PHR_AGENT_HOME'] ?? join(homedir(), '.phr-agent'),
    )
    .option('--passphrase-file <file>', 'read the passphrase from a file (else PHR_AGENT_PASSPHRASE, else a prompt)')
    .option('--log-level <level>', 'diagnostics on stderr: silent, error, warn, info, debug', 'warn')
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(text) });

  p.command('init')
    .description('make keys on this device, enroll at the patients CA, register on the ledger and show link codes')
    .requiredOption(
      '--profile <file>',
      'the network profile (make network-up writes network/.state/agent-profile.json)',
    )
    .requiredOption('--enrollment-id <id>', 'from the doorman (register-patient.sh)')
    .requiredOption('--enrollment-secret-file <file>', 'file holding the one-time enrollment secret')
    .addOption(new Option('--algorithm <alg>', 'encryption key type').choices(ENCRYPTION_ALGORITHMS).default('X25519'))
    .option('--json', 'print JSON')
    .action(async (o, cmd: Command) => {
      const g = globals(cmd);
      const log = createLogger(g.logLevel);
      const { readFileSync } = await import('node:fs');
      const passphrase = await readPassphrase(g.passphraseFile, 'Choose a passphrase (at least 8 characters): ');
      const result = await initAgent({
        home: g.home,
        profile: loadProfile(o.profile),
        passphrase,
        enrollmentId: o.enrollmentId,
        enrollmentSecret: readFileSync(o.enrollmentSecretFile, 'utf8').trim(),
        algorithm: o.algorithm,
        log,
      });
      await withAgent(
        cmd,
        async (agent) => {
          const codes: { hospital: string; code?: string; expiresAt?: string; error?: string }[] = [];
          for (const h of agent.profile.hospitals) {
            try {
              codes.push({ hospital: h.name, ...(await agent.linkCode(h.name)) });
            } catch (err) {
              codes.push({ hospital: h.name, error: describeError(err) });
            }
          }
          if (o.json) {
            json({ ...result, linkCodes: codes });
            return;
          }
          out(
            `${result.created ? 'Your agent is ready.' : 'Your agent was already set up.'} Pseudonym: ${result.pseudonym}\n`,
          );
          out('Give a hospital its link code so it can send you your records:\n');
          for (const c of codes) {
            out(
              c.code
                ? `  ${c.hospital}: ${c.code}  (valid until ${c.expiresAt})\n`
                : `  ${c.hospital}: not reachable now (${c.error}); run \`phr-agent link-code --hospital ${c.hospital}\` later\n`,
            );
          }
        },
        { passphrase },
      );
    });

  p.command('link-code')
    .description('a new one-time code a hospital uses to link its patient number to you')
    .requiredOption('--hospital <name>', 'hospital name or MSP ID')
    .option('--json', 'print JSON')
    .action((o, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const code = await agent.linkCode(o.hospital);
        if (o.json) json(code);
        else out(`${code.code}  (valid until ${code.expiresAt})\n`);
      }),
    );

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
    .action((o, cmd: Command) =>
      withAgent(
        cmd,
        async (agent) => {
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
        },
        { open: o.fcmToken ? { wakeup: { channel: 'fcm', token: String(o.fcmToken) } } : {} },
      ),
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
    .action((o, cmd: Command) =>
      withAgent(cmd, async (agent) => {
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
      }),
    );

  p.command('verify')
    .description('re-check every element in the vault against the ledger; exit 1 when any does not match')
    .option('--json', 'print JSON')
    .action((o, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const report = await agent.verify();
        if (o.json) json(report);
        else out(formatVerify(report));
        if (report.mismatches.length > 0) process.exitCode = 1;
      }),
    );

  const consent = p.command('consent').description('who may see which of your records, for what, until when');
  // `grant` and `sign` take the same terms, so a consent reads the same however it reaches the ledger.
  const consentTerms = (c: Command): Command =>
    c
      .option('--to <mspId>', 'an organisation, e.g. Hospital2MSP')
      .option('--identity <key>', 'one identity (its identity key) instead of an organisation')
      .option('--category <category>', 'a record category, e.g. laboratory (repeatable)', collect)
      .option('--code <system|code>', 'one code (repeatable)', codeRef)
      .addOption(
        new Option('--purpose <purpose>', 'purpose of use (repeatable)').choices(PURPOSES_OF_USE).argParser(collect),
      )
      .option('--from <date>', 'start (default now)')
      .requiredOption('--until <date>', 'end (exclusive)');
  consentTerms(consent.command('grant').description('grant access (a transaction signed by you)'))
    .option('--json', 'print JSON')
    .action((o: ConsentTermOptions & { json?: boolean }, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const record = await agent.grantConsent(consentRequestOf(o));
        if (o.json) json(record);
        else out(`Granted: consent ${record.consentId}\n${formatConsents([record])}`);
      }),
    );
  consentTerms(
    consent
      .command('sign')
      .description('sign a consent as a FHIR Consent, for anyone to hand to a gateway (POST /fhir/Consent)'),
  )
    .requiredOption('--out <file>', 'where to write the signed Consent (JSON)')
    .action((o: ConsentTermOptions & { out: string }, cmd: Command) =>
      withAgent(cmd, (agent) => {
        const resource = agent.signedConsent(consentRequestOf(o));
        writePrivateFile(o.out, JSON.stringify(resource, null, 2) + '\n');
        out(`Signed: consent ${resource.id ?? ''} in ${o.out}; it takes effect once a gateway puts it on the ledger\n`);
        return Promise.resolve();
      }),
    );
  consent
    .command('revoke <consentId>')
    .description('revoke a consent (a transaction signed by you)')
    .option('--json', 'print JSON')
    .action((consentId: string, o, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const record = await agent.revokeConsent(consentId);
        if (o.json) json(record);
        else out(`Revoked: consent ${record.consentId}\n`);
      }),
    );
  consent
    .command('list')
    .description('your consents, from the ledger')
    .option('--json', 'print JSON')
    .action((o, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const consents = await agent.consents();
        if (o.json) json(consents);
        else out(formatConsents(consents));
      }),
    );

  p.command('log')
    .description('who accessed what, when, for what purpose and with what outcome (from the ledger)')
    .option('--json', 'print JSON')
    .action((o, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const entries = await agent.accessLog();
        if (o.json) json(entries);
        else out(formatAccessLog(entries));
      }),
    );

  p.command('notifications')
    .description('what happened since you last looked')
    .option('--unread', 'only unread ones')
    .option('--mark-read', 'mark them all read')
    .option('--json', 'print JSON')
    .action((o, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const notes = await agent.notifications({ unreadOnly: Boolean(o.unread) });
        if (o.json) json(notes);
        else out(formatNotifications(notes));
        if (o.markRead) await agent.markNotificationsRead();
      }),
    );

  p.command('status')
    .description('your pseudonym, hospitals and what the vault holds')
    .option('--json', 'print JSON')
    .action((o, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const s = await agent.status();
        if (o.json) {
          json(s);
          return;
        }
        out(
          `Pseudonym: ${s.pseudonym}\nHospitals: ${s.hospitals.map((h) => h.name).join(', ')}\n` +
            `Vault: ${s.deliveries} deliveries, ${s.elements} elements\nUnread notifications: ${s.unreadNotifications}\n`,
        );
      }),
    );

  p.command('ui')
    .description('serve your records, access log, consents and notifications on a local web page')
    .option('--port <port>', 'local port (0: any free port)', integer('port'), 8765)
    .action(async (o, cmd: Command) => {
      const g = globals(cmd);
      const log = createLogger(g.logLevel);
      const agent = await Agent.open(g.home, await readPassphrase(g.passphraseFile, 'Passphrase: '), { log });
      const ui = await startUi(agent, { port: o.port, log });
      out(`Open ${ui.url} in your browser. Ctrl-C stops it.\n`);
      await new Promise<void>((resolve) => {
        const stop = () => resolve();
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
      await ui.close();
      await agent.close();
    });

  return p;
}

if (require.main === module) {
  program()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`phr-agent: ${describeError(err)}\n`);
      process.exitCode = err instanceof InvalidArgumentError ? 2 : 1;
    });
}

interface ConsentTermOptions {
  to?: string;
  identity?: string;
  category?: string[];
  code?: CodeRef[];
  purpose?: string[];
  from?: string;
  until: string;
}

function consentRequestOf(o: ConsentTermOptions): ConsentRequest {
  if (!o.to === !o.identity) throw new InvalidArgumentError('give exactly one of --to or --identity');
  return {
    grantee: o.identity ? { kind: 'identity', id: o.identity } : { kind: 'organization', id: o.to ?? '' },
    scope: { categories: o.category ?? [], codes: o.code ?? [] },
    purposes: (o.purpose ?? ['TREAT']) as PurposeOfUse[],
    ...(o.from ? { start: o.from } : {}),
    end: o.until,
  };
}
