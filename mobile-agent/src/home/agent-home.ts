import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import type { Logger } from '../logger';
import {
  ENCRYPTION_ALGORITHMS,
  looseModes,
  makePrivateDir,
  sqliteFiles,
  writePrivateFile,
  type LooseMode,
} from '@phr/common';

const StateSchema = z.object({
  v: z.literal(1),
  enrollmentId: z.string(),
  mspId: z.string(),
  /** The patient's signing certificate from the doorman CA (public). */
  certificatePem: z.string().optional(),
  pseudonym: z.string().optional(),
  encryptionAlgorithm: z.enum(ENCRYPTION_ALGORITHMS),
  encryptionPublicKeyPem: z.string(),
  /** set once the ledger holds the registration */
  registeredAt: z.string().optional(),
  createdAt: z.string(),
  /**
   * `restore`: this home takes over an existing pseudonym (a restore or a recovery) instead of
   * registering a new one; `registeredAt` is then set once the ledger's entry names this device.
   */
  origin: z.enum(['init', 'restore']).optional(),
});
export type AgentState = z.infer<typeof StateSchema>;

export class HomeError extends Error {
  override readonly name = 'HomeError';
  constructor(
    readonly code: 'NOT_INITIALIZED' | 'INCOMPLETE' | 'ALREADY_INITIALIZED' | 'MALFORMED',
    message: string,
  ) {
    super(message);
  }
}

/**
 * One patient's agent on disk: everything in one folder, so several agents run side by side.
 * `state.json` and `profile.json` are public material; `keystore.json` is sealed by the passphrase;
 * `vault.db` holds the records, their contents encrypted; `recovery.json` exists only while a
 * recovery is under way. The folder is created 0700 and every file 0600, whatever the umask;
 * `looseModes` names those others can reach (a warning at start).
 */
export class AgentHome {
  readonly dir: string;

  constructor(dir: string) {
    this.dir = resolve(dir);
  }

  get stateFile(): string {
    return join(this.dir, 'state.json');
  }
  get profileFile(): string {
    return join(this.dir, 'profile.json');
  }
  get keystoreFile(): string {
    return join(this.dir, 'keystore.json');
  }
  get vaultFile(): string {
    return join(this.dir, 'vault.db');
  }
  /**
   * A recovery under way on a new device (`recovery start` until `recovery finish`): the request
   * and its one-time key, sealed under the vault key (see pending-recovery.ts).
   */
  get recoveryFile(): string {
    return join(this.dir, 'recovery.json');
  }

  ensureDir(): void {
    makePrivateDir(this.dir);
  }

  /** The home folder and the files in it that others than their owner can read, write or enter. */
  looseModes(): LooseMode[] {
    return looseModes([
      this.dir,
      this.keystoreFile,
      this.stateFile,
      this.profileFile,
      this.recoveryFile,
      ...sqliteFiles(this.vaultFile),
    ]);
  }

  hasState(): boolean {
    return existsSync(this.stateFile);
  }

  readState(): AgentState {
    if (!this.hasState()) {
      throw new HomeError('NOT_INITIALIZED', `no agent in ${this.dir}; run \`phr-agent init\` first`);
    }
    const parsed = StateSchema.safeParse(JSON.parse(readFileSync(this.stateFile, 'utf8')));
    if (!parsed.success) throw new HomeError('MALFORMED', `${this.stateFile} is not an agent state file`);
    return parsed.data;
  }

  /** The state of a finished `init`: enrolled and registered. */
  readReadyState(): AgentState & { certificatePem: string; pseudonym: string } {
    const s = this.readState();
    if (!s.certificatePem || !s.pseudonym || !s.registeredAt) {
      const command = s.origin === 'restore' ? 'phr-agent restore' : 'phr-agent init';
      throw new HomeError('INCOMPLETE', `the agent in ${this.dir} did not finish \`${command}\`; run it again`);
    }
    return s as AgentState & { certificatePem: string; pseudonym: string };
  }

  writeState(state: AgentState): void {
    writeAtomically(this.stateFile, JSON.stringify(StateSchema.parse(state), null, 2) + '\n');
  }

  writeProfile(profile: unknown): void {
    writeAtomically(this.profileFile, JSON.stringify(profile, null, 2) + '\n');
  }
}

/** Replaces `file` whole (a new file renamed over it), owner-only whatever the umask or the old file's mode. */
export function writeAtomically(file: string, text: string): void {
  writePrivateFile(file, text);
}

/**
 * One warning per file or folder of the home that others can reach (its path and mode, nothing
 * from inside). They are left as they are; the README says what to do.
 */
export function warnAboutLooseModes(home: AgentHome, log: Pick<Logger, 'warn'>): void {
  for (const loose of home.looseModes()) {
    log.warn(
      { path: loose.path, mode: loose.mode },
      `agent ${loose.kind} is open to others than its owner; restrict it: chmod ${loose.kind === 'folder' ? '700' : '600'} ${loose.path}`,
    );
  }
}
