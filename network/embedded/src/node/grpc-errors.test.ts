import * as grpc from '@grpc/grpc-js';
import { connect, EndorseError, GatewayError, signers, type Gateway } from '@hyperledger/fabric-gateway';
import { gateway as gw } from '@hyperledger/fabric-protos';
import { keyPem, TestCa } from '../testing/pki';
import { freePort } from '../testing/ports';
import { GrpcStatusError, toServiceError } from './grpc-errors';
import { startGrpcServer, stopGrpcServer } from './grpc-server';

/**
 * A Gateway service that fails every call the way the embedded peer's gateway does; the real
 * fabric-gateway client decodes the errors, as the project's LedgerClient sees them.
 */
describe('gRPC errors as fabric-gateway decodes them', () => {
  const ca = TestCa.root('ca.hospital1');
  const tls = ca.issue({ cn: 'peer0', ous: ['peer'], hosts: ['127.0.0.1', 'localhost'] });
  const user = ca.issue({ cn: 'user', ous: ['client'] });
  let server: grpc.Server;
  let client: grpc.Client;
  let gateway: Gateway;
  let evaluateError: unknown;
  let endorseError: unknown;

  beforeAll(async () => {
    const address = `127.0.0.1:${await freePort()}`;
    const fail =
      (error: () => unknown): grpc.handleUnaryCall<unknown, unknown> =>
      (_call, callback) =>
        callback(toServiceError(error()));
    server = await startGrpcServer(address, { certPem: tls.certificatePem, keyPem: keyPem(tls.key) }, [
      [gw.GatewayService, { evaluate: fail(() => evaluateError), endorse: fail(() => endorseError) }],
    ]);
    client = new grpc.Client(address, grpc.credentials.createSsl(Buffer.from(ca.certificatePem)));
    gateway = connect({
      client,
      identity: { mspId: 'Hospital1MSP', credentials: Buffer.from(user.certificatePem) },
      signer: signers.newPrivateKeySigner(user.key),
    });
  });
  afterAll(async () => {
    gateway.close();
    client.close();
    await stopGrpcServer(server, 200);
  });

  const contract = () => gateway.getNetwork('phr').getContract('phr', 'Commitments');

  it('carries the per-endorser details in grpc-status-details-bin', async () => {
    evaluateError = new GrpcStatusError(
      grpc.status.UNKNOWN,
      'evaluate call to endorser returned error: chaincode response 500, FORBIDDEN: no consent',
      [
        {
          address: 'peer0.hospital1:7051',
          mspId: 'Hospital1MSP',
          message: 'chaincode response 500, FORBIDDEN: no consent',
        },
      ],
    );
    const err = await contract()
      .evaluateTransaction('ReadDelivery', 'x')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    const g = err as GatewayError;
    expect(g.code).toBe(grpc.status.UNKNOWN);
    expect(g.message).toContain(
      'evaluate call to endorser returned error: chaincode response 500, FORBIDDEN: no consent',
    );
    expect(g.details).toEqual([
      {
        address: 'peer0.hospital1:7051',
        mspId: 'Hospital1MSP',
        message: 'chaincode response 500, FORBIDDEN: no consent',
      },
    ]);
  });

  it('keeps several details in order, on an endorse error with its transaction id', async () => {
    endorseError = new GrpcStatusError(
      grpc.status.ABORTED,
      'failed to collect enough transaction endorsements, see attached details for more info',
      [
        { address: 'a:1', mspId: 'Hospital1MSP', message: 'duplicate transaction found [abc]. Creator [00]' },
        { address: 'b:2', mspId: 'Hospital2MSP', message: 'ProposalResponsePayloads do not match' },
      ],
    );
    const proposal = contract().newProposal('RecordDelivery', { arguments: ['x'] });
    const err = await proposal.endorse().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EndorseError);
    const e = err as EndorseError;
    expect(e.code).toBe(grpc.status.ABORTED);
    expect(e.transactionId).toBe(proposal.getTransactionId());
    expect(e.details.map((d) => [d.address, d.mspId, d.message])).toEqual([
      ['a:1', 'Hospital1MSP', 'duplicate transaction found [abc]. Creator [00]'],
      ['b:2', 'Hospital2MSP', 'ProposalResponsePayloads do not match'],
    ]);
  });

  it('sends no details trailer when there are none, and INTERNAL for anything else thrown', async () => {
    evaluateError = new GrpcStatusError(grpc.status.UNAVAILABLE, 'failed to find any endorsing peers for org(s): X');
    const unavailable = (await contract()
      .evaluateTransaction('x')
      .catch((e: unknown) => e)) as GatewayError;
    expect([unavailable.code, unavailable.details]).toEqual([grpc.status.UNAVAILABLE, []]);
    expect(unavailable.message).toContain('failed to find any endorsing peers for org(s): X');
    expect(
      new GrpcStatusError(grpc.status.UNAVAILABLE, 'x').toServiceError().metadata?.get('grpc-status-details-bin'),
    ).toEqual([]);

    evaluateError = new Error('disk on fire');
    const internal = (await contract()
      .evaluateTransaction('x')
      .catch((e: unknown) => e)) as GatewayError;
    expect([internal.code, internal.details]).toEqual([grpc.status.INTERNAL, []]);
    expect(internal.message).toContain('disk on fire');
    expect(toServiceError('plain text')).toEqual({ code: grpc.status.INTERNAL, details: 'plain text' });
  });
});
