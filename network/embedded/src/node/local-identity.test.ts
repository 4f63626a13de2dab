import { createPublicKey } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { msp as mspProtos } from '@hyperledger/fabric-protos';
import { verifyFabric } from '../crypto/ecdsa';
import { keyPem, TestCa } from '../testing/pki';
import { LocalIdentity } from './local-identity';

describe('LocalIdentity', () => {
  const dir = mkdtempSync(join(tmpdir(), 'phr-identity-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const ca = TestCa.root();

  it('reads signcerts/ and the keystore file ending _sk, as fabric-ca-client writes them', () => {
    const issued = ca.issue({ cn: 'peer0', ous: ['peer'] });
    const other = ca.issue({ cn: 'other', ous: ['peer'] });
    mkdirSync(join(dir, 'msp', 'signcerts'), { recursive: true });
    mkdirSync(join(dir, 'msp', 'keystore'), { recursive: true });
    writeFileSync(join(dir, 'msp', 'signcerts', 'cert.pem'), issued.certificatePem.replace(/\n/g, '\r\n'));
    writeFileSync(join(dir, 'msp', 'keystore', 'aaa'), keyPem(other.key));
    writeFileSync(join(dir, 'msp', 'keystore', 'abc123_sk'), keyPem(issued.key));
    const id = LocalIdentity.fromMspFolder('Hospital1MSP', join(dir, 'msp'));
    // Serialized with the certificate re-encoded from DER, as a Fabric node serializes itself.
    expect(id.certificatePem).toBe(issued.certificatePem);
    const sid = mspProtos.SerializedIdentity.deserializeBinary(id.serialized);
    expect([sid.getMspid(), Buffer.from(sid.getIdBytes_asU8()).toString()]).toEqual([
      'Hospital1MSP',
      issued.certificatePem,
    ]);
    const message = Buffer.from('block header');
    expect(verifyFabric(createPublicKey(issued.key), message, id.sign(message))).toBe(true);
    const h1 = id.signatureHeader();
    const h2 = id.signatureHeader();
    expect(Buffer.from(h1.getCreator_asU8())).toEqual(Buffer.from(id.serialized));
    expect(h1.getNonce_asU8()).toHaveLength(24);
    expect(Buffer.from(h1.getNonce_asU8())).not.toEqual(Buffer.from(h2.getNonce_asU8()));
  });

  it('refuses a folder without certificate or key', () => {
    mkdirSync(join(dir, 'empty', 'signcerts'), { recursive: true });
    mkdirSync(join(dir, 'empty', 'keystore'), { recursive: true });
    expect(() => LocalIdentity.fromMspFolder('X', join(dir, 'empty'))).toThrow(/no certificate or key/);
  });
});
