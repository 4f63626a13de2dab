#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { LedgerError } from '@phr/ledger-client';
import { NetworkState } from './network-state';

const USAGE = `usage: phr-ledger [options] submit|evaluate Contract:Function [args...]
       phr-ledger [options] ready [SECONDS]   wait until the peer can gather a policy's endorsements
  --org ORG          organisation of the identity (default hospital1; patients for patients)
  --identity NAME    enrolled identity under that organisation (default gateway)
  --peer HOSPITAL    whose peer to connect to (default: --org, or the first hospital)
  --endorsing-orgs A,B   only ask these organisations to endorse (submit)
  --topology FILE / --state DIR   a network other than the default one`;

async function main(): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      org: { type: 'string', default: 'hospital1' },
      identity: { type: 'string', default: 'gateway' },
      peer: { type: 'string' },
      'endorsing-orgs': { type: 'string' },
      topology: { type: 'string' },
      state: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  const [mode, target, ...args] = positionals;
  const isCall = (mode === 'submit' || mode === 'evaluate') && !!target?.includes(':');
  if (values.help || !(mode === 'ready' || isCall)) {
    process.stderr.write(`${USAGE}\n`);
    return values.help ? 0 : 2;
  }
  const client = NetworkState.load(values.topology, values.state).connect(values.org, values.identity, values.peer);
  const [contract = '', fn = ''] = (target ?? '').split(':');
  try {
    if (mode === 'ready') {
      await client.waitUntilEndorsable('PatientRegistry', 'WhoAmI', Number(target ?? 60) * 1000);
    } else if (mode === 'evaluate') {
      print(await client.evaluate(contract, fn, args));
    } else {
      const orgs = values['endorsing-orgs']?.split(',').filter(Boolean);
      const res = await client.submit(contract, fn, args, orgs ? { endorsingOrganizations: orgs } : {});
      process.stderr.write(`committed in block ${res.blockNumber} as transaction ${res.transactionId}\n`);
      print(res.result);
    }
    return 0;
  } finally {
    client.close();
  }
}

function print(json: string): void {
  try {
    process.stdout.write(`${JSON.stringify(JSON.parse(json), null, 2)}\n`);
  } catch {
    process.stdout.write(`${json}\n`);
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    const e =
      err instanceof LedgerError
        ? `${err.message}${err.transactionId ? ` (transaction ${err.transactionId})` : ''}`
        : String(err instanceof Error ? err.message : err);
    process.stderr.write(`phr-ledger: ${e}\n`);
    process.exit(1);
  },
);
