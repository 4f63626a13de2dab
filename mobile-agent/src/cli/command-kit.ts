/** What every `phr-agent` command uses: the global options, output, the agent session, option parsers. */
import { InvalidArgumentError, type Command } from 'commander';
import { parseCodeRef, type CodeRef } from '@phr/common';
import { Agent, type OpenOptions } from '../agent';
import { createLogger, type Logger } from '../logger';
import { readPassphrase } from './passphrase';

/** The options given before the command: `phr-agent --home <dir> ... <command>`. */
export interface Globals {
  home: string;
  passphraseFile?: string;
  logLevel: string;
}

/** `--json` on the commands that print a report. */
export interface JsonOption {
  json?: boolean;
}

export const out = (text: string) => process.stdout.write(text);
export const json = (value: unknown) => out(JSON.stringify(value, null, 2) + '\n');

export function globals(cmd: Command): Globals {
  return cmd.optsWithGlobals<Globals>();
}

/**
 * Opens the agent of --home for one command, runs `fn`, and always closes it (keys leave memory
 * with the process). `passphrase` is given when the command already has it (init), so the patient
 * is not asked twice.
 */
export async function withAgent<T>(
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

/** A whole number option (`--wait`, `--limit`, `--port`). */
export const integer = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number`);
  return n;
};

/** A repeatable `--code system|code`. */
export const codeRef = (value: string, previous: CodeRef[] = []): CodeRef[] => {
  const ref = parseCodeRef(value);
  if (!ref) throw new InvalidArgumentError('write a code as system|code, e.g. http://loinc.org|4548-4');
  return [...previous, ref];
};

/** A repeatable option's values, in order. */
export const collect = (value: string, previous: string[] = []) => [...previous, value];
