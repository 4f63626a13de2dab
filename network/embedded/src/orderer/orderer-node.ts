import { EventEmitter } from 'node:events';
import { join } from 'node:path';
import { common } from '@hyperledger/fabric-protos';
import { ChannelConfig } from '../config/channel-config';
import { ConfigUpdateError, proposeConfigUpdate } from '../config/config-update';
import { currentConfig } from '../config/last-config';
import { blockHeaderBytes, blockHeaderHash, newBlock, setMetadata } from '../ledger/block';
import { BlockStore } from '../ledger/block-store';
import type { Logger } from '../logging';
import { parseEnvelope, EnvelopeError, signedEnvelope } from '../node/envelope';
import type { LocalIdentity } from '../node/local-identity';

export interface BroadcastResult {
  status: number;
  info: string;
}

export interface OrdererNodeOptions {
  identity: LocalIdentity;
  dataDir: string;
  /** Needed on first start only: the channel's genesis block (joins the channel). */
  genesisBlock?: Uint8Array;
  logger: Logger;
}

const S = common.Status;

/**
 * The ordering service of the embedded network: one node, no consensus protocol. It admits
 * envelopes that satisfy the channel's Writers policy, cuts blocks by BatchTimeout, MaxMessageCount
 * and PreferredMaxBytes, hash-chains and signs them as Fabric's block writer does, and persists
 * them before any peer can see them.
 */
export class OrdererNode {
  readonly store: BlockStore;
  readonly channelId: string;
  private config: ChannelConfig;
  private lastConfigIndex: number;
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly events = new EventEmitter();
  private readonly log: Logger;

  constructor(private readonly options: OrdererNodeOptions) {
    this.log = options.logger;
    this.store = new BlockStore(join(options.dataDir, 'chain.db'));
    this.events.setMaxListeners(0);
    if (this.store.height() === 0) {
      if (!options.genesisBlock) throw new Error('no chain yet and no genesis block to join the channel with');
      const genesis = common.Block.deserializeBinary(options.genesisBlock);
      const header = genesis.getHeader();
      if (!header || header.getNumber() !== 0) throw new Error('the genesis block is not block 0');
      this.store.append(0, blockHeaderHash(header), options.genesisBlock);
      this.log.info({ event: 'joined' }, 'joined the channel from its genesis block');
    }
    const current = currentConfig(this.store.height(), (n) => this.store.block(n));
    this.config = current.config;
    this.lastConfigIndex = current.index;
    this.channelId = this.config.channelId;
  }

  get channelConfig(): ChannelConfig {
    return this.config;
  }

  height(): number {
    return this.store.height();
  }

  block(number: number): Uint8Array | undefined {
    return this.store.block(number);
  }

  /** Calls `listener` after each new block is stored; returns the unsubscribe function. */
  onBlock(listener: (number: number) => void): () => void {
    this.events.on('block', listener);
    return () => this.events.off('block', listener);
  }

  /**
   * Admits one envelope for ordering (the Broadcast filters: channel, type, size, Writers policy).
   * SUCCESS means it is in the next block to be cut.
   */
  broadcast(bytes: Uint8Array): BroadcastResult {
    let env;
    try {
      env = parseEnvelope(bytes);
    } catch (err) {
      return { status: S.BAD_REQUEST, info: err instanceof EnvelopeError ? err.message : 'bad envelope' };
    }
    const ch = env.channelHeader;
    if (ch.getChannelId() !== this.channelId) {
      return { status: S.NOT_FOUND, info: `channel ${ch.getChannelId()} does not exist` };
    }
    if (ch.getType() !== common.HeaderType.ENDORSER_TRANSACTION && ch.getType() !== common.HeaderType.CONFIG_UPDATE) {
      return { status: S.BAD_REQUEST, info: `message of type ${ch.getType()} is not accepted` };
    }
    if (bytes.length > this.config.batch.absoluteMaxBytes) {
      return {
        status: S.REQUEST_ENTITY_TOO_LARGE,
        info: `message payload is ${bytes.length} bytes and exceeds maximum allowed ${this.config.batch.absoluteMaxBytes} bytes`,
      };
    }
    const allowed = this.config.policies.evaluate('/Channel/Writers', [
      {
        data: env.payloadBytes,
        identity: env.signatureHeader.getCreator_asU8(),
        signature: env.envelope.getSignature_asU8(),
      },
    ]);
    if (!allowed) {
      return {
        status: S.FORBIDDEN,
        info: "implicit policy evaluation failed - 0 sub-policies were satisfied, but this policy requires 1 of the 'Writers' sub-policies to be satisfied",
      };
    }
    if (ch.getType() === common.HeaderType.CONFIG_UPDATE) return this.configUpdate(env.payload.getData_asU8(), bytes);
    this.enqueue(bytes);
    return { status: S.SUCCESS, info: '' };
  }

