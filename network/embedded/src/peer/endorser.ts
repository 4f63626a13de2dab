import { common, peer } from '@hyperledger/fabric-protos';
import { peerResponse } from './transaction-envelope';
import type { ChannelConfig } from '../config/channel-config';
import type { PeerLedger } from '../ledger/peer-ledger';
import type { StateLock } from '../ledger/state-lock';
import type { Logger } from '../logging';
import type { Identity } from '../msp/msp';
import type { LocalIdentity } from '../node/local-identity';
import { ChaincodeUnavailableError, ERROR_STREAM_TERMINATED } from './chaincode-connection';
import { ChaincodeNotDefinedError, type ChaincodeRegistry } from './chaincode-registry';
import {
  computeTxId,
  proposalHash,
  proposalPayloadForTx,
  ProposalError,
  unpackProposal,
  type UnpackedProposal,
} from './proposal';
import { LIFECYCLE, type Lifecycle } from './lifecycle';
import type { Qscc } from './qscc';
import { TxSimulator } from './tx-simulator';

/** Fabric's default `chaincode.executetimeout`. */
const EXECUTE_TIMEOUT_MS = 30_000;

export interface EndorserOptions {
  channelId: string;
  config: () => ChannelConfig;
  ledger: PeerLedger;
  lock: StateLock;
  registry: ChaincodeRegistry;
  qscc: Qscc;
  lifecycle: Lifecycle;
  identity: LocalIdentity;
  log: Logger;
}

/** A proposal the endorser refused before simulating it: 500 without a payload, as Fabric answers. */
class PreProcessError extends Error {}

/**
 * What ProcessProposal returns: always a response; `error` when the proposal was refused before
 * simulation (unpacking, validation, ACL), which Fabric's endorser returns as an error beside the
 * response — in process to its gateway, as a gRPC error to other peers' gateways.
 */
export interface EndorserResult {
  response: peer.ProposalResponse;
  error?: string;
}

function proposalResponse(r: peer.Response): peer.ProposalResponse {
  const pr = new peer.ProposalResponse();
  pr.setVersion(1);
  pr.setResponse(r);
  return pr;
}

/**
 * The peer's Endorser (`core/endorser/endorser.go`): validates a signed proposal (header, creator
 * in a channel MSP, signature, transaction id, not a duplicate, channel ACL), simulates it on the
 * chaincode, and signs the proposal response payload with the peer's identity (default ESCC).
 */
export class Endorser {
  constructor(private readonly o: EndorserOptions) {}

  async processProposal(signed: peer.SignedProposal): Promise<EndorserResult> {
    let p: UnpackedProposal;
    let creator: Identity;
    try {
      p = unpackProposal(signed);
      creator = this.preProcess(p);
    } catch (err) {
      if (err instanceof ProposalError || err instanceof PreProcessError) {
        return { response: proposalResponse(peerResponse(500, err.message)), error: err.message };
      }
      throw err;
    }
    return { response: await this.simulateAndEndorse(p, creator) };
  }

  private async simulateAndEndorse(p: UnpackedProposal, creator: Identity): Promise<peer.ProposalResponse> {
    if (p.chaincodeName === 'qscc') {
      return this.endorse(p, this.o.qscc.invoke(p.args, creator), new Uint8Array(0), undefined, 'syscc');
    }
    if (p.chaincodeName === LIFECYCLE) {
      return this.o.lock.read(() => {
        const simulator = new TxSimulator(this.o.ledger, LIFECYCLE, p.txId);
        const response = this.o.lifecycle.invoke(p.args, creator, simulator);
        return this.endorse(p, response, simulator.readWriteSet(), undefined, 'syscc');
      });
    }
    let defined;
    try {
      defined = await this.o.registry.get(p.chaincodeName);
    } catch (err) {
      if (err instanceof ChaincodeNotDefinedError) return proposalResponse(peerResponse(500, err.message));
      throw err;
    }
    const connection = defined.connection;
    if (!connection) {
      return proposalResponse(
        peerResponse(500, `chaincode definition for '${p.chaincodeName}' exists, but chaincode is not installed`),
      );
    }
    try {
      return await this.o.lock.read(async () => {
        const simulator = new TxSimulator(this.o.ledger, p.chaincodeName, p.txId);
        const result = await connection.execute({
          txId: p.txId,
          channelId: p.channelId,
          input: p.inputBytes,
          signedProposal: p.signedProposal,
          simulator,
          timeoutMs: EXECUTE_TIMEOUT_MS,
        });
        return this.endorse(p, result.response, simulator.readWriteSet(), result.event, defined.definition.version);
      });
    } catch (err) {
      const message =
        err instanceof ChaincodeUnavailableError
          ? `error in simulation: failed to execute transaction ${p.txId}: ${err.message === ERROR_STREAM_TERMINATED ? ERROR_STREAM_TERMINATED : err.message}`
          : `error in simulation: ${err instanceof Error ? err.message : String(err)}`;
      this.o.log.warn({ event: 'simulation-failed', txId: p.txId, err: message }, 'simulation failed');
      return proposalResponse(peerResponse(500, message));
    }
  }

