import * as grpc from '@grpc/grpc-js';
import { common, gateway as gw, peer } from '@hyperledger/fabric-protos';
import type { ChannelConfig } from '../config/channel-config';
import { getMetadata } from '../ledger/block';
import type { PeerLedger } from '../ledger/peer-ledger';
import type { Logger } from '../logging';
import type { ChannelClients } from '../node/channel-clients';
import { GrpcStatusError, toServiceError, type ErrorDetail } from '../node/grpc-errors';
import type { ChaincodeRegistry } from './chaincode-registry';
import type { CommittedBlock, Committer } from './committer';
import { planOrganizations } from './endorsement-plan';
import type { Endorser } from './endorser';
import { ProposalError, proposalPayloadForTx, unpackProposal, type UnpackedProposal } from './proposal';
import { transactionEnvelope } from './transaction-envelope';

/** gRPC metadata our gateway sends with a remote ProcessProposal: "wait until you have this height". */
export const MIN_HEIGHT_HEADER = 'x-phr-ledger-height';

const ENDORSE_TIMEOUT_MS = 30_000;
const SUBMIT_TIMEOUT_MS = 10_000;

export interface GatewayOptions {
  mspId: string;
  /** This peer's address, as error details name it. */
  address: string;
  channelId: string;
  config: () => ChannelConfig;
  ledger: PeerLedger;
  endorser: Endorser;
  registry: ChaincodeRegistry;
  committer: Committer;
  clients: ChannelClients;
  log: Logger;
}

interface Outcome {
  ok: boolean;
  code: grpc.status;
  message: string;
  retry: boolean;
  response?: peer.ProposalResponse;
}

/** How Fabric's gateway reads an endorser's answer (`internal/pkg/gateway/apiutils.go responseStatus`). */
function outcome(
  response: peer.ProposalResponse | undefined,
  err: grpc.ServiceError | Error | string | undefined,
): Outcome {
  if (typeof err === 'string' && response) {
    // The local endorser refused the proposal before simulation: a client error, not retried.
    return { ok: false, code: grpc.status.FAILED_PRECONDITION, message: err, retry: false, response };
  }
  if (err || !response) {
    const message = typeof err === 'string' ? err : (err as grpc.ServiceError | undefined)?.details || err?.message;
    return { ok: false, code: grpc.status.UNAVAILABLE, message: message ?? 'no response', retry: true };
  }
  const r = response.getResponse();
  const status = r?.getStatus() ?? 0;
  if (status < 200 || status >= 400) {
    if (response.getPayload_asU8().length === 0 && status === 500) {
      return { ok: false, code: grpc.status.ABORTED, message: r?.getMessage() ?? '', retry: true, response };
    }
    return {
      ok: false,
      code: grpc.status.UNKNOWN,
      message: `chaincode response ${status}, ${r?.getMessage() ?? ''}`,
      retry: false,
      response,
    };
  }
  return { ok: true, code: grpc.status.OK, message: '', retry: false, response };
}

/** The transaction result: ChaincodeAction.response.payload from the proposal response payload. */
function resultOf(response: peer.ProposalResponse): Uint8Array | undefined {
  try {
    const prp = peer.ProposalResponsePayload.deserializeBinary(response.getPayload_asU8());
    return peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8()).getResponse()?.getPayload_asU8();
  } catch {
    return undefined;
  }
}

const statusName = (code: number): string =>
  Object.entries(common.Status).find(([, v]) => v === code)?.[0] ?? String(code);

/**
 * Fabric's Gateway service on the embedded peer (`internal/pkg/gateway`): Evaluate on the local
 * peer, Endorse on the local peer then on peers of other organisations chosen from the chaincode's
 * endorsement policy (or exactly the organisations asked for), Submit to the ordering service,
 * CommitStatus waiting for the local commit, ChaincodeEvents replayed from a block then followed.
 */
export class GatewayService {
  constructor(private readonly o: GatewayOptions) {}

