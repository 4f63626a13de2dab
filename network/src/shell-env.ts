import type { Roles } from './members';
import { endorsementPolicy, type Topology } from './topology';

const q = (v: string | number): string => `'${String(v).replace(/'/g, `'\\''`)}'`;

/**
 * The topology as bash assignments, so each process script reads plain variables instead of
 * parsing YAML. Names are validated as [a-z][a-z0-9]*, which makes them safe in variable names.
 */
export function toShellEnv(
  t: Topology,
  roles: Roles = { members: t.hospitals.map((h) => h.name), local: t.hospitals.map((h) => h.name), core: true },
): string {
  const { members, local, core } = roles;
  const channel: Topology = { ...t, hospitals: t.hospitals.filter((h) => members.includes(h.name)) };
  const lines: string[] = ['# generated from the topology file; do not edit'];
  const set = (name: string, value: string | number) => lines.push(`${name}=${q(value)}`);
  const arr = (name: string, values: string[]) => lines.push(`${name}=(${values.map(q).join(' ')})`);

  set('PHR_CHANNEL', t.channel);
  set('PHR_CC_NAME', t.chaincode.name);
  set('PHR_CC_VERSION', t.chaincode.version);
  // The chaincode's policy: a majority of the channel's member hospitals.
  set('PHR_ENDORSEMENT_POLICY', endorsementPolicy(channel));
  set('PHR_PATIENTS_MSP', t.patients.mspId);
  set('PHR_ORDERER_MSP', t.orderers.mspId);

  const cas: [string, string, Topology['patients']['ca']][] = [
    ['orderer', t.orderers.mspId, t.orderers.ca],
    ['patients', t.patients.mspId, t.patients.ca],
    ...t.hospitals.map((h) => [h.name, h.mspId, h.ca] as [string, string, Topology['patients']['ca']]),
  ];
  // The CAs this machine runs: the orderer's and the patients' where the core runs, and its hospitals'.
  arr(
    'PHR_CA_ORGS',
    cas.map(([org]) => org).filter((org) => ((org === 'orderer' || org === 'patients') && core) || local.includes(org)),
  );
  // 1 where the orderers and the patients' CA run (the machine that created the network).
  set('PHR_CORE', core ? 1 : 0);
  for (const [org, msp, ca] of cas) {
    set(`CA_${org}_MSP`, msp);
    set(`CA_${org}_HOST`, ca.host);
    set(`CA_${org}_PORT`, ca.port);
    set(`CA_${org}_OPS_PORT`, ca.operationsPort);
  }

  arr(
    'PHR_ORDERERS',
    t.orderers.nodes.map((n) => n.name),
  );
  for (const n of t.orderers.nodes) {
    set(`ORDERER_${n.name}_HOST`, n.host);
    set(`ORDERER_${n.name}_PORT`, n.port);
    set(`ORDERER_${n.name}_ADMIN_PORT`, n.adminPort);
    set(`ORDERER_${n.name}_OPS_PORT`, n.operationsPort);
  }

  arr(
    'PHR_HOSPITALS',
    t.hospitals.map((h) => h.name),
  );
  // The hospitals that are members of the channel (the rest of PHR_HOSPITALS may join later).
  arr('PHR_MEMBERS', [...members]);
  // The member hospitals whose nodes run from this state folder.
  arr('PHR_LOCAL', [...local]);
  for (const h of t.hospitals) {
    set(`HOSPITAL_${h.name}_MSP`, h.mspId);
    set(`HOSPITAL_${h.name}_DISPLAY`, h.displayName);
    set(`HOSPITAL_${h.name}_PEER_HOST`, h.peer.host);
    set(`HOSPITAL_${h.name}_PEER_PORT`, h.peer.port);
    set(`HOSPITAL_${h.name}_PEER_CC_PORT`, h.peer.chaincodeListenPort);
    set(`HOSPITAL_${h.name}_PEER_OPS_PORT`, h.peer.operationsPort);
    set(`HOSPITAL_${h.name}_CC_HOST`, h.chaincodeServer.host);
    set(`HOSPITAL_${h.name}_CC_PORT`, h.chaincodeServer.port);
    set(`HOSPITAL_${h.name}_GW_HOST`, h.gateway.host);
    set(`HOSPITAL_${h.name}_GW_PORT`, h.gateway.port);
  }
  return lines.join('\n') + '\n';
}
