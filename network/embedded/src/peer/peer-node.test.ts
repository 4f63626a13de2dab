import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { connect, EndorseError, GatewayError, signers, type Gateway } from '@hyperledger/fabric-gateway';
import { common } from '@hyperledger/fabric-protos';
import type { ChaincodeInterface, ChaincodeStub } from 'fabric-shim';
import { startGrpcServer, stopGrpcServer } from '../node/grpc-server';
import { broadcastHandler } from '../orderer/broadcast-service';
import { atomicBroadcastDefinition, deliverHandler } from '../orderer/deliver-service';
import { OrdererNode } from '../orderer/orderer-node';
import { startChaincodeServer, shim, type RunningChaincode } from '../testing/chaincode-server';
import { CHANNEL_ID, MAJORITY_OF_HOSPITALS, silentLogger, TestChannel, type TestOrg } from '../testing/channel';
import { ccaasPackage, define, installAndApprove } from '../testing/packages';
import { keyPem } from '../testing/pki';
import { freePort } from '../testing/ports';
import { PeerNode } from './peer-node';

const chaincode: ChaincodeInterface = {
  async Init() {
    return shim.success();
  },
  async Invoke(stub: ChaincodeStub) {
    const { fcn, params } = stub.getFunctionAndParameters();
    const [key = 'k', value = 'v'] = params;
    switch (fcn) {
      case 'Put':
        await stub.putState(key, Buffer.from(value));
        stub.setEvent('Stored', Buffer.from(key));
        return shim.success(Buffer.from(`stored ${key}`));
      case 'Get': {
        const v = Buffer.from(await stub.getState(key));
        return v.length > 0 ? shim.success(v) : shim.error(`NOT_FOUND: ${key}`);
      }
      default:
        return shim.error(`FORBIDDEN: ${fcn} is not allowed`);
    }
  },
};

/**
 * Two hospitals' peers and the orderer in this process, over gRPC with TLS, driven by the real
 * fabric-gateway client: the whole submit path the project's LedgerClient takes.
 */
