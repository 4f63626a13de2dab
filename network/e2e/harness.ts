import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { stringify } from 'yaml';

export const ROOT = resolve(__dirname, '..', '..');
export const SCRIPTS = join(ROOT, 'network', 'scripts');
const run = promisify(execFile);

/** Ports the OS says are free right now, all distinct. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<ReturnType<typeof createServer>>((ok, fail) => {
          const s = createServer();
          s.once('error', fail);
          s.listen(0, '127.0.0.1', () => ok(s));
        }),
    ),
  );
  const ports = servers.map((s) => {
    const a = s.address();
    if (!a || typeof a === 'string') throw new Error('no port');
    return a.port;
  });
  await Promise.all(servers.map((s) => new Promise((ok) => s.close(ok))));
  return ports;
}

/** The default topology's shape on fresh ports, in a fresh folder: never collides with a developer's network. */
export async function makeTestNetworkDir(): Promise<{ dir: string; topology: string; state: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'phr-e2e-'));
  const p = await freePorts(28);
  let i = 0;
  const next = () => p[i++] as number;
  const host = '127.0.0.1';
  const ca = () => ({ host, port: next(), operationsPort: next() });
  const topology = {
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
    hospitals: [1, 2].map((n) => ({
      name: `hospital${n}`,
      mspId: `Hospital${n}MSP`,
      displayName: `Hospital ${n}`,
      ca: ca(),
      peer: { host, port: next(), chaincodeListenPort: next(), operationsPort: next() },
      chaincodeServer: { host, port: next() },
      gateway: { host, port: next() },
    })),
    patients: { mspId: 'PatientsMSP', ca: ca() },
  };
  const file = join(dir, 'topology.yaml');
  writeFileSync(file, stringify(topology));
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
