// Chaincode-as-a-service packages and the embedded peer's lifecycle files, as network.sh and the
// embedded CLI write them (package_chaincode, install, approve, define).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';
import { readChaincodePackage } from '../peer/chaincode-package';
import type { ChaincodeDefinition } from '../peer/chaincode-registry';

async function targz(files: Record<string, string | Buffer>): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => chunks.push(c as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    p.on('end', resolve);
    p.on('error', reject);
  });
  for (const [name, content] of Object.entries(files)) p.entry({ name }, content);
  p.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks));
}

/** A package as network.sh package_chaincode makes it: metadata.json and code.tar.gz with connection.json. */
export async function ccaasPackage(
  label: string,
  connection: { address: string; dial_timeout?: string; tls_required?: boolean; root_cert?: string },
  type = 'ccaas',
): Promise<Buffer> {
  const code = await targz({ 'connection.json': JSON.stringify(connection) });
  return targz({ 'metadata.json': JSON.stringify({ type, label }), 'code.tar.gz': code });
}

/** Installs the package on a peer and approves it for `name` at `sequence`; returns the package id. */
export async function installAndApprove(
  lifecycleDir: string,
  name: string,
  sequence: number,
  bytes: Buffer,
): Promise<string> {
  const { packageId } = await readChaincodePackage(bytes);
  mkdirSync(join(lifecycleDir, 'packages'), { recursive: true });
  writeFileSync(join(lifecycleDir, 'packages', `${packageId.replace(':', '.')}.tar.gz`), bytes);
  approve(lifecycleDir, name, sequence, packageId);
  return packageId;
}

export function approve(lifecycleDir: string, name: string, sequence: number, packageId: string): void {
  mkdirSync(join(lifecycleDir, 'approvals'), { recursive: true });
  writeFileSync(join(lifecycleDir, 'approvals', `${name}.json`), JSON.stringify({ sequence, packageId }));
}

export function define(definitionsDir: string, definition: ChaincodeDefinition): void {
  mkdirSync(definitionsDir, { recursive: true });
  writeFileSync(join(definitionsDir, `${definition.name}.json`), JSON.stringify(definition));
}
