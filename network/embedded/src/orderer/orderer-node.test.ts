import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import type * as grpc from '@grpc/grpc-js';
import { common, orderer as ordererProtos } from '@hyperledger/fabric-protos';
import * as asn1js from 'asn1js';
import { ChannelConfig } from '../config/channel-config';
import { computeConfigUpdate, proposeConfigUpdate } from '../config/config-update';
import { blockHeaderBytes, getMetadata } from '../ledger/block';
import { ChannelClients, seekEnvelope } from '../node/channel-clients';
import { startGrpcServer, stopGrpcServer } from '../node/grpc-server';
import type { LocalIdentity } from '../node/local-identity';
import { CHANNEL_ID, createTestOrg, silentLogger, TestChannel, type TestChannelOptions } from '../testing/channel';
import {
  applicationGroup,
  cloneConfig,
  configUpdateTx,
  signConfigUpdate,
  withApplicationOrg,
} from '../testing/config-updates';
import { freePort } from '../testing/ports';
import { keyPem, TestCa } from '../testing/pki';
import { timestamp } from '../testing/transactions';
import { broadcastHandler } from './broadcast-service';
import { atomicBroadcastDefinition, deliverHandler } from './deliver-service';
import { OrdererNode } from './orderer-node';

const S = common.Status;

/** An ENDORSER_TRANSACTION envelope of about `size` bytes signed by `creator` (the orderer looks no deeper). */
function envelope(
  creator: LocalIdentity,
  o: { size?: number; channelId?: string; type?: number; signer?: LocalIdentity } = {},
) {
  const ch = new common.ChannelHeader();
  ch.setType(o.type ?? common.HeaderType.ENDORSER_TRANSACTION);
  ch.setChannelId(o.channelId ?? CHANNEL_ID);
  ch.setTxId(randomBytes(32).toString('hex'));
  ch.setTimestamp(timestamp());
  const header = new common.Header();
  header.setChannelHeader(ch.serializeBinary());
  header.setSignatureHeader(creator.signatureHeader().serializeBinary());
  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(randomBytes(o.size ?? 100));
  const bytes = payload.serializeBinary();
  const env = new common.Envelope();
  env.setPayload(bytes);
  env.setSignature((o.signer ?? creator).sign(bytes));
  return Buffer.from(env.serializeBinary());
}

interface Seek {
  start: 'oldest' | 'newest' | number;
  stop: 'oldest' | 'newest' | number;
  failIfNotReady?: boolean;
  channelId?: string;
}

function seek(identity: LocalIdentity, s: Seek): Buffer {
  const position = (p: Seek['start']) => {
    const out = new ordererProtos.SeekPosition();
    if (p === 'oldest') out.setOldest(new ordererProtos.SeekOldest());
    else if (p === 'newest') out.setNewest(new ordererProtos.SeekNewest());
    else {
      const spec = new ordererProtos.SeekSpecified();
      spec.setNumber(p);
      out.setSpecified(spec);
    }
    return out;
  };
  const info = new ordererProtos.SeekInfo();
  info.setStart(position(s.start));
  info.setStop(position(s.stop));
  info.setBehavior(
    s.failIfNotReady
      ? ordererProtos.SeekInfo.SeekBehavior.FAIL_IF_NOT_READY
      : ordererProtos.SeekInfo.SeekBehavior.BLOCK_UNTIL_READY,
  );
  const ch = new common.ChannelHeader();
  ch.setType(common.HeaderType.DELIVER_SEEK_INFO);
  ch.setChannelId(s.channelId ?? CHANNEL_ID);
  ch.setTimestamp(timestamp());
  const header = new common.Header();
  header.setChannelHeader(ch.serializeBinary());
  header.setSignatureHeader(identity.signatureHeader().serializeBinary());
  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(info.serializeBinary());
  const bytes = payload.serializeBinary();
  const env = new common.Envelope();
  env.setPayload(bytes);
  env.setSignature(identity.sign(bytes));
  return Buffer.from(env.serializeBinary());
}

