import * as grpc from '@grpc/grpc-js';
import { common, gateway as gw, peer } from '@hyperledger/fabric-protos';
import { join } from 'node:path';
import type { ChannelConfig } from '../config/channel-config';
import { currentConfig } from '../config/last-config';
import { blockHeaderHash } from '../ledger/block';
import { PeerLedger } from '../ledger/peer-ledger';
import { StateLock } from '../ledger/state-lock';
import type { Logger } from '../logging';
import { ChannelClients } from '../node/channel-clients';
import { parseEnvelope } from '../node/envelope';
import type { LocalIdentity } from '../node/local-identity';
import { BlockPuller } from './block-puller';
import { BlockValidator } from './block-validator';
import { ChaincodeRegistry } from './chaincode-registry';
import { Committer } from './committer';
import { Endorser } from './endorser';
import { GatewayService, MIN_HEIGHT_HEADER } from './gateway-service';
import { Lifecycle } from './lifecycle';
import { Qscc } from './qscc';

export interface PeerNodeOptions {
  identity: LocalIdentity;
  /** host:port clients reach this peer at. */
  address: string;
  dataDir: string;
  /** Needed on first start only: the channel's genesis block (joins the channel). */
  genesisBlock?: Uint8Array;
  logger: Logger;
}

/** How long a remote endorsement waits for this peer to reach the requesting gateway's height. */
const CATCH_UP_MS = 3000;

/**
 * One peer of the embedded network, joined to one channel: ledger, endorser, committer following
 * the orderer, and the Gateway and Endorser gRPC services.
 */
export class PeerNode {
  readonly ledger: PeerLedger;
  readonly channelId: string;
  private channelConfig: ChannelConfig;
  readonly committer: Committer;
  readonly endorser: Endorser;
  readonly gateway: GatewayService;
  private readonly registry: ChaincodeRegistry;
  private readonly clients: ChannelClients;
  private readonly puller: BlockPuller;

  constructor(private readonly o: PeerNodeOptions) {
    const log = o.logger;
    this.ledger = new PeerLedger(join(o.dataDir, 'ledger.db'));
    if (this.ledger.height() === 0) {
      if (!o.genesisBlock) throw new Error('no ledger yet and no genesis block to join the channel with');
      const genesis = common.Block.deserializeBinary(o.genesisBlock);
      const header = genesis.getHeader();
      if (!header || header.getNumber() !== 0) throw new Error('the genesis block is not block 0');
      const env = parseEnvelope(genesis.getData()?.getDataList_asU8()[0] ?? new Uint8Array());
      this.ledger.commit({
        number: 0,
        headerHash: blockHeaderHash(header),
        bytes: o.genesisBlock,
        txIds: [{ txId: env.channelHeader.getTxId(), txNum: 0, code: peer.TxValidationCode.VALID }],
        writes: [],
      });
      log.info({ event: 'joined' }, 'joined the channel from its genesis block');
    }
    // The configuration in force after the last stored block (a config update may have changed it).
    this.channelConfig = currentConfig(this.ledger.height(), (n) => this.ledger.block(n)).config;
    this.channelId = this.channelConfig.channelId;
    const config = () => this.channelConfig;
    const lock = new StateLock();
    this.registry = new ChaincodeRegistry(this.ledger, o.identity.mspId, config, join(o.dataDir, 'lifecycle'), log);
    this.clients = new ChannelClients(() => this.config.tlsRootCertsPem());
    this.endorser = new Endorser({
      channelId: this.channelId,
      config,
      ledger: this.ledger,
      lock,
      registry: this.registry,
      qscc: new Qscc(this.channelId, this.ledger),
      lifecycle: new Lifecycle(config, o.identity.mspId),
      identity: o.identity,
      log,
    });
    this.committer = new Committer(this.ledger, lock, new BlockValidator(this.ledger, config, this.registry), log);
    this.committer.onConfig((next) => {
      this.channelConfig = next;
      log.info({ event: 'config-updated', sequence: next.sequence }, 'channel configuration updated');
    });
    this.gateway = new GatewayService({
      mspId: o.identity.mspId,
      address: o.address,
      channelId: this.channelId,
      config,
      ledger: this.ledger,
      endorser: this.endorser,
      registry: this.registry,
      committer: this.committer,
      clients: this.clients,
      log,
    });
    this.puller = new BlockPuller({
      channelId: this.channelId,
      identity: o.identity,
      clients: this.clients,
      endpoints: () => this.config.ordererEndpoints(),
      height: () => this.ledger.height(),
      commit: (block) => this.committer.commit(block),
      log,
    });
  }

  get config(): ChannelConfig {
    return this.channelConfig;
  }

  start(): void {
    this.puller.start();
  }

  /** grpc-js services this peer serves on its address. */
  services(): [grpc.ServiceDefinition, grpc.UntypedServiceImplementation][] {
    const endorser: grpc.handleUnaryCall<peer.SignedProposal, peer.ProposalResponse> = (call, callback) => {
      const wanted = Number(call.metadata.get(MIN_HEIGHT_HEADER)[0] ?? 0);
      this.waitForHeight(wanted)
        .then(() => this.endorser.processProposal(call.request))
        .then(
          (r) =>
            r.error === undefined
              ? callback(null, r.response)
              : callback({ code: grpc.status.UNKNOWN, details: r.error }),
          (err: unknown) => callback({ code: grpc.status.INTERNAL, details: String(err) }),
        );
    };
    return [
      [gw.GatewayService, this.gateway.handlers()],
      [peer.EndorserService, { processProposal: endorser }],
    ];
  }

  /** A peer asked to endorse by another organisation's gateway first catches up to its height. */
  private waitForHeight(height: number): Promise<void> {
    if (!Number.isFinite(height) || this.ledger.height() >= height) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(done, CATCH_UP_MS);
      const off = this.committer.onCommitted(() => {
        if (this.ledger.height() >= height) done();
      });
      function done() {
        clearTimeout(timer);
        off();
        resolve();
      }
    });
  }

  close(): void {
    this.puller.stop();
    this.registry.close();
    this.clients.close();
    this.ledger.close();
  }
}
