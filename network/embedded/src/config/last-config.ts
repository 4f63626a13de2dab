import { common, peer } from '@hyperledger/fabric-protos';
import { getMetadata } from '../ledger/block';
import { ChannelConfig } from './channel-config';

/** The index of the channel's last config block as a block's orderer metadata records it. */
export function lastConfigIndex(block: common.Block): number {
  const signatures = getMetadata(block, common.BlockMetadataIndex.SIGNATURES);
  if (signatures.length === 0) return 0;
  const value = common.Metadata.deserializeBinary(signatures).getValue_asU8();
  return common.OrdererBlockMetadata.deserializeBinary(value).getLastConfig()?.getIndex() ?? 0;
}

/**
 * The channel configuration in force after the last stored block: the config block its metadata
 * names (a node restarting after a configuration update must not fall back to the genesis block).
 * A peer stores config blocks it found invalid too, with INVALID_CONFIG_TRANSACTION in their
 * TRANSACTIONS_FILTER: such a block (or one that is no config block at all) brought nothing into
 * force, so the configuration is the one in force before it (the config block the block before it
 * names), as the running peer kept it.
 */
export function currentConfig(
  height: number,
  blockAt: (n: number) => Uint8Array | undefined,
): { config: ChannelConfig; index: number } {
  const last = blockAt(height - 1);
  if (!last) throw new Error('no block to read the channel configuration from');
  let index = lastConfigIndex(common.Block.deserializeBinary(last));
  for (;;) {
    const bytes = blockAt(index);
    if (!bytes) throw new Error(`the last config block ${index} is missing`);
    const block = common.Block.deserializeBinary(bytes);
    const filter = getMetadata(block, common.BlockMetadataIndex.TRANSACTIONS_FILTER);
    const valid = filter.length === 0 || filter[0] === peer.TxValidationCode.VALID;
    if (index === 0 || (valid && isConfigBlock(block))) return { config: ChannelConfig.fromBlock(block), index };
    const before = blockAt(index - 1);
    if (!before) throw new Error(`block ${index - 1} is missing`);
    index = Math.min(lastConfigIndex(common.Block.deserializeBinary(before)), index - 1);
  }
}

/** Is this block a config block (one CONFIG transaction)? */
export function isConfigBlock(block: common.Block): boolean {
  const env = block.getData()?.getDataList_asU8()[0];
  if (!env || (block.getData()?.getDataList_asU8().length ?? 0) !== 1) return false;
  try {
    const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(env).getPayload_asU8());
    const ch = common.ChannelHeader.deserializeBinary(payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array());
    return ch.getType() === common.HeaderType.CONFIG;
  } catch {
    return false;
  }
}