  /** Checks before simulation; returns the creator. */
  private preProcess(p: UnpackedProposal): Identity {
    const ch = p.channelHeader;
    if (ch.getType() !== common.HeaderType.ENDORSER_TRANSACTION) {
      throw new PreProcessError(`invalid header type ${ch.getType()}`);
    }
    if (ch.getEpoch() !== 0) throw new PreProcessError('epoch is non-zero');
    const nonce = p.signatureHeader.getNonce_asU8();
    const creatorBytes = p.signatureHeader.getCreator_asU8();
    if (nonce.length === 0) throw new PreProcessError('nonce is empty');
    if (creatorBytes.length === 0) throw new PreProcessError('creator is empty');
    if (p.channelId !== this.o.channelId) throw new PreProcessError(`channel '${p.channelId}' not found`);
    const config = this.o.config();
    let creator: Identity;
    try {
      creator = config.msps.deserialize(creatorBytes);
    } catch (err) {
      throw new PreProcessError(
        `access denied: channel [${p.channelId}] creator org unknown, creator is malformed (${err instanceof Error ? err.message : String(err)})`,
      );
    }
    if (!creator.verify(p.proposalBytes, p.signature)) {
      throw new PreProcessError(`access denied: channel [${p.channelId}] creator org [${creator.mspId}]`);
    }
    const expected = computeTxId(nonce, creatorBytes);
    if (p.txId !== expected) {
      throw new PreProcessError(`incorrectly formed txid: computed [${expected}] but got [${p.txId}]`);
    }
    if (this.o.ledger.txStatus(p.txId)) {
      throw new PreProcessError(
        `duplicate transaction found [${p.txId}]. Creator [${Buffer.from(creatorBytes).toString('hex')}]`,
      );
    }
    const resource = p.chaincodeName === 'qscc' ? '/Channel/Application/Readers' : '/Channel/Application/Writers';
    const allowed = config.policies.evaluate(resource, [
      { data: p.proposalBytes, identity: creatorBytes, signature: p.signature },
    ]);
    if (!allowed) {
      throw new PreProcessError(
        `access denied for [${p.chaincodeName === 'qscc' ? 'qscc' : 'peer/Propose'}]: the creator of the proposal does not satisfy ${resource}`,
      );
    }
    return creator;
  }

  private endorse(
    p: UnpackedProposal,
    chaincodeResponse: peer.Response,
    rwset: Uint8Array,
    event: peer.ChaincodeEvent | undefined,
    version: string,
  ): peer.ProposalResponse {
    const status = chaincodeResponse.getStatus();
    if (status >= 400 && status < 500) return proposalResponse(chaincodeResponse);
    const action = new peer.ChaincodeAction();
    action.setResults(rwset);
    if (event) {
      event.setChaincodeId(p.chaincodeName);
      event.setTxId(p.txId);
      action.setEvents(event.serializeBinary());
    }
    action.setResponse(chaincodeResponse);
    const id = new peer.ChaincodeID();
    id.setName(p.chaincodeName);
    id.setVersion(version);
    action.setChaincodeId(id);
    const prp = new peer.ProposalResponsePayload();
    prp.setProposalHash(proposalHash(p.channelHeaderBytes, p.signatureHeaderBytes, proposalPayloadForTx(p)));
    prp.setExtension$(action.serializeBinary());
    const prpBytes = prp.serializeBinary();
    const pr = proposalResponse(chaincodeResponse);
    pr.setPayload(prpBytes);
    if (status >= 500) return pr;
    const endorsement = new peer.Endorsement();
    endorsement.setEndorser(this.o.identity.serialized);
    endorsement.setSignature(this.o.identity.sign(Buffer.concat([prpBytes, this.o.identity.serialized])));
    pr.setEndorsement(endorsement);
    return pr;
  }
}
