import { cpus } from 'node:os';

/** The machine a benchmark ran on, as its JSON records it: cores, CPU model, Node.js and its flags. */
export function machine(): { cpus: number; model: string | undefined; node: string; nodeFlags: string[] } {
  return { cpus: cpus().length, model: cpus()[0]?.model, node: process.version, nodeFlags: process.execArgv };
}
