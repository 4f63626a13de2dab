#!/usr/bin/env node
import { convertCcdaCommand } from './ccda/convert-command';
import { loadConfig } from './config';
import { startGateway } from './gateway';
import { createLogger } from './logger';

/**
 * `phr-gateway --config <file>`: runs one hospital's gateway until SIGINT/SIGTERM.
 * `phr-gateway convert-ccda FILE…`: what the gateway would make of C-CDA documents (no network).
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === 'convert-ccda') {
    process.exitCode = convertCcdaCommand(args.slice(1), (line) => process.stdout.write(`${line}\n`));
    return;
  }
  const at = args.indexOf('--config');
  const file = at >= 0 ? args[at + 1] : process.env.PHR_GATEWAY_CONFIG;
  if (!file || args.includes('--help')) {
    process.stderr.write(
      'usage: phr-gateway --config <gateway.json>   (or PHR_GATEWAY_CONFIG)\n' +
        '       phr-gateway convert-ccda FILE…          (C-CDA dry run: the Bundle the gateway would ingest)\n',
    );
    process.exit(file ? 0 : 2);
  }
  const config = loadConfig(file);
  const log = createLogger(config.logLevel);
  const gateway = await startGateway(config, { logger: log });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'stopping');
    gateway.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err: (err as Error).message }, 'unclean stop');
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`phr-gateway: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
