import { execFile } from 'node:child_process';
import { DemoFailure } from './deadline';

export interface CommandOptions {
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
}

/** The last non-empty line of a program's diagnostics: what it said when it gave up. */
export function lastLine(text: string): string {
  return (
    text
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter(Boolean)
      .pop() ?? ''
  );
}

/**
 * Runs a program as its own process (the demo plays the story with the real commands), with a
 * deadline after which it is stopped. Resolves to its standard output; a failure says which
 * program, how it ended and its last line of diagnostics. Neither output is echoed: what the
 * programs print may hold secrets (an enrollment secret, a link code), and the demo decides what to tell.
 */
export function runCommand(label: string, file: string, args: readonly string[], o: CommandOptions): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      file,
      [...args],
      { env: o.env, timeout: o.timeoutMs, killSignal: 'SIGTERM', maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (!err) {
          resolve(stdout);
          return;
        }
        const e = err; // ExecFileException: an exit status or an errno code in `code`
        const said = lastLine(stderr) || lastLine(stdout);
        const how =
          e.killed && e.signal
            ? `did not finish within ${Math.round(o.timeoutMs / 1000)} s`
            : typeof e.code === 'number'
              ? `exited with status ${e.code}`
              : `could not run (${e.code ?? e.message})`;
        reject(new DemoFailure(`${label} ${how}${said ? `: ${said}` : ''}`));
      },
    );
  });
}
