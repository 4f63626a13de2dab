import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** CPU time in milliseconds spent, over a stretch of the run, by the parts of the system. */
export interface CpuSplit {
  /** The bench process's main thread: the gateway's event loop and the posting client alike. */
  mainThreadMs: number;
  /** The rest of the bench process: the ingest worker threads, V8's GC and compiler helpers. */
  otherThreadsMs: number;
  /** The network's own processes and their children (peers, orderers, chaincode servers, the other gateways, CAs); Linux only. */
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

/** utime + stime (fields 14 and 15 of /proc/<pid>/stat) and the parent's pid (field 4). */
function readStat(pid: string): { ppid: string; ms: number } | undefined {
  const ticksPerMs = 100 / 1000; // USER_HZ is 100 on every Linux Node supports
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { ppid: fields[1] ?? '', ms: (Number(fields[11]) + Number(fields[12])) / ticksPerMs };
  } catch {
    return undefined; // a process that is not running uses no CPU
  }
}

/**
 * utime + stime of every process whose pid file the network keeps and of all their descendants, in
 * milliseconds: a chaincode server is the child of the shell loop that restarts it, and a process
 * is charged only for its own CPU.
 */
function networkMillis(stateDir: string): number | undefined {
  if (process.platform !== 'linux') return undefined;
  let files: string[];
  try {
    files = readdirSync(join(stateDir, 'pids')).filter((f) => f.endsWith('.pid'));
  } catch {
    return undefined;
  }
  const stats = new Map<string, { ppid: string; ms: number }>();
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const stat = readStat(pid);
    if (stat) stats.set(pid, stat);
  }
  const children = new Map<string, string[]>();
  for (const [pid, { ppid }] of stats) children.set(ppid, [...(children.get(ppid) ?? []), pid]);
  const counted = new Set<string>();
  const pending = files.map((f) => {
    try {
      return readFileSync(join(stateDir, 'pids', f), 'utf8').trim();
    } catch {
      return '';
    }
  });
  let total = 0;
  for (let pid = pending.pop(); pid !== undefined; pid = pending.pop()) {
    if (pid === '' || counted.has(pid)) continue;
    counted.add(pid);
    total += stats.get(pid)?.ms ?? 0;
    pending.push(...(children.get(pid) ?? []));
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
