import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { connect, EndorseError, GatewayError, signers, type Gateway } from '@hyperledger/fabric-gateway';
import { common } from '@hyperledger/fabric-protos';
import type { ChaincodeInterface, ChaincodeStub } from 'fabric-shim';
import { computeConfigUpdate } from '../config/config-update';
import { lastConfigIndex } from '../config/last-config';
import { getMetadata } from '../ledger/block';
import { ChannelClients } from '../node/channel-clients';
import { startGrpcServer, stopGrpcServer } from '../node/grpc-server';
import { broadcastHandler } from '../orderer/broadcast-service';
import { atomicBroadcastDefinition, deliverHandler } from '../orderer/deliver-service';
import { OrdererNode } from '../orderer/orderer-node';
import { startChaincodeServer, shim, type RunningChaincode } from '../testing/chaincode-server';
import {
  CHANNEL_ID,
  createTestOrg,
  MAJORITY_OF_HOSPITALS,
  silentLogger,
  TestChannel,
  type TestOrg,
} from '../testing/channel';
import { configUpdateTx, signConfigUpdate, withApplicationOrg } from '../testing/config-updates';
import { ccaasPackage, install } from '../testing/packages';
import { keyPem } from '../testing/pki';
import { freePort } from '../testing/ports';
import { committedDefinition } from './lifecycle';
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

