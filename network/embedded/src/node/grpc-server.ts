import * as grpc from '@grpc/grpc-js';

export interface TlsMaterial {
  certPem: string;
  keyPem: string;
  /** Client certificates are asked for but not required (Fabric's clientAuthRequired: false). */
  clientRootsPem?: string[];
}

/** A gRPC server over TLS on host:port, serving the given services. */
export async function startGrpcServer(
  address: string,
  tls: TlsMaterial,
  services: [grpc.ServiceDefinition, grpc.UntypedServiceImplementation][],
): Promise<grpc.Server> {
  const server = new grpc.Server({
    'grpc.max_receive_message_length': 100 * 1024 * 1024,
    'grpc.max_send_message_length': 100 * 1024 * 1024,
    // Clients ping open streams every 2 minutes; a peer of ours must not answer them with GOAWAY.
    'grpc.keepalive_permit_without_calls': 1,
  });
  for (const [definition, impl] of services) server.addService(definition, impl);
  const credentials = grpc.ServerCredentials.createSsl(
    null,
    [{ cert_chain: Buffer.from(tls.certPem), private_key: Buffer.from(tls.keyPem) }],
    false,
  );
  await new Promise<void>((ok, fail) => server.bindAsync(address, credentials, (err) => (err ? fail(err) : ok())));
  return server;
}

export function stopGrpcServer(server: grpc.Server, graceMs = 2000): Promise<void> {
  return new Promise((done) => {
    const force = setTimeout(() => {
      server.forceShutdown();
      done();
    }, graceMs);
    server.tryShutdown(() => {
      clearTimeout(force);
      done();
    });
  });
}