  /**
   * A channel configuration update (Fabric's ProcessConfigUpdateMsg): authorized against the
   * current configuration by the mod_policy of everything it changes, then ordered alone in a config
   * block carrying the new configuration and the update it came from, signed by this orderer.
   */
  private configUpdate(data: Uint8Array, updateEnvelope: Uint8Array): BroadcastResult {
    const refuse = (why: string): BroadcastResult => {
      this.log.info({ event: 'config-update-refused', reason: why }, 'config update refused');
      return {
        status: S.BAD_REQUEST,
        info: `error applying config update to existing channel '${this.channelId}': error authorizing update: ${why}`,
      };
    };
    let next: common.Config;
    try {
      next = proposeConfigUpdate(this.config, common.ConfigUpdateEnvelope.deserializeBinary(data));
    } catch (err) {
      return refuse(err instanceof ConfigUpdateError ? err.message : 'the config update does not parse');
    }
    // The result must be a configuration the nodes can run on before it is ordered (Fabric builds
    // the new bundle first): a config block the peers refuse would leave them behind the orderer.
    let nextConfig: ChannelConfig;
    try {
      nextConfig = new ChannelConfig(this.channelId, next);
    } catch (err) {
      return refuse(`the updated configuration is not valid: ${err instanceof Error ? err.message : String(err)}`);
    }
    const configEnvelope = new common.ConfigEnvelope();
    configEnvelope.setConfig(next);
    configEnvelope.setLastUpdate(common.Envelope.deserializeBinary(updateEnvelope));
    const { envelope } = signedEnvelope(
      common.HeaderType.CONFIG,
      this.channelId,
      this.options.identity,
      configEnvelope.serializeBinary(),
      { txId: true, version: 1 },
    );
    // A config transaction is ordered alone, after everything admitted before it.
    this.cut();
    const number = this.store.height();
    this.pending = [envelope];
    this.pendingBytes = this.pending[0]!.length;
    this.lastConfigIndex = number;
    this.cut();
    this.config = nextConfig;
    this.log.info(
      { event: 'config-updated', block: number, sequence: next.getSequence() },
      'channel configuration updated',
    );
    return { status: S.SUCCESS, info: '' };
  }

  private enqueue(bytes: Uint8Array): void {
    const batch = this.config.batch;
    if (this.pending.length > 0 && this.pendingBytes + bytes.length > batch.preferredMaxBytes) this.cut();
    this.pending.push(bytes);
    this.pendingBytes += bytes.length;
    if (this.pending.length >= batch.maxMessageCount || this.pendingBytes >= batch.preferredMaxBytes) {
      this.cut();
    } else if (!this.timer) {
      this.timer = setTimeout(() => this.cut(), batch.timeoutMs);
    }
  }

  /** Cuts the pending envelopes into the next block, signs it, stores it and tells the listeners. */
  cut(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending.length === 0) return;
    const envelopes = this.pending;
    this.pending = [];
    this.pendingBytes = 0;
    const number = this.store.height();
    const block = newBlock(number, this.store.headerHash(number - 1) as Uint8Array, envelopes);
    this.sign(block);
    const bytes = block.serializeBinary();
    this.store.append(number, blockHeaderHash(block.getHeader() as common.BlockHeader), bytes);
    this.log.info({ event: 'block', block: number, transactions: envelopes.length }, 'block cut');
    this.events.emit('block', number);
  }

  private sign(block: common.Block): void {
    const lastConfig = new common.LastConfig();
    lastConfig.setIndex(this.lastConfigIndex);
    const consenterMetadata = new common.Metadata();
    const ordererMetadata = new common.OrdererBlockMetadata();
    ordererMetadata.setLastConfig(lastConfig);
    ordererMetadata.setConsenterMetadata(consenterMetadata.serializeBinary());
    const value = ordererMetadata.serializeBinary();
    const signatureHeader = this.options.identity.signatureHeader().serializeBinary();
    const signature = new common.MetadataSignature();
    signature.setSignatureHeader(signatureHeader);
    signature.setSignature(
      this.options.identity.sign(
        Buffer.concat([value, signatureHeader, blockHeaderBytes(block.getHeader() as common.BlockHeader)]),
      ),
    );
    const signatures = new common.Metadata();
    signatures.setValue(value);
    signatures.setSignaturesList([signature]);
    setMetadata(block, common.BlockMetadataIndex.SIGNATURES, signatures.serializeBinary());
    const legacy = new common.Metadata();
    legacy.setValue(lastConfig.serializeBinary());
    setMetadata(block, common.BlockMetadataIndex.LAST_CONFIG, legacy.serializeBinary());
  }

  close(): void {
    // Whatever was admitted is ordered before the node stops: SUCCESS was already answered for it.
    this.cut();
    this.store.close();
  }
}
