#!/usr/bin/env node
/**
 * bench/ingest: the same gateway pipeline with the real ledger and with no ledger, in one run, on
 * the real Synthea bundles. Needs a running network (`make network-up`); prints a table and
 * writes JSON. Targets (issue 3, 2-core machine): ledger overhead on the ack ≤ 10 ms p50, commit
 * p95 ≤ 500 ms, ≥ 2,000 resources/s sustained, ≤ 4 on-chain bytes per resource.
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { Agent } from 'undici';
import {
  canonicalJson,
  generateEncryptionKeyPair,
  newPseudonym,
  type DeliveryRecord,
  type PatientRecord,
} from '@phr/common';
import { createLogger, parseConfig, readReceipt, startGateway, type RunningGateway } from '@phr/gateway';
import { LedgerError } from '@phr/ledger-client';
import { NetworkState, defaultStateDir, defaultTopologyFile, gatewayConfig } from '@phr/network';
import { percentile, round, table } from './stats';

const ROOT = resolve(__dirname, '..', '..');
const SYNTHEA = join(ROOT, 'fixtures', 'synthea-r4');

interface Entry {
  resource: {
    resourceType: string;
    identifier?: { system?: string; value?: string; type?: { coding?: { code?: string }[] } }[];
  };
}
interface Bundle {
  resourceType: 'Bundle';
  type: string;
  identifier?: { system: string; value: string };
  entry: Entry[];
}

function log(line: string): void {
  process.stderr.write(`${line}\n`);
}

function mrnOf(b: Bundle): { system: string; value: string } {
  const id = b.entry
    .find((e) => e.resource.resourceType === 'Patient')
    ?.resource.identifier?.find((i) => i.type?.coding?.some((c) => c.code === 'MR'));
  if (!id?.system || !id.value) throw new Error('no MRN');
  return { system: id.system, value: id.value };
}

/** A new delivery each time: a new Bundle.identifier names it. */
const fresh = (b: Bundle): Bundle => ({ ...b, identifier: { system: 'urn:phr-bench:send', value: randomUUID() } });

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      state: { type: 'string', default: defaultStateDir() },
      topology: { type: 'string', default: defaultTopologyFile() },
      out: { type: 'string', default: join(ROOT, 'bench', 'results', 'ingest.json') },
      small: { type: 'string', default: '40' },
      large: { type: 'string', default: '5' },
      concurrency: { type: 'string', default: '4' },
    },
  });
  const net = NetworkState.load(values.topology, values.state);
  const hospital = net.topology.hospitals[0]!;
  const org = (name: string) => join(net.dir, 'orgs', name);

  // The bench patient: enrolled at the patients' CA, registered on the ledger once per network.
  const patientName = 'bench-patient';
  execFileSync(join(ROOT, 'network', 'scripts', 'enroll.sh'), ['patients', patientName, 'patient'], {
    env: { ...process.env, PHR_STATE: net.dir, PHR_TOPOLOGY: values.topology, PHR_ROOT: ROOT },
    stdio: 'ignore',
  });
  const patientLedger = net.connect('patients', patientName);
  let pseudonym = (JSON.parse(await patientLedger.evaluate('PatientRegistry', 'WhoAmI')) as { pseudonym?: string })
    .pseudonym;
  if (!pseudonym) {
    pseudonym = newPseudonym();
    await patientLedger.submit('PatientRegistry', 'Register', [
      pseudonym,
      generateEncryptionKeyPair('X25519').publicKeyPem,
      'X25519',
    ]);
  }
  const patientRecord = JSON.parse(
    await patientLedger.evaluate('PatientRegistry', 'ReadPatient', [pseudonym]),
  ) as PatientRecord;
  patientLedger.close();

  const files = readdirSync(SYNTHEA)
    .filter((f) => f.endsWith('.json') && !/Information/.test(f))
    .sort();
  const bundles = files.map((f) => JSON.parse(readFileSync(join(SYNTHEA, f), 'utf8')) as Bundle);
  const largest = bundles.reduce((a, b) => (b.entry.length > a.entry.length ? b : a));
  const base = bundles[0]!;
  const patientIdx = base.entry.findIndex((e) => e.resource.resourceType === 'Patient');
  const small: Bundle = {
    ...base,
    entry: [base.entry[patientIdx]!, ...base.entry.filter((_, i) => i !== patientIdx).slice(0, 19)],
  };

  const work = mkdtempSync(join(tmpdir(), 'phr-bench-'));
  // The config network-up writes for this hospital, on a free port, its own data and the ledger mode under test.
  const configFor = (mode: 'fabric' | 'none') => {
    return parseConfig({
      ...gatewayConfig(net.topology, net.dir, hospital.name),
      publicUrl: undefined,
      listen: { host: '127.0.0.1', port: 0 },
      dataDir: join(work, mode),
      ...(mode === 'none' ? { ledger: { mode } } : {}),
      outbox: { retryMinMs: 100, retryMaxMs: 2000 },
      logLevel: 'warn',
    });
  };

  const ca = readFileSync(join(org(hospital.name), 'msp', 'cacerts', 'ca.pem'), 'utf8');
  const agentFor = (o: string, name: string) => {
    const id = net.identity(o, name);
    return new Agent({ connect: { ca, cert: id.certificatePem, key: id.privateKeyPem }, connections: 16 });
  };
  const ehr = agentFor(hospital.name, 'ehr');
  const admin = agentFor(hospital.name, 'orgadmin');
  const patient = agentFor('patients', patientName);
  const post = async (url: string, agent: Agent, body: unknown, type = 'application/json') => {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': type },
      body: typeof body === 'string' ? body : JSON.stringify(body),
      dispatcher: agent,
    } as RequestInit);
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${url}: ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as unknown;
  };

  const results: Record<string, Record<string, number>> = {};
  const ledgerReads: DeliveryRecord[] = [];
  for (const mode of ['none', 'fabric'] as const) {
    log(`\n== ${mode === 'fabric' ? 'real ledger' : 'no ledger'} ==`);
    const g: RunningGateway = await startGateway(configFor(mode), {
      patients: new Map([[pseudonym, patientRecord]]),
      logger: createLogger('warn'),
    });
    const committedAt = new Map<string, number>();
    g.outbox.onEvent((e) => {
      if (e.type === 'committed') committedAt.set(e.delivery.deliveryId, performance.now());
    });
    for (const b of bundles) {
      const code = (await post(`${g.url}/identity/link-codes`, patient, { pseudonym })) as { code: string };
      await post(`${g.url}/identity/links`, admin, { identifier: mrnOf(b), code: code.code });
    }
    const fhirPost = async (b: Bundle) => {
      const t0 = performance.now();
      const body = await post(`${g.url}/fhir`, ehr, canonicalJson(fresh(b)), 'application/fhir+json');
      return { t0, t1: performance.now(), deliveryId: readReceipt(body)!.deliveryId };
    };
    // warm-up: JIT, validator caches, TLS sessions
    for (let i = 0; i < 5; i++) await fhirPost(small);
    await g.outbox.idle();

    const ack20: number[] = [];
    const commit20: number[] = [];
    for (let i = 0; i < Number(values.small); i++) {
      const r = await fhirPost(small);
      ack20.push(r.t1 - r.t0);
      if (mode === 'fabric') {
        await g.outbox.idle();
        commit20.push((committedAt.get(r.deliveryId) ?? Number.NaN) - r.t1);
      }
    }
    log(`ack (20 resources) p50 ${round(percentile(ack20, 50))} ms`);
    const ackLarge: number[] = [];
    for (let i = 0; i < Number(values.large); i++) {
      const r = await fhirPost(largest);
      ackLarge.push(r.t1 - r.t0);
    }
    await g.outbox.idle();
    log(`ack (${largest.entry.length} resources) p50 ${round(percentile(ackLarge, 50))} ms`);

    // Sustained: every patient bundle, a few EHR connections at once.
    const queue = [...bundles, ...bundles];
    const total = queue.reduce((n, b) => n + b.entry.length, 0);
    const sustainedIds: string[] = [];
    const acks: { t1: number; id: string }[] = [];
    const start = performance.now();
    await Promise.all(
      Array.from({ length: Number(values.concurrency) }, async () => {
        for (let b = queue.shift(); b; b = queue.shift()) {
          const r = await fhirPost(b);
          sustainedIds.push(r.deliveryId);
          acks.push({ t1: r.t1, id: r.deliveryId });
        }
      }),
    );
    const acked = performance.now();
    await g.outbox.idle();
    const allCommitted = performance.now();
    const sustainedCommit = acks.map((a) => (committedAt.get(a.id) ?? Number.NaN) - a.t1);
    log(`sustained ${round(total / ((acked - start) / 1000), 0)} resources/s`);

    results[mode] = {
      ack20P50: round(percentile(ack20, 50), 2),
      ack20P95: round(percentile(ack20, 95), 2),
      ackLargeP50: round(percentile(ackLarge, 50), 1),
      ackLargeP95: round(percentile(ackLarge, 95), 1),
      largestResources: largest.entry.length,
      sustainedResources: total,
      sustainedAckedPerSecond: round(total / ((acked - start) / 1000), 0),
      sustainedCommittedPerSecond: round(total / ((allCommitted - start) / 1000), 0),
      ...(mode === 'fabric'
        ? {
            commit20P50: round(percentile(commit20, 50), 1),
            commit20P95: round(percentile(commit20, 95), 1),
            commitSustainedP50: round(percentile(sustainedCommit, 50), 1),
            commitSustainedP95: round(percentile(sustainedCommit, 95), 1),
          }
        : {}),
    };
    if (mode === 'fabric') {
      for (const id of sustainedIds) {
        const rec = await g.ledger.readDelivery(id);
        if (!rec) throw new LedgerError('NOT_FOUND', `delivery ${id} is not on the ledger`);
        ledgerReads.push(rec);
      }
    }
    await g.close();
  }

  // On-chain bytes: what each delivery writes to the world state (record + patient index key).
  const stateBytes = ledgerReads.reduce(
    (n, r) =>
      n +
      Buffer.byteLength(`delivery:${r.deliveryId}`) +
      Buffer.byteLength(canonicalJson(r)) +
      Buffer.byteLength(`\u0000patient~delivery\u0000${r.pseudonym}\u0000${r.deliveryId}\u0000`) +
      1,
    0,
  );
  const resourcesOnChain = ledgerReads.reduce((n, r) => n + r.segmentCount, 0);
  const real = results.fabric!;
  const none = results.none!;
  const summary = {
    ledgerOverheadAckP50Ms: round(real.ack20P50! - none.ack20P50!, 2),
    commitP95Ms: real.commitSustainedP95!,
    sustainedResourcesPerSecond: real.sustainedAckedPerSecond!,
    onChainBytesPerResource: round(stateBytes / resourcesOnChain, 2),
  };
  const targets = {
    ledgerOverheadAckP50Ms: 10,
    commitP95Ms: 500,
    sustainedResourcesPerSecond: 2000,
    onChainBytesPerResource: 4,
  };
  const rows: (string | number)[][] = [
    ['measure', 'no ledger', 'real ledger', 'target'],
    ['ack p50, 20-resource bundle (ms)', none.ack20P50!, real.ack20P50!, ''],
    ['ack p95, 20-resource bundle (ms)', none.ack20P95!, real.ack20P95!, ''],
    [`ack p50, largest bundle ${largest.entry.length} res. (ms)`, none.ackLargeP50!, real.ackLargeP50!, ''],
    [`ack p95, largest bundle (ms)`, none.ackLargeP95!, real.ackLargeP95!, ''],
    ['ledger overhead on ack p50 (ms)', '', summary.ledgerOverheadAckP50Ms, `<= ${targets.ledgerOverheadAckP50Ms}`],
    ['commit p50 / p95, one at a time (ms)', '', `${real.commit20P50} / ${real.commit20P95}`, ''],
    [
      'commit p50 / p95, sustained load (ms)',
      '',
      `${real.commitSustainedP50} / ${real.commitSustainedP95}`,
      `p95 <= ${targets.commitP95Ms}`,
    ],
    [
      'sustained, acked (resources/s)',
      none.sustainedAckedPerSecond!,
      real.sustainedAckedPerSecond!,
      `>= ${targets.sustainedResourcesPerSecond}`,
    ],
    ['sustained, committed (resources/s)', none.sustainedCommittedPerSecond!, real.sustainedCommittedPerSecond!, ''],
    ['on-chain state bytes per resource', '', summary.onChainBytesPerResource, `<= ${targets.onChainBytesPerResource}`],
  ];
  const engine = net.engineDescription();
  process.stdout.write(`\nledger engine: ${engine.engine} (${engine.version})\n${table(rows)}\n`);
  const out = {
    benchmark: 'ingest',
    at: new Date().toISOString(),
    machine: { cpus: cpus().length, model: cpus()[0]?.model, node: process.version },
    // The embedded network's numbers are no claim about Fabric: see the README.
    network: net.engineDescription(),
    workload: {
      smallBundleResources: small.entry.length,
      largestBundleResources: largest.entry.length,
      smallRuns: Number(values.small),
      largeRuns: Number(values.large),
      sustainedBundles: bundles.length * 2,
      concurrency: Number(values.concurrency),
    },
    results,
    summary,
    targets,
    met: {
      ledgerOverheadAckP50Ms: summary.ledgerOverheadAckP50Ms <= targets.ledgerOverheadAckP50Ms,
      commitP95Ms: summary.commitP95Ms <= targets.commitP95Ms,
      sustainedResourcesPerSecond: summary.sustainedResourcesPerSecond >= targets.sustainedResourcesPerSecond,
      onChainBytesPerResource: summary.onChainBytesPerResource <= targets.onChainBytesPerResource,
    },
  };
  mkdirSync(dirname(values.out), { recursive: true });
  writeFileSync(values.out, JSON.stringify(out, null, 2) + '\n');
  process.stdout.write(`\nwritten ${values.out}\n`);
  for (const a of [ehr, admin, patient]) await a.close();
  rmSync(work, { recursive: true, force: true });
}

main().catch((err: unknown) => {
  process.stderr.write(`bench ingest: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
