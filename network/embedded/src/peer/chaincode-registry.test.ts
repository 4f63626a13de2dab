import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PeerLedger } from '../ledger/peer-ledger';
import { silentLogger, TestChannel } from '../testing/channel';
import { ccaasPackage, commitGenesis, commitLifecycleState, install } from '../testing/packages';
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
  const channel = new TestChannel();
  const lifecycle = join(channel.dir, 'lifecycle');
  let ledger: PeerLedger;
  let registry: ChaincodeRegistry;
  beforeAll(() => {
    ledger = new PeerLedger(join(channel.dir, 'ledger.db'));
    commitGenesis(ledger, channel.genesis);
    registry = new ChaincodeRegistry(ledger, 'Hospital1MSP', () => channel.config, lifecycle, silentLogger());
  });
  afterAll(() => {
    registry.close();
    ledger.close();
    channel.remove();
  });

  const phr = { name: 'phr', version: '1.0', sequence: 2, endorsementPolicy: "OR('H1.peer')" };

  it('refuses a chaincode the channel does not define, in Fabric words', async () => {
    await expect(registry.get('phr')).rejects.toThrow(ChaincodeNotDefinedError);
    await expect(registry.get('phr')).rejects.toThrow(
      /make sure the chaincode phr has been successfully defined on channel/,
    );
  });

  it('gives _lifecycle itself the channel LifecycleEndorsement policy, without a connection', async () => {
    const lc = await registry.get('_lifecycle');
    expect(lc.connection).toBeUndefined();
    expect(lc.policy).toBe(channel.config.policies.signaturePolicy('/Channel/Application/LifecycleEndorsement'));
    expect(lc.policy.mspIds()).toEqual(['Hospital1MSP', 'Hospital2MSP']);
  });

  it('defines without a connection until this organisation approves an installed package for the sequence', async () => {
    commitLifecycleState(ledger, { definitions: [phr] });
    const defined = await registry.get('phr');
    expect(defined.definition).toEqual(phr);
    expect(defined.policy.mspIds()).toEqual(['H1']);
    expect(defined.connection).toBeUndefined();

    const bytes = await ccaasPackage('phr_1.0', { address: '127.0.0.1:1', dial_timeout: '250ms', tls_required: false });
    // Approved before it is installed: defined, not runnable.
    const packageId = `phr_1.0:${createHash('sha256').update(bytes).digest('hex')}`;
    commitLifecycleState(ledger, { approvals: [{ ...phr, mspId: 'Hospital1MSP', packageId }] });
    expect((await registry.get('phr')).connection).toBeUndefined();
    expect(await install(lifecycle, bytes)).toBe(packageId);
    expect((await registry.installed()).map((p) => p.packageId)).toEqual([packageId]);
    const runnable = await registry.get('phr');
    expect(runnable.connection?.endpoint).toEqual({
      chaincodeName: 'phr',
      packageId,
      address: '127.0.0.1:1',
      tlsRequired: false,
      dialTimeoutMs: 250,
    });
    // Nothing changed: the same connection is kept.
    expect((await registry.get('phr')).connection).toBe(runnable.connection);
  });

  it("follows only this organisation's approval, and only at the committed sequence", async () => {
    const otherBytes = await ccaasPackage('phr_2.0', { address: '127.0.0.1:2' });
    const otherId = await install(lifecycle, otherBytes);
    const before = (await registry.get('phr')).connection;
    // Another organisation approving another package changes nothing here.
    commitLifecycleState(ledger, { approvals: [{ ...phr, mspId: 'Hospital2MSP', packageId: otherId }] });
    expect((await registry.get('phr')).connection).toBe(before);
    // Our approval of the next sequence is not in force until the definition moves there.
    const next = { ...phr, version: '2.0', sequence: 3, endorsementPolicy: "OR('H1.peer','H2.peer')" };
    commitLifecycleState(ledger, { approvals: [{ ...next, mspId: 'Hospital1MSP', packageId: otherId }] });
    expect((await registry.get('phr')).connection).toBe(before);
    commitLifecycleState(ledger, { definitions: [next] });
    const moved = await registry.get('phr');
    expect(moved.definition).toEqual(next);
    expect(moved.policy.mspIds()).toEqual(['H1', 'H2']);
    expect(moved.connection?.endpoint.packageId).toBe(otherId);
    expect(moved.connection?.endpoint.address).toBe('127.0.0.1:2');
    expect(moved.connection).not.toBe(before);
  });

  it('runs nothing for a definition whose terms this organisation did not approve (it was outvoted)', async () => {
    const bytes = await ccaasPackage('audit_1.0', { address: '127.0.0.1:3' });
    const packageId = await install(lifecycle, bytes);
    const audit = { name: 'audit', version: '1.0', sequence: 1, endorsementPolicy: "OR('Hospital2MSP.peer')" };
    // Hospital 1 approved version 1.1 at sequence 1; the channel committed 1.0.
    commitLifecycleState(ledger, {
      definitions: [audit],
      approvals: [{ ...audit, version: '1.1', mspId: 'Hospital1MSP', packageId }],
    });
    const defined = await registry.get('audit');
    expect(defined.definition).toEqual(audit);
    expect(defined.connection).toBeUndefined();
    commitLifecycleState(ledger, { approvals: [{ ...audit, mspId: 'Hospital1MSP', packageId }] });
    expect((await registry.get('audit')).connection?.endpoint.packageId).toBe(packageId);
  });

  it('ignores invalid packages, and refuses a definition whose policy does not parse', async () => {
    mkdirSync(join(lifecycle, 'packages'), { recursive: true });
    writeFileSync(join(lifecycle, 'packages', 'broken.tar.gz'), 'junk');
    expect((await registry.installed()).length).toBe(3);
    commitLifecycleState(ledger, {
      definitions: [{ name: 'bad', version: '1', sequence: 1, endorsementPolicy: 'AND(' }],
    });
    await expect(registry.get('bad')).rejects.toThrow(/policy/);
  });
});
