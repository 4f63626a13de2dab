// A chaincode run in-process as a chaincode server by the real fabric-shim (as `fabric-shim server`
// runs the project's chaincode), on a free loopback port, with TLS from a test CA.
//
// fabric-shim bundles its own @hyperledger/fabric-protos (0.2.2), the peer code uses 0.3.x, and
// google-protobuf registers every generated class in one global `proto` namespace: with both
// copies in one process each copy's exports pick up classes of the other, and gRPC refuses the
// messages ("Expected argument of type protos.ChaincodeMessage"). In production the chaincode
// and the peer are separate processes; here fabric-shim is given the peer's copy (same wire).
import { dirname } from 'node:path';
import type { ChaincodeInterface, ChaincodeServer } from 'fabric-shim';
import type * as Shim from 'fabric-shim';
import type { TestCa } from './pki';
import { freePort } from './ports';

export { freePort };

for (const sub of ['', '/lib/peer']) {
  const root = require.resolve(`@hyperledger/fabric-protos${sub}`);
  let bundled: string | undefined;
  try {
    bundled = require.resolve(`@hyperledger/fabric-protos${sub}`, { paths: [dirname(require.resolve('fabric-shim'))] });
  } catch {
    bundled = undefined;
  }
  if (bundled && bundled !== root) jest.doMock(bundled, () => jest.requireActual(root));
}

// fabric-shim reads its log level once, when loaded.
process.env.CORE_CHAINCODE_LOGGING_LEVEL = process.env.CORE_CHAINCODE_LOGGING_LEVEL ?? 'CRITICAL';
// eslint-disable-next-line @typescript-eslint/no-require-imports
export const shim = require('fabric-shim') as typeof Shim.Shim & { ClientIdentity: typeof Shim.ClientIdentity };

export interface RunningChaincode {
  address: string;
  packageId: string;
  /** The TLS root the peer trusts for it. */
  rootCertPem: string;
  stop(): void;
}

/** Starts `chaincode` as a chaincode-as-a-service server with a TLS certificate issued by `ca`. */
export async function startChaincodeServer(
  chaincode: ChaincodeInterface,
  ca: TestCa,
  packageId = 'phr_1.0:test',
): Promise<RunningChaincode> {
  const tls = ca.issue({ cn: 'chaincode', ous: ['client'], hosts: ['127.0.0.1', 'localhost'] });
  const port = await freePort();
  const address = `127.0.0.1:${port}`;
  const server = shim.server(chaincode, {
    ccid: packageId,
    address,
    tlsProps: {
      key: Buffer.from(tls.key.export({ type: 'pkcs8', format: 'pem' })),
      cert: Buffer.from(tls.certificatePem),
    },
  } as Shim.ChaincodeServerOpts);
  await server.start();
  const grpcServer = (server as ChaincodeServer & { _server: { forceShutdown(): void } })._server;
  return { address, packageId, rootCertPem: ca.certificatePem, stop: () => grpcServer.forceShutdown() };
}
