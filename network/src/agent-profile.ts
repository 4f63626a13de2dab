import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Topology } from './topology';

/**
 * The network profile a patient's device starts from: public endpoints and trust roots only (no
 * secret, no identity). `make network-up` writes it to $PHR_STATE/agent-profile.json; the agent
 * validates it again when it is imported.
 */
export function agentProfile(t: Topology, stateDir: string): Record<string, unknown> {
  // The organisation's root as its MSP holds it: present for members whose CA runs on another machine too.
  const caCert = (org: string) => readFileSync(join(stateDir, 'orgs', org, 'msp', 'cacerts', 'ca.pem'), 'utf8');
  return {
    v: 1,
    channel: t.channel,
    chaincode: t.chaincode.name,
    patientsCa: {
      url: `https://${t.patients.ca.host}:${t.patients.ca.port}`,
      caName: 'ca-patients',
      mspId: t.patients.mspId,
      tlsRootCertPem: caCert('patients'),
    },
    hospitals: t.hospitals.map((h) => ({
      name: h.name,
      mspId: h.mspId,
      displayName: h.displayName,
      gatewayUrl: `https://${h.gateway.host}:${h.gateway.port}`,
      caRootCertPem: caCert(h.name),
      peer: { address: `${h.peer.host}:${h.peer.port}`, tlsRootCertPem: caCert(h.name) },
    })),
  };
}
