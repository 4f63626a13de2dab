#!/usr/bin/env node
/**
 * bench/ingest: the same gateway pipeline with the real ledger and with no ledger, in one run, on
 * the real Synthea bundles. Needs a running network (`make network-up`); prints a table and
 * writes JSON. Targets (issue 3, 2-core machine): ledger overhead on the ack ≤ 10 ms p50, commit
 * p95 ≤ 500 ms, ≥ 2,000 resources/s sustained, ≤ 4 on-chain bytes per resource.
 *
 * The ledger overhead on the ack is measured in pairs (issue 12): both gateways run at once and
 * each pair posts the same 20-resource bundle to each, in alternating order, so that drift of the
 * machine cancels; the median paired difference is reported with a distribution-free 95 %
 * confidence interval and judged on its upper bound. The blocks of the sustained run's own
 * transactions are read back through qscc and their bytes taken apart (block-bytes.ts).
 */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { connect, hash } from '@hyperledger/fabric-gateway';
import { common } from '@hyperledger/fabric-protos';
import { Agent } from 'undici';
import {
  canonicalJson,
  generateEncryptionKeyPair,
  newPseudonym,
  type DeliveryRecord,
  type PatientRecord,
} from '@phr/common';
import { convertCcda, createLogger, parseConfig, readReceipt, startGateway, type RunningGateway } from '@phr/gateway';

import { LedgerError, newEcdsaSigner } from '@phr/ledger-client';
import { NetworkState, defaultStateDir, defaultTopologyFile, gatewayConfig } from '@phr/network';
import {
  blockBytes,
  summarizeBlockBytes,
  TRANSACTION_PARTS,
  type BlockBytes,
  type BlockBytesSummary,
} from './block-bytes';
import { measureCpu } from './cpu';
import { machine } from './machine';
import { median, pairedDifference, percentile, round, table } from './stats';

const ROOT = resolve(__dirname, '..', '..');
const SYNTHEA = join(ROOT, 'fixtures', 'synthea-r4');
const CCDA = join(ROOT, 'fixtures', 'ccda-examples');

/** A C-CDA document made new by a comment (new bytes: a new delivery, not a retry's replay). */
const freshCcda = (xml: string): string => xml.replace(/(<ClinicalDocument)/, `<!-- bench ${randomUUID()} -->\n$1`);

/** The patient identifier the gateway resolves a C-CDA document by (as its converter reads it). */
function ccdaPatientId(xml: string): { system: string; value: string } {
  const id = convertCcda(xml, Buffer.from(xml)).patientIdentifier;
  if (!id) throw new Error('a C-CDA example without a patient identifier');
  return id;
}

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

/**
 * Where a C-CDA document's CPU went: the bench process's main thread (gateway event loop and the
 * posting client), its other threads (ingest workers, GC), and the network's processes.
 */
