import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import { parseArgs } from 'node:util';
import type { TlsMaterial } from './grpc-server';
import { LocalIdentity } from './local-identity';
import { EMBEDDED_VERSION } from './version';
import { startOperationsServer } from '../ops/operations-server';

/** The flags every embedded node process takes (what its network script passes). */
const COMMON = {
  id: { type: 'string' },
  'msp-id': { type: 'string' },
  'msp-dir': { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  listen: { type: 'string' },
  operations: { type: 'string' },
  data: { type: 'string' },
  'genesis-block': { type: 'string' },
} as const;

export interface NodeArgs {
  id: string;
  listen: string;
  data: string;
  identity: () => LocalIdentity;
  tls: () => TlsMaterial;
  genesisBlock: () => Uint8Array | undefined;
  /** A further required flag of this kind of node. */
  need: (flag: string) => string;
}

/** Reads a node process's flags; a missing required one exits 2 with a usage line. */
export function nodeArgs(kind: string, extra: readonly string[] = []): NodeArgs {
  const options: Record<string, { type: 'string' }> = { ...COMMON };
  for (const e of extra) options[e] = { type: 'string' };
  const { values } = parseArgs({ options }) as { values: Record<string, string | undefined> };
  const need = (flag: string): string => {
    const v = values[flag];
    if (!v) {
      process.stderr.write(`${kind}: --${flag} is required\n`);
      process.exit(2);
    }
    return v;
  };
  return {
    id: need('id'),
    listen: need('listen'),
    data: need('data'),
    identity: () => LocalIdentity.fromMspFolder(need('msp-id'), need('msp-dir')),
    tls: () => ({ certPem: readFileSync(need('tls-cert'), 'utf8'), keyPem: readFileSync(need('tls-key'), 'utf8') }),
    genesisBlock: () => (values['genesis-block'] ? readFileSync(values['genesis-block']) : undefined),
    need,
  };
}

/** The node's operations endpoint (`/healthz`, `/version`) over the node's TLS certificate. */
export function startNodeOperations(args: NodeArgs, tls: TlsMaterial): Promise<Server> {
  const [host = '127.0.0.1', port = '0'] = args.need('operations').split(':');
  return startOperationsServer({ host, port: Number(port), tls, version: EMBEDDED_VERSION, checks: () => ({}) });
}
