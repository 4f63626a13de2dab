import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent as Dispatcher } from 'undici';
import { outcomeText, PhrSystems } from '@phr/common';
import type { NetworkState } from '../network-state';
import type { Hospital } from '../topology';
import { check, DemoFailure, errorText } from './deadline';
import type { Mrn, SyntheaBundle } from './synthea';

export interface PostedBundle {
  deliveryId: string;
  /** Entries answered 201 Created, of `entries`. */
  created: number;
  entries: number;
}

const TIMEOUT_MS = 120_000;

/**
 * One hospital's people at its FHIR gateway, each with their own certificate from the hospital's
 * CA (mutual TLS): the admin who links an MRN, the EHR that posts bundles.
 */
export class HospitalDesk {
  readonly url: string;
  private readonly caPem: string;
  private readonly dispatchers = new Map<string, Dispatcher>();

  constructor(
    private readonly state: NetworkState,
    readonly hospital: Hospital,
  ) {
    this.url = `https://${hospital.gateway.host}:${hospital.gateway.port}`;
    // The gateway's TLS certificate comes from the hospital's own CA.
    this.caPem = readFileSync(join(state.dir, 'orgs', hospital.name, 'msp', 'cacerts', 'ca.pem'), 'utf8');
  }

  /** `/healthz` answers without a certificate; anything else needs one. */
  async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/healthz`, {
        dispatcher: this.dispatcher(undefined),
        signal: AbortSignal.timeout(5_000),
      });
      return res.ok;
    } catch {
      return false;
    }
  }

  /** The hospital admin links the MRN to the patient behind the one-time code (POST /identity/links). */
  async linkMrn(identifier: Mrn, code: string, admin = 'orgadmin'): Promise<void> {
    const res = await fetch(`${this.url}/identity/links`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ identifier, code }),
      dispatcher: this.dispatcher(admin),
      signal: AbortSignal.timeout(30_000),
    });
    const text = await res.text();
    check(
      res.status === 201 || res.status === 200,
      `${this.hospital.name}'s gateway refused the link (${res.status}): ${outcomeText(text)}`,
    );
  }

  /** The EHR posts a transaction Bundle to POST /fhir with fhir-kit-client, as an EHR would. */
  async postBundle(bundle: SyntheaBundle, ehr = 'ehr'): Promise<PostedBundle> {
    // fhir-kit-client is an ES module only; this package is CommonJS.
    const { Client } = await import('fhir-kit-client');
    const fhir = new Client({ baseUrl: `${this.url}/fhir`, requestOptions: { dispatcher: this.dispatcher(ehr) } });
    let response: unknown;
    try {
      response = await fhir.transaction({
        body: bundle as never,
        options: { signal: AbortSignal.timeout(TIMEOUT_MS) },
      });
    } catch (err) {
      const status = (err as { response?: { status?: number; data?: unknown } }).response;
      if (status?.status) {
        const body = typeof status.data === 'string' ? status.data : JSON.stringify(status.data ?? '');
        throw new DemoFailure(
          `${this.hospital.name}'s gateway refused the bundle (${status.status}): ${outcomeText(body)}`,
        );
      }
      throw new DemoFailure(`posting the bundle to ${this.url}/fhir failed: ${errorText(err)}`);
    }
    const answer = response as {
      type?: string;
      identifier?: { system?: string; value?: string };
      entry?: { response?: { status?: string } }[];
    };
    check(
      answer.type === 'transaction-response',
      `the gateway answered a ${answer.type ?? 'non-Bundle'}, not a transaction-response`,
    );
    const deliveryId = answer.identifier?.system === PhrSystems.deliveryId ? answer.identifier.value : undefined;
    check(deliveryId, 'the transaction-response names no delivery');
    const entries = answer.entry ?? [];
    return {
      deliveryId,
      entries: entries.length,
      created: entries.filter((e) => e.response?.status?.startsWith('201')).length,
    };
  }

  async close(): Promise<void> {
    await Promise.all([...this.dispatchers.values()].map((d) => d.close()));
    this.dispatchers.clear();
  }

  /** A connection pool that trusts the hospital's CA and, unless `identity` is undefined, shows that identity. */
  private dispatcher(identity: string | undefined): Dispatcher {
    const key = identity ?? '';
    let d = this.dispatchers.get(key);
    if (!d) {
      const id = identity === undefined ? undefined : this.state.identity(this.hospital.name, identity);
      d = new Dispatcher({
        connect: { ca: this.caPem, ...(id ? { cert: id.certificatePem, key: id.privateKeyPem } : {}) },
      });
      this.dispatchers.set(key, d);
    }
    return d;
  }
}
