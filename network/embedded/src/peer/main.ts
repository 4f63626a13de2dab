#!/usr/bin/env node
import { createLogger } from '../logging';
import { startGrpcServer, stopGrpcServer } from '../node/grpc-server';
import { nodeArgs, startNodeOperations } from '../node/node-main';
import { runNode } from '../node/process';
import { EMBEDDED_VERSION } from '../node/version';
import { PeerNode } from './peer-node';

const args = nodeArgs('peer');
const log = createLogger(args.id);

runNode(args.id, log, async () => {
  const genesis = args.genesisBlock();
  const node = new PeerNode({
    identity: args.identity(),
    address: args.listen,
    dataDir: args.data,
    logger: log,
    ...(genesis ? { genesisBlock: genesis } : {}),
  });
  const tls = args.tls();
  const server = await startGrpcServer(args.listen, tls, node.services());
  const ops = await startNodeOperations(args, tls);
  node.start();
  log.info(
    {
      event: 'started',
      channel: node.channelId,
      height: node.ledger.height(),
      listen: args.listen,
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
