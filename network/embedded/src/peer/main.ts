#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLogger } from '../logging';
import { startGrpcServer, stopGrpcServer } from '../node/grpc-server';
import { LocalIdentity } from '../node/local-identity';
import { runNode } from '../node/process';
import { EMBEDDED_VERSION } from '../node/version';
import { startOperationsServer } from '../ops/operations-server';
import { PeerNode } from './peer-node';

const { values } = parseArgs({
  options: {
    id: { type: 'string' },
    'msp-id': { type: 'string' },
    'msp-dir': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    listen: { type: 'string' },
    operations: { type: 'string' },
    data: { type: 'string' },
    'genesis-block': { type: 'string' },
    'chaincode-definitions': { type: 'string' },
  },
});
const need = (k: keyof typeof values): string => {
  const v = values[k];
  if (!v) {
    process.stderr.write(`peer: --${k} is required\n`);
    process.exit(2);
  }
  return v;
};

const id = need('id');
const log = createLogger(id);

runNode(id, log, async () => {
  const identity = LocalIdentity.fromMspFolder(need('msp-id'), need('msp-dir'));
  const genesis = values['genesis-block'] ? readFileSync(values['genesis-block']) : undefined;
  const node = new PeerNode({
    identity,
    address: need('listen'),
    dataDir: need('data'),
    definitionsDir: need('chaincode-definitions'),
    logger: log,
    ...(genesis ? { genesisBlock: genesis } : {}),
  });
  const tls = { certPem: readFileSync(need('tls-cert'), 'utf8'), keyPem: readFileSync(need('tls-key'), 'utf8') };
  const server = await startGrpcServer(need('listen'), tls, node.services());
  const [opsHost = '127.0.0.1', opsPort = '0'] = need('operations').split(':');
  const ops = await startOperationsServer({
    host: opsHost,
    port: Number(opsPort),
    tls,
    version: EMBEDDED_VERSION,
    checks: () => ({}),
  });
  node.start();
  log.info(
    {
      event: 'started',
      channel: node.channelId,
      height: node.ledger.height(),
      listen: values.listen,
      version: EMBEDDED_VERSION,
    },
    'peer started',
  );
  return async () => {
    await stopGrpcServer(server);
    ops.close();
    node.close();
  };
});