describe('PeerNode with the Gateway service, an orderer and fabric-gateway', () => {
  let channel: TestChannel;
  let ordererNode: OrdererNode;
  let ordererServer: grpc.Server;
  const peers: { node: PeerNode; server: grpc.Server; address: string }[] = [];
  let cc: RunningChaincode;
  let client: grpc.Client;
  let gateway: Gateway;

  const tlsFor = (org: TestOrg, cn: string) => {
    const issued = org.ca.issue({ cn, ous: ['peer'], hosts: ['127.0.0.1', 'localhost'] });
    return { certPem: issued.certificatePem, keyPem: keyPem(issued.key) };
  };

  beforeAll(async () => {
    const [ordererPort, port1, port2] = [await freePort(), await freePort(), await freePort()];
    channel = new TestChannel(undefined, {
      batchTimeout: '100ms',
      ordererEndpoint: `127.0.0.1:${ordererPort}`,
      anchorPeers: { hospital1: `127.0.0.1:${port1}`, hospital2: `127.0.0.1:${port2}` },
    });
    const log = silentLogger();
    ordererNode = new OrdererNode({
      identity: channel.orderer.orderer(),
      dataDir: join(channel.dir, 'orderer'),
      genesisBlock: channel.genesis.serializeBinary(),
      logger: log,
    });
    ordererServer = await startGrpcServer(`127.0.0.1:${ordererPort}`, tlsFor(channel.orderer, 'orderer0'), [
      [
        atomicBroadcastDefinition(),
        { broadcast: broadcastHandler(ordererNode), deliver: deliverHandler(ordererNode, log) },
      ],
    ]);
    cc = await startChaincodeServer(chaincode, channel.hospital1.ca);
    const pkg = await ccaasPackage('phr_1.0', {
      address: cc.address,
      dial_timeout: '2s',
      tls_required: true,
      root_cert: cc.rootCertPem,
    });
    const definitions = join(channel.dir, 'definitions');
    define(definitions, { name: 'phr', version: '1.0', sequence: 1, endorsementPolicy: MAJORITY_OF_HOSPITALS });
    for (const [org, port] of [
      [channel.hospital1, port1],
      [channel.hospital2, port2],
    ] as const) {
      const address = `127.0.0.1:${port}`;
      const dataDir = join(channel.dir, `peer0.${org.name}`);
      await installAndApprove(join(dataDir, 'lifecycle'), 'phr', 1, pkg);
      const node = new PeerNode({
        identity: org.peer(),
        address,
        dataDir,
        definitionsDir: definitions,
        genesisBlock: channel.genesis.serializeBinary(),
        logger: log,
      });
      const server = await startGrpcServer(address, tlsFor(org, `peer0.${org.name}`), node.services());
      node.start();
      peers.push({ node, server, address });
    }
    const user = channel.hospital1.ca.issue({ cn: 'gateway', ous: ['client'] });
    client = new grpc.Client(
      peers[0]?.address as string,
      grpc.credentials.createSsl(Buffer.from(channel.hospital1.ca.certificatePem)),
    );
    gateway = connect({
      client,
      identity: { mspId: 'Hospital1MSP', credentials: Buffer.from(user.certificatePem) },
      signer: signers.newPrivateKeySigner(user.key),
    });
  });

  afterAll(async () => {
    gateway.close();
    client.close();
    for (const p of peers) {
      await stopGrpcServer(p.server, 200);
      p.node.close();
    }
    await stopGrpcServer(ordererServer, 200);
    ordererNode.close();
    cc.stop();
    channel.remove();
  });

  const contract = () => gateway.getNetwork(CHANNEL_ID).getContract('phr');
  const waitFor = async (check: () => boolean) => {
    const until = Date.now() + 5000;
    while (!check()) {
      if (Date.now() > until) throw new Error('timed out');
      await new Promise((r) => setTimeout(r, 20));
    }
  };

  it('submits: endorsed by both hospitals, ordered, committed VALID on both peers', async () => {
    const proposal = contract().newProposal('Put', { arguments: ['record-1', 'hello'] });
    // On failure, show which endorser refused and why.
    const transaction = await proposal.endorse().catch((e: EndorseError) => {
      throw new Error(`${e.message}: ${JSON.stringify(e.details)}`);
    });
    expect(Buffer.from(transaction.getResult()).toString()).toBe('stored record-1');
    const commit = await transaction.submit();
    const status = await commit.getStatus();
    expect(status.successful).toBe(true);
    expect(status.blockNumber > 0n).toBe(true);
    expect(status.transactionId).toBe(proposal.getTransactionId());
    const block = common.Block.deserializeBinary(peers[0]?.node.ledger.block(Number(status.blockNumber)) as Uint8Array);
    expect(block.getData()?.getDataList()).toHaveLength(1);
    await waitFor(() => peers[1]?.node.ledger.txStatus(proposal.getTransactionId()) !== undefined);
    for (const p of peers)
      expect(Buffer.from(p.node.ledger.getState('phr', 'record-1')?.value ?? []).toString()).toBe('hello');
    expect(Buffer.from(await contract().evaluateTransaction('Get', 'record-1')).toString()).toBe('hello');
  });

  it('commits a single-organisation endorsement as ENDORSEMENT_POLICY_FAILURE, leaving no write', async () => {
    const proposal = contract().newProposal('Put', {
      arguments: ['record-2', 'x'],
      endorsingOrganizations: ['Hospital1MSP'],
    });
    const commit = await (await proposal.endorse()).submit();
    const status = await commit.getStatus();
    expect(status.successful).toBe(false);
    expect(status.code).toBe(10);
    const err = await contract()
      .evaluateTransaction('Get', 'record-2')
      .catch((e: unknown) => e);
    expect((err as GatewayError).details[0]?.message).toBe('chaincode response 500, NOT_FOUND: record-2');
  });

  it('returns chaincode errors as fabric-gateway errors with the message in the details', async () => {
    const evaluated = (await contract()
      .evaluateTransaction('Drop')
      .catch((e: unknown) => e)) as GatewayError;
    expect(evaluated).toBeInstanceOf(GatewayError);
    expect(evaluated.code).toBe(grpc.status.UNKNOWN);
    expect(evaluated.message).toContain(
      'evaluate call to endorser returned error: chaincode response 500, FORBIDDEN: Drop is not allowed',
    );
    expect(evaluated.details).toEqual([
      {
        address: peers[0]?.address,
        mspId: 'Hospital1MSP',
        message: 'chaincode response 500, FORBIDDEN: Drop is not allowed',
      },
    ]);
    const endorsed = (await contract()
      .newProposal('Drop')
      .endorse()
      .catch((e: unknown) => e)) as EndorseError;
    expect(endorsed).toBeInstanceOf(EndorseError);
    expect(endorsed.code).toBe(grpc.status.ABORTED);
    expect(endorsed.message).toContain('failed to endorse transaction, see attached details for more info');
    expect(endorsed.details[0]?.message).toBe('chaincode response 500, FORBIDDEN: Drop is not allowed');
  });

  it('refuses to endorse a transaction id already in the ledger', async () => {
    const proposal = contract().newProposal('Put', { arguments: ['record-3', 'once'] });
    const bytes = proposal.getBytes();
    const commit = await (await proposal.endorse()).submit();
    expect((await commit.getStatus()).successful).toBe(true);
    const again = gateway.newProposal(bytes);
    const err = (await again.endorse().catch((e: unknown) => e)) as EndorseError;
    expect(err).toBeInstanceOf(EndorseError);
    expect(err.details.map((d) => d.message).join(' ')).toMatch(/duplicate transaction found/);
  });

  it('replays chaincode events from a start block, then follows new commits', async () => {
    const events = await gateway.getNetwork(CHANNEL_ID).getChaincodeEvents('phr', { startBlock: 0n });
    try {
      const iterator = events[Symbol.asyncIterator]();
      const first = (await iterator.next()).value;
      expect([first.chaincodeName, first.eventName, Buffer.from(first.payload).toString()]).toEqual([
        'phr',
        'Stored',
        'record-1',
      ]);
      const second = (await iterator.next()).value;
      expect(Buffer.from(second.payload).toString()).toBe('record-3');
      await contract().submitTransaction('Put', 'record-4', 'live');
      const live = (await iterator.next()).value;
      expect(Buffer.from(live.payload).toString()).toBe('record-4');
      expect(live.blockNumber > second.blockNumber).toBe(true);
    } finally {
      events.close();
    }
  });

  it('answers qscc GetChainInfo with the height', async () => {
    const info = common.BlockchainInfo.deserializeBinary(
      await gateway.getNetwork(CHANNEL_ID).getContract('qscc').evaluateTransaction('GetChainInfo', CHANNEL_ID),
    );
    expect(info.getHeight()).toBe(peers[0]?.node.ledger.height());
  });
});
