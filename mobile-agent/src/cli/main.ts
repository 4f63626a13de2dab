#!/usr/bin/env node
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { addActivityCommands } from './activity-commands';
import { addConsentCommands } from './consent-commands';
import { describeError } from './describe-error';
import { addLifecycleCommands } from './lifecycle-commands';
import { addRecordCommands } from './record-commands';
import { addRecoveryCommands } from './recovery-commands';
import { addResearchCommands } from './research-commands';
import { addSetupCommands } from './setup-commands';
import { addUiCommand } from './ui-command';

/** `phr-agent`: its global options, then its commands in the order `--help` lists them. */
export function program(): Command {
  const p = new Command('phr-agent')
    .description("The patient's own node: your keys, your verified records, your consents and who looked at what.")
    .option(
      '--home <dir>',
      'the agent folder (one per patient)',
      process.env['PHR_AGENT_HOME'] ?? join(homedir(), '.phr-agent'),
    )
    .option('--passphrase-file <file>', 'read the passphrase from a file (else PHR_AGENT_PASSPHRASE, else a prompt)')
    .option('--log-level <level>', 'diagnostics on stderr: silent, error, warn, info, debug', 'warn')
    .showHelpAfterError()
    .configureOutput({ outputError: (text, write) => write(text) });

  addSetupCommands(p); // init, link-code
  addRecordCommands(p); // inbox, records, verify
  addConsentCommands(p); // consent grant|sign|revoke|list
  addActivityCommands(p); // log, notifications, status
  addLifecycleCommands(p); // backup, restore, rebuild, erase
  addRecoveryCommands(p); // recovery setup|code|status|approve|deny|start|finish
  addResearchCommands(p); // research list|show|accept|decline|history|credits|opt-out|opt-in
  addUiCommand(p); // ui
  return p;
}

if (require.main === module) {
  program()
    .parseAsync(process.argv)
    .catch((err: unknown) => {
      process.stderr.write(`phr-agent: ${describeError(err)}\n`);
      process.exitCode = err instanceof InvalidArgumentError ? 2 : 1;
    });
}
