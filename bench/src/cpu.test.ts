import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { measureCpu } from './cpu';

/**
 * A shell whose pid file the "network" keeps, running a child that burns `burnMs` of its own CPU once
 * `go` exists, then writes `done` and stays alive, as chaincode.sh runs its server. The child's CPU is
 * counted in CPU time, not wall time, so a loaded machine only makes the test slower. (The second command
 * keeps bash from exec-ing node in its place, and bash waits for, and so reaps, its child.)
 */
function shellWithBusyChild(dir: string, burnMs: number, then: 'stay' | 'exit' = 'stay') {
  const child = `
    const fs = require('fs');
    const wait = () => { if (!fs.existsSync(${JSON.stringify(join(dir, 'go'))})) return setTimeout(wait, 10); burn(); };
    const burn = () => {
      const start = process.cpuUsage();
      for (let used = 0; used < ${burnMs * 1000}; ) { const u = process.cpuUsage(start); used = u.user + u.system; }
      fs.writeFileSync(${JSON.stringify(join(dir, 'done'))}, '');
      if (${JSON.stringify(then)} === 'stay') setTimeout(() => undefined, 60_000);
    };
    wait();`;
  return spawn('bash', ['-c', 'node -e "$CHILD"; sleep 60'], {
    stdio: 'ignore',
    detached: true,
    env: { ...process.env, CHILD: child },
  });
}

/** The pids of the session `leader` leads. */
function processesIn(leader: number): number[] {
  return readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((pid) => {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
        return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[3] === String(leader);
      } catch {
        return false;
      }
    })
    .map(Number);
}

async function until(condition: () => boolean, ms: number): Promise<void> {
  for (const end = Date.now() + ms; !condition();) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
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
    const shell = shellWithBusyChild(state, 400);
    try {
      writeFileSync(join(state, 'pids', 'chaincode.pid'), String(shell.pid));
      const split = measureCpu(state);
      writeFileSync(join(state, 'go'), '');
      // Read while the child still runs: once it exits, its CPU is no longer any process's own.
      await until(() => existsSync(join(state, 'done')), 60_000);
      expect(split().networkMs).toBeGreaterThanOrEqual(350);
    } finally {
      process.kill(-(shell.pid as number), 'SIGKILL');
    }
  });

  onLinux('still counts a child that exited between the two readings (its parent reaped it)', async () => {
    const shell = shellWithBusyChild(state, 400, 'exit');
    try {
      writeFileSync(join(state, 'pids', 'chaincode.pid'), String(shell.pid));
      const split = measureCpu(state);
      writeFileSync(join(state, 'go'), '');
      await until(() => existsSync(join(state, 'done')), 60_000);
      await until(() => !processesIn(shell.pid as number).some((pid) => pid !== shell.pid), 10_000);
      expect(split().networkMs).toBeGreaterThanOrEqual(350);
    } finally {
      process.kill(-(shell.pid as number), 'SIGKILL');
    }
  });

  onLinux('counts nothing for a pid file whose process is gone', () => {
    writeFileSync(join(state, 'pids', 'gone.pid'), '999999999');
    expect(measureCpu(state)().networkMs).toBe(0);
  });
});
