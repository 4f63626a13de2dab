import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { delimiter, dirname, join, relative, resolve } from 'node:path';
import type { ConsentRecord } from '@phr/common';
import type { AccessLogEntry, InitResult, SyncReport, VerifyReport } from '@phr/mobile-agent';
import { DemoFailure } from './deadline';
import { shellWord } from './narration';
import { runCommand } from './run-command';

/** `phr-agent`, the patient's command, as the mobile-agent package installs it. */
export function agentCliPath(): string {
  const manifest = require.resolve('@phr/mobile-agent/package.json');
  const bin = (JSON.parse(readFileSync(manifest, 'utf8')) as { bin?: Record<string, string> }).bin?.['phr-agent'];
  if (!bin) throw new DemoFailure('@phr/mobile-agent declares no phr-agent command');
  const file = join(dirname(manifest), bin);
  if (!existsSync(file)) throw new DemoFailure(`${file} is missing: run 'make build'`);
  return file;
}

export interface LinkCode {
  hospital: string;
  code?: string;
  expiresAt?: string;
  error?: string;
}

export interface InitReport extends InitResult {
  linkCodes: LinkCode[];
}

export interface ConsentTerms {
  to: string;
  categories: string[];
  purposes: string[];
  /** YYYY-MM-DD, exclusive. */
  until: string;
}

/**
 * The patient's device: every call runs `phr-agent` with the agent's home and passphrase file, as
 * the patient would in a terminal, and reads its `--json` answer. Keys and vault stay in the home;
 * this process never opens them.
 */
export class PatientDevice {
  constructor(
    readonly home: string,
    readonly passphraseFile: string,
    private readonly env: NodeJS.ProcessEnv,
    private readonly cli = agentCliPath(),
  ) {}

  /** Keys made on the device, a CSR to the doorman, the pseudonym registered on the ledger. */
  init(profileFile: string, enrollmentId: string, secretFile: string): Promise<InitReport> {
    return this.json<InitReport>('phr-agent init', 120_000, [
      'init',
      '--profile',
      profileFile,
      '--enrollment-id',
      enrollmentId,
      '--enrollment-secret-file',
      secretFile,
    ]);
  }

  /** POST /identity/link-codes at a hospital's gateway, as the patient (mutual TLS with the device's key). */
  linkCode(hospital: string): Promise<{ code: string; expiresAt: string }> {
    return this.json('phr-agent link-code', 30_000, ['link-code', '--hospital', hospital]);
  }

  /** Fetch, verify, store and acknowledge; answer data requests; waits up to `waitSeconds` for mail. */
  inbox(waitSeconds: number): Promise<SyncReport> {
    return this.json('phr-agent inbox', (waitSeconds + 60) * 1000, ['inbox', '--wait', String(waitSeconds)]);
  }

  verify(): Promise<VerifyReport> {
    return this.json('phr-agent verify', 60_000, ['verify']);
  }

  grantConsent(t: ConsentTerms): Promise<ConsentRecord> {
    return this.json('phr-agent consent grant', 60_000, [
      'consent',
      'grant',
      '--to',
      t.to,
      ...t.categories.flatMap((c) => ['--category', c]),
      ...t.purposes.flatMap((p) => ['--purpose', p]),
      '--until',
      t.until,
    ]);
  }

  /** From the ledger, newest first. */
  accessLog(): Promise<AccessLogEntry[]> {
    return this.json('phr-agent log', 60_000, ['log']);
  }

  /** The command a person types to open this patient's page (the passphrase stays in its file). */
  uiCommand(cwd = process.cwd()): string {
    const node = nodeOnPath(this.env) ? 'node' : process.execPath;
    const cli = relative(cwd, this.cli).startsWith('..') ? this.cli : relative(cwd, this.cli);
    return [node, cli, 'ui', '--home', this.home, '--passphrase-file', this.passphraseFile].map(shellWord).join(' ');
  }

  private async json<T>(label: string, timeoutMs: number, args: string[]): Promise<T> {
    const out = await runCommand(
      label,
      process.execPath,
      [
        this.cli,
        '--home',
        this.home,
        '--passphrase-file',
        this.passphraseFile,
        '--log-level',
        'error',
        ...args,
        '--json',
      ],
      { env: this.env, timeoutMs },
    );
    try {
      return JSON.parse(out) as T;
    } catch {
      throw new DemoFailure(`${label} did not answer JSON`);
    }
  }
}

/**
 * Whether a person's shell finds this Node.js as `node`. Not when it is the repository's private
 * Node.js (.tools/, which `make` puts first on PATH only for its own commands when the machine's
 * Node.js is too old): then the command names it in full.
 */
function nodeOnPath(env: NodeJS.ProcessEnv): boolean {
  const self = realpathSync(process.execPath);
  if (!relative(resolve(__dirname, '..', '..', '..', '.tools'), self).startsWith('..')) return false;
  for (const dir of (env['PATH'] ?? '').split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'node');
    if (existsSync(candidate)) return realpathSync(candidate) === self;
  }
  return false;
}
