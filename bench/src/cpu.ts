import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** CPU time in milliseconds spent, over a stretch of the run, by the parts of the system. */
export interface CpuSplit {
  /** The bench process's main thread: the gateway's event loop and the posting client alike. */
  mainThreadMs: number;
  /** The rest of the bench process: the ingest worker threads, V8's GC and compiler helpers. */
  otherThreadsMs: number;
  /** The network's own processes (peers, orderers, chaincode, the other gateways, CAs); Linux only. */
  networkMs: number | undefined;
}

interface Snapshot {
  main: number;
  process: number;
  network: number | undefined;
}

/** `process.threadCpuUsage` is Node ≥ 23.9: the main thread's own share, in microseconds. */
function mainThreadMicros(): number {
  const own = (process as { threadCpuUsage?: () => NodeJS.CpuUsage }).threadCpuUsage?.();
  return own ? own.user + own.system : Number.NaN;
}

/** utime + stime of every process whose pid file the network keeps, in milliseconds. */
function networkMillis(stateDir: string): number | undefined {
  if (process.platform !== 'linux') return undefined;
  const ticksPerMs = 100 / 1000; // USER_HZ is 100 on every Linux Node supports
  let total = 0;
  let dir: string[];
  try {
    dir = readdirSync(join(stateDir, 'pids')).filter((f) => f.endsWith('.pid'));
  } catch {
    return undefined;
  }
  for (const file of dir) {
    try {
      const pid = readFileSync(join(stateDir, 'pids', file), 'utf8').trim();
      // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      total += (Number(fields[11]) + Number(fields[12])) / ticksPerMs;
    } catch {
      // a process that is not running uses no CPU
    }
  }
  return total;
}

/** Starts measuring; the returned function gives the split since then. */
export function measureCpu(stateDir: string): () => CpuSplit {
  const take = (): Snapshot => {
    const usage = process.cpuUsage();
    return {
      main: mainThreadMicros() / 1000,
      process: (usage.user + usage.system) / 1000,
      network: networkMillis(stateDir),
    };
  };
  const start = take();
  return () => {
    const end = take();
    const mainThreadMs = end.main - start.main;
    return {
      mainThreadMs,
      otherThreadsMs: end.process - start.process - mainThreadMs,
      networkMs: end.network === undefined || start.network === undefined ? undefined : end.network - start.network,
    };
  };
}
