import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** One run of the demo: its own patient, agent home and secret files under `$PHR_STATE/demo/<id>`. */
export interface RunFolder {
  id: string;
  dir: string;
  /** The patient's agent home (`phr-agent --home`). */
  agentHome: string;
  /** The agent's passphrase (mode 0600); `phr-agent ui` reads it from here. */
  passphraseFile: string;
  /** The doorman's one-time enrollment secret (mode 0600), deleted once the agent enrolled. */
  enrollmentSecretFile: string;
}

/** Sorts by time and never repeats: `20261205-141503-3fa9c2`. */
export function newRunId(now = new Date(), random = randomBytes(3)): string {
  const iso = now.toISOString();
  return `${iso.slice(0, 10).replace(/-/g, '')}-${iso.slice(11, 19).replace(/:/g, '')}-${random.toString('hex')}`;
}

export function createRunFolder(stateDir: string, id = newRunId()): RunFolder {
  const dir = join(stateDir, 'demo', id);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  return {
    id,
    dir,
    agentHome: join(dir, 'agent'),
    passphraseFile: join(dir, 'passphrase'),
    enrollmentSecretFile: join(dir, 'enrollment-secret'),
  };
}

/** A secret in a file only its owner reads; never an existing file (a run never reuses another's). */
export function writeSecret(file: string, value: string): void {
  writeFileSync(file, value, { mode: 0o600, flag: 'wx' });
}

/** A passphrase for the demo patient's agent: random, and only ever in its file. */
export function newPassphrase(): string {
  return randomBytes(24).toString('base64url');
}
