#!/usr/bin/env node
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { configFromConfigtx, genesisBlock } from './config/genesis';
import { readChaincodePackage } from './peer/chaincode-package';
import { EMBEDDED_VERSION } from './node/version';

const USAGE = `usage: phr-fabric-embedded <command> [options]
  genesis --configtx FILE --profile NAME --channel ID --out FILE
        the channel's genesis block from a configtx.yaml profile (what configtxgen -outputBlock makes)
  package-id FILE           the package id of a chaincode package (label:sha256), as Fabric computes it
  install --peer-data DIR --package FILE
        installs a chaincode-as-a-service package on an embedded peer; prints its package id
  (approving and committing chaincode definitions: phr-governance lifecycle, over the peers' Gateway)
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
    },
  });
  const need = (k: keyof typeof values): string => {
    const v = values[k];
    if (!v) throw new Error(`--${k} is required\n${USAGE}`);
    return v;
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
