#!/usr/bin/env node
import { convertCcdaCommand } from './ccda/convert-command';
import { loadConfig } from './config';
import { startGateway } from './gateway';
import { createLogger } from './logger';
import { researchExtractCommand } from './research/extract-command';

/**
 * `phr-gateway --config <file>`: runs one hospital's gateway until SIGINT/SIGTERM.
 * `phr-gateway convert-ccda FILE…`: what the gateway would make of C-CDA documents (no network).
 * `phr-gateway research-extract --request FILE --out DIR`: an institutional research extract.
 */
async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === 'convert-ccda') {
    // `convert-ccda *.xml | head`: a reader that stops early ends the run quietly, not with a stack.
    process.stdout.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code !== 'EPIPE') throw err;
      process.exit(process.exitCode ?? 0);
    });
    process.exitCode = convertCcdaCommand(args.slice(1), (line) => process.stdout.write(`${line}\n`));
    return;
  }
  if (args[0] === 'research-extract') {
    process.exitCode = await researchExtractCommand(args.slice(1), {
      out: (line) => process.stdout.write(`${line}\n`),
      err: (line) => process.stderr.write(`${line}\n`),
    });
    return;
  }
  const at = args.indexOf('--config');
  const file = at >= 0 ? args[at + 1] : process.env.PHR_GATEWAY_CONFIG;
  if (!file || args.includes('--help')) {
    process.stderr.write(
      'usage: phr-gateway --config <gateway.json>   (or PHR_GATEWAY_CONFIG)\n' +
        '       phr-gateway convert-ccda FILE…          (C-CDA dry run: the Bundle the gateway would ingest)\n' +
        '       phr-gateway research-extract --request FILE --out DIR [--config <gateway.json>]\n' +
        '                                               (a k-anonymous research extract, recorded on the ledger)\n',
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
