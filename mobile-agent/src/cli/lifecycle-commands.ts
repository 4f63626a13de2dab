/** `backup`, `restore`, `rebuild` and `erase`: the record's life cycle on the patient's side. */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline/promises';
import { InvalidArgumentError, type Command } from 'commander';
import type { Agent } from '../agent';
import type { BackupReport, BackupTarget } from '../agent-api';
import type { ErasureReport } from '../lifecycle/erase';
import type { RebuildReport } from '../lifecycle/rebuild';
import { restoreAgent, type BackupLocation, type RestoreReport } from '../lifecycle/restore';
import { createLogger } from '../logger';
import { loadProfile } from '../profile/network-profile';
import { globals, json, out, withAgent, type JsonOption } from './command-kit';
import { table } from './format';
import { readPassphrase } from './passphrase';
import { recoveryCodeText, showRecoveryCodeFirst } from './recovery-code';

interface BackupOptions extends JsonOption {
  to: string;
  hospital?: string;
}

interface RestoreOptions extends JsonOption {
  from: string;
  hospital?: string;
  pseudonym?: string;
  profile: string;
  enrollmentId: string;
  enrollmentSecret?: string;
  enrollmentSecretFile?: string;
  recoveryCode?: string;
  recoveryCodeFile?: string;
  allowIncomplete?: boolean;
}

interface EraseOptions extends JsonOption {
  yes?: boolean;
}

/** What `--to` and `--from` take besides a folder. */
const GATEWAY = 'gateway';

export function addLifecycleCommands(p: Command): void {
  p.command('backup')
    .description('an encrypted backup of your records, to a folder (incremental) or to a hospital gateway')
    .requiredOption('--to <DIR|gateway>', 'a folder, or `gateway`')
    .option('--hospital <name>', 'with --to gateway: which hospital keeps it (default: the first of the profile)')
    .option('--json', 'print JSON')
    .action((o: BackupOptions, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const target: BackupTarget =
          o.to === GATEWAY
            ? { to: 'gateway', ...(o.hospital ? { hospital: o.hospital } : {}) }
            : { to: 'folder', dir: o.to };
        if (o.to !== GATEWAY && o.hospital) throw new InvalidArgumentError('--hospital goes with --to gateway');
        await backupCommand(agent, target, o);
      }),
    );

  p.command('restore')
    .description(
      'on a new device: take your pseudonym over with your recovery code and restore a backup, each element verified',
    )
    .requiredOption('--from <DIR|gateway>', 'the backup folder, or `gateway`')
    .option('--hospital <name>', 'with --from gateway: the hospital that keeps it (default: the first of the profile)')
    .option('--pseudonym <pseudonym>', 'your pseudonym (needed with --from gateway; found in the folder otherwise)')
    .requiredOption('--profile <file>', 'the network profile')
    .requiredOption('--enrollment-id <id>', 'from the doorman, for this new device (register-patient.sh)')
    .option('--enrollment-secret-file <file>', 'file holding the one-time enrollment secret')
    .option('--enrollment-secret <secret>', 'the enrollment secret itself (visible to other users in `ps`)')
    .option('--recovery-code-file <file>', 'file holding your recovery code')
    .option(
      '--recovery-code <code>',
      'the recovery code itself (visible to other users in `ps`; else PHR_RECOVERY_CODE or a prompt)',
    )
    .option('--allow-incomplete', 'restore even a backup that lacks deliveries the ledger marks as backed up')
    .option('--json', 'print JSON')
    .action(restore);

  p.command('rebuild')
    .description('without a backup: ask every hospital that delivered to you to send your records again, each verified')
    .option('--json', 'print JSON')
    .action((o: JsonOption, cmd: Command) =>
      withAgent(cmd, async (agent) => {
        const report = await agent.rebuild();
        if (o.json) json(report);
        else out(formatRebuild(report));
        if (report.rows.some((r) => r.result === 'not-rebuilt')) process.exitCode = 1;
      }),
    );

  p.command('erase')
    .description(
      'erase your records everywhere: the hospitals’ copies, your backups, this device; your pseudonym is marked erased',
    )
    .option('--yes', 'do not ask for confirmation')
    .option('--json', 'print JSON')
    .action(async (o: EraseOptions, cmd: Command) => {
      if (!o.yes) await confirmErase();
      await withAgent(cmd, async (agent) => {
        const report = await agent.erase();
        if (o.json) json(report);
        else out(formatErasure(report));
      });
    });
}

