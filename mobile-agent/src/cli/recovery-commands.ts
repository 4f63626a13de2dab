/**
 * `recovery setup|code|status|approve|deny|start|finish`: key recovery with no single holder (issue 15
 * item 4). The patient splits the recovery secret among guardians and paper codes; a new device
 * asks the guardians; T shares rebuild the secret and the restore goes on from there.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError, type Command } from 'commander';
import type { Agent } from '../agent';
import type { BackupLocation } from '../lifecycle/restore';
import { createLogger } from '../logger';
import { loadProfile } from '../profile/network-profile';
import {
  finishRecovery,
  startRecovery,
  type FinishedRecovery,
  type StartedRecovery,
} from '../recovery/device-recovery';
import type { RecoverySetup } from '../recovery/recovery-setup';
import { globals, integer, json, out, withAgent, type JsonOption } from './command-kit';
import { readPassphrase } from './passphrase';
import { recoveryCodeText, showRecoveryCode, showRecoveryCodeFirst } from './recovery-code';

interface SetupOptions extends JsonOption {
  guardian?: string[];
  paper: number;
  threshold: number;
  hospital?: string;
}

interface StartOptions extends JsonOption {
  profile: string;
  pseudonym: string;
  enrollmentId: string;
  enrollmentSecretFile?: string;
  enrollmentSecret?: string;
  guardian?: string[];
  hospital?: string;
}

interface FinishOptions extends JsonOption {
  paper?: string[];
  paperFile?: string;
  from?: string;
  hospital?: string;
  allowIncomplete?: boolean;
}

export function addRecoveryCommands(p: Command): void {
  const recovery = p
    .command('recovery')
    .description('key recovery with guardians: no single person or paper holds your recovery secret');

  recovery
    .command('setup')
    .description('split your recovery secret among guardians (other patients) and paper codes; T of them rebuild it')
    .option('--guardian <pseudonym...>', "a guardian's pseudonym (repeat, or list several)")
    .option('--paper <n>', 'how many paper codes to print', integer('--paper'), 0)
    .requiredOption('--threshold <t>', 'how many shares rebuild the secret (at least 2)', integer('--threshold'))
    .option('--hospital <name>', "the hospital whose gateway mails the guardians' shares (default: the first)")
    .option('--json', 'print JSON')
    .action((o: SetupOptions, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        // The code before the setup, which may fail after making it (a guardian's gateway away).
        const shown = await showRecoveryCodeFirst(agent, o);
        const setup = await agent.setupRecovery({
          guardians: o.guardian ?? [],
          paper: o.paper,
          threshold: o.threshold,
          ...(o.hospital !== undefined ? { hospital: o.hospital } : {}),
        });
        if (o.json) json({ ...setup, ...(shown !== undefined ? { recoveryCode: shown } : {}) });
        else printSetup(setup);
      }),
    );

  recovery
    .command('code')
    .description('show your recovery code again (it opens your backups; keep it apart from this device)')
    .option('--json', 'print JSON')
    .action((o: JsonOption, cmd: Command) => withAgent(cmd, (agent) => Promise.resolve(showRecoveryCode(agent, o))));

  recovery
    .command('status')
    .description('your last setup, the patients you guard and the recovery requests that reached you')
    .option('--json', 'print JSON')
    .action((o: JsonOption, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        await agent.sync();
        const status = await agent.recoveryStatus();
        if (o.json) json(status);
        else printStatus(status);
      }),
    );

  recovery
    .command('approve <requestId>')
    .description(
      'a guardian: send your share to the device that asked (only after the patient told you its check code)',
    )
    .option('--json', 'print JSON')
    .action((requestId: string, o: JsonOption, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        await agent.sync();
        const decision = await agent.approveRecovery(requestId);
        if (o.json) json(decision);
        else
          out(
            `Approved: your share for ${decision.pseudonym} went to the device that asked (through ${decision.hospital}). ` +
              "The patient's access log shows your approval.\n",
          );
      }),
    );

  recovery
    .command('deny <requestId>')
    .description('a guardian: refuse a recovery request; the patient sees the refusal on their log')
    .option('--json', 'print JSON')
    .action((requestId: string, o: JsonOption, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        await agent.sync();
        const decision = await agent.denyRecovery(requestId);
        if (o.json) json(decision);
        else out(`Refused: nothing was sent; ${decision.pseudonym}'s access log shows the refusal.\n`);
      }),
    );

  recovery
    .command('start')
    .description('on a new device (a new --home): enroll it and ask your guardians for their shares')
    .requiredOption('--profile <file>', 'the network profile')
    .requiredOption('--pseudonym <pseudonym>', 'the pseudonym to recover')
    .requiredOption('--enrollment-id <id>', 'from the doorman, for this new device')
    .option('--enrollment-secret-file <file>', 'file holding the one-time enrollment secret')
    .option('--enrollment-secret <secret>', 'the enrollment secret itself (visible to other users in `ps`)')
    .option(
      '--guardian <pseudonym...>',
      "your guardians' pseudonyms, as `recovery setup` printed them (the ledger tells nobody else who they are)",
    )
    .option('--hospital <name>', 'the hospital whose gateway takes the request (default: the first)')
    .option('--json', 'print JSON')
    .action(async (o: StartOptions, cmd: Command) => {
      const g = globals(cmd);
      const passphrase = await readPassphrase(
        g.passphraseFile,
        'Choose a passphrase for this device (at least 8 characters): ',
      );
      const started = await startRecovery({
        home: g.home,
        profile: loadProfile(o.profile),
        passphrase,
        pseudonym: o.pseudonym,
        enrollmentId: o.enrollmentId,
        enrollmentSecret: enrollmentSecret(o),
        guardians: o.guardian ?? [],
        ...(o.hospital !== undefined ? { hospital: o.hospital } : {}),
        log: createLogger(g.logLevel),
      });
      if (o.json) json(started);
      else printStarted(started);
    });

  recovery
    .command('finish')
    .description(
      "on the new device: combine the guardians' approvals and paper codes, take your pseudonym over, restore",
    )
    .option('--paper <code...>', 'a paper code (PHRS-…); repeat for each')
    .option('--paper-file <file>', 'a file of paper codes, one a line (kept out of the shell history)')
    .option('--from <dir|gateway>', 'then restore this backup: a folder, or "gateway"')
    .option('--hospital <name>', 'with --from gateway: the hospital that keeps it (default: the first)')
    .option('--allow-incomplete', 'restore a backup that lacks deliveries the ledger marks as backed up')
    .option('--json', 'print JSON')
    .action(async (o: FinishOptions, cmd: Command) => {
      const g = globals(cmd);
      const passphrase = await readPassphrase(g.passphraseFile, 'Passphrase: ');
      const source = backupSource(o);
      const finished = await finishRecovery({
        home: g.home,
        passphrase,
        paperCodes: [...(o.paper ?? []), ...paperFile(o.paperFile)],
        ...(source ? { source } : {}),
        ...(o.allowIncomplete ? { allowIncomplete: true } : {}),
        log: createLogger(g.logLevel),
      });
      if (o.json) json(finished);
      else printFinished(finished);
    });
}

function enrollmentSecret(o: StartOptions): string {
  if (o.enrollmentSecretFile !== undefined && o.enrollmentSecret !== undefined) {
    throw new InvalidArgumentError('give the enrollment secret once: a file or the option');
  }
  if (o.enrollmentSecretFile !== undefined) return readFileSync(o.enrollmentSecretFile, 'utf8').trim();
  if (o.enrollmentSecret !== undefined) return o.enrollmentSecret;
  throw new InvalidArgumentError('the enrollment secret is needed: --enrollment-secret-file or --enrollment-secret');
}

function backupSource(o: FinishOptions): BackupLocation | undefined {
  if (o.from === undefined) {
    if (o.hospital !== undefined) throw new InvalidArgumentError('--hospital goes with --from gateway');
    return undefined;
  }
  if (o.from === 'gateway') return { from: 'gateway', ...(o.hospital !== undefined ? { hospital: o.hospital } : {}) };
  if (o.hospital !== undefined) throw new InvalidArgumentError('--hospital goes with --from gateway, not a folder');
  return { from: 'folder', dir: o.from };
}

function paperFile(file: string | undefined): string[] {
  if (file === undefined) return [];
  return readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line.length > 0);
}

function printSetup(s: RecoverySetup): void {
  out(
    `Recovery is set up: any ${s.threshold} of these ${s.shareCount} shares rebuild your recovery secret; fewer tell nothing.\n`,
  );
  if (s.guardians.length > 0) {
    out(`Guardians (each agent got a sealed share through ${s.hospital}; they cannot see your records):\n`);
    for (const g of s.guardians) out(`  ${g}\n`);
    out(
      'Keep this list with your paper codes: the ledger tells nobody else who your guardians are, so a new ' +
        'device asks them only when you name them (phr-agent recovery start --guardian …).\n',
    );
  }
  if (s.paperCodes.length > 0) {
    out('Paper codes: write each down or print it, keep them in different places. Shown only now:\n');
    s.paperCodes.forEach((code, i) => out(`  ${i + 1}. ${code}\n`));
  }
  if (s.recoveryCode) out(recoveryCodeText(s.recoveryCode));
  out('Paper codes of an earlier setup still combine among themselves: destroy them.\n');
}

function printStatus(status: Awaited<ReturnType<Agent['recoveryStatus']>>): void {
  const setup = status.setup as
    { threshold?: number; shareCount?: number; guardians?: string[]; paper?: number; createdAt?: string } | undefined;
  if (setup) {
    out(
      `Your recovery: ${setup.threshold} of ${setup.shareCount} shares (guardians: ${(setup.guardians ?? []).join(', ') || 'none'}; ` +
        `paper codes: ${setup.paper ?? 0}), set up ${setup.createdAt}.\n`,
    );
  } else out('You have not set up recovery with guardians (`phr-agent recovery setup`).\n');
  if (status.shares.length > 0) {
    out('You guard:\n');
    for (const s of status.shares) out(`  ${s.pseudonym}  (${s.threshold} of ${s.shareCount}, since ${s.createdAt})\n`);
  }
  if (status.requests.length > 0) {
    out('Recovery requests that reached you:\n');
    for (const r of status.requests) {
      out(
        `  ${r.requestId}  for ${r.pseudonym}  check code ${r.checkCode}  ${r.status}  (open until ${r.expiresAt})\n`,
      );
    }
  }
}

function printStarted(s: StartedRecovery): void {
  if (!s.requestId) {
    out(
      `No guardian named (--guardian), so none was asked. Finish with your paper codes: ` +
        'phr-agent recovery finish --paper CODE --paper CODE [--from gateway|DIR]\n',
    );
    return;
  }
  out(`Recovery request ${s.requestId} is open at ${s.hospital} until ${s.expiresAt}.\n`);
  out(`Check code: ${s.checkCode}\n`);
  out('Tell this code to each guardian yourself (in person or by phone): they approve only when it matches.\n');
  for (const c of s.guardians)
    out(`  ${c.guardian}: ${c.sent ? 'asked' : `not reached (${c.reason}); run start again later`}\n`);
  out('Then: phr-agent recovery finish [--paper CODE] [--from gateway|DIR]\n');
}

function printFinished(f: FinishedRecovery): void {
  out(
    `Recovered ${f.pseudonym} from ${f.shares.length} share(s): ` +
      `${f.shares.map((s) => (s.kind === 'guardian' ? `guardian ${s.from}` : s.from)).join(', ')}. ` +
      `This device now owns it (key version ${f.record.keyVersion}).\n`,
  );
  for (const r of f.refused) out(`  not used: the approval of ${r.guardian} (${r.reason})\n`);
  if (f.restore) {
    const r = f.restore;
    out(
      `Restored ${r.restored.length} deliver${r.restored.length === 1 ? 'y' : 'ies'} from ${r.source} (backup ${r.backupNumber}), each checked against the ledger.\n`,
    );
    if (r.notInBackup.length > 0) {
      out(
        `Not in that backup: ${r.notInBackup.map((d) => d.deliveryId).join(', ')} — \`phr-agent rebuild\` asks the hospitals for them.\n`,
      );
    }
  } else {
    out('No backup was named: run `phr-agent rebuild` to have the hospitals send your records again.\n');
  }
}
