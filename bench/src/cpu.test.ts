import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureCpu } from './cpu';

/** A shell whose pid file the "network" keeps, running a child that burns CPU, as chaincode.sh runs its server. */
function shellWithBusyChild(burnMs: number) {
  const script = `node -e 'const end = Date.now() + ${burnMs}; while (Date.now() < end) {}'; sleep 0.2`;
  return spawn('bash', ['-c', script], { stdio: 'ignore' });
}

const onLinux = process.platform === 'linux' ? it : it.skip;

describe('measureCpu', () => {
  let state: string;
  beforeEach(() => {
    state = mkdtempSync(join(tmpdir(), 'phr-bench-cpu-'));
    mkdirSync(join(state, 'pids'));
  });
  afterEach(() => rmSync(state, { recursive: true, force: true }));

  onLinux('charges the network for the children of the processes it keeps pid files for', async () => {
    const shell = shellWithBusyChild(600);
    writeFileSync(join(state, 'pids', 'chaincode.pid'), String(shell.pid));
    const split = measureCpu(state);
    // Read while the child runs: once it exits, its CPU is no longer any process's own.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const { networkMs } = split();
    await new Promise((resolve) => shell.once('exit', resolve));
    expect(networkMs).toBeGreaterThan(250);
  });

  onLinux('counts nothing for a pid file whose process is gone', () => {
    writeFileSync(join(state, 'pids', 'gone.pid'), '999999999');
    expect(measureCpu(state)().networkMs).toBe(0);
  });
});
