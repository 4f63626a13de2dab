#!/usr/bin/env node
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { agentProfile } from './agent-profile';
import { configtx, organizationConfigtx } from './configtx';
import { gatewayConfig } from './gateway-config';
import { toShellEnv } from './shell-env';
import { memberTopology, readLocal, readMembers, rolesOf, writeLocal, writeMembers } from './members';
import { ensureNetworkIdentities, networkIdentities, OrgFolders } from './network-identities';
import { allEndpoints, loadTopology, TopologyError } from './topology';

const USAGE = `usage: phr-topology <command> --topology FILE [--state DIR] [--with HOSPITAL]
  (with --state, only the channel's member hospitals count; --with adds one that is joining)
  env        print the topology as bash variables
  configtx [--engine fabric|embedded]   write DIR/channel/configtx.yaml for configtxgen or the embedded network
  endpoints  print every endpoint, one per line
  org-configtx --hospital NAME --msp-dir DIR   the hospital's organisation alone, for configtxgen -printOrg
  roles [--add-member H] [--add-local H] [--members-msp A,B]   record (or print) the channel's members
                 and the hospitals run here; --members-msp sets the members from the channel's MSP ids
  gateway-config --hospital NAME   write DIR/gateways/NAME/gateway.json
  agent-profile  write DIR/agent-profile.json (what a patient's agent needs to join)
  identities     issue what is missing of the network's identities at the organisations' CAs
  identity --org ORG --name NAME --type client|admin --attrs A [--hosts h1,h2]
                 issue one more identity (enroll.sh); prints "enrolled" or "already enrolled"`;

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      topology: { type: 'string' },
      state: { type: 'string' },
      hospital: { type: 'string' },
      engine: { type: 'string' },
      with: { type: 'string' },
      org: { type: 'string' },
      name: { type: 'string' },
      type: { type: 'string' },
      attrs: { type: 'string' },
      hosts: { type: 'string' },
      'msp-dir': { type: 'string' },
      'add-member': { type: 'string' },
      'add-local': { type: 'string' },
      'members-msp': { type: 'string' },
    },
  });
  const [command] = positionals;
  if (!command || !values.topology) throw new TopologyError(USAGE);
  const full = loadTopology(values.topology);
  // The channel's member hospitals (all of the topology's before the channel exists), plus a
  // hospital that is joining when --with names it.
  if (values.with && !full.hospitals.some((h) => h.name === values.with)) {
    throw new TopologyError(`hospital ${values.with} is not in the topology`);
  }
  const roles = rolesOf(full, values.state, values.with);
  const topology = memberTopology(full, roles.members);
  switch (command) {
    case 'env':
      process.stdout.write(toShellEnv(full, roles));
      return;
    case 'configtx': {
      if (!values.state) throw new TopologyError('configtx needs --state DIR');
      const dir = join(values.state, 'channel');
      mkdirSync(dir, { recursive: true });
      const engine = values.engine ?? 'fabric';
      if (engine !== 'fabric' && engine !== 'embedded') throw new TopologyError('--engine must be fabric or embedded');
      writeFileSync(join(dir, 'configtx.yaml'), configtx(topology, values.state, engine));
      return;
    }
    case 'gateway-config': {
      if (!values.state || !values.hospital)
        throw new TopologyError('gateway-config needs --state DIR --hospital NAME');
      const dir = join(values.state, 'gateways', values.hospital);
      mkdirSync(dir, { recursive: true });
      const file = join(dir, 'gateway.json');
      writeFileSync(file, JSON.stringify(gatewayConfig(topology, values.state, values.hospital), null, 2) + '\n');
      process.stdout.write(`${file}\n`);
      return;
    }
    case 'agent-profile': {
      if (!values.state) throw new TopologyError('agent-profile needs --state DIR');
      const file = join(values.state, 'agent-profile.json');
      writeFileSync(file, JSON.stringify(agentProfile(topology, values.state), null, 2) + '\n');
      process.stdout.write(`${file}\n`);
      return;
    }
    case 'identities':
    case 'identity': {
      if (!values.state) throw new TopologyError(`${command} needs --state DIR`);
      const folders = new OrgFolders(values.state);
      // Only the organisations this state folder runs: the core's, and its own hospitals'.
      let specs = networkIdentities(topology).filter((s) =>
        s.org === 'orderer' || s.org === 'patients' ? roles.core : roles.local.includes(s.org),
      );
      if (command === 'identity') {
        const { org, name, type, attrs = '', hosts = 'localhost' } = values;
        if (!org || !name || (type !== 'client' && type !== 'admin')) {
          throw new TopologyError('identity needs --org ORG --name NAME --type client|admin');
        }
        specs = [{ org, name, type, attrs, hosts: hosts.split(','), label: 'enrolled' }];
      }
      const issued = await ensureNetworkIdentities(topology, folders, specs, {
        caUrl: (org) => {
          const ca =
            org === 'orderer'
              ? topology.orderers.ca
              : org === 'patients'
                ? topology.patients.ca
                : topology.hospitals.find((h) => h.name === org)?.ca;
          if (!ca) throw new TopologyError(`unknown organisation ${org}`);
          return `https://${ca.host}:${ca.port}`;
        },
        report: (line) => process.stdout.write(`${line}\n`),
      });
      if (issued === 0) process.stdout.write(command === 'identity' ? 'already enrolled\n' : 'nothing to issue\n');
      return;
    }
    case 'org-configtx': {
      const h = full.hospitals.find((x) => x.name === values.hospital);
      if (!h || !values['msp-dir'])
        throw new TopologyError('org-configtx needs --hospital NAME (in the topology) --msp-dir DIR');
      process.stdout.write(organizationConfigtx(h, values['msp-dir']));
      return;
    }
    case 'roles': {
      if (!values.state) throw new TopologyError('roles needs --state DIR');
      let members = readMembers(values.state) ?? roles.members;
      let local = readLocal(values.state) ?? roles.local;
      if (values['members-msp'] !== undefined) {
        const msps = values['members-msp'].split(',').filter(Boolean);
        const unknown = msps.filter((m) => !full.hospitals.some((h) => h.mspId === m));
        if (unknown.length > 0) {
          // Counting members wrongly would commit a wrong endorsement policy: refuse instead.
          throw new TopologyError(
            `the channel has members that the topology does not describe: ${unknown.join(', ')} — add their entries (name, mspId, endpoints) to ${values.topology}`,
          );
        }
        members = full.hospitals.filter((h) => msps.includes(h.mspId)).map((h) => h.name);
      }
      for (const [flag, list] of [
        ['add-member', members],
        ['add-local', local],
      ] as const) {
        const name = values[flag];
        if (!name) continue;
        if (!full.hospitals.some((h) => h.name === name))
          throw new TopologyError(`hospital ${name} is not in the topology`);
        if (!list.includes(name)) list.push(name);
      }
      local = local.filter((n) => members.includes(n) || n === values['add-local']);
      writeMembers(values.state, members);
      writeLocal(values.state, local);
      process.stdout.write(`members: ${members.join(' ')}\nlocal: ${local.join(' ')}\n`);
      return;
    }
    case 'endpoints':
      for (const [label, host, port] of allEndpoints(full)) process.stdout.write(`${label}\t${host}:${port}\n`);
      return;
    default:
      throw new TopologyError(USAGE);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`phr-topology: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof TopologyError ? 2 : 1);
});
