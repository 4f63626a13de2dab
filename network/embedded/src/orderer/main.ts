#!/usr/bin/env node
import { createLogger } from '../logging';
import { startGrpcServer, stopGrpcServer } from '../node/grpc-server';
import { nodeArgs, startNodeOperations } from '../node/node-main';
import { runNode } from '../node/process';
import { EMBEDDED_VERSION } from '../node/version';
import { broadcastHandler } from './broadcast-service';
import { atomicBroadcastDefinition, deliverHandler } from './deliver-service';
import { OrdererNode } from './orderer-node';

const args = nodeArgs('orderer');
const log = createLogger(`orderer.${args.id}`);

runNode(args.id, log, async () => {
  const genesis = args.genesisBlock();
  const node = new OrdererNode({
    identity: args.identity(),
    dataDir: args.data,
    logger: log,
    ...(genesis ? { genesisBlock: genesis } : {}),
  });
  const tls = args.tls();
  const server = await startGrpcServer(args.listen, tls, [
    [atomicBroadcastDefinition(), { broadcast: broadcastHandler(node), deliver: deliverHandler(node, log) }],
  ]);
  const ops = await startNodeOperations(args, tls);
  log.info(
    {
      event: 'started',
      channel: node.channelId,
      height: node.height(),
      listen: args.listen,
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
