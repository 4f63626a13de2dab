import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { silentLogger } from '../testing/channel';
import { approve, ccaasPackage, define, installAndApprove } from '../testing/packages';
import { ChaincodePackageError, readChaincodePackage } from './chaincode-package';
import { ChaincodeNotDefinedError, ChaincodeRegistry } from './chaincode-registry';

describe('readChaincodePackage', () => {
  it('reads a ccaas package as network.sh makes it; the id is label:sha256(package)', async () => {
    const bytes = await ccaasPackage('phr_1.0', {
      address: 'cc.hospital1:9999',
      dial_timeout: '10s',
      tls_required: true,
      root_cert: 'PEM',
    });
    const pkg = await readChaincodePackage(bytes);
    expect(pkg.packageId).toBe(`phr_1.0:${createHash('sha256').update(bytes).digest('hex')}`);
    expect([pkg.label, pkg.type]).toEqual(['phr_1.0', 'ccaas']);
    expect(pkg.connection).toEqual({
      address: 'cc.hospital1:9999',
      dial_timeout: '10s',
      tls_required: true,
      root_cert: 'PEM',
    });
  });

  it('refuses what is not a chaincode-as-a-service package', async () => {
    await expect(readChaincodePackage(Buffer.from('not gzip'))).rejects.toThrow(ChaincodePackageError);
    await expect(readChaincodePackage(await ccaasPackage('x', { address: 'a:1' }, 'node'))).rejects.toThrow(
      /only chaincode-as-a-service/,
    );
    await expect(readChaincodePackage(await ccaasPackage('x', { address: '' }))).rejects.toThrow(/no address/);
  });
});

describe('ChaincodeRegistry', () => {
  const dir = mkdtempSync(join(tmpdir(), 'phr-registry-'));
  const definitions = join(dir, 'definitions');
  const lifecycle = join(dir, 'lifecycle');
  const registry = new ChaincodeRegistry(definitions, lifecycle, silentLogger());
  afterAll(() => {
    registry.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a chaincode the channel does not define, in Fabric words', async () => {
    await expect(registry.get('phr')).rejects.toThrow(ChaincodeNotDefinedError);
    await expect(registry.get('phr')).rejects.toThrow(
      /make sure the chaincode phr has been successfully defined on channel/,
    );
  });

  it('defines without a connection until this peer installs and approves the package for the sequence', async () => {
    define(definitions, { name: 'phr', version: '1.0', sequence: 2, endorsementPolicy: "OR('H1.peer')" });
    const defined = await registry.get('phr');
    expect(defined.definition).toEqual({
      name: 'phr',
      version: '1.0',
      sequence: 2,
      endorsementPolicy: "OR('H1.peer')",
    });
    expect(defined.policy.mspIds()).toEqual(['H1']);
    expect(defined.connection).toBeUndefined();

    const bytes = await ccaasPackage('phr_1.0', { address: '127.0.0.1:1', dial_timeout: '250ms', tls_required: false });
    const packageId = await installAndApprove(lifecycle, 'phr', 1, bytes);
    expect((await registry.installed()).map((p) => p.packageId)).toEqual([packageId]);
    // Approved for sequence 1, defined at 2: not runnable.
    expect((await registry.get('phr')).connection).toBeUndefined();
    // The registry notices changed files by mtime and size; same size here, so let the clock move.
    await new Promise((r) => setTimeout(r, 30));
    approve(lifecycle, 'phr', 2, packageId);
    const runnable = await registry.get('phr');
    expect(runnable.connection?.endpoint).toEqual({
      chaincodeName: 'phr',
      packageId,
      address: '127.0.0.1:1',
      tlsRequired: false,
      dialTimeoutMs: 250,
    });
    // Unchanged files: the same connection is kept.
    expect((await registry.get('phr')).connection).toBe(runnable.connection);
  });

  it('re-reads a definition when its file changes, and ignores invalid packages', async () => {
    define(definitions, { name: 'phr', version: '1.1', sequence: 2, endorsementPolicy: "OR('H1.peer','H2.peer')" });
    expect((await registry.get('phr')).definition.version).toBe('1.1');
    mkdirSync(join(lifecycle, 'packages'), { recursive: true });
    writeFileSync(join(lifecycle, 'packages', 'broken.tar.gz'), 'junk');
    expect((await registry.installed()).length).toBe(1);
    define(definitions, { name: 'bad', version: '1', sequence: 1, endorsementPolicy: 'AND(' });
    await expect(registry.get('bad')).rejects.toThrow(/policy/);
  });
});
