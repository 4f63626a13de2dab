#!/usr/bin/env node
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { agentProfile } from './agent-profile';
import { configtx } from './configtx';
import { gatewayConfig } from './gateway-config';
import { toShellEnv } from './shell-env';
import { ensureNetworkIdentities, networkIdentities, OrgFolders } from './network-identities';
import { allEndpoints, loadTopology, TopologyError } from './topology';

const USAGE = `usage: phr-topology <command> --topology FILE [--state DIR]
  env        print the topology as bash variables
  configtx [--engine fabric|embedded]   write DIR/channel/configtx.yaml for configtxgen or the embedded network
  endpoints  print every endpoint, one per line
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
      org: { type: 'string' },
      name: { type: 'string' },
      type: { type: 'string' },
      attrs: { type: 'string' },
      hosts: { type: 'string' },
    },
  });
  const [command] = positionals;
  if (!command || !values.topology) throw new TopologyError(USAGE);
  const topology = loadTopology(values.topology);
  switch (command) {
    case 'env':
      process.stdout.write(toShellEnv(topology));
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
      let specs = networkIdentities(topology);
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
    case 'endpoints':
      for (const [label, host, port] of allEndpoints(topology)) process.stdout.write(`${label}\t${host}:${port}\n`);
      return;
    default:
      throw new TopologyError(USAGE);
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`phr-topology: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof TopologyError ? 2 : 1);
});
