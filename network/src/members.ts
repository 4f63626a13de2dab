import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Topology } from './topology';

/**
 * Who is in the channel and what this machine runs of it.
 *
 * - Members: the hospitals in the channel — the founders, written when the genesis block is made,
 *   and each hospital admitted since. A hospital may be described in the topology before it joins
 *   (`make network-up ORG=<name>` then makes it a member).
 * - Local hospitals: those whose nodes (CA, peer, chaincode, gateway) run from this state folder.
 *   On one machine, every member; on a joining hospital's machine, that hospital only.
 * - The core (orderers and the patients' CA) runs where the network was created; a state folder
 *   made from a network kit (`make network-kit` on the core's machine) runs no core.
 */
export function membersFile(stateDir: string): string {
  return join(stateDir, 'channel', 'members');
}

export function localFile(stateDir: string): string {
  return join(stateDir, 'local-hospitals');
}

/** Present in a state folder made from another machine's network kit. */
export function kitMarker(stateDir: string): string {
  return join(stateDir, 'kit', 'kit.env');
}

function readList(file: string): string[] | undefined {
  if (!existsSync(file)) return undefined;
  return readFileSync(file, 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean);
}

function writeList(file: string, names: readonly string[]): void {
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(`${file}.tmp`, `${[...new Set(names)].join('\n')}\n`);
  renameSync(`${file}.tmp`, file);
}

/** The member hospitals' names, or undefined before the channel exists. */
export function readMembers(stateDir: string): string[] | undefined {
  return readList(membersFile(stateDir));
}

export function writeMembers(stateDir: string, members: readonly string[]): void {
  writeList(membersFile(stateDir), members);
}

/** The hospitals run from this state folder, or undefined when none was recorded (all members). */
export function readLocal(stateDir: string): string[] | undefined {
  return readList(localFile(stateDir));
}

export function writeLocal(stateDir: string, names: readonly string[]): void {
  writeList(localFile(stateDir), names);
}

export function runsCore(stateDir: string): boolean {
  return !existsSync(kitMarker(stateDir));
}

/** The topology as the channel knows it: only member hospitals (all of them before the channel exists). */
export function memberTopology(t: Topology, members: readonly string[] | undefined): Topology {
  if (!members) return t;
  return { ...t, hospitals: t.hospitals.filter((h) => members.includes(h.name)) };
}

/** Members, local hospitals and core of a state folder; `joining` counts as a member and local. */
export interface Roles {
  members: string[];
  local: string[];
  core: boolean;
}

export function rolesOf(t: Topology, stateDir: string | undefined, joining?: string): Roles {
  const all = t.hospitals.map((h) => h.name);
  const members = (stateDir && readMembers(stateDir)) || (stateDir && !runsCore(stateDir) ? [] : all);
  const local = (stateDir && readLocal(stateDir)) || (stateDir && !runsCore(stateDir) ? [] : members);
  const withJoining = (l: string[]) => (joining && !l.includes(joining) ? [...l, joining] : l);
  return {
    members: withJoining(members).filter((n) => all.includes(n)),
    local: withJoining(local).filter((n) => all.includes(n)),
    core: stateDir ? runsCore(stateDir) : true,
  };
}