/** The definition both hospitals approve and commit through `_lifecycle`: name, version, sequence, policy. */
const TERMS = ['phr', '1.0', '1', MAJORITY_OF_HOSPITALS];
const lifecycleOf = (g: Gateway) => g.getNetwork(CHANNEL_ID).getContract('_lifecycle');

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
  const grpcClients: grpc.Client[] = [];
  let gateway: Gateway;
  let packageId: string;
  let ordererAddress: string;
  let clients: ChannelClients;
  const gateways: Gateway[] = [];
  const grpcClient = (address: string, org: TestOrg) =>
    new grpc.Client(address, grpc.credentials.createSsl(Buffer.from(org.ca.certificatePem)));
  /** A fabric-gateway connection as a new identity of `org` with the NodeOU `role`, through peer `via`. */
  const gatewayAs = (org: TestOrg, role: 'client' | 'admin', via = grpcClients[0] as grpc.Client) => {
    const issued = org.ca.issue({ cn: `${role}-${org.name}-${gateways.length}`, ous: [role] });
    const g = connect({
      client: via,
      identity: { mspId: org.mspId, credentials: Buffer.from(issued.certificatePem) },
      signer: signers.newPrivateKeySigner(issued.key),
    });
    gateways.push(g);
    return g;
  };

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
    ordererAddress = `127.0.0.1:${ordererPort}`;
    clients = new ChannelClients(() => channel.config.tlsRootCertsPem());
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
    for (const [org, port] of [
      [channel.hospital1, port1],
      [channel.hospital2, port2],
    ] as const) {
      const address = `127.0.0.1:${port}`;
      const dataDir = join(channel.dir, `peer0.${org.name}`);
      packageId = await install(join(dataDir, 'lifecycle'), pkg);
      const node = new PeerNode({
        identity: org.peer(),
        address,
        dataDir,
        genesisBlock: channel.genesis.serializeBinary(),
        logger: log,
      });
      const server = await startGrpcServer(address, tlsFor(org, `peer0.${org.name}`), node.services());
      node.start();
      peers.push({ node, server, address });
    }
    const user = channel.hospital1.ca.issue({ cn: 'gateway', ous: ['client'] });
    client = grpcClient(peers[0]?.address as string, channel.hospital1);
    grpcClients.push(client, grpcClient(peers[1]?.address as string, channel.hospital2));
    gateway = connect({
      client,
      identity: { mspId: 'Hospital1MSP', credentials: Buffer.from(user.certificatePem) },
      signer: signers.newPrivateKeySigner(user.key),
    });
    // The chaincode defined the real way: each hospital's admin approves through its own peer, one commits.
    const [admin1, admin2] = [
      gatewayAs(channel.hospital1, 'admin', grpcClients[0]),
      gatewayAs(channel.hospital2, 'admin', grpcClients[1]),
    ];
    for (const [admin, org] of [
      [admin1, channel.hospital1],
      [admin2, channel.hospital2],
    ] as const) {
      await lifecycleOf(admin).submit('ApproveChaincodeDefinitionForMyOrg', {
        arguments: [...TERMS, packageId],
        endorsingOrganizations: [org.mspId],
      });
    }
    await lifecycleOf(admin1).submit('CommitChaincodeDefinition', { arguments: TERMS });
  });

  afterAll(async () => {
    gateway.close();
    for (const g of gateways) g.close();
    for (const c of grpcClients) c.close();
    clients.close();
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
  it('defined phr through _lifecycle: both peers hold the definition; the lifecycle refuses a client approval and a repeat commit', async () => {
    const admin = gatewayAs(channel.hospital1, 'admin');
    expect(
      JSON.parse(
        Buffer.from(await lifecycleOf(admin).evaluateTransaction('QueryChaincodeDefinition', 'phr')).toString(),
      ),
    ).toEqual({
      name: 'phr',
      version: '1.0',
      sequence: 1,
      endorsementPolicy: MAJORITY_OF_HOSPITALS,
    });
    for (const p of peers) expect(committedDefinition(p.node.ledger, 'phr')?.sequence).toBe(1);
    const readiness = JSON.parse(
      Buffer.from(await lifecycleOf(admin).evaluateTransaction('CheckCommitReadiness', ...TERMS)).toString(),
    ) as { approvals: Record<string, boolean> };
    expect(readiness.approvals).toEqual({ Hospital1MSP: true, Hospital2MSP: true, PatientsMSP: false });
    const byClient = (await lifecycleOf(gatewayAs(channel.hospital1, 'client'))
      .submit('ApproveChaincodeDefinitionForMyOrg', {
        arguments: [...TERMS, packageId],
        endorsingOrganizations: ['Hospital1MSP'],
      })
      .catch((e: unknown) => e)) as EndorseError;
    expect(byClient).toBeInstanceOf(EndorseError);
    expect(byClient.details[0]?.message).toMatch(/access denied: an approval for Hospital1MSP must come from an admin/);
    const again = (await lifecycleOf(admin)
      .submit('CommitChaincodeDefinition', { arguments: TERMS })
      .catch((e: unknown) => e)) as EndorseError;
    expect(again.details[0]?.message).toMatch(/requested sequence is 1, but new definition must be sequence 2/);
  });

  describe('a channel configuration update', () => {
    let hospital3: TestOrg;
    let configBlock: number;
    beforeAll(() => {
      hospital3 = createTestOrg(channel.dir, 'hospital3', 'Hospital3MSP');
    });
    const phrAs = (g: Gateway) => g.getNetwork(CHANNEL_ID).getContract('phr');

    it('is ordered, committed by both peers, and admits the new organisation’s client', async () => {
      const h3 = gatewayAs(hospital3, 'client');
      const before = (await phrAs(h3)
        .evaluateTransaction('Get', 'record-1')
        .catch((e: unknown) => e)) as GatewayError;
      expect(before).toBeInstanceOf(GatewayError);
      expect(before.details[0]?.message).toMatch(/creator org unknown/);

      const current = (peers[0] as (typeof peers)[0]).node.config.config;
      const update = computeConfigUpdate(CHANNEL_ID, current, withApplicationOrg(current, hospital3));
      const signed = signConfigUpdate(update, [channel.hospital1.admin(), channel.hospital2.admin()]);
      // One admin's signature is not enough: the orderer says why.
      const weak = await clients.broadcast(
        ordererAddress,
        configUpdateTx(signConfigUpdate(update, [channel.hospital1.admin()]), channel.hospital1.admin()),
        3000,
      );
      expect(weak.getStatus()).toBe(common.Status.BAD_REQUEST);
      expect(weak.getInfo()).toMatch(/policy for \[Group\] {2}\/Channel\/Application not satisfied/);
      const r = await clients.broadcast(ordererAddress, configUpdateTx(signed, channel.hospital1.admin()), 3000);
      expect([r.getStatus(), r.getInfo()]).toEqual([common.Status.SUCCESS, '']);
      configBlock = ordererNode.height() - 1;
      await waitFor(() => peers.every((p) => p.node.ledger.height() > configBlock));
      for (const p of peers) {
        expect(p.node.config.sequence).toBe(1);
        expect(p.node.config.applicationOrg('Hospital3MSP')).toBeDefined();
        const block = common.Block.deserializeBinary(p.node.ledger.block(configBlock) as Uint8Array);
        expect([...getMetadata(block, common.BlockMetadataIndex.TRANSACTIONS_FILTER)]).toEqual([0]);
      }
      // Hospital 3's client submits through hospital 1's gateway, endorsed by both hospitals.
      const status = await (
        await phrAs(h3)
          .newProposal('Put', { arguments: ['record-h3', 'from hospital 3'] })
          .endorse()
      )
        .submit()
        .then((c) => c.getStatus());
      expect(status.successful).toBe(true);
      await waitFor(() => peers.every((p) => p.node.ledger.getState('phr', 'record-h3') !== undefined));
      expect(Buffer.from(await phrAs(h3).evaluateTransaction('Get', 'record-h3')).toString()).toBe('from hospital 3');
    });

    it('is kept by a peer restarted from its ledger', async () => {
      const old = peers[1] as (typeof peers)[0];
      await stopGrpcServer(old.server, 200);
      old.node.close();
      const node = new PeerNode({
        identity: channel.hospital2.peer(),
        address: old.address,
        dataDir: join(channel.dir, 'peer0.hospital2'),
        logger: silentLogger(),
      });
      const server = await startGrpcServer(old.address, tlsFor(channel.hospital2, 'peer0.hospital2'), node.services());
      node.start();
      peers[1] = { node, server, address: old.address };
      expect(node.config.sequence).toBe(1);
      expect(node.config.applicationOrg('Hospital3MSP')).toBeDefined();
      // Hospital 3's client, served by the restarted peer itself.
      const via = grpcClient(old.address, channel.hospital2);
      grpcClients.push(via);
      const h3 = gatewayAs(hospital3, 'client', via);
      expect(Buffer.from(await phrAs(h3).evaluateTransaction('Get', 'record-h3')).toString()).toBe('from hospital 3');
      // The next block names the config block as the last config, on every node.
      await phrAs(h3).submitTransaction('Put', 'record-h3b', 'after the restart');
      await waitFor(() => peers.every((p) => p.node.ledger.height() === ordererNode.height()));
      for (const p of peers) {
        const last = common.Block.deserializeBinary(p.node.ledger.block(p.node.ledger.height() - 1) as Uint8Array);
        expect(lastConfigIndex(last)).toBe(configBlock);
      }
    });
  });
});
