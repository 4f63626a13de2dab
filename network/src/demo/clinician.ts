import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CodeRef } from '@phr/common';
import { FabricRequesterLedger, PullClient, type VerifiedPull } from '@phr/requester';
import type { NetworkState } from '../network-state';
import type { Hospital } from '../topology';

/**
 * A clinician at a hospital with a certificate from that hospital's CA, asking its gateway for a
 * patient's records with `PullClient`: every element that comes back is checked against the
 * ledger, through the hospital's own peer, before it is returned.
 */
export class Clinician {
  readonly id: string;
  private readonly ledger: FabricRequesterLedger;
  private readonly client: PullClient;

  constructor(
    state: NetworkState,
    readonly hospital: Hospital,
    readonly name: string,
  ) {
    const identity = state.identity(hospital.name, name);
    this.ledger = FabricRequesterLedger.connect({
      peer: state.peer(hospital.name),
      identity,
      channel: state.topology.channel,
      chaincode: state.topology.chaincode.name,
    });
    this.client = new PullClient({
      gatewayUrl: `https://${hospital.gateway.host}:${hospital.gateway.port}`,
      caPem: readFileSync(join(state.dir, 'orgs', hospital.name, 'msp', 'cacerts', 'ca.pem'), 'utf8'),
      certificatePem: identity.certificatePem,
      privateKeyPem: identity.privateKeyPem,
      mspId: identity.mspId,
      ledger: this.ledger,
      timeoutMs: 30_000,
    });
    this.id = this.client.requesterId;
  }

  /**
   * FHIR search for `type` (and `codes`) under purpose TREAT. Asked with `Prefer: respond-async`,
   * so the answer is `pending` until the patient's device has answered; then `poll`.
   * A refusal throws `PullRequestError` (DENIED for 403).
   */
  ask(type: string, patient: string, codes: CodeRef[] = []): Promise<VerifiedPull> {
    return this.client.search({ type, patient, codes, purpose: 'TREAT', async: true });
  }

  poll(requestId: string): Promise<VerifiedPull> {
    return this.client.poll(requestId);
  }

  async close(): Promise<void> {
    await this.client.close();
    this.ledger.close();
  }
}