/** Fabric's header hash, computed with asn1js independently of the code under test. */
function headerHash(h: common.BlockHeader): Buffer {
  const der = new asn1js.Sequence({
    value: [
      new asn1js.Integer({ value: h.getNumber() }),
      new asn1js.OctetString({ valueHex: h.getPreviousHash_asU8() }),
      new asn1js.OctetString({ valueHex: h.getDataHash_asU8() }),
    ],
  }).toBER(false);
  return createHash('sha256').update(Buffer.from(der)).digest();
}

/** A Deliver stream read one response at a time. */
function deliver(clients: ChannelClients, address: string, request: Buffer) {
  const call = clients.deliver(address);
  const queue: ordererProtos.DeliverResponse[] = [];
  const waiting: ((r: ordererProtos.DeliverResponse) => void)[] = [];
  let failure: Error | undefined;
  call.on('data', (b: Buffer) => {
    const r = ordererProtos.DeliverResponse.deserializeBinary(b);
    const w = waiting.shift();
    if (w) w(r);
    else queue.push(r);
  });
  call.on('error', (err: Error) => (failure = err));
  call.write(request);
  return {
    next(timeoutMs = 3000): Promise<ordererProtos.DeliverResponse> {
      const ready = queue.shift();
      if (ready) return Promise.resolve(ready);
      if (failure) return Promise.reject(failure);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('no deliver response in time')), timeoutMs);
        waiting.push((r) => {
          clearTimeout(timer);
          resolve(r);
        });
      });
    },
    /** True when nothing arrives within `ms`. */
    async quiet(ms: number): Promise<boolean> {
      await new Promise((r) => setTimeout(r, ms));
      return queue.length === 0;
    },
    cancel: () => call.cancel(),
  };
}

const headerBytes = (b: common.Block) => blockHeaderBytes(b.getHeader() as common.BlockHeader);

const blockOf = (r: ordererProtos.DeliverResponse) => {
  const b = r.getBlock();
  if (!b) throw new Error(`expected a block, got status ${r.getStatus()}`);
  return b;
};

interface RunningOrderer {
  node: OrdererNode;
  address: string;
  server: grpc.Server;
  stop(): Promise<void>;
}

async function startOrderer(
  channel: TestChannel,
  dataDir: string,
  identity: LocalIdentity,
  genesis = true,
  port?: number,
): Promise<RunningOrderer> {
  const tls = channel.orderer.ca.issue({ cn: 'orderer0', ous: ['orderer'], hosts: ['127.0.0.1', 'localhost'] });
  const log = silentLogger();
  const node = new OrdererNode({
    identity,
    dataDir,
    logger: log,
    ...(genesis ? { genesisBlock: channel.genesis.serializeBinary() } : {}),
  });
  const address = `127.0.0.1:${port ?? (await freePort())}`;
  const server = await startGrpcServer(address, { certPem: tls.certificatePem, keyPem: keyPem(tls.key) }, [
    [atomicBroadcastDefinition(), { broadcast: broadcastHandler(node), deliver: deliverHandler(node, log) }],
  ]);
  return {
    node,
    address,
    server,
    stop: async () => {
      await stopGrpcServer(server, 200);
      node.close();
    },
  };
}

