import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { Agent as Dispatcher } from 'undici';
import { stringify } from 'yaml';
import { NetworkState } from '@phr/network';

export const ROOT = resolve(__dirname, '..', '..');
export const SCRIPTS = join(ROOT, 'network', 'scripts');
const run = promisify(execFile);

/** Every port this process has handed out: a topology is drawn in several calls, and the OS may offer a port again once its probe closes. */
const handedOut = new Set<number>();

function listenAnywhere(): Promise<ReturnType<typeof createServer>> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => ok(s));
  });
}

/** Ports the OS says are free right now, distinct from each other and from any this process handed out before. */
export async function freePorts(count: number): Promise<number[]> {
  const held: ReturnType<typeof createServer>[] = [];
  const ports: number[] = [];
  try {
    // Probes stay open until the end, so the OS cannot offer the same port twice in one call.
    while (ports.length < count) {
      if (held.length > count + 1000) throw new Error(`freePorts: no ${count} fresh ports after ${held.length} probes`);
      const s = await listenAnywhere();
      held.push(s);
      const a = s.address();
      if (!a || typeof a === 'string') throw new Error('no port');
      if (!handedOut.has(a.port)) ports.push(a.port);
    }
  } finally {
    await Promise.all(held.map((s) => new Promise((ok) => s.close(ok))));
  }
  for (const port of ports) handedOut.add(port);
  return ports;
}

export interface TestHospital {
  name: string;
  mspId: string;
  displayName: string;
  ca: { host: string; port: number; operationsPort: number };
  peer: { host: string; port: number; chaincodeListenPort: number; operationsPort: number };
  chaincodeServer: { host: string; port: number };
  gateway: { host: string; port: number };
}

/** Hospital n on fresh ports at `host`. */
export async function testHospital(n: number, host = '127.0.0.1'): Promise<TestHospital> {
  const [a, b, c, d, e, f, g] = await freePorts(7);
  return {
    name: `hospital${n}`,
    mspId: `Hospital${n}MSP`,
    displayName: `Hospital ${n}`,
    ca: { host, port: a as number, operationsPort: b as number },
    peer: { host, port: c as number, chaincodeListenPort: d as number, operationsPort: e as number },
    chaincodeServer: { host, port: f as number },
    gateway: { host, port: g as number },
  };
}

/** A topology of two founding hospitals (the default shape) on fresh ports; nodes on `host`. */
export async function testTopology(host = '127.0.0.1'): Promise<{
  channel: string;
  chaincode: { name: string; version: string };
  orderers: {
    mspId: string;
    ca: TestHospital['ca'];
    nodes: { name: string; host: string; port: number; adminPort: number; operationsPort: number }[];
  };
  hospitals: TestHospital[];
  patients: { mspId: string; ca: TestHospital['ca'] };
}> {
  const p = await freePorts(13);
  let i = 0;
  const next = () => p[i++] as number;
  const ca = () => ({ host, port: next(), operationsPort: next() });
  return {
    channel: 'phr',
    chaincode: { name: 'phr', version: '1.0' },
    orderers: {
      mspId: 'OrdererMSP',
      ca: ca(),
      nodes: [1, 2, 3].map((n) => ({
        name: `orderer${n}`,
        host,
        port: next(),
        adminPort: next(),
        operationsPort: next(),
      })),
    },
    hospitals: [await testHospital(1, host), await testHospital(2, host)],
    patients: { mspId: 'PatientsMSP', ca: ca() },
  };
}

/** The default topology's shape on fresh ports, in a fresh folder: never collides with a developer's network. */
export async function makeTestNetworkDir(): Promise<{ dir: string; topology: string; state: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'phr-e2e-'));
  const file = join(dir, 'topology.yaml');
  writeFileSync(file, stringify(await testTopology()));
  return { dir, topology: file, state: join(dir, 'state') };
}

export function networkEnv(): NodeJS.ProcessEnv {
  return { ...process.env, PHR_ROOT: ROOT };
}

/** Runs a network script against the test network (PHR_STATE / PHR_TOPOLOGY from the environment). */
export async function script(name: string, ...args: string[]): Promise<string> {
  const { stdout } = await run(join(SCRIPTS, name), args, { env: networkEnv(), maxBuffer: 16 * 1024 * 1024 });
  return stdout;
}

/**
 * Runs a network script against another network than the suite's (its own state and topology),
 * optionally through a command prefix (`ip netns exec NAME`). Gives stdout and stderr together,
 * and the exit code rather than throwing.
 */
