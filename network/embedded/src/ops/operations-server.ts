import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';

export interface OperationsOptions {
  host: string;
  port: number;
  /** Serve over TLS (server authentication only), as the peer and orderer do with operations TLS on. */
  tls?: { certPem: string; keyPem: string };
  version: string;
  /** Failing checks by component name; empty = healthy. */
  checks: () => Record<string, string>;
}

/**
 * Fabric's operations endpoint, the part the network scripts use: `GET /healthz` answers 200
 * `{"status":"OK"}` when every check passes and 503 with the failed checks otherwise (the body
 * Fabric's healthz handler writes), and `GET /version`.
 */
export async function startOperationsServer(options: OperationsOptions): Promise<Server> {
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(body));
    };
    if (req.method !== 'GET') return send(405, { error: 'method not allowed' });
    if (path === '/healthz') {
      const failed = Object.entries(options.checks()).map(([component, reason]) => ({ component, reason }));
      const time = new Date().toISOString();
      return failed.length === 0
        ? send(200, { status: 'OK', time })
        : send(503, { status: 'Service Unavailable', time, failed_checks: failed });
    }
    if (path === '/version') return send(200, { Version: options.version });
    return send(404, { error: 'not found' });
  };
  const server = options.tls
    ? createHttpsServer({ cert: options.tls.certPem, key: options.tls.keyPem }, handler)
    : createHttpServer(handler);
  await new Promise<void>((ok, fail) => {
    server.once('error', fail);
    server.listen(options.port, options.host, () => ok());
  });
  return server;
}