/**
 * `phr-agent backup` on an unlocked agent: the recovery code first when this backup makes it (see
 * `showRecoveryCodeFirst`), then the backup and its report (with --json, the code in it too).
 */
export async function backupCommand(
  agent: Pick<Agent, 'ensureRecoverySecret' | 'backup'>,
  target: BackupTarget,
  o: JsonOption,
): Promise<BackupReport> {
  const shown = await showRecoveryCodeFirst(agent, o);
  const report = await agent.backup(target);
  if (o.json) json({ ...report, ...(shown !== undefined ? { recoveryCode: shown } : {}) });
  else out(formatBackup(report));
  return report;
}

async function restore(o: RestoreOptions, cmd: Command): Promise<void> {
  const g = globals(cmd);
  const enrollmentSecret = secretOption(o.enrollmentSecretFile, o.enrollmentSecret, undefined, 'the enrollment secret');
  const recoveryCode =
    secretOption(o.recoveryCodeFile, o.recoveryCode, process.env['PHR_RECOVERY_CODE'], 'the recovery code') ??
    (await promptLine('Recovery code: '));
  if (enrollmentSecret === undefined) {
    throw new InvalidArgumentError('give --enrollment-secret-file (or --enrollment-secret)');
  }
  if (o.from !== GATEWAY && o.hospital) throw new InvalidArgumentError('--hospital goes with --from gateway');
  const source: BackupLocation =
    o.from === GATEWAY
      ? { from: 'gateway', ...(o.hospital ? { hospital: o.hospital } : {}) }
      : { from: 'folder', dir: o.from };
  const passphrase = await readPassphrase(
    g.passphraseFile,
    'Choose a passphrase for this device (at least 8 characters): ',
  );
  const report = await restoreAgent({
    home: g.home,
    profile: loadProfile(o.profile),
    passphrase,
    enrollmentId: o.enrollmentId,
    enrollmentSecret,
    recoveryCode,
    source,
    ...(o.pseudonym ? { pseudonym: o.pseudonym } : {}),
    ...(o.allowIncomplete ? { allowIncomplete: true } : {}),
    log: createLogger(g.logLevel),
  });
  if (o.json) json(report);
  else out(formatRestore(report));
}

/** A secret from its file, else the option itself, else the environment; undefined when none is given. */
function secretOption(file: string | undefined, value: string | undefined, env: string | undefined, what: string) {
  if (file && value) throw new InvalidArgumentError(`give ${what} once: a file or the option`);
  if (file) return readFileSync(file, 'utf8').trim();
  return value ?? (env || undefined);
}

async function promptLine(prompt: string): Promise<string> {
  if (!process.stdin.isTTY) {
    throw new InvalidArgumentError(
      'no recovery code: use --recovery-code-file, PHR_RECOVERY_CODE, or run in a terminal',
    );
  }
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return (await rl.question(prompt)).trim();
  } finally {
    rl.close();
  }
}

/** Erasing cannot be undone: in a terminal the patient types ERASE; elsewhere --yes is required. */
async function confirmErase(): Promise<void> {
  if (!process.stdin.isTTY) throw new InvalidArgumentError('erasing cannot be undone: add --yes to confirm');
  process.stderr.write(
    'This destroys your records at every hospital that keeps them, your backups and this agent, and marks your\n' +
      'pseudonym erased on the ledger. It cannot be undone.\n',
  );
  const answer = await promptLine('Type ERASE to go on: ');
  if (answer !== 'ERASE') throw new Error('not erased');
}

