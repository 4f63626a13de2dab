import { EventEmitter } from 'node:events';
import { common } from '@hyperledger/fabric-protos';
import { blockHeaderHash, setMetadata } from '../ledger/block';
import type { PeerLedger } from '../ledger/peer-ledger';
import type { StateLock } from '../ledger/state-lock';
import type { Logger } from '../logging';
import type { ChannelConfig } from '../config/channel-config';
import type { BlockValidator } from './block-validator';

export interface CommittedBlock {
  number: number;
  txIds: { txId: string; txNum: number; code: number }[];
}

/**
 * Validates and commits blocks one at a time, in order: the TRANSACTIONS_FILTER is written into
 * the block's metadata, and the block, its transaction ids and the valid writes are stored in one
 * SQLite transaction while no simulation runs. Emits `committed` after each block.
 */
export class Committer {
  private readonly events = new EventEmitter();
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly ledger: PeerLedger,
    private readonly lock: StateLock,
    private readonly validator: BlockValidator,
    private readonly log: Logger,
  ) {
    this.events.setMaxListeners(0);
  }

  /** Calls `listener` with the new configuration after a valid config block is committed. */
  onConfig(listener: (config: ChannelConfig) => void): () => void {
    this.events.on('config', listener);
    return () => this.events.off('config', listener);
  }

  onCommitted(listener: (b: CommittedBlock) => void): () => void {
    this.events.on('committed', listener);
    return () => this.events.off('committed', listener);
  }

  /** Queues a block received from the orderer; resolves once it is committed (or was already). */
  commit(blockBytes: Uint8Array): Promise<void> {
    const run = this.queue.then(() => this.commitNow(blockBytes));
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async commitNow(blockBytes: Uint8Array): Promise<void> {
    const block = common.Block.deserializeBinary(blockBytes);
    const number = block.getHeader()?.getNumber() ?? -1;
    const height = this.ledger.height();
    if (number < height) return;
    this.validator.checkBlock(block, height);
    const result = await this.validator.validate(block);
    setMetadata(block, common.BlockMetadataIndex.TRANSACTIONS_FILTER, Uint8Array.from(result.codes));
    const bytes = block.serializeBinary();
    await this.lock.write(() =>
      this.ledger.commit({
        number,
        headerHash: blockHeaderHash(block.getHeader() as common.BlockHeader),
        bytes,
        txIds: result.txIds,
        writes: result.writes,
      }),
    );
    if (result.config) this.events.emit('config', result.config);
    const invalid = result.codes.filter((c) => c !== 0).length;
    this.log.info({ event: 'committed', block: number, transactions: result.codes.length, invalid }, 'block committed');
    this.events.emit('committed', { number, txIds: result.txIds } satisfies CommittedBlock);
  }
}
