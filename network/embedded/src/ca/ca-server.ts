import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import { createServer, type Server as HttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../logging';
import { startOperationsServer } from '../ops/operations-server';
import { CaDatabase } from './ca-database';
import { loadOrCreateCaMaterial } from './ca-files';
import { CertificateAuthority, FABRIC_CA_VERSION, type CaReply } from './certificate-authority';
import { envelope } from './envelope';
import { CaErrorCode, FabricCaError } from './errors';
import { Issuer } from './issuer';
import { RequestContext } from './request-context';

/** The CA's database in its home, beside fabric-ca-server's files (whose own DB it does not read). */
export const CA_DATABASE_FILE = 'fabric-ca-embedded.db';

/** Largest request body accepted; a CSR and a registration are a few KiB. */
const MAX_BODY = 1024 * 1024;

export interface CaServerOptions {
  /** CA home: `ca-cert.pem`, `tls-cert.pem`, `msp/keystore`, the database. */
  home: string;
  host: string;
  /** 0 for any free port. */
  port: number;
  caName: string;
  /** CN of the CA certificate, when this start creates it. */
  csrCommonName: string;
  /** SANs of the CA and TLS certificates, when this start creates them. */
  csrHosts: readonly string[];
  /** The bootstrap registrar, registered on first start (`-b id:secret`). */
  bootstrap?: { id: string; secret: string };
  /** Plain-HTTP operations endpoint with `/healthz`, as fabric-ca-server's. */
  operations?: { host: string; port: number };
  logger?: Logger;
}

interface Endpoint {
  methods: readonly string[];
  handle: (ca: CertificateAuthority, ctx: RequestContext) => CaReply | Promise<CaReply>;
}

/** The endpoints, each served at `/<name>` and `/api/v1/<name>`, with their allowed methods. */
const ENDPOINTS: Readonly<Record<string, Endpoint>> = {
  cainfo: { methods: ['GET', 'POST', 'HEAD'], handle: (ca, ctx) => ca.cainfo(ctx) },
  enroll: { methods: ['POST'], handle: (ca, ctx) => ca.enroll(ctx) },
  reenroll: { methods: ['POST'], handle: (ca, ctx) => ca.reenroll(ctx) },
  register: { methods: ['POST'], handle: (ca, ctx) => ca.register(ctx) },
  revoke: { methods: ['POST'], handle: (ca, ctx) => ca.revoke(ctx) },
  gencrl: { methods: ['POST'], handle: (ca, ctx) => ca.gencrl(ctx) },
};

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY) {
        reject(new FabricCaError(413, CaErrorCode.READING_BODY, 'Request body too large'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', (err) =>
      reject(new FabricCaError(500, CaErrorCode.READING_BODY, 'Failed reading request body', { cause: err })),
    );
  });
}

/**
 * The embedded Fabric CA: fabric-ca-server's REST API over HTTPS for one CA, its home on disk in
 * fabric-ca-server's layout, and an operations endpoint.
 */
export class CaServer {
  private constructor(
    readonly authority: CertificateAuthority,
    private readonly db: CaDatabase,
    private readonly https: HttpsServer,
    private readonly operations: Server | undefined,
    readonly caCertificatePem: string,
    readonly tlsCertificatePem: string,
    private readonly logger: Logger | undefined,
  ) {}

