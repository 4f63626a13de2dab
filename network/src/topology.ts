import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { PATIENTS_MSP_ID } from '@phr/common';

export interface Endpoint {
  host: string;
  port: number;
}
export interface CaNode extends Endpoint {
  operationsPort: number;
}
export interface OrdererNode extends Endpoint {
  name: string;
  adminPort: number;
  operationsPort: number;
}
export interface PeerNode extends Endpoint {
  chaincodeListenPort: number;
  operationsPort: number;
}
export interface Hospital {
  name: string;
  mspId: string;
  displayName: string;
  ca: CaNode;
  peer: PeerNode;
  chaincodeServer: Endpoint;
  /** The hospital's FHIR gateway (HTTPS, mutual TLS). */
  gateway: Endpoint;
}
export interface Topology {
  channel: string;
  chaincode: { name: string; version: string };
  orderers: { mspId: string; ca: CaNode; nodes: OrdererNode[] };
  hospitals: Hospital[];
  patients: { mspId: string; ca: CaNode };
}

export class TopologyError extends Error {
  override readonly name = 'TopologyError';
  readonly code = 'TOPOLOGY_INVALID';
}

type Raw = Record<string, unknown>;

function obj(value: unknown, path: string): Raw {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new TopologyError(`${path} must be a mapping`);
  return value as Raw;
}
function str(value: unknown, path: string, pattern: RegExp, hint: string): string {
  if (typeof value !== 'string' || !pattern.test(value)) throw new TopologyError(`${path} must be ${hint}`);
  return value;
}
function port(value: unknown, path: string): number {
  if (!Number.isInteger(value) || (value as number) < 1 || (value as number) > 65535) {
    throw new TopologyError(`${path} must be a TCP port (1-65535)`);
  }
  return value as number;
}
const NAME = /^[a-z][a-z0-9]{0,30}$/;
const MSP = /^[A-Z][A-Za-z0-9]{0,40}MSP$/;
const HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,251}[A-Za-z0-9])?$/;
const host = (v: unknown, p: string) => str(v, p, HOST, 'a host name or IPv4 address');

function ca(v: unknown, p: string): CaNode {
  const o = obj(v, p);
  return {
    host: host(o.host, `${p}.host`),
    port: port(o.port, `${p}.port`),
    operationsPort: port(o.operationsPort, `${p}.operationsPort`),
  };
}

