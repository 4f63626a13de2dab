import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Topology } from './topology';

/**
 * The gateway config `make network-up` writes for one hospital: its own CA's material from the
 * state folder, its own peer, and the CAs whose client certificates it accepts (its hospital's
 * and the patients'). The gateway validates it again at start.
 */
export function gatewayConfig(t: Topology, stateDir: string, hospital: string): Record<string, unknown> {
  const h = t.hospitals.find((x) => x.name === hospital);
  if (!h) throw new Error(`unknown hospital ${hospital}`);
  const org = (name: string) => join(stateDir, 'orgs', name);
  const gw = join(org(hospital), 'identities', 'gateway');
  const key = readdirSync(join(gw, 'msp', 'keystore')).find((f) => f.endsWith('_sk'));
  if (!key) throw new Error(`no enrolled gateway identity for ${hospital} in ${gw}`);
  return {
    hospital: { name: h.name, mspId: h.mspId, displayName: h.displayName },
    listen: { host: h.gateway.host, port: h.gateway.port },
    publicUrl: `https://${h.gateway.host}:${h.gateway.port}`,
    tls: { certFile: join(gw, 'tls', 'server.crt'), keyFile: join(gw, 'tls', 'server.key') },
    identity: { certFile: join(gw, 'msp', 'signcerts', 'cert.pem'), keyFile: join(gw, 'msp', 'keystore', key) },
    trustedIssuers: [
      { mspId: h.mspId, caFile: join(org(hospital), 'msp', 'cacerts', 'ca.pem') },
      { mspId: t.patients.mspId, caFile: join(org('patients'), 'msp', 'cacerts', 'ca.pem') },
    ],
    dataDir: join(stateDir, 'gateways', hospital, 'data'),
    ledger: {
      mode: 'fabric',
      peer: { address: `${h.peer.host}:${h.peer.port}`, tlsCaFile: join(org(hospital), 'msp', 'cacerts', 'ca.pem') },
      channel: t.channel,
      chaincode: t.chaincode.name,
    },
  };
}
