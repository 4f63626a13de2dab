import type { LedgerIdentity } from '@phr/ledger-client';
import type { Enroller } from './enroll/enroller';
import { FabricCaEnroller } from './enroll/fabric-ca-enroller';
import type { AgentLedger } from './ledger/agent-ledger';
import { FabricAgentLedger } from './ledger/fabric-agent-ledger';
import { ledgerPeer, type HospitalProfile, type NetworkProfile } from './profile/network-profile';
import type { RecoveryTransportFactory } from './recovery/recovery-transport';
import type { GatewayTransport } from './transport/gateway-transport';
import { HttpsGatewayTransport } from './transport/https-gateway-transport';

/** The patient's Fabric identity, with the identity key the ledger knows it by. */
export interface AgentIdentity extends LedgerIdentity {
  id: string;
}

/**
 * How the agent reaches the outside: the doorman CA, the ledger and each hospital's gateway. A
 * phone shell or a test brings its own; the defaults are Fabric CA, Fabric Gateway and HTTPS.
 */
export interface AgentConnectors {
  enroller(profile: NetworkProfile): Enroller;
  ledger(profile: NetworkProfile, identity: LedgerIdentity): AgentLedger;
  gateway(hospital: HospitalProfile, pseudonym: string, identity: LedgerIdentity): GatewayTransport;
  /** A gateway's key-recovery routes (relay, requests, approvals); HTTPS with the identity's certificate when absent. */
  recovery?: RecoveryTransportFactory;
}

export const defaultConnectors: AgentConnectors = {
  enroller: (profile) =>
    new FabricCaEnroller({
      url: profile.patientsCa.url,
      caName: profile.patientsCa.caName,
      tlsRootCertPem: profile.patientsCa.tlsRootCertPem,
    }),
  ledger: (profile, identity) => {
    // Any hospital's peer will do: the patient's transactions are signed here and endorsed by policy.
    // Hospitals learned from the directory name no peer; the first one that does is used.
    const via = ledgerPeer(profile);
    return FabricAgentLedger.connect({
      peer: { address: via.address, tlsRootCertPem: via.tlsRootCertPem },
      identity,
      channel: profile.channel,
      chaincode: profile.chaincode,
    });
  },
  gateway: (hospital, pseudonym, identity) =>
    new HttpsGatewayTransport({
      baseUrl: hospital.gatewayUrl,
      pseudonym,
      caPem: hospital.caRootCertPem,
      certificatePem: identity.certificatePem,
      privateKeyPem: identity.privateKeyPem,
    }),
};