/** Reads and checks a topology; every later step trusts what this returns. */
export function parseTopology(text: string, source = 'topology'): Topology {
  const root = obj(parse(text), source);
  const chaincode = obj(root.chaincode, 'chaincode');
  const orderers = obj(root.orderers, 'orderers');
  const nodes = orderers.nodes;
  if (!Array.isArray(nodes) || nodes.length < 1)
    throw new TopologyError('orderers.nodes must list at least one orderer');
  if (!Array.isArray(root.hospitals) || root.hospitals.length < 1)
    throw new TopologyError('hospitals must list at least one hospital');
  const patients = obj(root.patients, 'patients');

  const topology: Topology = {
    channel: str(root.channel, 'channel', /^[a-z][a-z0-9.-]{0,48}$/, 'a lower-case channel name'),
    chaincode: {
      name: str(chaincode.name, 'chaincode.name', /^[A-Za-z0-9_-]{1,40}$/, 'a chaincode name'),
      version: str(String(chaincode.version), 'chaincode.version', /^[A-Za-z0-9_.+-]{1,40}$/, 'a version string'),
    },
    orderers: {
      mspId: str(orderers.mspId, 'orderers.mspId', MSP, 'an MSP ID ending in MSP'),
      ca: ca(orderers.ca, 'orderers.ca'),
      nodes: nodes.map((n: unknown, i) => {
        const o = obj(n, `orderers.nodes[${i}]`);
        const p = `orderers.nodes[${i}]`;
        return {
          name: str(o.name, `${p}.name`, NAME, 'lower-case letters and digits'),
          host: host(o.host, `${p}.host`),
          port: port(o.port, `${p}.port`),
          adminPort: port(o.adminPort, `${p}.adminPort`),
          operationsPort: port(o.operationsPort, `${p}.operationsPort`),
        };
      }),
    },
    hospitals: (root.hospitals as unknown[]).map((h, i) => {
      const p = `hospitals[${i}]`;
      const o = obj(h, p);
      const peer = obj(o.peer, `${p}.peer`);
      const cc = obj(o.chaincodeServer, `${p}.chaincodeServer`);
      const gw = obj(o.gateway, `${p}.gateway`);
      return {
        name: str(o.name, `${p}.name`, NAME, 'lower-case letters and digits'),
        mspId: str(o.mspId, `${p}.mspId`, MSP, 'an MSP ID ending in MSP'),
        displayName: str(
          o.displayName ?? o.name,
          `${p}.displayName`,
          /^[\p{L}\p{N} .,'&()-]{2,100}$/u,
          'a display name',
        ),
        ca: ca(o.ca, `${p}.ca`),
        peer: {
          host: host(peer.host, `${p}.peer.host`),
          port: port(peer.port, `${p}.peer.port`),
          chaincodeListenPort: port(peer.chaincodeListenPort, `${p}.peer.chaincodeListenPort`),
          operationsPort: port(peer.operationsPort, `${p}.peer.operationsPort`),
        },
        chaincodeServer: {
          host: host(cc.host, `${p}.chaincodeServer.host`),
          port: port(cc.port, `${p}.chaincodeServer.port`),
        },
        gateway: { host: host(gw.host, `${p}.gateway.host`), port: port(gw.port, `${p}.gateway.port`) },
      };
    }),
    patients: {
      mspId: str(patients.mspId, 'patients.mspId', MSP, 'an MSP ID ending in MSP'),
      ca: ca(patients.ca, 'patients.ca'),
    },
  };
  if (topology.patients.mspId !== PATIENTS_MSP_ID) {
    throw new TopologyError(`patients.mspId must be ${PATIENTS_MSP_ID}: the chaincode recognises patients by it`);
  }
  checkUnique(topology);
  return topology;
}

function checkUnique(t: Topology): void {
  const names = [...t.orderers.nodes.map((n) => n.name), ...t.hospitals.map((h) => h.name), 'orderer', 'patients'];
  const msps = [t.orderers.mspId, t.patients.mspId, ...t.hospitals.map((h) => h.mspId)];
  for (const [what, list] of [
    ['name', names],
    ['mspId', msps],
  ] as const) {
    const dup = list.find((v, i) => list.indexOf(v) !== i);
    if (dup) throw new TopologyError(`${what} ${dup} is used twice`);
  }
  const endpoints = allEndpoints(t);
  const seen = new Map<string, string>();
  for (const [label, hostName, p] of endpoints) {
    const key = `${hostName}:${p}`;
    const other = seen.get(key);
    if (other) throw new TopologyError(`${label} and ${other} both use ${key}`);
    seen.set(key, label);
  }
}

/** Every listening endpoint, labelled: used for the uniqueness check and the summary. */
export function allEndpoints(t: Topology): [string, string, number][] {
  const out: [string, string, number][] = [];
  const cas: [string, CaNode][] = [
    ['orderer', t.orderers.ca],
    ['patients', t.patients.ca],
    ...t.hospitals.map((h) => [h.name, h.ca] as [string, CaNode]),
  ];
  for (const [org, c] of cas)
    out.push([`ca.${org}`, c.host, c.port], [`ca.${org} operations`, c.host, c.operationsPort]);
  for (const n of t.orderers.nodes) {
    out.push(
      [n.name, n.host, n.port],
      [`${n.name} admin`, n.host, n.adminPort],
      [`${n.name} operations`, n.host, n.operationsPort],
    );
  }
  for (const h of t.hospitals) {
    out.push(
      [`peer0.${h.name}`, h.peer.host, h.peer.port],
      [`peer0.${h.name} chaincode listener`, h.peer.host, h.peer.chaincodeListenPort],
      [`peer0.${h.name} operations`, h.peer.host, h.peer.operationsPort],
      [`chaincode.${h.name}`, h.chaincodeServer.host, h.chaincodeServer.port],
      [`gateway.${h.name}`, h.gateway.host, h.gateway.port],
    );
  }
  return out;
}

export function loadTopology(file: string): Topology {
  return parseTopology(readFileSync(file, 'utf8'), file);
}

/** Majority of hospitals: more than half. The patients org has no peers and is not counted. */
export function endorsementQuorum(t: Topology): number {
  return Math.floor(t.hospitals.length / 2) + 1;
}

export function endorsementPolicy(t: Topology): string {
  const peers = t.hospitals.map((h) => `'${h.mspId}.peer'`).join(',');
  return `OutOf(${endorsementQuorum(t)},${peers})`;
}