  /** grpc-js handlers for `gateway.Gateway`. */
  handlers(): grpc.UntypedServiceImplementation {
    const unary =
      <Req, Res>(
        fn: (req: Req, call: grpc.ServerUnaryCall<Req, Res>) => Promise<Res>,
      ): grpc.handleUnaryCall<Req, Res> =>
      (call, callback) => {
        fn(call.request, call).then(
          (res) => callback(null, res),
          (err: unknown) => {
            if (!(err instanceof GrpcStatusError))
              this.o.log.error({ event: 'gateway-error', err: String(err) }, 'gateway call failed');
            callback(toServiceError(err));
          },
        );
      };
    return {
      evaluate: unary((req: gw.EvaluateRequest) => this.evaluate(req)),
      endorse: unary((req: gw.EndorseRequest) => this.endorse(req)),
      submit: unary((req: gw.SubmitRequest) => this.submit(req)),
      commitStatus: unary((req: gw.SignedCommitStatusRequest, call) => this.commitStatus(req, call)),
      chaincodeEvents: (
        call: grpc.ServerWritableStream<gw.SignedChaincodeEventsRequest, gw.ChaincodeEventsResponse>,
      ) => {
        this.chaincodeEvents(call).catch((err: unknown) => {
          if (!call.cancelled)
            call.destroy(
              Object.assign(new Error(err instanceof Error ? err.message : String(err)), toServiceError(err)),
            );
        });
      },
    };
  }

  private unpack(sp: peer.SignedProposal | undefined, what: string): UnpackedProposal {
    if (!sp)
      throw new GrpcStatusError(
        grpc.status.INVALID_ARGUMENT,
        `the proposed transaction must contain a signed proposal`,
      );
    try {
      return unpackProposal(sp);
    } catch (err) {
      throw new GrpcStatusError(
        grpc.status.INVALID_ARGUMENT,
        `failed to unpack transaction proposal: ${err instanceof ProposalError ? err.message : what}`,
      );
    }
  }

  /** Peers of an organisation other than ours (the anchor peers of its channel configuration). */
  private peersOf(mspId: string): string[] {
    return this.o.config().applicationOrg(mspId)?.anchorPeers ?? [];
  }

  private async endorseOn(mspId: string, sp: peer.SignedProposal): Promise<{ address: string; outcome: Outcome }> {
    if (mspId === this.o.mspId) {
      try {
        const r = await this.o.endorser.processProposal(sp);
        return { address: this.o.address, outcome: outcome(r.response, r.error) };
      } catch (err) {
        return { address: this.o.address, outcome: outcome(undefined, err as Error) };
      }
    }
    let last: { address: string; outcome: Outcome } | undefined;
    for (const address of this.peersOf(mspId)) {
      const metadata = new grpc.Metadata();
      metadata.set(MIN_HEIGHT_HEADER, String(this.o.ledger.height()));
      const result = await new Promise<Outcome>((resolve) => {
        this.o.clients
          .endorser(address)
          .processProposal(sp, metadata, { deadline: Date.now() + ENDORSE_TIMEOUT_MS }, (err, response) =>
            resolve(outcome(response, err ?? undefined)),
          );
      });
      last = { address, outcome: result };
      if (result.ok || !result.retry) return last;
    }
    return (
      last ?? {
        address: '',
        outcome: { ok: false, code: grpc.status.UNAVAILABLE, message: `no peers of ${mspId}`, retry: false },
      }
    );
  }

  async evaluate(req: gw.EvaluateRequest): Promise<gw.EvaluateResponse> {
    const sp = req.getProposedTransaction();
    this.unpack(sp, 'bad proposal');
    const targets = req.getTargetOrganizationsList();
    const org = targets.length === 0 || targets.includes(this.o.mspId) ? this.o.mspId : (targets[0] as string);
    if (org !== this.o.mspId && this.peersOf(org).length === 0) {
      throw new GrpcStatusError(
        grpc.status.UNAVAILABLE,
        `no peers available to evaluate chaincode in channel ${req.getChannelId()} that satisfy the requested target orgs: ${targets.join(',')}`,
      );
    }
    const { address, outcome: o } = await this.endorseOn(org, sp as peer.SignedProposal);
    if (!o.ok || !o.response) {
      const details: ErrorDetail[] = [{ address, mspId: org, message: o.message }];
      throw o.retry
        ? new GrpcStatusError(o.code, 'failed to evaluate transaction, see attached details for more info', details)
        : new GrpcStatusError(o.code, `evaluate call to endorser returned error: ${o.message}`, details);
    }
    const result = o.response.getResponse() ?? new peer.Response();
    const payload = resultOf(o.response);
    if (payload) result.setPayload(payload);
    const res = new gw.EvaluateResponse();
    res.setResult(result);
    return res;
  }