describe('OrdererNode over gRPC with TLS', () => {
  // A timeout long enough that no cut falls between two broadcasts of one test on a loaded machine
  // (150 ms once cut [3, 3, 1] into smaller blocks while the e2e suites ran beside it).
  const channel = new TestChannel(undefined, { batchTimeout: '1s', maxMessageCount: 3 });
  const identity = channel.orderer.orderer();
  const client = channel.hospital1.client();
  let orderer: RunningOrderer;
  let clients: ChannelClients;
  const dataDir = join(channel.dir, 'orderer0');

  beforeAll(async () => {
    orderer = await startOrderer(channel, dataDir, identity);
    clients = new ChannelClients(() => channel.config.tlsRootCertsPem());
  });
  afterAll(async () => {
    clients.close();
    await orderer.stop();
    channel.remove();
  });

  const broadcast = async (env: Buffer) => {
    const r = await clients.broadcast(orderer.address, env, 3000);
    return { status: r.getStatus(), info: r.getInfo() };
  };
  const waitForHeight = async (height: number) => {
    const until = Date.now() + 6000;
    while (orderer.node.height() < height) {
      if (Date.now() > until) throw new Error(`height ${orderer.node.height()} < ${height}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  const storedBlock = (n: number) => common.Block.deserializeBinary(orderer.node.block(n) as Uint8Array);

  it('starts from the genesis block', () => {
    expect(orderer.node.height()).toBe(1);
    expect(orderer.node.channelId).toBe(CHANNEL_ID);
    expect(Buffer.from(orderer.node.block(0) as Uint8Array)).toEqual(Buffer.from(channel.genesis.serializeBinary()));
  });

  it('cuts a lone transaction into a block after BatchTimeout', async () => {
    const env = envelope(client);
    const started = Date.now();
    expect(await broadcast(env)).toEqual({ status: S.SUCCESS, info: '' });
    expect(orderer.node.height()).toBe(1);
    await waitForHeight(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    expect(
      storedBlock(1)
        .getData()
        ?.getDataList_asU8()
        .map((d) => Buffer.from(d)),
    ).toEqual([env]);
  });

  it('cuts a block at MaxMessageCount without waiting, and the rest after the timeout', async () => {
    const start = orderer.node.height();
    const envs = Array.from({ length: 7 }, () => envelope(client));
    for (const e of envs) expect((await broadcast(e)).status).toBe(S.SUCCESS);
    expect(orderer.node.height()).toBe(start + 2);
    await waitForHeight(start + 3);
    const sizes = [0, 1, 2].map(
      (i) =>
        storedBlock(start + i)
          .getData()
          ?.getDataList().length,
    );
    expect(sizes).toEqual([3, 3, 1]);
    const all = [0, 1, 2].flatMap(
      (i) =>
        storedBlock(start + i)
          .getData()
          ?.getDataList_asU8()
          .map((d) => Buffer.from(d)) ?? [],
    );
    expect(all).toEqual(envs);
  });

  it('hash-chains the blocks and signs them as /Channel/Orderer/BlockValidation requires', () => {
    for (let n = 1; n < orderer.node.height(); n++) {
      const block = storedBlock(n);
      const header = block.getHeader() as common.BlockHeader;
      expect(header.getNumber()).toBe(n);
      expect(Buffer.from(header.getPreviousHash_asU8())).toEqual(
        headerHash(storedBlock(n - 1).getHeader() as common.BlockHeader),
      );
      expect(Buffer.from(orderer.node.store.headerHash(n) as Uint8Array)).toEqual(headerHash(header));
      const data = block.getData()?.getDataList_asU8() ?? [];
      expect(Buffer.from(header.getDataHash_asU8())).toEqual(createHash('sha256').update(Buffer.concat(data)).digest());
      const md = common.Metadata.deserializeBinary(getMetadata(block, common.BlockMetadataIndex.SIGNATURES));
      expect(common.OrdererBlockMetadata.deserializeBinary(md.getValue_asU8()).getLastConfig()?.getIndex()).toBe(0);
      const headerDer = Buffer.from(
        new asn1js.Sequence({
          value: [
            new asn1js.Integer({ value: n }),
            new asn1js.OctetString({ valueHex: header.getPreviousHash_asU8() }),
            new asn1js.OctetString({ valueHex: header.getDataHash_asU8() }),
          ],
        }).toBER(false),
      );
      const signatures = md.getSignaturesList().map((s) => ({
        data: Buffer.concat([md.getValue_asU8(), s.getSignatureHeader_asU8(), headerDer]),
        identity: common.SignatureHeader.deserializeBinary(s.getSignatureHeader_asU8()).getCreator_asU8(),
        signature: s.getSignature_asU8(),
      }));
      expect(signatures).toHaveLength(1);
      expect(Buffer.from(signatures[0]?.identity as Uint8Array)).toEqual(Buffer.from(identity.serialized));
      expect(channel.config.policies.evaluate('/Channel/Orderer/BlockValidation', signatures)).toBe(true);
      const legacy = common.Metadata.deserializeBinary(getMetadata(block, common.BlockMetadataIndex.LAST_CONFIG));
      expect(common.LastConfig.deserializeBinary(legacy.getValue_asU8()).getIndex()).toBe(0);
    }
  });

  it('refuses writers the channel does not allow, and malformed or foreign envelopes', async () => {
    const height = orderer.node.height();
    const forbidden = await broadcast(envelope(channel.hospital1.peer()));
    expect(forbidden.status).toBe(S.FORBIDDEN);
    expect(forbidden.info).toMatch(/Writers/);
    expect((await broadcast(envelope(client, { signer: channel.hospital1.client() }))).status).toBe(S.FORBIDDEN);
    expect((await broadcast(envelope(TestCa.root('ca.hospital1').identity('Hospital1MSP', 'client')))).status).toBe(
      S.FORBIDDEN,
    );
    expect((await broadcast(envelope(client, { channelId: 'other' }))).status).toBe(S.NOT_FOUND);
    expect((await broadcast(envelope(client, { type: common.HeaderType.CONFIG_UPDATE }))).status).toBe(S.BAD_REQUEST);
    expect((await broadcast(envelope(client, { type: common.HeaderType.MESSAGE }))).status).toBe(S.BAD_REQUEST);
    expect((await broadcast(Buffer.from([0x0a, 0x02, 0xff]))).status).toBe(S.BAD_REQUEST);
    // Patients' clients and the orderer itself write; the orderer admits them.
    expect((await broadcast(envelope(channel.patients.client()))).status).toBe(S.SUCCESS);
    await waitForHeight(height + 1);
    expect(storedBlock(height).getData()?.getDataList()).toHaveLength(1);
  });

  it('delivers from a start block, then live blocks as they are cut', async () => {
    const height = orderer.node.height();
    const stream = deliver(clients, orderer.address, seekEnvelope(client, CHANNEL_ID, 1));
    for (let n = 1; n < height; n++) {
      const r = await stream.next();
      expect(Buffer.from(blockOf(r).serializeBinary())).toEqual(Buffer.from(orderer.node.block(n) as Uint8Array));
    }
    expect(await stream.quiet(50)).toBe(true);
    const env = envelope(client);
    await broadcast(env);
    const live = blockOf(await stream.next());
    expect(live.getHeader()?.getNumber()).toBe(height);
    expect(Buffer.from(live.getData()?.getDataList_asU8()[0] as Uint8Array)).toEqual(env);
    stream.cancel();
  });

  it('delivers a bounded range then SUCCESS; oldest and newest positions', async () => {
    const a = deliver(clients, orderer.address, seek(client, { start: 1, stop: 2 }));
    expect(
      blockOf(await a.next())
        .getHeader()
        ?.getNumber(),
    ).toBe(1);
    expect(
      blockOf(await a.next())
        .getHeader()
        ?.getNumber(),
    ).toBe(2);
    expect((await a.next()).getStatus()).toBe(S.SUCCESS);
    a.cancel();
    const b = deliver(clients, orderer.address, seek(client, { start: 'oldest', stop: 'oldest' }));
    expect(
      blockOf(await b.next())
        .getHeader()
        ?.getNumber(),
    ).toBe(0);
    expect((await b.next()).getStatus()).toBe(S.SUCCESS);
    b.cancel();
    const c = deliver(clients, orderer.address, seek(client, { start: 'newest', stop: 'newest' }));
    expect(
      blockOf(await c.next())
        .getHeader()
        ?.getNumber(),
    ).toBe(orderer.node.height() - 1);
    c.cancel();
  });

  it('answers FAIL_IF_NOT_READY past the end with NOT_FOUND, and refuses bad seeks', async () => {
    const height = orderer.node.height();
    const status = async (request: Buffer) => {
      const s = deliver(clients, orderer.address, request);
      const r = await s.next();
      s.cancel();
      return r.getStatus();
    };
    expect(await status(seek(client, { start: height, stop: height + 5, failIfNotReady: true }))).toBe(S.NOT_FOUND);
    const partial = deliver(
      clients,
      orderer.address,
      seek(client, { start: height - 1, stop: height, failIfNotReady: true }),
    );
    expect(
      blockOf(await partial.next())
        .getHeader()
        ?.getNumber(),
    ).toBe(height - 1);
    expect((await partial.next()).getStatus()).toBe(S.NOT_FOUND);
    partial.cancel();
    expect(await status(seek(client, { start: 3, stop: 2 }))).toBe(S.BAD_REQUEST);
    expect(await status(seek(client, { start: 0, stop: 1, channelId: 'other' }))).toBe(S.NOT_FOUND);
    expect(await status(Buffer.from([0x0a, 0x02, 0xff]))).toBe(S.BAD_REQUEST);
  });

  it('refuses Deliver to identities that do not satisfy /Channel/Readers', async () => {
    for (const who of [channel.patients.peer(), TestCa.root('ca.hospital1').identity('Hospital1MSP', 'peer')]) {
      const s = deliver(clients, orderer.address, seekEnvelope(who, CHANNEL_ID, 0));
      expect((await s.next()).getStatus()).toBe(S.FORBIDDEN);
      s.cancel();
    }
    const peerStream = deliver(clients, orderer.address, seekEnvelope(channel.hospital2.peer(), CHANNEL_ID, 0));
    expect(
      blockOf(await peerStream.next())
        .getHeader()
        ?.getNumber(),
    ).toBe(0);
    peerStream.cancel();
  });

  it('keeps the chain across a restart, including what was admitted but not yet cut', async () => {
    const env = envelope(client);
    expect((await broadcast(env)).status).toBe(S.SUCCESS);
    const height = orderer.node.height();
    await orderer.stop();
    expect(() => new OrdererNode({ identity, dataDir: join(channel.dir, 'fresh'), logger: silentLogger() })).toThrow(
      /genesis/,
    );
    orderer = await startOrderer(channel, dataDir, identity, false);
    expect(orderer.node.height()).toBe(height + 1);
    expect(Buffer.from(storedBlock(height).getData()?.getDataList_asU8()[0] as Uint8Array)).toEqual(env);
    await broadcast(envelope(client));
    await waitForHeight(height + 2);
    const next = storedBlock(height + 1).getHeader() as common.BlockHeader;
    expect(Buffer.from(next.getPreviousHash_asU8())).toEqual(
      headerHash(storedBlock(height).getHeader() as common.BlockHeader),
    );
  });
});

describe('OrdererNode block size', () => {
  const options: TestChannelOptions = {
    batchTimeout: '10s',
    maxMessageCount: 100,
    preferredMaxBytes: '3 KB',
    absoluteMaxBytes: '8 KB',
  };
  const channel = new TestChannel(undefined, options);
  const client = channel.hospital1.client();
  let node: OrdererNode;
  beforeAll(() => {
    node = new OrdererNode({
      identity: channel.orderer.orderer(),
      dataDir: join(channel.dir, 'orderer'),
      genesisBlock: channel.genesis.serializeBinary(),
      logger: silentLogger(),
    });
  });
  afterAll(() => {
    node.close();
    channel.remove();
  });
  const sizes = (from: number) =>
    Array.from(
      { length: node.height() - from },
      (_, i) =>
        common.Block.deserializeBinary(node.block(from + i) as Uint8Array)
          .getData()
          ?.getDataList().length,
    );

  it('cuts before an envelope that would pass PreferredMaxBytes; a large one gets a block of its own', () => {
    const start = node.height();
    // About 1.2 KB each: two fit in 3 KB, three do not.
    for (let i = 0; i < 5; i++) expect(node.broadcast(envelope(client, { size: 400 })).status).toBe(S.SUCCESS);
    expect(sizes(start)).toEqual([2, 2]);
    expect(node.broadcast(envelope(client, { size: 4000 })).status).toBe(S.SUCCESS);
    expect(sizes(start)).toEqual([2, 2, 1, 1]);
    expect(node.broadcast(envelope(client, { size: 400 })).status).toBe(S.SUCCESS);
    node.cut();
    expect(sizes(start)).toEqual([2, 2, 1, 1, 1]);
  });

  it('refuses an envelope over AbsoluteMaxBytes', () => {
    const r = node.broadcast(envelope(client, { size: 9000 }));
    expect(r.status).toBe(S.REQUEST_ENTITY_TOO_LARGE);
    expect(r.info).toMatch(/exceeds maximum/);
  });
});

describe('OrdererNode channel configuration updates', () => {
  // Blocks are cut by hand or by a config update: the timeout never fires during a test.
  const channel = new TestChannel(undefined, { batchTimeout: '10s', maxMessageCount: 100 });
  const hospital3 = createTestOrg(channel.dir, 'hospital3', 'Hospital3MSP');
  const identity = channel.orderer.orderer();
  const dataDir = join(channel.dir, 'orderer');
  const admins = [channel.hospital1.admin(), channel.hospital2.admin()];
  const open = (genesis: boolean) =>
    new OrdererNode({
      identity,
      dataDir,
      logger: silentLogger(),
      ...(genesis ? { genesisBlock: channel.genesis.serializeBinary() } : {}),
    });
  let node: OrdererNode;
  /** The config block the update made, once it is made. */
  let configNumber: number;
  let applied: Buffer;
  beforeAll(() => {
    node = open(true);
  });
  afterAll(() => {
    node.close();
    channel.remove();
  });

  const stored = (n: number) => common.Block.deserializeBinary(node.block(n) as Uint8Array);
  /** LAST_CONFIG as both the orderer metadata (SIGNATURES) and the legacy LAST_CONFIG slot record it. */
  const lastConfig = (n: number) => {
    const block = stored(n);
    const md = common.Metadata.deserializeBinary(getMetadata(block, common.BlockMetadataIndex.SIGNATURES));
    const legacy = common.Metadata.deserializeBinary(getMetadata(block, common.BlockMetadataIndex.LAST_CONFIG));
    return [
      common.OrdererBlockMetadata.deserializeBinary(md.getValue_asU8()).getLastConfig()?.getIndex(),
      common.LastConfig.deserializeBinary(legacy.getValue_asU8()).getIndex(),
    ];
  };
  const addHospital3 = (signers: LocalIdentity[], creator: LocalIdentity = channel.hospital1.admin()) => {
    const current = node.channelConfig.config;
    const update = computeConfigUpdate(CHANNEL_ID, current, withApplicationOrg(current, hospital3));
    return configUpdateTx(signConfigUpdate(update, signers), creator);
  };

  it('refuses an update the signatures do not authorize: BAD_REQUEST with the reason, nothing ordered', () => {
    const height = node.height();
    expect(node.broadcast(addHospital3([channel.hospital1.admin()]))).toEqual({
      status: S.BAD_REQUEST,
      info: "error applying config update to existing channel 'phr': error authorizing update: error validating DeltaSet: policy for [Group]  /Channel/Application not satisfied: implicit policy evaluation failed - 1 sub-policies were satisfied, but this policy requires 2 of the 'Admins' sub-policies to be satisfied",
    });
    expect(node.broadcast(addHospital3([channel.hospital1.client(), channel.hospital2.client()])).status).toBe(
      S.BAD_REQUEST,
    );
    // The envelope itself must come from a channel writer, as any other.
    expect(node.broadcast(addHospital3(admins, channel.hospital1.peer())).status).toBe(S.FORBIDDEN);
    // Another channel's update, in an envelope for this channel.
    const current = node.channelConfig.config;
    const foreign = computeConfigUpdate('other', current, withApplicationOrg(current, hospital3));
    expect(node.broadcast(configUpdateTx(signConfigUpdate(foreign, admins), admins[0] as LocalIdentity)).info).toMatch(
      /ConfigUpdate for channel 'other' but envelope for channel 'phr'/,
    );
    // Bytes that are no update at all.
    const garbage = node.broadcast(envelope(channel.hospital1.admin(), { type: common.HeaderType.CONFIG_UPDATE }));
    expect(garbage.status).toBe(S.BAD_REQUEST);
    // Hospital 3 is nobody yet.
    expect(node.broadcast(envelope(hospital3.client())).status).toBe(S.FORBIDDEN);
    node.cut();
    expect(node.height()).toBe(height);
    expect(node.channelConfig.sequence).toBe(0);
  });

  it('refuses an authorized update whose result is not a valid channel configuration', () => {
    const height = node.height();
    const current = node.channelConfig.config;
    const broken = withApplicationOrg(current, hospital3);
    applicationGroup(broken).getGroupsMap().get('Hospital3MSP')?.getValuesMap().del('MSP');
    const update = computeConfigUpdate(CHANNEL_ID, current, broken);
    const r = node.broadcast(configUpdateTx(signConfigUpdate(update, admins), admins[0] as LocalIdentity));
    expect(r.status).toBe(S.BAD_REQUEST);
    expect(r.info).toMatch(/Hospital3MSP has no MSP/);
    expect(node.height()).toBe(height);
    expect(node.channelConfig.sequence).toBe(0);
  });

  it('orders an authorized update alone, after what was admitted before it, in a config block signed by the orderer whose LAST_CONFIG is itself', () => {
    const before = node.channelConfig;
    const height = node.height();
    const pending = envelope(channel.hospital1.client());
    expect(node.broadcast(pending).status).toBe(S.SUCCESS);
    expect(node.height()).toBe(height);
    const tx = addHospital3(admins);
    applied = tx;
    expect(node.broadcast(tx)).toEqual({ status: S.SUCCESS, info: '' });
    // The transaction admitted before it is cut first, in its own block.
    expect(node.height()).toBe(height + 2);
    expect(
      stored(height)
        .getData()
        ?.getDataList_asU8()
        .map((d) => Buffer.from(d)),
    ).toEqual([pending]);
    expect(lastConfig(height)).toEqual([0, 0]);
    configNumber = height + 1;
    const block = stored(configNumber);
    const data = block.getData()?.getDataList_asU8() ?? [];
    expect(data).toHaveLength(1);
    expect(lastConfig(configNumber)).toEqual([configNumber, configNumber]);
    // A CONFIG transaction signed by the orderer, carrying the update and the config it produces.
    const env = common.Envelope.deserializeBinary(data[0] as Uint8Array);
    const payload = common.Payload.deserializeBinary(env.getPayload_asU8());
    const ch = common.ChannelHeader.deserializeBinary(payload.getHeader()?.getChannelHeader_asU8() as Uint8Array);
    const sh = common.SignatureHeader.deserializeBinary(payload.getHeader()?.getSignatureHeader_asU8() as Uint8Array);
    expect([ch.getType(), ch.getChannelId()]).toEqual([common.HeaderType.CONFIG, CHANNEL_ID]);
    expect(ch.getTxId()).toBe(
      createHash('sha256').update(sh.getNonce_asU8()).update(sh.getCreator_asU8()).digest('hex'),
    );
    expect(Buffer.from(sh.getCreator_asU8())).toEqual(Buffer.from(identity.serialized));
    expect(before.msps.deserialize(sh.getCreator_asU8()).verify(env.getPayload_asU8(), env.getSignature_asU8())).toBe(
      true,
    );
    const carried = common.ConfigEnvelope.deserializeBinary(payload.getData_asU8());
    expect(Buffer.from(carried.getLastUpdate()?.serializeBinary() as Uint8Array)).toEqual(tx);
    const update = common.ConfigUpdateEnvelope.deserializeBinary(
      common.Payload.deserializeBinary(carried.getLastUpdate()?.getPayload_asU8() as Uint8Array).getData_asU8(),
    );
    expect(Buffer.from(carried.getConfig()?.serializeBinary() as Uint8Array)).toEqual(
      Buffer.from(proposeConfigUpdate(before, update).serializeBinary()),
    );
    // The block is signed as the configuration before it requires.
    const md = common.Metadata.deserializeBinary(getMetadata(block, common.BlockMetadataIndex.SIGNATURES));
    const signatures = md.getSignaturesList().map((s) => ({
      data: Buffer.concat([md.getValue_asU8(), s.getSignatureHeader_asU8(), headerBytes(block)]),
      identity: common.SignatureHeader.deserializeBinary(s.getSignatureHeader_asU8()).getCreator_asU8(),
      signature: s.getSignature_asU8(),
    }));
    expect(before.policies.evaluate('/Channel/Orderer/BlockValidation', signatures)).toBe(true);
    // In force at once.
    expect(node.channelConfig.sequence).toBe(1);
    expect(node.channelConfig.applicationOrg('Hospital3MSP')).toBeDefined();
    expect(Buffer.from(ChannelConfig.fromBlock(block).config.serializeBinary())).toEqual(
      Buffer.from(node.channelConfig.config.serializeBinary()),
    );
  });

  it('points later blocks at the config block, and admits the new organisation’s clients', () => {
    const height = node.height();
    expect(node.broadcast(envelope(hospital3.client())).status).toBe(S.SUCCESS);
    node.cut();
    expect(node.height()).toBe(height + 1);
    expect(lastConfig(height)).toEqual([configNumber, configNumber]);
    // The same update again is stale.
    expect(node.broadcast(applied).info).toMatch(
      /error authorizing update: proposed update requires that key \[Group\] {2}\/Channel\/Application be at version 0, but it is currently at version 1$/,
    );
  });

  it('keeps the new configuration across a restart, and goes on from it', () => {
    const height = node.height();
    node.close();
    node = open(false);
    expect(node.height()).toBe(height);
    expect(node.channelConfig.sequence).toBe(1);
    expect(node.channelConfig.applicationOrg('Hospital3MSP')).toBeDefined();
    expect(node.broadcast(envelope(hospital3.client())).status).toBe(S.SUCCESS);
    node.cut();
    expect(lastConfig(height)).toEqual([configNumber, configNumber]);
    // A further update, computed from the configuration in force; four organisations: three admins.
    const current = node.channelConfig.config;
    const next = cloneConfig(current);
    applicationGroup(next).getGroupsMap().del('PatientsMSP');
    const update = computeConfigUpdate(CHANNEL_ID, current, next);
    const signers = [...admins, hospital3.admin()];
    expect(node.broadcast(configUpdateTx(signConfigUpdate(update, signers), hospital3.admin())).status).toBe(S.SUCCESS);
    expect(node.channelConfig.sequence).toBe(2);
    expect(lastConfig(node.height() - 1)).toEqual([height + 1, height + 1]);
    expect(node.broadcast(envelope(channel.patients.client())).status).toBe(S.FORBIDDEN);
  });
});
