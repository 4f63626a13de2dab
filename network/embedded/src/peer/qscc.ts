import { common, peer } from '@hyperledger/fabric-protos';
import { peerResponse } from './transaction-envelope';
import type { PeerLedger } from '../ledger/peer-ledger';
import type { Identity } from '../msp/msp';

/**
 * The query system chaincode (`core/scc/qscc`): chain height and hashes, blocks by number or
 * transaction id, and a transaction with its validation code. The caller already passed the
 * channel's Readers check.
 */
export class Qscc {
  constructor(
    private readonly channelId: string,
    private readonly ledger: PeerLedger,
  ) {}

  invoke(args: Uint8Array[], _caller: Identity): peer.Response {
    const [fnBytes, channelBytes, argBytes] = args;
    const fn = Buffer.from(fnBytes ?? []).toString('utf8');
    const channel = Buffer.from(channelBytes ?? []).toString('utf8');
    const arg = Buffer.from(argBytes ?? []).toString('utf8');
    if (!fn) return peerResponse(500, 'Incorrect number of arguments, 0');
    if (channel !== this.channelId) return peerResponse(500, `Invalid chain ID, ${channel}`);
    switch (fn) {
      case 'GetChainInfo': {
        const height = this.ledger.height();
        const info = new common.BlockchainInfo();
        info.setHeight(height);
        info.setCurrentblockhash(height > 0 ? (this.ledger.headerHash(height - 1) as Uint8Array) : new Uint8Array());
        info.setPreviousblockhash(height > 1 ? (this.ledger.headerHash(height - 2) as Uint8Array) : new Uint8Array());
        return peerResponse(200, '', info.serializeBinary());
      }
      case 'GetBlockByNumber': {
        const block = /^\d+$/.test(arg) ? this.ledger.block(Number(arg)) : undefined;
        return block
          ? peerResponse(200, '', block)
          : peerResponse(500, `Failed to get block number ${arg}, error entry not found in index`);
      }
      case 'GetBlockByTxID': {
        const status = this.ledger.txStatus(arg);
        const block = status ? this.ledger.block(status.block) : undefined;
        return block
          ? peerResponse(200, '', block)
          : peerResponse(500, `Failed to get block for txID ${arg}, error entry not found in index`);
      }
      case 'GetTransactionByID': {
        const status = this.ledger.txStatus(arg);
        const block = status ? this.ledger.block(status.block) : undefined;
        const envelope =
          block && status
            ? common.Block.deserializeBinary(block).getData()?.getDataList_asU8()[status.txNum]
            : undefined;
        if (!envelope || !status)
          return peerResponse(500, `Failed to get transaction with id ${arg}, error entry not found in index`);
        const processed = new peer.ProcessedTransaction();
        processed.setTransactionenvelope(common.Envelope.deserializeBinary(envelope));
        processed.setValidationcode(status.code);
        return peerResponse(200, '', processed.serializeBinary());
      }
      default:
        return peerResponse(500, `Requested function ${fn} not found.`);
    }
  }
}
