/** `ui`: the patient's local web page, served until Ctrl-C. */
import type { Command } from 'commander';
import { Agent } from '../agent';
import { createLogger } from '../logger';
import { startUi } from '../ui';
import { globals, integer, out } from './command-kit';
import { readPassphrase } from './passphrase';

interface UiOptions {
  port: number;
}

export function addUiCommand(p: Command): void {
  p.command('ui')
    .description('serve your records, access log, consents and notifications on a local web page')
    .option('--port <port>', 'local port (0: any free port)', integer('port'), 8765)
    .action(serveUi);
}

/** Keeps the agent open for as long as the page is served; closes both on SIGINT or SIGTERM. */
async function serveUi(o: UiOptions, cmd: Command): Promise<void> {
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
}
