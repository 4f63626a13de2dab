/** `init` and `link-code`: the agent set up on this device, and the codes that link it at a hospital. */
import { readFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { ENCRYPTION_ALGORITHMS, type EncryptionAlgorithm } from '@phr/common';
import type { Agent } from '../agent';
import { createLogger } from '../logger';
import { loadProfile } from '../profile/network-profile';
import { initAgent, type InitResult } from '../setup';
import { globals, json, out, withAgent, type JsonOption } from './command-kit';
import { describeError } from './describe-error';
import { readPassphrase } from './passphrase';

interface InitOptions extends JsonOption {
  profile: string;
  enrollmentId: string;
  enrollmentSecretFile: string;
  algorithm: EncryptionAlgorithm;
}

interface LinkCodeOptions extends JsonOption {
  hospital: string;
}

interface LinkCodeLine {
  hospital: string;
  code?: string;
  expiresAt?: string;
  error?: string;
}

export function addSetupCommands(p: Command): void {
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
    .action(init);

  p.command('link-code')
    .description('a new one-time code a hospital uses to link its patient number to you')
    .requiredOption('--hospital <name>', 'hospital name or MSP ID')
    .option('--json', 'print JSON')
    .action((o: LinkCodeOptions, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const code = await agent.linkCode(o.hospital);
        if (o.json) json(code);
        else out(`${code.code}  (valid until ${code.expiresAt})\n`);
      }),
    );
}

/** Sets the agent up, then opens it with the same passphrase to show a link code for each hospital. */
async function init(o: InitOptions, cmd: Command): Promise<void> {
  const g = globals(cmd);
  const log = createLogger(g.logLevel);
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
      const codes = await linkCodes(agent);
      if (o.json) json({ ...result, linkCodes: codes });
      else printInitReport(result, codes);
    },
    { passphrase },
  );
}

/** A link code for every hospital of the profile; one that cannot be reached now says why. */
async function linkCodes(agent: Agent): Promise<LinkCodeLine[]> {
  const codes: LinkCodeLine[] = [];
  for (const h of agent.profile.hospitals) {
    try {
      codes.push({ hospital: h.name, ...(await agent.linkCode(h.name)) });
    } catch (err) {
      codes.push({ hospital: h.name, error: describeError(err) });
    }
  }
  return codes;
}

function printInitReport(result: InitResult, codes: readonly LinkCodeLine[]): void {
  out(`${result.created ? 'Your agent is ready.' : 'Your agent was already set up.'} Pseudonym: ${result.pseudonym}\n`);
  out('Give a hospital its link code so it can send you your records:\n');
  for (const c of codes) {
    out(
      c.code
        ? `  ${c.hospital}: ${c.code}  (valid until ${c.expiresAt})\n`
        : `  ${c.hospital}: not reachable now (${c.error}); run \`phr-agent link-code --hospital ${c.hospital}\` later\n`,
    );
  }
}
