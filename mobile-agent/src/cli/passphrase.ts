import { readFileSync } from 'node:fs';

/**
 * The passphrase, from (in order) --passphrase-file, PHR_AGENT_PASSPHRASE, or a hidden prompt.
 * Never from a command-line argument: those show up in `ps` and shell history.
 */
export async function readPassphrase(file: string | undefined, prompt: string): Promise<string> {
  if (file) return readFileSync(file, 'utf8').replace(/\r?\n$/, '');
  const env = process.env['PHR_AGENT_PASSPHRASE'];
  if (env) return env;
  if (!process.stdin.isTTY) {
    throw new Error('no passphrase: use --passphrase-file, PHR_AGENT_PASSPHRASE, or run in a terminal');
  }
  return promptHidden(prompt);
}

function promptHidden(prompt: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const stdin = process.stdin;
    process.stderr.write(prompt);
    stdin.setRawMode(true);
    stdin.resume();
    stdin.setEncoding('utf8');
    let value = '';
    const done = (err?: Error) => {
      stdin.setRawMode(false);
      stdin.pause();
      stdin.removeListener('data', onData);
      process.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003') return done(new Error('cancelled'));
        if (ch === '\u007f') value = value.slice(0, -1);
        else value += ch;
      }
    };
    stdin.on('data', onData);
  });
}