export async function scriptAt(
  net: { topology: string; state: string; env?: NodeJS.ProcessEnv; prefix?: string[] },
  name: string,
  ...args: string[]
): Promise<{ code: number; output: string }> {
  const env = { ...networkEnv(), ...net.env, PHR_TOPOLOGY: net.topology, PHR_STATE: net.state };
  const [cmd, ...pre] = [...(net.prefix ?? []), join(SCRIPTS, name)];
  try {
    const { stdout, stderr } = await run(cmd, [...pre, ...args], { env, maxBuffer: 16 * 1024 * 1024 });
    return { code: 0, output: stdout + stderr };
  } catch (err) {
    const e = err as { code?: number; stdout?: string; stderr?: string };
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}` };
  }
}

/** Polls `fn` until it gives a value: the network settles (gossip, blocks) on its own time. */
export async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** What `syncUntilStored` needs of a patient's agent (structural, so the harness does not depend on the agent). */
export interface SyncingAgent {
  sync(options: { waitMs?: number }): Promise<unknown>;
  deliveries(): Promise<{ deliveryId: string }[]>;
}

/** Syncs until every delivery is stored (the gateway's outbox commits each within a block or two). */
export async function syncUntilStored(agent: SyncingAgent, deliveryIds: readonly string[]): Promise<void> {
  await until(
    'the deliveries to be stored',
    async () => {
      await agent.sync({ waitMs: 2000 });
      const have = new Set((await agent.deliveries()).map((d) => d.deliveryId));
      return deliveryIds.every((id) => have.has(id)) ? true : undefined;
    },
    120_000,
  );
}

/** This run's network: the state folder and topology global-setup made (PHR_STATE, PHR_TOPOLOGY). */
export const state = (): NetworkState => NetworkState.load(process.env.PHR_TOPOLOGY, process.env.PHR_STATE);

/** The base URL of `hospital`'s gateway, where the topology puts it. */
export function gatewayUrl(hospital: string, s: NetworkState = state()): string {
  const h = s.topology.hospitals.find((x) => x.name === hospital);
  if (!h) throw new Error(`no ${hospital} in the topology`);
  return `https://${h.gateway.host}:${h.gateway.port}`;
}

/**
 * An HTTPS client with mutual TLS as `org`'s `identity`, trusting `caOrg`'s CA (the organisation
 * whose gateway it calls); `options` go to undici's Agent.
 */
export function mutualTls(
  org: string,
  identity: string,
  caOrg: string,
  options: { state?: NetworkState; keepAliveTimeout?: number } = {},
): Dispatcher {
  const s = options.state ?? state();
  const id = s.identity(org, identity);
  return new Dispatcher({
    connect: {
      ca: readFileSync(join(s.dir, 'orgs', caOrg, 'msp', 'cacerts', 'ca.pem'), 'utf8'),
      cert: id.certificatePem,
      key: id.privateKeyPem,
    },
    ...(options.keepAliveTimeout !== undefined ? { keepAliveTimeout: options.keepAliveTimeout } : {}),
  });
}

/** The parts of a Synthea transaction bundle the suites read and change. */
export interface SyntheaBundle {
  resourceType: 'Bundle';
  type: string;
  identifier?: { system: string; value: string };
  entry: {
    fullUrl?: string;
    resource: {
      resourceType: string;
      identifier?: { system?: string; value?: string; type?: { coding?: { code?: string }[] } }[];
    };
  }[];
}

/** The Patient's MRN identifier itself (type MR), to read or to change in place. */
export function mrnIdentifier(b: SyntheaBundle): { system: string; value: string } {
  const mrn = b.entry
    .find((e) => e.resource.resourceType === 'Patient')
    ?.resource.identifier?.find((i) => i.type?.coding?.some((c) => c.code === 'MR'));
  if (!mrn?.system || !mrn.value) throw new Error('the bundle has no MRN');
  return mrn as { system: string; value: string };
}

/** The Patient's MRN, as the hospital's admin links it. */
export function mrnOf(b: SyntheaBundle): { system: string; value: string } {
  const { system, value } = mrnIdentifier(b);
  return { system, value };
}

/**
 * A copy of `b` for another patient (MRN suffixed with `tag`), cut to the Patient, the resources
 * it and its observations refer to (Encounter, Organization, Practitioner, Location) and its first
 * `observations` Observations: a small bundle that references nothing missing.
 */
export function patientVariant(b: SyntheaBundle, tag: string, observations: number): SyntheaBundle {
  const copy = structuredClone(b);
  const mrn = mrnIdentifier(copy);
  mrn.value = `${mrn.value}-${tag}`;
  const keep = copy.entry.filter((e) =>
    ['Patient', 'Encounter', 'Organization', 'Practitioner', 'Location'].includes(e.resource.resourceType),
  );
  const obs = copy.entry.filter((e) => e.resource.resourceType === 'Observation').slice(0, observations);
  return { ...copy, entry: [...keep, ...obs] };
}

/** Runs `fn` over `items`, `size` at a time; the results in the items' order. */
export async function inBatches<T, R>(items: readonly T[], size: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array<R>(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(size, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T);
      }
    }),
  );
  return out;
}