export function formatBackup(r: BackupReport): string {
  const lines: string[] = [];
  if (r.recoveryCode) lines.push(recoveryCodeText(r.recoveryCode));
  lines.push(
    r.kind === 'folder'
      ? `Backup ${r.backupNumber} written to ${r.target}: ${r.deliveries} deliveries (${r.written} written, ${r.reused} already there).`
      : `Backup ${r.backupNumber} stored at ${r.target}${r.version ? ` as version ${r.version.version} (${r.version.size} bytes)` : ''}: ${r.deliveries} deliveries.`,
  );
  for (const s of r.skipped) lines.push(`Left out ${s.deliveryId}: ${s.reason}.`);
  if (r.markedBackedUp.length > 0)
    lines.push(`${r.markedBackedUp.length} deliveries now marked backed up on the ledger.`);
  return lines.join('\n') + '\n';
}

export function formatRestore(r: RestoreReport): string {
  const lines = [
    `Restored ${r.pseudonym} from ${r.source} (backup ${r.backupNumber} of ${r.backupCreatedAt.slice(0, 10)}): ` +
      `${r.restored.length} deliveries, every element verified against the ledger.`,
  ];
  if (r.alreadyHere.length > 0) lines.push(`${r.alreadyHere.length} deliveries were already on this device.`);
  if (r.notInBackup.length > 0) {
    lines.push(
      `${r.notInBackup.length} deliveries on the ledger are not in this backup; \`phr-agent rebuild\` asks the hospitals for them:`,
      ...r.notInBackup.map((d) => `  ${d.deliveryId} from ${d.sender} (${d.status})`),
    );
  }
  lines.push('This device now holds your pseudonym; your old device can no longer act for you.');
  return lines.join('\n') + '\n';
}

export function formatRebuild(r: RebuildReport): string {
  if (r.rows.length === 0) return 'The ledger records no delivery to you: there is nothing to rebuild.\n';
  const rows = r.rows.map((row) => [
    row.deliveryId,
    row.hospital,
    row.result === 'not-rebuilt' ? 'no' : row.result === 'rebuilt' ? 'yes' : 'had it',
    row.reason ?? '',
  ]);
  const rebuilt = r.rows.filter((row) => row.result === 'rebuilt').length;
  const missing = r.rows.filter((row) => row.result === 'not-rebuilt').length;
  return (
    table(['delivery', 'hospital', 'rebuilt', 'why'], rows) +
    `${rebuilt} rebuilt and verified, ${missing} not rebuilt.\n`
  );
}

export function formatErasure(r: ErasureReport): string {
  const lines: string[] = [];
  for (const h of r.hospitals) {
    if (!h.receipt) {
      lines.push(`${h.hospital}: not reached (${h.error ?? 'no answer'}); it held nothing known for you.`);
      continue;
    }
    const destroyed = h.receipt.destroyed.map((d) => `${d.count} ${d.what}`).join(', ') || 'nothing';
    lines.push(`${h.hospital}: destroyed ${destroyed} (signed receipt ${h.receipt.receiptId}).`);
    for (const k of h.receipt.kept) {
      lines.push(`  kept ${k.count} ${k.what}${k.until ? ` until ${k.until.slice(0, 10)}` : ''}: ${k.basis}`);
    }
  }
  lines.push(
    r.ledger === 'erased'
      ? `The ledger marks ${r.pseudonym} erased; your consents are revoked.`
      : `The ledger already marked ${r.pseudonym} erased.`,
  );
  for (const g of r.guardians ?? []) {
    lines.push(
      g.sent
        ? `Guardian ${g.guardian}: told to delete the share of your recovery secret it keeps.`
        : `Guardian ${g.guardian}: not reached (${g.reason ?? 'no answer'}); ask them to delete your share themselves.`,
    );
  }
  for (const f of r.foldersDeleted) lines.push(`Backup folder deleted: ${f}`);
  lines.push(`This device: ${r.filesDestroyed.length} files overwritten and deleted (keystore, vault).`);
  lines.push(
    'A copy of a backup you made elsewhere can still be opened with your recovery code, or with enough of your',
    'paper codes (PHRS-…) and guardians’ shares together: destroy your recovery code and every paper code too.',
  );
  return lines.join('\n') + '\n';
}
