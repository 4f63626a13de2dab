#!/usr/bin/env node
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { createLogger } from '../logging';
import { CaServer } from './ca-server';

const USAGE = `usage: node dist/ca/main.js --home DIR [options]   (the embedded Fabric CA)
  --home DIR                  CA home: ca-cert.pem, tls-cert.pem, msp/keystore, the database
  --address HOST              listen address (default 0.0.0.0)
  --port N                    HTTPS port (default 7054; 0 = any free port)
  --ca-name NAME              the CA's name (caname)
  --csr-cn CN                 CN of the CA certificate made on first start (default fabric-ca-server)
  --csr-hosts h1,h2           SANs of the CA and TLS certificates made on first start (default: this host)
  --operations-address H:P    plain-HTTP operations endpoint with /healthz
  --bootstrap ID:SECRET       the registrar registered on first start`;

class UsageError extends Error {
  override readonly name = 'UsageError';
}

function hostPort(value: string): { host: string; port: number } {
  const at = value.lastIndexOf(':');
  const port = Number(value.slice(at + 1));
  if (at <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new UsageError(`--operations-address must be HOST:PORT, not ${value}`);
  }
  return { host: value.slice(0, at).replace(/^\[(.*)\]$/, '$1'), port };
}

function options() {
  const { values } = parseArgs({
    options: {
      home: { type: 'string' },
      address: { type: 'string', default: '0.0.0.0' },
      port: { type: 'string', default: '7054' },
      'ca-name': { type: 'string', default: '' },
      'csr-cn': { type: 'string', default: 'fabric-ca-server' },
      'csr-hosts': { type: 'string' },
      'operations-address': { type: 'string' },
      bootstrap: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return undefined;
  if (!values.home) throw new UsageError('--home is required');
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be a port number`);
  let bootstrap: { id: string; secret: string } | undefined;
  if (values.bootstrap !== undefined) {
    const colon = values.bootstrap.indexOf(':');
    if (colon <= 0 || colon === values.bootstrap.length - 1) throw new UsageError('--bootstrap must be ID:SECRET');
    bootstrap = { id: values.bootstrap.slice(0, colon), secret: values.bootstrap.slice(colon + 1) };
  }
  const hosts = [
    ...new Set(
      (values['csr-hosts'] ?? hostname())
        .split(',')
        .map((h) => h.trim())
        .filter((h) => h !== ''),
    ),
  ];
  return {
    home: resolve(values.home),
    host: values.address,
    port,
    caName: values['ca-name'],
    csrCommonName: values['csr-cn'],
    csrHosts: hosts,
    bootstrap,
    operations: values['operations-address'] === undefined ? undefined : hostPort(values['operations-address']),
  };
}

async function main(): Promise<void> {
  let settings: ReturnType<typeof options>;
  try {
    settings = options();
  } catch (err) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n${USAGE}\n`);
    process.exitCode = 2;
    return;
  }
  if (!settings) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const logger = createLogger('fabric-ca');
  let server: CaServer;
  try {
    server = await CaServer.start({ ...settings, logger });
  } catch (err) {
    logger.fatal({ err }, 'the CA could not start');
    process.exitCode = 1;
    return;
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    server.close().then(
      () => {
        logger.info('stopped');
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'could not stop cleanly');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();
