// Chaincode-as-a-service packages as network.sh packages them, installed the way the embedded CLI
// installs them (`<data>/lifecycle/packages`), and `_lifecycle` state (committed definitions and
// organisations' approvals) for tests that seed a ledger instead of running the lifecycle.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { common } from '@hyperledger/fabric-protos';
import { pack } from 'tar-stream';
import { blockHeaderHash } from '../ledger/block';
import type { PeerLedger, StateWrite } from '../ledger/peer-ledger';
import { readChaincodePackage } from '../peer/chaincode-package';
import { approvalKey, definitionKey, LIFECYCLE, type Approval, type ChaincodeDefinition } from '../peer/lifecycle';

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

/** Installs the package on a peer (`<lifecycleDir>/packages/<id>.tar.gz`); returns the package id. */
export async function install(lifecycleDir: string, bytes: Buffer): Promise<string> {
  const { packageId } = await readChaincodePackage(bytes);
  mkdirSync(join(lifecycleDir, 'packages'), { recursive: true });
  writeFileSync(join(lifecycleDir, 'packages', `${packageId.replace(':', '.')}.tar.gz`), bytes);
  return packageId;
}

const write = (key: string, value: unknown, txNum: number): StateWrite => ({
  ns: LIFECYCLE,
  key,
  value: Buffer.from(JSON.stringify(value)),
  txNum,
  txId: `seed-${txNum}`,
  seconds: 0,
  nanos: 0,
});

/** `_lifecycle` writes of committed definitions and approvals, as the lifecycle chaincode makes them. */
export function lifecycleWrites(state: { definitions?: ChaincodeDefinition[]; approvals?: Approval[] }): StateWrite[] {
  const definitions = state.definitions ?? [];
  return [
    ...definitions.map((d, i) => write(definitionKey(d.name), d, i)),
    ...(state.approvals ?? []).map((a, i) =>
      write(approvalKey(a.name, a.sequence, a.mspId), a, definitions.length + i),
    ),
  ];
}

/** Commits the genesis block as block 0 of `ledger`, with `writes` (e.g. `lifecycleWrites`) as its state. */
export function commitGenesis(ledger: PeerLedger, genesis: common.Block, writes: StateWrite[] = []): void {
  ledger.commit({
    number: 0,
    headerHash: blockHeaderHash(genesis.getHeader() as common.BlockHeader),
    bytes: genesis.serializeBinary(),
    txIds: [],
    writes,
  });
}

/** Commits `_lifecycle` state as the next block of `ledger` (a stand-in block: tests of the registry only). */
export function commitLifecycleState(
  ledger: PeerLedger,
  state: { definitions?: ChaincodeDefinition[]; approvals?: Approval[] },
): void {
  ledger.commit({
    number: ledger.height(),
    headerHash: Buffer.alloc(32),
    bytes: Buffer.alloc(0),
    txIds: [],
    writes: lifecycleWrites(state),
  });
}
