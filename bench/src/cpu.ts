import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** CPU time in milliseconds spent, over a stretch of the run, by the parts of the system. */
export interface CpuSplit {
  /** The bench process's main thread: the gateway's event loop and the posting client alike. */
  mainThreadMs: number;
  /** The rest of the bench process: the ingest worker threads, V8's GC and compiler helpers. */
  otherThreadsMs: number;
  /** The network's own processes and what they started (peers, orderers, chaincode servers, the other gateways, CAs); Linux only. */
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

/** The session (field 6 of /proc/<pid>/stat) and the CPU a process used, its own and its reaped children's. */
function readStat(pid: string): { session: string; ms: number } | undefined {
  const ticksPerMs = 100 / 1000; // USER_HZ is 100 on every Linux Node supports
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces; the fields after its closing parenthesis do not.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime, stime, cutime, cstime: fields 14-17. A child that exits moves its time to its parent's
    // cutime/cstime, so a sum over the live processes stays continuous.
    const ticks = [11, 12, 13, 14].reduce((sum, i) => sum + Number(fields[i]), 0);
    return { session: fields[3] ?? '', ms: ticks / ticksPerMs };
  } catch {
    return undefined; // a process that is not running uses no CPU
  }
}

/**
 * The CPU of every process in the sessions the network's processes lead, in milliseconds: each is
 * started in a session of its own (lib.sh `start_process`, setsid) and its pid file names the
 * leader. The session takes in what a process starts, such as a chaincode server under the shell
 * loop that restarts it, and a pid file whose pid was reused by another process counts nothing.
 */
function networkMillis(stateDir: string): number | undefined {
  if (process.platform !== 'linux') return undefined;
  let files: string[];
  try {
    files = readdirSync(join(stateDir, 'pids')).filter((f) => f.endsWith('.pid'));
  } catch {
    return undefined;
  }
  const leaders = new Set<string>();
  for (const file of files) {
    try {
      leaders.add(readFileSync(join(stateDir, 'pids', file), 'utf8').trim());
    } catch {
      // removed while it was read: the process stopped
    }
  }
  let total = 0;
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    const stat = readStat(pid);
    if (stat && leaders.has(stat.session)) total += stat.ms;
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
