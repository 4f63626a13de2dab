#!/usr/bin/env node
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { configFromConfigtx, genesisBlock } from './config/genesis';
import { readChaincodePackage } from './peer/chaincode-package';
import type { ChaincodeDefinition } from './peer/chaincode-registry';
import { parseSignaturePolicy } from './policy/policy-dsl';
import { EMBEDDED_VERSION } from './node/version';

const USAGE = `usage: phr-fabric-embedded <command> [options]
  genesis --configtx FILE --profile NAME --channel ID --out FILE
        the channel's genesis block from a configtx.yaml profile (what configtxgen -outputBlock makes)
  package-id FILE           the package id of a chaincode package (label:sha256), as Fabric computes it
  install --peer-data DIR --package FILE
        installs a chaincode-as-a-service package on an embedded peer; prints its package id
  approve --peer-data DIR --name NAME --sequence N --package-id ID
        this peer's organisation approves running package ID for definition NAME at sequence N
  define --definitions DIR --name NAME --version V --sequence N --policy POLICY
        the channel's chaincode definition (endorsement policy in Fabric's policy language)
  version                   the embedded network's version`;

/** Writes a file whole or not at all. */
function writeAtomic(file: string, data: string | Uint8Array): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}

async function main(): Promise<number> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      configtx: { type: 'string' },
      profile: { type: 'string' },
      channel: { type: 'string' },
      out: { type: 'string' },
      'peer-data': { type: 'string' },
      package: { type: 'string' },
      name: { type: 'string' },
      version: { type: 'string' },
      sequence: { type: 'string' },
      'package-id': { type: 'string' },
      definitions: { type: 'string' },
      policy: { type: 'string' },
    },
  });
  const need = (k: keyof typeof values): string => {
    const v = values[k];
    if (!v) throw new Error(`--${k} is required\n${USAGE}`);
    return v;
  };
  const sequence = () => {
    const n = Number(need('sequence'));
    if (!Number.isInteger(n) || n < 1) throw new Error('--sequence must be a positive integer');
    return n;
  };
  switch (positionals[0]) {
    case 'genesis': {
      const block = genesisBlock(need('channel'), configFromConfigtx(need('configtx'), need('profile')));
      writeAtomic(need('out'), block.serializeBinary());
      return 0;
    }
    case 'package-id': {
      const file = positionals[1];
      if (!file) throw new Error(USAGE);
      process.stdout.write(`${(await readChaincodePackage(readFileSync(file))).packageId}\n`);
      return 0;
    }
    case 'install': {
      const bytes = readFileSync(need('package'));
      const pkg = await readChaincodePackage(bytes);
      const dir = join(need('peer-data'), 'lifecycle', 'packages');
      mkdirSync(dir, { recursive: true });
      const target = join(dir, `${pkg.packageId.replace(':', '.')}.tar.gz`);
      if (!existsSync(target)) {
        copyFileSync(need('package'), `${target}.tmp`);
        renameSync(`${target}.tmp`, target);
      }
      process.stdout.write(`${pkg.packageId}\n`);
      return 0;
    }
    case 'approve': {
      const dir = join(need('peer-data'), 'lifecycle', 'approvals');
      mkdirSync(dir, { recursive: true });
      writeAtomic(
        join(dir, `${need('name')}.json`),
        `${JSON.stringify({ sequence: sequence(), packageId: need('package-id') }, null, 2)}\n`,
      );
      return 0;
    }
    case 'define': {
      parseSignaturePolicy(need('policy'));
      const definition: ChaincodeDefinition = {
        name: need('name'),
        version: need('version'),
        sequence: sequence(),
        endorsementPolicy: need('policy'),
      };
      mkdirSync(need('definitions'), { recursive: true });
      writeAtomic(join(need('definitions'), `${definition.name}.json`), `${JSON.stringify(definition, null, 2)}\n`);
      return 0;
    }
    case 'version':
      process.stdout.write(`${EMBEDDED_VERSION}\n`);
      return 0;
    default:
      process.stderr.write(`${USAGE}\n`);
      return 2;
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`phr-fabric-embedded: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  },
);
