import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { msp as mspProtos } from '@hyperledger/fabric-protos';
import { mspConfigFromFolder } from './msp-folder';

describe('mspConfigFromFolder', () => {
  const dir = mkdtempSync(join(tmpdir(), 'phr-msp-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (file: string, text: string) => {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), text);
  };
  const read = (mspDir: string) => {
    const config = mspConfigFromFolder('OrgMSP', mspDir);
    expect(config.getType()).toBe(0);
    return mspProtos.FabricMSPConfig.deserializeBinary(config.getConfig_asU8());
  };
  const texts = (list: Uint8Array[]) => list.map((b) => Buffer.from(b).toString());

  it('reads every folder, files in name order, skipping hidden files', () => {
    write('msp/cacerts/b.pem', 'root-b');
    write('msp/cacerts/a.pem', 'root-a');
    write('msp/cacerts/.DS_Store', 'junk');
    write('msp/intermediatecerts/i.pem', 'mid');
    write('msp/admincerts/admin.pem', 'admin');
    write('msp/crls/crl.pem', 'crl');
    write('msp/tlscacerts/t.pem', 'tls-root');
    write('msp/tlsintermediatecerts/ti.pem', 'tls-mid');
    const f = read(join(dir, 'msp'));
    expect(f.getName()).toBe('OrgMSP');
    expect(texts(f.getRootCertsList_asU8())).toEqual(['root-a', 'root-b']);
    expect(texts(f.getIntermediateCertsList_asU8())).toEqual(['mid']);
    expect(texts(f.getAdminsList_asU8())).toEqual(['admin']);
    expect(texts(f.getRevocationListList_asU8())).toEqual(['crl']);
    expect(texts(f.getTlsRootCertsList_asU8())).toEqual(['tls-root']);
    expect(texts(f.getTlsIntermediateCertsList_asU8())).toEqual(['tls-mid']);
    expect(f.getCryptoConfig()?.getSignatureHashFamily()).toBe('SHA2');
    expect(f.getCryptoConfig()?.getIdentityIdentifierHashFunction()).toBe('SHA256');
    expect(f.getFabricNodeOus()).toBeUndefined();
  });

  it('reads NodeOUs from config.yaml with their certifier certificate', () => {
    write('ous/cacerts/ca.pem', 'the-ca');
    write(
      'ous/config.yaml',
      `NodeOUs:
  Enable: true
  ClientOUIdentifier: { Certificate: cacerts/ca.pem, OrganizationalUnitIdentifier: client }
  PeerOUIdentifier: { OrganizationalUnitIdentifier: peer }
  AdminOUIdentifier: { Certificate: cacerts/ca.pem, OrganizationalUnitIdentifier: boss }
`,
    );
    const ous = read(join(dir, 'ous')).getFabricNodeOus();
    expect(ous?.getEnable()).toBe(true);
    expect(ous?.getClientOuIdentifier()?.getOrganizationalUnitIdentifier()).toBe('client');
    expect(Buffer.from(ous?.getClientOuIdentifier()?.getCertificate_asU8() ?? []).toString()).toBe('the-ca');
    expect(ous?.getPeerOuIdentifier()?.getCertificate_asU8()).toHaveLength(0);
    expect(ous?.getAdminOuIdentifier()?.getOrganizationalUnitIdentifier()).toBe('boss');
    expect(ous?.getOrdererOuIdentifier()).toBeUndefined();
  });

  it('treats a missing folder as empty and an empty config.yaml as no NodeOUs', () => {
    write('empty/config.yaml', '');
    const f = read(join(dir, 'empty'));
    expect(f.getRootCertsList()).toHaveLength(0);
    expect(f.getFabricNodeOus()).toBeUndefined();
  });
});