function cpuSplit(r: Record<string, number>): string {
  const network = r.ccdaCpuNetworkMsPerDocument;
  return `${r.ccdaCpuMainThreadMsPerDocument} / ${r.ccdaCpuOtherThreadsMsPerDocument} / ${network ?? 'n/a'}`;
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

/**
 * qscc on a hospital's peer under its gateway identity, through fabric-gateway itself: LedgerClient
 * returns text, and a block is bytes. Works on both engines.
 */
function queryBlocks(net: NetworkState, hospital: string) {
  const p = net.peer(hospital);
  const id = net.identity(hospital, 'gateway');
  const client = new grpc.Client(p.address, grpc.credentials.createSsl(Buffer.from(p.tlsRootCertPem)));
  const gateway = connect({
    client,
    identity: { mspId: id.mspId, credentials: Buffer.from(id.certificatePem) },
    signer: newEcdsaSigner(id.privateKeyPem),
    hash: hash.none,
    evaluateOptions: () => ({ deadline: Date.now() + 10_000 }),
  });
  const channel = net.topology.channel;
  const qscc = gateway.getNetwork(channel).getContract('qscc');
  return {
    async height(): Promise<number> {
      return common.BlockchainInfo.deserializeBinary(
        await qscc.evaluateTransaction('GetChainInfo', channel),
      ).getHeight();
    },
    block: (n: number): Promise<Uint8Array> => qscc.evaluateTransaction('GetBlockByNumber', channel, String(n)),
    close(): void {
      gateway.close();
      client.close();
    },
  };
}

async function main(): Promise<void> {
  const began = performance.now();
  const { values } = parseArgs({
    options: {
      state: { type: 'string', default: defaultStateDir() },
      topology: { type: 'string', default: defaultTopologyFile() },
      out: { type: 'string', default: join(ROOT, 'bench', 'results', 'ingest.json') },
      pairs: { type: 'string', default: '200' },
      large: { type: 'string', default: '5' },
      concurrency: { type: 'string', default: '4' },
      ccda: { type: 'string', default: '450' },
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

  // CCD-sized: the issue's target is for CCDs (HL7's CCD examples, 48 and 176 KB).
  const ccdaDocs = ['CCD-1.xml', 'CCD-2.xml'].map((f) => readFileSync(join(CCDA, f), 'utf8'));
  const ccdaIds = ccdaDocs.map(ccdaPatientId);
  // Conversion on its own (guard excluded), one thread, after a warm-up.
  for (let i = 0; i < 20; i++) for (const d of ccdaDocs) convertCcda(d, Buffer.from(d));
  const convertMs: number[] = [];
  for (let i = 0; i < 50; i++) {
    for (const d of ccdaDocs) {
      const t0 = performance.now();
      convertCcda(d, Buffer.from(d));
      convertMs.push(performance.now() - t0);
    }
  }
  log(`C-CDA conversion alone: p50 ${round(percentile(convertMs, 50), 1)} ms per CCD`);

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
    });
    const text = await res.text();
    if (res.status >= 300) throw new Error(`${url}: ${res.status} ${text.slice(0, 300)}`);
    return JSON.parse(text) as unknown;
  };

  type Mode = 'none' | 'fabric';
  interface Committed {
    at: number;
    transactionId: string;
  }
  interface Running {
    g: RunningGateway;
    committed: Map<string, Committed>;
    post: (b: Bundle) => Promise<{ t0: number; t1: number; deliveryId: string }>;
  }
  const startMode = async (mode: Mode): Promise<Running> => {
    const g: RunningGateway = await startGateway(configFor(mode), {
      patients: new Map([[pseudonym, patientRecord]]),
      logger: createLogger('warn'),
    });
    const committed = new Map<string, Committed>();
    g.outbox.onEvent((e) => {
      if (e.type === 'committed') {
        committed.set(e.delivery.deliveryId, { at: performance.now(), transactionId: e.delivery.transactionId });
      }
    });
    for (const identifier of [...bundles.map(mrnOf), ...ccdaIds]) {
      const code = (await post(`${g.url}/identity/link-codes`, patient, { pseudonym })) as { code: string };
      await post(`${g.url}/identity/links`, admin, { identifier, code: code.code });
    }
    const fhirPost = async (b: Bundle) => {
      const t0 = performance.now();
      const body = await post(`${g.url}/fhir`, ehr, canonicalJson(fresh(b)), 'application/fhir+json');
      return { t0, t1: performance.now(), deliveryId: readReceipt(body)!.deliveryId };
    };
    // warm-up: JIT, validator caches, TLS sessions
    for (let i = 0; i < 5; i++) await fhirPost(small);
    await g.outbox.idle();
    return { g, committed, post: fhirPost };
  };

  // Both gateways at once: the same pipeline with no ledger and with the real ledger.
  const gw: Record<Mode, Running> = { none: await startMode('none'), fabric: await startMode('fabric') };

  // ---- the ledger overhead on the ack, in pairs ----
  // Each pair posts the same 20-resource bundle to each gateway, in alternating order. Every
  // measured post comes right after another 20-resource post (an unmeasured one to the no-ledger
  // gateway, or the pair's first) and with no ledger transaction in flight: the real ledger's
  // commit is awaited before the no-ledger post when the real ledger went first, and after the pair
  // otherwise. So neither side pays for the VM's idle gaps or for the other's background work, and
  // a slow drift of the machine (other load, frequency, GC) moves both sides of a pair alike.
  const pairs = Number(values.pairs);
  log(`\n== ledger overhead on the ack: ${pairs} pairs, no ledger and real ledger alternating ==`);
  const ack20: Record<Mode, number[]> = { none: [], fabric: [] };
  const noneFirst: boolean[] = [];
  const commit20: number[] = [];
  const warm = () => gw.none.post(small);
  const pairsStart = performance.now();
  for (let i = 0; i < pairs; i++) {
    const order: Mode[] = i % 2 === 0 ? ['none', 'fabric'] : ['fabric', 'none'];
    noneFirst.push(order[0] === 'none');
    await warm();
    let fabric: { t1: number; deliveryId: string } | undefined;
    const settle = async () => {
      if (!fabric) return;
      await gw.fabric.g.outbox.idle();
      commit20.push((gw.fabric.committed.get(fabric.deliveryId)?.at ?? Number.NaN) - fabric.t1);
      fabric = undefined;
    };
    for (const [j, mode] of order.entries()) {
      if (j > 0 && mode === 'none') {
        await settle();
        await warm();
      }
      const r = await gw[mode].post(small);
      ack20[mode].push(r.t1 - r.t0);
      if (mode === 'fabric') fabric = r;
    }
    await settle();
    if ((i + 1) % 50 === 0) log(`  ${i + 1} pairs`);
  }
  const pairsSeconds = (performance.now() - pairsStart) / 1000;
  const overhead = pairedDifference(ack20.none, ack20.fabric, 0.95);
  const byOrder = (first: boolean) =>
    median(ack20.fabric.map((f, i) => f - ack20.none[i]!).filter((_, i) => noneFirst[i] === first));
  log(
    `ack (20 resources) p50: no ledger ${round(percentile(ack20.none, 50))} ms, real ledger ` +
      `${round(percentile(ack20.fabric, 50))} ms; overhead, median paired difference ${round(overhead.median, 2)} ms ` +
      `(95 % CI ${round(overhead.ci.lower, 2)} to ${round(overhead.ci.upper, 2)}) in ${round(pairsSeconds, 0)} s`,
  );

  const results: Record<string, Record<string, number>> = {};
  const ledgerReads: DeliveryRecord[] = [];
  let blocks: BlockBytes[] = [];
  let txOfDelivery = new Map<string, string>();
  for (const mode of ['none', 'fabric'] as const) {
    log(`\n== ${mode === 'fabric' ? 'real ledger' : 'no ledger'} ==`);
    const { g, committed, post: fhirPost } = gw[mode];
    const ackLarge: number[] = [];
    for (let i = 0; i < Number(values.large); i++) {
      const r = await fhirPost(largest);
      ackLarge.push(r.t1 - r.t0);
    }
    await g.outbox.idle();
    log(`ack (${largest.entry.length} resources) p50 ${round(percentile(ackLarge, 50))} ms`);

    // Sustained: every patient bundle, a few EHR connections at once.
    const qscc = mode === 'fabric' ? queryBlocks(net, hospital.name) : undefined;
    const heightBefore = await qscc?.height();
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
    const sustainedCommit = acks.map((a) => (committed.get(a.id)?.at ?? Number.NaN) - a.t1);
    log(`sustained ${round(total / ((acked - start) / 1000), 0)} resources/s`);

    // C-CDA, sustained: CCDs through /ccda (guard, conversion, then the same pipeline), until committed.
    const ccdaQueue = Array.from({ length: Number(values.ccda) }, (_, i) => freshCcda(ccdaDocs[i % ccdaDocs.length]!));
    let ccdaResources = 0;
    const ccdaStart = performance.now();
    const ccdaCpu = measureCpu(net.dir);
    await Promise.all(
      Array.from({ length: Number(values.concurrency) }, async () => {
        for (let d = ccdaQueue.shift(); d; d = ccdaQueue.shift()) {
          const body = (await post(`${g.url}/ccda`, ehr, d, 'application/cda+xml')) as { entry: unknown[] };
          ccdaResources += body.entry.length;
        }
      }),
    );
    const ccdaAcked = performance.now();
    await g.outbox.idle();
    const ccdaCommitted = performance.now();
    const ccdaCount = Number(values.ccda);
    const cpu = ccdaCpu();
    // The ledger transactions the run's deliveries went in (they share transactions under load).
    const ccdaTransactions = new Set(
      [...committed.values()].filter((c) => c.at >= ccdaStart).map((c) => c.transactionId),
    );
    const perDocument = (ms: number | undefined) => (ms === undefined ? undefined : round(ms / ccdaCount, 1));
    log(`C-CDA sustained ${round(ccdaCount / ((ccdaAcked - ccdaStart) / 1000), 1)} documents/s`);

    results[mode] = {
      ack20P50: round(percentile(ack20[mode], 50), 2),
      ack20P95: round(percentile(ack20[mode], 95), 2),
      ackLargeP50: round(percentile(ackLarge, 50), 1),
      ackLargeP95: round(percentile(ackLarge, 95), 1),
      largestResources: largest.entry.length,
      sustainedResources: total,
      sustainedAckedPerSecond: round(total / ((acked - start) / 1000), 0),
      sustainedCommittedPerSecond: round(total / ((allCommitted - start) / 1000), 0),
      ccdaDocuments: ccdaCount,
      ccdaAckedDocumentsPerSecond: round(ccdaCount / ((ccdaAcked - ccdaStart) / 1000), 1),
      ccdaCommittedDocumentsPerSecond: round(ccdaCount / ((ccdaCommitted - ccdaStart) / 1000), 1),
      ccdaCommittedResourcesPerSecond: round(ccdaResources / ((ccdaCommitted - ccdaStart) / 1000), 0),
      ccdaDeliveriesPerTransaction: round(ccdaCount / ccdaTransactions.size, 2),
      sustainedDeliveriesPerTransaction: round(
        sustainedIds.length / new Set(sustainedIds.map((id) => committed.get(id)?.transactionId)).size,
        2,
      ),
      ccdaCpuMainThreadMsPerDocument: perDocument(cpu.mainThreadMs)!,
      ccdaCpuOtherThreadsMsPerDocument: perDocument(cpu.otherThreadsMs)!,
      ...(cpu.networkMs === undefined ? {} : { ccdaCpuNetworkMsPerDocument: perDocument(cpu.networkMs)! }),
      ...(mode === 'fabric'
        ? {
            commit20P50: round(percentile(commit20, 50), 1),
            commit20P95: round(percentile(commit20, 95), 1),
            commitSustainedP50: round(percentile(sustainedCommit, 50), 1),
            commitSustainedP95: round(percentile(sustainedCommit, 95), 1),
          }
        : {}),
    };
    if (mode === 'fabric' && qscc && heightBefore !== undefined) {
      for (const id of sustainedIds) {
        const rec = await g.ledger.readDelivery(id);
        if (!rec) throw new LedgerError('NOT_FOUND', `delivery ${id} is not on the ledger`);
        ledgerReads.push(rec);
      }
      // The blocks that hold the sustained run's transactions, as the peer stores them.
      const heightAfter = await qscc.height();
      const raw = await Promise.all(
        Array.from({ length: heightAfter - heightBefore }, (_, i) => qscc.block(heightBefore + i)),
      );
      blocks = raw.map((b) => blockBytes(b));
      txOfDelivery = new Map(sustainedIds.map((id) => [id, committed.get(id)?.transactionId ?? '']));
      log(`read ${blocks.length} blocks (${heightBefore}..${heightAfter - 1}) through qscc`);
    }
    qscc?.close();
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

  // Block bytes: every byte of the sustained run's transactions as the peer stores them, and each
  // block's header and metadata shared among the transactions it holds.
  const resourcesOf = new Map(ledgerReads.map((r) => [r.deliveryId, r.segmentCount]));
  // Deliveries share transactions under load: each transaction counts its deliveries and resources.
  const counted = new Map<string, { deliveries: number; resources: number }>();
  for (const [id, tx] of txOfDelivery) {
    const c = counted.get(tx) ?? { deliveries: 0, resources: 0 };
    counted.set(tx, { deliveries: c.deliveries + 1, resources: c.resources + (resourcesOf.get(id) ?? 0) });
  }
  const chain: BlockBytesSummary = summarizeBlockBytes(blocks, counted);
  if (chain.deliveries !== ledgerReads.length || chain.transactions !== counted.size) {
    log(
      `warning: found ${chain.transactions} of the ${counted.size} sustained transactions ` +
        `(${chain.deliveries} of ${ledgerReads.length} deliveries) in the blocks`,
    );
  }

  const summary = {
    // The median of the paired differences (real ledger − no ledger), not the difference of two medians.
    ledgerOverheadAckP50Ms: round(overhead.median, 2),
    ledgerOverheadAckP50CiLowerMs: round(overhead.ci.lower, 2),
    ledgerOverheadAckP50CiUpperMs: round(overhead.ci.upper, 2),
    commitP95Ms: real.commitSustainedP95!,
    sustainedResourcesPerSecond: real.sustainedAckedPerSecond!,
    onChainBytesPerResource: round(stateBytes / resourcesOnChain, 2),
    onChainBlockBytesPerResource: round(chain.perResource, 1),
    onChainBlockBytesPerDelivery: round(chain.perDelivery, 0),
  };
  const targets = {
    ledgerOverheadAckP50Ms: 10,
    commitP95Ms: 500,
    sustainedResourcesPerSecond: 2000,
    ccdaDocumentsPerSecond: 30,
    onChainBytesPerResource: 4,
  };
  const ci = `${Math.round(overhead.ci.confidence * 100)} % CI`;
  const rows: (string | number)[][] = [
    ['measure', 'no ledger', 'real ledger', 'target'],
    [`ack p50, 20-resource bundle, ${pairs} pairs (ms)`, none.ack20P50!, real.ack20P50!, ''],
    ['ack p95, 20-resource bundle (ms)', none.ack20P95!, real.ack20P95!, ''],
    [`ack p50, largest bundle ${largest.entry.length} res. (ms)`, none.ackLargeP50!, real.ackLargeP50!, ''],
    [`ack p95, largest bundle (ms)`, none.ackLargeP95!, real.ackLargeP95!, ''],
    [
      'ledger overhead on ack, median paired diff. (ms)',
      '',
      `${summary.ledgerOverheadAckP50Ms} (${ci} ${summary.ledgerOverheadAckP50CiLowerMs} to ${summary.ledgerOverheadAckP50CiUpperMs})`,
      `<= ${targets.ledgerOverheadAckP50Ms}, on the CI upper bound`,
    ],
    [
      '  paired diffs p25 / p75, p5 / p95 (ms)',
      '',
      `${round(overhead.p25, 1)} / ${round(overhead.p75, 1)}, ${round(overhead.p5, 1)} / ${round(overhead.p95, 1)}`,
      '',
    ],
    ['  difference of the two p50s, as before (ms)', '', round(real.ack20P50! - none.ack20P50!, 2), ''],
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
    [
      'C-CDA (CCDs), acked / committed (documents/s)',
      `${none.ccdaAckedDocumentsPerSecond} / ${none.ccdaCommittedDocumentsPerSecond}`,
      `${real.ccdaAckedDocumentsPerSecond} / ${real.ccdaCommittedDocumentsPerSecond}`,
      `>= ${targets.ccdaDocumentsPerSecond}, committed`,
    ],
    [
      'C-CDA (CCDs), committed (resources/s)',
      none.ccdaCommittedResourcesPerSecond!,
      real.ccdaCommittedResourcesPerSecond!,
      '',
    ],
    ['C-CDA CPU per document (ms): main thread / other threads / network', cpuSplit(none), cpuSplit(real), ''],
    [
      'deliveries per ledger transaction: sustained FHIR / C-CDA',
      '',
      `${real.sustainedDeliveriesPerTransaction} / ${real.ccdaDeliveriesPerTransaction}`,
      '',
    ],
    [
      'C-CDA conversion alone, p50 / p95 (ms per CCD)',
      `${round(percentile(convertMs, 50), 1)} / ${round(percentile(convertMs, 95), 1)}`,
      '',
      '',
    ],
    ['on-chain state bytes per resource', '', summary.onChainBytesPerResource, `<= ${targets.onChainBytesPerResource}`],
    ['on-chain block bytes per resource (every node)', '', summary.onChainBlockBytesPerResource, ''],
  ];

  // What a delivery's block bytes are made of.
  const tx = chain.transactionPerDelivery;
  const ov = chain.blockOverheadPerDelivery;
  const label: Record<(typeof TRANSACTION_PARTS)[number], string> = {
    creatorCertificates: `creator (client) certificate, ${round(chain.creatorCertificateCopiesPerDelivery, 1)} copies (signature headers)`,
    endorserCertificates: `endorsements: ${round(chain.endorsementsPerDelivery, 1)} endorser certificates`,
    endorsementSignatures: 'endorsements: signatures',
    clientSignature: 'client signature',
    proposalArgs: 'proposal payload: function and arguments',
    readWriteSet: 'read-write set',
    chaincodeEvent: 'chaincode event',
    responsePayload: 'response payload',
    headers: 'channel header, nonces, MSP ids, proposal hash',
    protobufOverhead: 'protobuf tags and lengths, chaincode ids, status',
  };
  const share = (v: number) => `${round((100 * v) / chain.perDelivery, 1)} %`;
  const part = (name: string, perDelivery: number, perResource: number) => [
    name,
    round(perDelivery, 0),
    round(perResource, 2),
    share(perDelivery),
  ];
  const perRes = (perDelivery: number) => (perDelivery * chain.deliveries) / chain.resources;
  const blockRows: (string | number)[][] = [
    ['block bytes, per delivery of the sustained run', 'per delivery', 'per resource', 'share'],
    ...TRANSACTION_PARTS.map((k) => part(`  ${label[k]}`, tx[k], chain.perResourceParts[k])),
    part('transaction envelope', tx.total, perRes(tx.total)),
    part('  block header', ov.header, perRes(ov.header)),
    part('  block signatures: orderer certificates', ov.ordererCertificates, perRes(ov.ordererCertificates)),
    part('  block signatures: signatures', ov.ordererSignatures, perRes(ov.ordererSignatures)),
    part(
      '  validation flags, last config, commit hash, tags',
      ov.transactionsFilter + ov.other,
      perRes(ov.transactionsFilter + ov.other),
    ),
    part('block header and metadata, shared by its transactions', ov.total, chain.perResourceParts.blockOverhead),
    part('total kept by every peer', chain.perDelivery, chain.perResource),
    [
      'for comparison: world state written',
      round(stateBytes / ledgerReads.length, 0),
      round(stateBytes / resourcesOnChain, 2),
      '',
    ],
  ];
  const engine = net.engineDescription();
  process.stdout.write(`\nledger engine: ${engine.engine} (${engine.version})\n${table(rows)}\n`);
  process.stdout.write(
    `\n${chain.deliveries} deliveries in ${chain.transactions} transactions, ${chain.resources} resources, ` +
      `${chain.blocks} blocks (${round((chain.transactions + chain.otherTransactions) / chain.blocks, 1)} ` +
      `transactions per block), ` +
      `read through qscc GetBlockByNumber\n${table(blockRows)}\n`,
  );
  const roundAll = <T extends object>(o: T, digits: number): T =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, typeof v === 'number' ? round(v, digits) : v])) as T;
  const out = {
    benchmark: 'ingest',
    at: new Date().toISOString(),
    durationSeconds: round((performance.now() - began) / 1000, 0),
    machine: machine(),
    // The embedded network's numbers are no claim about Fabric: see the README.
    network: net.engineDescription(),
    workload: {
      smallBundleResources: small.entry.length,
      largestBundleResources: largest.entry.length,
      // samples of the 20-resource ack per side: one per pair
      smallRuns: pairs,
      pairs,
      largeRuns: Number(values.large),
      sustainedBundles: bundles.length * 2,
      ccdaDocuments: Number(values.ccda),
      ccdaDocumentKinds: 'CCD-1.xml (176 KB) and CCD-2.xml (48 KB), alternating, each made new by a comment',
      ccdaConvertMsP50: round(percentile(convertMs, 50), 2),
      ccdaConvertMsP95: round(percentile(convertMs, 95), 2),
      concurrency: Number(values.concurrency),
    },
    results,
    summary,
    targets,
    met: {
      ledgerOverheadAckP50Ms: summary.ledgerOverheadAckP50CiUpperMs <= targets.ledgerOverheadAckP50Ms,
      commitP95Ms: summary.commitP95Ms <= targets.commitP95Ms,
      sustainedResourcesPerSecond: summary.sustainedResourcesPerSecond >= targets.sustainedResourcesPerSecond,
      ccdaDocumentsPerSecond: real.ccdaCommittedDocumentsPerSecond! >= targets.ccdaDocumentsPerSecond,
      onChainBytesPerResource: summary.onChainBytesPerResource <= targets.onChainBytesPerResource,
    },
    judgedOn: {
      ledgerOverheadAckP50Ms:
        'ledgerOverheadAckP50CiUpperMs: the upper bound of the 95 % confidence interval of the median paired difference',
    },
    ledgerOverheadAck: {
      method:
        'paired: the same 20-resource bundle posted to a no-ledger and a real-ledger gateway running at once, ' +
        'in alternating order, each measured post right after another 20-resource post and with no ledger ' +
        'transaction in flight; difference = real ledger − no ledger, pair by pair',
      pairs: overhead.pairs,
      seconds: round(pairsSeconds, 1),
      medianMs: round(overhead.median, 2),
      ci: {
        confidence: overhead.ci.confidence,
        lowerMs: round(overhead.ci.lower, 2),
        upperMs: round(overhead.ci.upper, 2),
        coverage: round(overhead.ci.coverage, 4),
        ranks: [overhead.ci.lowerRank, overhead.ci.upperRank],
        method: 'order statistics of the paired differences (binomial, distribution-free)',
      },
      spreadMs: roundAll(
        {
          p5: overhead.p5,
          p25: overhead.p25,
          p75: overhead.p75,
          p95: overhead.p95,
          mean: overhead.mean,
          sd: overhead.sd,
        },
        2,
      ),
      differenceOfMediansMs: round(real.ack20P50! - none.ack20P50!, 2),
      medianByOrderMs: { noLedgerFirst: round(byOrder(true), 2), realLedgerFirst: round(byOrder(false), 2) },
    },
    blockBytes: {
      source: `qscc GetBlockByNumber on ${hospital.name}'s peer: the blocks that hold the sustained run's transactions`,
      blocks: chain.blocks,
      deliveries: chain.deliveries,
      transactions: chain.transactions,
      // sustained deliveries whose transaction was not found in the blocks read (0 unless something is amiss)
      missingDeliveries: ledgerReads.length - chain.deliveries,
      otherTransactionsInTheseBlocks: chain.otherTransactions,
      resources: chain.resources,
      totalBytes: round(chain.totalBytes, 0),
      perDelivery: round(chain.perDelivery, 1),
      perResource: round(chain.perResource, 2),
      creatorCertificateCopiesPerDelivery: round(chain.creatorCertificateCopiesPerDelivery, 2),
      endorsementsPerDelivery: round(chain.endorsementsPerDelivery, 2),
      transactionPerDelivery: roundAll(chain.transactionPerDelivery, 1),
      blockOverheadPerDelivery: roundAll(chain.blockOverheadPerDelivery, 1),
      perResourceParts: roundAll(chain.perResourceParts, 3),
      worldStatePerDelivery: round(stateBytes / ledgerReads.length, 1),
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