  async endorse(req: gw.EndorseRequest): Promise<gw.EndorseResponse> {
    const sp = req.getProposedTransaction();
    const p = this.unpack(sp, 'bad proposal');
    const requested = req.getEndorsingOrganizationsList();
    const responses: peer.ProposalResponse[] = [];
    const details: ErrorDetail[] = [];
    const collect = async (orgs: string[]) => {
      const results = await Promise.all(
        orgs.map(async (org) => ({ org, ...(await this.endorseOn(org, sp as peer.SignedProposal)) })),
      );
      for (const r of results) {
        if (r.outcome.ok && r.outcome.response) responses.push(r.outcome.response);
        else details.push({ address: r.address, mspId: r.org, message: r.outcome.message });
      }
      return results.every((r) => r.outcome.ok);
    };
    if (requested.length > 0) {
      const missing = requested.filter((o) => o !== this.o.mspId && this.peersOf(o).length === 0);
      if (missing.length > 0) {
        throw new GrpcStatusError(
          grpc.status.UNAVAILABLE,
          `failed to find any endorsing peers for org(s): ${missing.join(', ')}`,
        );
      }
      const ordered = [...new Set(requested)];
      if (!(await collect(ordered))) {
        throw new GrpcStatusError(
          grpc.status.ABORTED,
          'failed to collect enough transaction endorsements, see attached details for more info',
          details,
        );
      }
    } else {
      if (!(await collect([this.o.mspId]))) {
        throw new GrpcStatusError(
          grpc.status.ABORTED,
          'failed to endorse transaction, see attached details for more info',
          details,
        );
      }
      let policy: Awaited<ReturnType<typeof this.o.registry.get>>['policy'];
      let candidates: string[];
      try {
        policy = (await this.o.registry.get(p.chaincodeName)).policy;
        candidates = this.o
          .config()
          .applicationOrgs.filter((o) => o.anchorPeers.length > 0)
          .map((o) => o.mspId);
      } catch (err) {
        throw new GrpcStatusError(grpc.status.FAILED_PRECONDITION, err instanceof Error ? err.message : String(err));
      }
      // As Fabric's gateway does with discovery's layouts: an organisation whose peers fail to
      // endorse (down, or its organisation has not approved the chaincode's definition) is left out
      // and the plan is made again from the others, keeping the endorsements already gathered.
      const endorsed = new Set([this.o.mspId]);
      const failed = new Set<string>();
      for (;;) {
        const plan = planOrganizations(
          policy,
          this.o.mspId,
          candidates.filter((c) => !failed.has(c)),
        );
        if (!plan) {
          if (failed.size > 0) {
            throw new GrpcStatusError(
              grpc.status.ABORTED,
              'failed to collect enough transaction endorsements, see attached details for more info',
              details,
            );
          }
          throw new GrpcStatusError(
            grpc.status.UNAVAILABLE,
            `no combination of peers can be derived which satisfy the endorsement policy`,
          );
        }
        const todo = plan.filter((o) => !endorsed.has(o));
        if (todo.length === 0) break;
        const results = await Promise.all(
          todo.map(async (org) => ({ org, ...(await this.endorseOn(org, sp as peer.SignedProposal)) })),
        );
        for (const r of results) {
          if (r.outcome.ok && r.outcome.response) {
            responses.push(r.outcome.response);
            endorsed.add(r.org);
          } else {
            details.push({ address: r.address, mspId: r.org, message: r.outcome.message });
            failed.add(r.org);
          }
        }
      }
    }
    const first = responses[0] as peer.ProposalResponse;
    const payload = Buffer.from(first.getPayload_asU8());
    const mismatch = responses.find((r) => Buffer.compare(payload, Buffer.from(r.getPayload_asU8())) !== 0);
    if (mismatch) {
      throw new GrpcStatusError(
        grpc.status.ABORTED,
        'failed to collect enough transaction endorsements, see attached details for more info',
        [{ address: this.o.address, mspId: this.o.mspId, message: 'ProposalResponsePayloads do not match' }],
      );
    }
    // Endorsements deduplicated by endorser, in the order they were collected.
    const seen = new Set<string>();
    const endorsements = responses
      .map((r) => r.getEndorsement())
      .filter((e): e is peer.Endorsement => {
        if (!e) return false;
        const key = Buffer.from(e.getEndorser_asU8()).toString('base64');
        if (seen.has(key)) return false;
        seen.add(key);
        return true;
      });
    const envelope = transactionEnvelope(
      {
        channelHeaderBytes: p.channelHeaderBytes,
        signatureHeaderBytes: p.signatureHeaderBytes,
        payloadForTx: proposalPayloadForTx(p),
      },
      payload,
      endorsements,
    );
    const res = new gw.EndorseResponse();
    res.setPreparedTransaction(envelope);
    return res;
  }