  /**
   * Prepares the home (creating the CA's key and certificates on first start, so `ca-cert.pem`
   * exists before anything is served), opens the database, registers the bootstrap identity, then
   * listens.
   */
  static async start(options: CaServerOptions): Promise<CaServer> {
    const logger = options.logger;
    const material = loadOrCreateCaMaterial({
      home: options.home,
      commonName: options.csrCommonName,
      hosts: options.csrHosts,
    });
    if (material.created.ca) logger?.info({ home: options.home }, 'created the CA key and certificate');
    if (material.created.tls) logger?.info({ home: options.home }, 'created the TLS server certificate');
    const db = CaDatabase.open(join(options.home, CA_DATABASE_FILE));
    let https: HttpsServer | undefined;
    try {
      const authority = new CertificateAuthority({
        name: options.caName,
        db,
        issuer: new Issuer(material.caCertificatePem, material.caKey),
        onEvent: (event) => logger?.info(event, event.event),
      });
      if (options.bootstrap) await authority.bootstrap(options.bootstrap.id, options.bootstrap.secret);
      const server = createServer(
        { cert: material.tlsCertificatePem, key: material.tlsKeyPem, minVersion: 'TLSv1.2' },
        (req, res) => void CaServer.serve(authority, req, res, logger),
      );
      https = server;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(options.port, options.host, () => {
          server.off('error', reject);
          resolve();
        });
      });
      const operations = options.operations
        ? await startOperationsServer({
            host: options.operations.host,
            port: options.operations.port,
            version: FABRIC_CA_VERSION,
            checks: (): Record<string, string> => {
              try {
                db.check();
                return {};
              } catch (err) {
                return { database: err instanceof Error ? err.message : String(err) };
              }
            },
          })
        : undefined;
      const ca = new CaServer(
        authority,
        db,
        server,
        operations,
        material.caCertificatePem,
        material.tlsCertificatePem,
        logger,
      );
      logger?.info(
        { caName: options.caName, address: options.host, port: ca.port, operationsPort: ca.operationsPort },
        'listening',
      );
      return ca;
    } catch (err) {
      https?.close();
      db.close();
      throw err;
    }
  }

  get port(): number {
    return (this.https.address() as AddressInfo).port;
  }

  get operationsPort(): number | undefined {
    return this.operations ? (this.operations.address() as AddressInfo).port : undefined;
  }

  /** Stops listening, ends open connections, closes the database. */
  async close(): Promise<void> {
    const closing = [this.https, this.operations]
      .filter((s): s is Server => s !== undefined)
      .map(
        (server) =>
          new Promise<void>((resolve) => {
            server.close(() => resolve());
            server.closeIdleConnections();
          }),
      );
    const grace = setTimeout(() => {
      this.https.closeAllConnections();
      this.operations?.closeAllConnections();
    }, 2000);
    await Promise.all(closing);
    clearTimeout(grace);
    this.db.close();
  }

  private static async serve(
    authority: CertificateAuthority,
    req: IncomingMessage,
    res: ServerResponse,
    logger: Logger | undefined,
  ): Promise<void> {
    const uri = req.url ?? '/';
    const path = uri.split('?')[0] ?? '/';
    const name = /^\/(?:api\/v1\/)?([a-z]+)$/.exec(path)?.[1];
    const endpoint = name === undefined ? undefined : ENDPOINTS[name];
    const method = req.method ?? 'GET';
    if (!endpoint) {
      req.resume();
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end('404 page not found\n');
      return;
    }
    let reply: CaReply | undefined;
    let failure: FabricCaError | undefined;
    try {
      if (!endpoint.methods.includes(method)) {
        req.resume();
        throw new FabricCaError(405, CaErrorCode.METHOD_NOT_ALLOWED, `Method ${method} is not allowed`);
      }
      const body = await readBody(req);
      const ctx = new RequestContext(method, uri, req.headers.authorization, body);
      reply = await endpoint.handle(authority, ctx);
    } catch (err) {
      failure =
        err instanceof FabricCaError
          ? err
          : new FabricCaError(500, CaErrorCode.UNKNOWN, err instanceof Error ? err.message : String(err), {
              cause: err,
            });
      if (!(err instanceof FabricCaError)) logger?.error({ err }, 'unexpected failure');
    }
    const status = failure ? failure.status : (reply?.status ?? 200);
    logger?.info(
      {
        remote: req.socket.remoteAddress,
        method,
        path,
        status,
        code: failure?.code ?? 0,
        ...(failure ? { reason: failure.message } : {}),
      },
      'request',
    );
    const headers: Record<string, string> = { Connection: 'Keep-Alive', ...(reply?.headers ?? {}) };
    if (method === 'HEAD') {
      res.writeHead(status, { ...headers, 'Content-Length': '0' });
      res.end();
      return;
    }
    const text = failure
      ? envelope(undefined, { code: failure.remoteCode, message: failure.remoteMessage })
      : envelope(reply?.result);
    res.writeHead(status, { ...headers, 'Content-Type': 'application/json' });
    res.end(text);
  }
}
