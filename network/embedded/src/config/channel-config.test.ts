import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { common } from '@hyperledger/fabric-protos';
import { toPem } from '../crypto/pem';
import { newBlock } from '../ledger/block';
import { MspError } from '../msp/msp';
import type { LocalIdentity } from '../node/local-identity';
import type { SignedData } from '../policy/signature-policy';
import { CHANNEL_ID, TestChannel } from '../testing/channel';
import { ChannelConfig, ChannelConfigError, parseDuration } from './channel-config';

describe('ChannelConfig from the genesis block', () => {
  const channel = new TestChannel(undefined, { batchTimeout: '1m30s', maxMessageCount: 7, preferredMaxBytes: '4 KB' });
  // An intermediate CA, a revoked client and an explicit admin in Hospital2's MSP folder.
  const h2 = channel.hospital2;
  const mid = h2.ca.intermediate('ica.hospital2');
  const revoked = h2.ca.issue({ cn: 'revoked', ous: ['client'] });
  const listedAdmin = h2.ca.issue({ cn: 'listed', ous: ['client'] });
  let config: ChannelConfig;
  beforeAll(async () => {
    for (const [sub, file, text] of [
      ['intermediatecerts', 'ica.pem', mid.certificatePem],
      ['crls', 'crl.pem', toPem(await h2.ca.crl([revoked.serial]), 'X509 CRL')],
      ['admincerts', 'admin.pem', listedAdmin.certificatePem],
    ] as const) {
      mkdirSync(join(h2.mspDir, sub), { recursive: true });
      writeFileSync(join(h2.mspDir, sub, file), text);
    }
    config = ChannelConfig.fromBlock(common.Block.deserializeBinary(channel.genesis.serializeBinary()));
  });
  afterAll(() => channel.remove());

  const message = Buffer.from('signed request');
  const sigs = (...ids: LocalIdentity[]): SignedData[] =>
    ids.map((id) => ({ data: message, identity: id.serialized, signature: id.sign(message) }));

  it('names the channel, organisations, endpoints, anchor peers and batching', () => {
    expect(config.channelId).toBe(CHANNEL_ID);
    expect(config.sequence).toBe(0);
    expect(config.consensusType).toBe('embedded');
    expect(config.applicationOrgs.map((o) => [o.name, o.mspId, o.anchorPeers, o.endpoints])).toEqual([
      ['Hospital1MSP', 'Hospital1MSP', ['peer0.hospital1.example:7051'], []],
      ['Hospital2MSP', 'Hospital2MSP', ['peer0.hospital2.example:8051'], []],
      ['PatientsMSP', 'PatientsMSP', [], []],
    ]);
    expect(config.ordererOrgs.map((o) => [o.mspId, o.endpoints])).toEqual([['OrdererMSP', ['orderer0.example:7050']]]);
    expect(config.ordererEndpoints()).toEqual(['orderer0.example:7050']);
    expect(config.batch).toEqual({
      timeoutMs: 90_000,
      maxMessageCount: 7,
      absoluteMaxBytes: 10 * 1024 * 1024,
      preferredMaxBytes: 4096,
    });
    expect(config.applicationOrg('Hospital2MSP')?.anchorPeers).toEqual(['peer0.hospital2.example:8051']);
    expect(config.applicationOrg('OrdererMSP')).toBeUndefined();
  });

  it('trusts every organisation’s TLS roots', () => {
    const roots = config.tlsRootCertsPem();
    for (const org of [channel.hospital1, channel.hospital2, channel.patients, channel.orderer]) {
      expect(roots).toContain(org.ca.certificatePem);
    }
  });

  it('builds each MSP from its folder: roots, intermediates, NodeOUs, CRLs, admin certificates', () => {
    const msps = config.msps;
    expect(
      msps
        .all()
        .map((m) => m.mspId)
        .sort(),
    ).toEqual(['Hospital1MSP', 'Hospital2MSP', 'OrdererMSP', 'PatientsMSP']);
    const def = msps.get('Hospital2MSP')?.definition;
    expect(def?.nodeOUs).toEqual({ client: 'client', peer: 'peer', admin: 'admin', orderer: 'orderer' });
    expect(def?.rootCertsPem).toEqual([h2.ca.certificatePem]);
    expect(def?.intermediateCertsPem).toEqual([mid.certificatePem]);
    expect(msps.deserialize(mid.identity('Hospital2MSP', 'peer').serialized).role).toBe('peer');
    expect(msps.deserialize(h2.ca.identity('Hospital2MSP', 'client').serialized).role).toBe('client');
    expect(() => msps.deserialize(channel.hospital1.ca.identity('Hospital2MSP', 'client').serialized)).toThrow(
      MspError,
    );
    const revokedId = { serialized: Buffer.from(revoked.certificatePem) };
    expect(() => msps.get('Hospital2MSP')?.identity(revokedId.serialized)).toThrow(/revoked/);
    expect(msps.get('Hospital2MSP')?.identity(Buffer.from(listedAdmin.certificatePem)).isAdmin).toBe(true);
  });

  it('evaluates the channel policies as the project relies on them', () => {
    const p = config.policies;
    const { hospital1: h1, patients, orderer } = channel;
    // Writers: clients and admins of application orgs (the orderer org also writes at channel level).
    expect(p.evaluate('/Channel/Application/Writers', sigs(h1.client()))).toBe(true);
    expect(p.evaluate('/Channel/Application/Writers', sigs(patients.client()))).toBe(true);
    expect(p.evaluate('/Channel/Application/Writers', sigs(h1.peer()))).toBe(false);
    expect(p.evaluate('/Channel/Application/Writers', sigs(orderer.orderer()))).toBe(false);
    expect(p.evaluate('/Channel/Writers', sigs(orderer.orderer()))).toBe(true);
    expect(p.evaluate('/Channel/Writers', sigs(h1.admin()))).toBe(true);
    expect(p.evaluate('/Channel/Writers', sigs(patients.peer()))).toBe(false);
    // Readers: hospital peers read, patients' peers do not.
    expect(p.evaluate('/Channel/Application/Readers', sigs(h1.peer()))).toBe(true);
    expect(p.evaluate('/Channel/Readers', sigs(patients.peer()))).toBe(false);
    expect(p.evaluate('/Channel/Readers', sigs(patients.client()))).toBe(true);
    // Blocks are valid when an orderer signs them.
    expect(p.evaluate('/Channel/Orderer/BlockValidation', sigs(orderer.orderer()))).toBe(true);
    expect(p.evaluate('/Channel/Orderer/BlockValidation', sigs(h1.client()))).toBe(false);
    // Endorsement: a majority of hospitals' peers.
    expect(p.evaluate('/Channel/Application/Endorsement', sigs(h1.peer(), h2.peer()))).toBe(true);
    expect(p.evaluate('/Channel/Application/Endorsement', sigs(h1.peer(), h1.peer()))).toBe(false);
    // Admins: a majority of the three application orgs, and of the two top-level groups.
    expect(p.evaluate('/Channel/Application/Admins', sigs(h1.admin()))).toBe(false);
    expect(p.evaluate('/Channel/Application/Admins', sigs(h1.admin(), patients.admin()))).toBe(true);
    expect(p.evaluate('/Channel/Admins', sigs(h1.admin(), patients.admin()))).toBe(false);
    expect(p.evaluate('/Channel/Admins', sigs(h1.admin(), patients.admin(), orderer.admin()))).toBe(true);
  });

  it('refuses blocks that carry no usable configuration', () => {
    expect(() => ChannelConfig.fromBlock(newBlock(1, new Uint8Array(0), []))).toThrow(ChannelConfigError);
    const ch = new common.ChannelHeader();
    ch.setType(common.HeaderType.ENDORSER_TRANSACTION);
    const header = new common.Header();
    header.setChannelHeader(ch.serializeBinary());
    const payload = new common.Payload();
    payload.setHeader(header);
    const env = new common.Envelope();
    env.setPayload(payload.serializeBinary());
    expect(() => ChannelConfig.fromBlock(newBlock(1, new Uint8Array(0), [env.serializeBinary()]))).toThrow(
      /not a config block/,
    );
    const noOrderer = common.Config.deserializeBinary(config.config.serializeBinary());
    noOrderer.getChannelGroup()?.getGroupsMap().del('Orderer');
    expect(() => new ChannelConfig('phr', noOrderer)).toThrow(ChannelConfigError);
    const noBatch = common.Config.deserializeBinary(config.config.serializeBinary());
    noBatch.getChannelGroup()?.getGroupsMap().get('Orderer')?.getValuesMap().del('BatchSize');
    expect(() => new ChannelConfig('phr', noBatch)).toThrow(/batch settings/);
    const noMsp = common.Config.deserializeBinary(config.config.serializeBinary());
    noMsp
      .getChannelGroup()
      ?.getGroupsMap()
      .get('Application')
      ?.getGroupsMap()
      .get('PatientsMSP')
      ?.getValuesMap()
      .del('MSP');
    expect(() => new ChannelConfig('phr', noMsp)).toThrow(/has no MSP/);
  });
});

describe('parseDuration', () => {
  it.each([
    ['200ms', 200],
    ['2s', 2000],
    ['1m30s', 90_000],
    ['1.5s', 1500],
    ['1h', 3_600_000],
    ['500us', 0.5],
    ['250µs', 0.25],
    ['1000000ns', 1],
  ])('reads Go duration %s', (text, ms) => {
    expect(parseDuration(text)).toBeCloseTo(ms, 9);
  });

  it.each([[''], ['200'], ['2x'], ['1s junk'], ['s'], ['-1s']])('refuses %j', (text) => {
    expect(() => parseDuration(text)).toThrow(ChannelConfigError);
  });
});