  async submit(req: gw.SubmitRequest): Promise<gw.SubmitResponse> {
    const env = req.getPreparedTransaction();
    if (!env) throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'a prepared transaction is required');
    if (env.getSignature_asU8().length === 0) {
      throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'prepared transaction must be signed');
    }
    const config = this.o.config();
    const orderers = config.ordererOrgs.flatMap((o) => o.endpoints.map((address) => ({ address, mspId: o.mspId })));
    if (orderers.length === 0) throw new GrpcStatusError(grpc.status.UNAVAILABLE, 'no orderer nodes available');
    const bytes = env.serializeBinary();
    const details: ErrorDetail[] = [];
    for (const o of orderers.sort(() => Math.random() - 0.5)) {
      try {
        const r = await this.o.clients.broadcast(o.address, bytes, SUBMIT_TIMEOUT_MS);
        if (r.getStatus() === common.Status.SUCCESS) return new gw.SubmitResponse();
        throw new GrpcStatusError(
          grpc.status.ABORTED,
          `received unsuccessful response from orderer: status=${statusName(r.getStatus())}, info=${r.getInfo()}`,
        );
      } catch (err) {
        if (err instanceof GrpcStatusError) throw err;
        const e = err as grpc.ServiceError;
        if (e.code === grpc.status.DEADLINE_EXCEEDED) {
          throw new GrpcStatusError(
            grpc.status.DEADLINE_EXCEEDED,
            'submit timeout expired while broadcasting to ordering service',
          );
        }
        details.push({ address: o.address, mspId: o.mspId, message: e.details ?? e.message });
      }
    }
    throw new GrpcStatusError(grpc.status.UNAVAILABLE, 'no orderers could successfully process transaction', details);
  }

  /** Checks a signed request (commit status, events): signature by `identity`, channel Readers. */
  private checkSigned(requestBytes: Uint8Array, signature: Uint8Array, identity: Uint8Array): void {
    const allowed = this.o
      .config()
      .policies.evaluate('/Channel/Application/Readers', [{ data: requestBytes, identity, signature }]);
    if (!allowed) {
      throw new GrpcStatusError(
        grpc.status.PERMISSION_DENIED,
        'the signed request does not satisfy /Channel/Application/Readers',
      );
    }
  }

  async commitStatus(
    signed: gw.SignedCommitStatusRequest,
    call: grpc.ServerUnaryCall<gw.SignedCommitStatusRequest, gw.CommitStatusResponse>,
  ): Promise<gw.CommitStatusResponse> {
    let req: gw.CommitStatusRequest;
    try {
      req = gw.CommitStatusRequest.deserializeBinary(signed.getRequest_asU8());
    } catch (err) {
      throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, `invalid status request: ${String(err)}`);
    }
    if (req.getIdentity_asU8().length === 0)
      throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'no identity provided');
    if (!req.getChannelId()) throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'no channel ID provided');
    if (!req.getTransactionId())
      throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, 'transaction ID should not be empty');
    if (req.getChannelId() !== this.o.channelId) {
      throw new GrpcStatusError(grpc.status.NOT_FOUND, `channel ${req.getChannelId()} not found`);
    }
    this.checkSigned(signed.getRequest_asU8(), signed.getSignature_asU8(), req.getIdentity_asU8());
    const txId = req.getTransactionId();
    const answer = (block: number, code: number) => {
      const res = new gw.CommitStatusResponse();
      res.setResult(code as peer.TxValidationCodeMap[keyof peer.TxValidationCodeMap]);
      res.setBlockNumber(block);
      return res;
    };
    const known = this.o.ledger.txStatus(txId);
    if (known) return answer(known.block, known.code);
    return new Promise((resolve, reject) => {
      const off = this.o.committer.onCommitted(() => {
        const s = this.o.ledger.txStatus(txId);
        if (s) {
          off();
          resolve(answer(s.block, s.code));
        }
      });
      call.on('cancelled', () => {
        off();
        reject(new GrpcStatusError(grpc.status.CANCELLED, 'the commit status request was cancelled'));
      });
      // A commit may have landed between the first look and the subscription.
      const s = this.o.ledger.txStatus(txId);
      if (s) {
        off();
        resolve(answer(s.block, s.code));
      }
    });
  }

  async chaincodeEvents(
    call: grpc.ServerWritableStream<gw.SignedChaincodeEventsRequest, gw.ChaincodeEventsResponse>,
  ): Promise<void> {
    const signed = call.request;
    let req: gw.ChaincodeEventsRequest;
    try {
      req = gw.ChaincodeEventsRequest.deserializeBinary(signed.getRequest_asU8());
    } catch (err) {
      throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, `invalid chaincode events request: ${String(err)}`);
    }
    this.checkSigned(signed.getRequest_asU8(), signed.getSignature_asU8(), req.getIdentity_asU8());
    if (req.getChannelId() !== this.o.channelId) {
      throw new GrpcStatusError(grpc.status.NOT_FOUND, `channel ${req.getChannelId()} not found`);
    }
    const start = req.getStartPosition();
    let next: number;
    if (!start || start.hasNextCommit()) next = this.o.ledger.height();
    else if (start.hasSpecified()) next = start.getSpecified()?.getNumber() ?? 0;
    else throw new GrpcStatusError(grpc.status.INVALID_ARGUMENT, `invalid start position type: ${start.getTypeCase()}`);
    const chaincodeId = req.getChaincodeId();
    let skipUntil = req.getAfterTransactionId();
    let wake: (() => void) | undefined;
    const off = this.o.committer.onCommitted((_b: CommittedBlock) => wake?.());
    call.on('cancelled', () => wake?.());
    try {
      while (!call.cancelled) {
        if (next >= this.o.ledger.height()) {
          await new Promise<void>((resolve) => {
            wake = resolve;
            if (next < this.o.ledger.height() || call.cancelled) resolve();
          });
          wake = undefined;
          continue;
        }
        const events = this.eventsIn(next, chaincodeId, skipUntil);
        skipUntil = '';
        if (events.length > 0) {
          const res = new gw.ChaincodeEventsResponse();
          res.setEventsList(events);
          res.setBlockNumber(next);
          if (!call.write(res)) await new Promise((r) => call.once('drain', r));
        }
        next++;
      }
    } finally {
      off();
    }
  }

  /** Events of valid transactions of one chaincode in one block, in transaction order. */
  private eventsIn(blockNumber: number, chaincodeId: string, afterTxId: string): peer.ChaincodeEvent[] {
    const bytes = this.o.ledger.block(blockNumber);
    if (!bytes) return [];
    const block = common.Block.deserializeBinary(bytes);
    const filter = getMetadata(block, common.BlockMetadataIndex.TRANSACTIONS_FILTER);
    const out: peer.ChaincodeEvent[] = [];
    let skipping = afterTxId !== '';
    (block.getData()?.getDataList_asU8() ?? []).forEach((envBytes, i) => {
      try {
        const env = common.Envelope.deserializeBinary(envBytes);
        const payload = common.Payload.deserializeBinary(env.getPayload_asU8());
        const ch = common.ChannelHeader.deserializeBinary(
          payload.getHeader()?.getChannelHeader_asU8() ?? new Uint8Array(),
        );
        if (skipping) {
          if (ch.getTxId() === afterTxId) skipping = false;
          return;
        }
        if (filter[i] !== peer.TxValidationCode.VALID || ch.getType() !== common.HeaderType.ENDORSER_TRANSACTION)
          return;
        const tx = peer.Transaction.deserializeBinary(payload.getData_asU8());
        for (const action of tx.getActionsList()) {
          const cap = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
          const prp = peer.ProposalResponsePayload.deserializeBinary(
            cap.getAction()?.getProposalResponsePayload_asU8() ?? new Uint8Array(),
          );
          const eventBytes = peer.ChaincodeAction.deserializeBinary(prp.getExtension_asU8()).getEvents_asU8();
          if (eventBytes.length === 0) continue;
          const event = peer.ChaincodeEvent.deserializeBinary(eventBytes);
          if (event.getChaincodeId() === chaincodeId && event.getEventName() && event.getTxId()) out.push(event);
        }
      } catch {
        // A transaction that does not parse carries no event.
      }
    });
    return skipping ? [] : out;
  }
}
