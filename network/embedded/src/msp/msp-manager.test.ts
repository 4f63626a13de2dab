import { msp as mspProtos } from '@hyperledger/fabric-protos';
import { TestCa } from '../testing/pki';
import { Msp, MspError, type MspDefinition } from './msp';
import { MspManager, serializeIdentity } from './msp-manager';

function definition(mspId: string, ca: TestCa): MspDefinition {
  return {
    mspId,
    rootCertsPem: [ca.certificatePem],
    intermediateCertsPem: [],
    tlsRootCertsPem: [],
    tlsIntermediateCertsPem: [],
    adminCertsPem: [],
    revocationListDer: [],
    nodeOUs: { client: 'client', peer: 'peer', admin: 'admin', orderer: 'orderer' },
  };
}

describe('MspManager', () => {
  const ca1 = TestCa.root('ca.org1');
  const ca2 = TestCa.root('ca.org2');
  const manager = new MspManager([new Msp(definition('Org1MSP', ca1)), new Msp(definition('Org2MSP', ca2))]);

  it('deserializes a SerializedIdentity into an identity of the named MSP', () => {
    const { certificatePem } = ca2.issue({ cn: 'p', ous: ['peer'] });
    const id = manager.deserialize(serializeIdentity('Org2MSP', certificatePem));
    expect(id.mspId).toBe('Org2MSP');
    expect(id.role).toBe('peer');
    expect(Buffer.from(id.idBytes).toString()).toBe(certificatePem);
    expect(manager.all().map((m) => m.mspId)).toEqual(['Org1MSP', 'Org2MSP']);
    expect(manager.get('Org1MSP')?.mspId).toBe('Org1MSP');
  });

  it('writes the MSP id and the certificate bytes as given', () => {
    const sid = mspProtos.SerializedIdentity.deserializeBinary(serializeIdentity('Org1MSP', 'PEM TEXT'));
    expect(sid.getMspid()).toBe('Org1MSP');
    expect(Buffer.from(sid.getIdBytes_asU8()).toString()).toBe('PEM TEXT');
  });

  it('refuses an unknown MSP, a certificate claimed by the wrong MSP, and bytes that do not parse', () => {
    const { certificatePem } = ca1.issue({ cn: 'c', ous: ['client'] });
    const codeOf = (b: Uint8Array) => {
      try {
        manager.deserialize(b);
      } catch (err) {
        return err instanceof MspError ? err.code : String(err);
      }
      return 'accepted';
    };
    expect(codeOf(serializeIdentity('Org3MSP', certificatePem))).toBe('UNKNOWN_MSP');
    expect(codeOf(serializeIdentity('Org2MSP', certificatePem))).toBe('UNTRUSTED');
    expect(codeOf(Buffer.from([0x0a, 0xff, 0xff, 0xff]))).toBe('BAD_IDENTITY');
    expect(codeOf(serializeIdentity('Org1MSP', certificatePem))).toBe('accepted');
  });
});
