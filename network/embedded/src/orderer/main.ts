#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createLogger } from '../logging';
import { LocalIdentity } from '../node/local-identity';
import { startGrpcServer, stopGrpcServer } from '../node/grpc-server';
import { runNode } from '../node/process';
import { EMBEDDED_VERSION } from '../node/version';
import { startOperationsServer } from '../ops/operations-server';
import { broadcastHandler } from './broadcast-service';
import { atomicBroadcastDefinition, deliverHandler } from './deliver-service';
import { OrdererNode } from './orderer-node';

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
  },
});
const need = (k: keyof typeof values): string => {
  const v = values[k];
  if (!v) {
    process.stderr.write(`orderer: --${k} is required\n`);
    process.exit(2);
  }
  return v;
};

const id = need('id');
const log = createLogger(`orderer.${id}`);

runNode(id, log, async () => {
  const identity = LocalIdentity.fromMspFolder(need('msp-id'), need('msp-dir'));
  const genesis = values['genesis-block'] ? readFileSync(values['genesis-block']) : undefined;
  const node = new OrdererNode({
    identity,
    dataDir: need('data'),
    logger: log,
    ...(genesis ? { genesisBlock: genesis } : {}),
  });
  const tls = { certPem: readFileSync(need('tls-cert'), 'utf8'), keyPem: readFileSync(need('tls-key'), 'utf8') };
  const server = await startGrpcServer(need('listen'), tls, [
    [atomicBroadcastDefinition(), { broadcast: broadcastHandler(node), deliver: deliverHandler(node, log) }],
  ]);
  const [opsHost = '127.0.0.1', opsPort = '0'] = need('operations').split(':');
  const ops = await startOperationsServer({
    host: opsHost,
    port: Number(opsPort),
    tls,
    version: EMBEDDED_VERSION,
    checks: () => ({}),
  });
  log.info(
    {
      event: 'started',
      channel: node.channelId,
      height: node.height(),
      listen: values.listen,
      version: EMBEDDED_VERSION,
    },
    'orderer started',
  );
  return async () => {
    await stopGrpcServer(server);
    ops.close();
    node.close();
  };
});
