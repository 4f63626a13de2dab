import { X509Certificate } from 'node:crypto';
import * as asn1js from 'asn1js';
import { signFabric } from '../crypto/ecdsa';
import { TestCa } from '../testing/pki';
import { Msp, MspError, type MspDefinition } from './msp';

const NODE_OUS = { client: 'client', peer: 'peer', admin: 'admin', orderer: 'orderer' } as const;
const HOUR = 3600_000;

function definition(ca: TestCa, extra: Partial<MspDefinition> = {}): MspDefinition {
  return {
    mspId: 'Org1MSP',
    rootCertsPem: [ca.certificatePem],
    intermediateCertsPem: [],
    tlsRootCertsPem: [ca.certificatePem],
    tlsIntermediateCertsPem: [],
    adminCertsPem: [],
    revocationListDer: [],
    nodeOUs: { ...NODE_OUS },
    ...extra,
  };
}

const bytes = (pem: string) => Buffer.from(pem);

function refusal(fn: () => unknown): MspError {
  try {
    fn();
  } catch (err) {
    if (err instanceof MspError) return err;
    throw err;
  }
  throw new Error('expected an MspError');
}

describe('Msp', () => {
  const ca = TestCa.root('ca.org1');
  const msp = new Msp(definition(ca));

  it('accepts a certificate issued by the root, keeping the bytes as received', () => {
    const { certificatePem } = ca.issue({ cn: 'peer0', ous: ['peer'] });
    const raw = bytes(certificatePem.replace(/\n/g, '\r\n'));
    const id = msp.identity(raw);
    expect(id.mspId).toBe('Org1MSP');
    expect(id.role).toBe('peer');
    expect(id.isAdmin).toBe(false);
    expect(Buffer.from(id.idBytes)).toEqual(raw);
    expect(id.certificate.subject).toContain('CN=peer0');
  });

  it('accepts a certificate issued by a listed intermediate CA that chains to the root', () => {
    const mid = ca.intermediate('ica.org1');
    const withMid = new Msp(definition(ca, { intermediateCertsPem: [mid.certificatePem] }));
    const { certificatePem } = mid.issue({ cn: 'user', ous: ['client'] });
    expect(withMid.identity(bytes(certificatePem)).role).toBe('client');
    // Not listed: no chain.
    expect(refusal(() => msp.identity(bytes(certificatePem))).code).toBe('UNTRUSTED');
    // Listed, but the intermediate belongs to another root.
    const otherMid = TestCa.root('ca.org1').intermediate('ica.org1');
    const wrong = new Msp(definition(ca, { intermediateCertsPem: [otherMid.certificatePem] }));
    expect(refusal(() => wrong.identity(bytes(otherMid.issue({ cn: 'u', ous: ['client'] }).certificatePem))).code).toBe(
      'UNTRUSTED',
    );
  });

  it('refuses a certificate of a forged CA with the same name', () => {
    const forged = TestCa.root('ca.org1');
    const { certificatePem } = forged.issue({ cn: 'peer0', ous: ['peer'] });
    const err = refusal(() => msp.identity(bytes(certificatePem)));
    expect(err.code).toBe('UNTRUSTED');
    expect(err.message).toContain('Org1MSP');
  });

  it('refuses an expired certificate and one not yet valid', () => {
    const now = Date.now();
    const expired = ca.issue({
      cn: 'old',
      ous: ['client'],
      notBefore: new Date(now - 3 * HOUR),
      notAfter: new Date(now - HOUR),
    });
    expect(refusal(() => msp.identity(bytes(expired.certificatePem))).code).toBe('EXPIRED');
    const future = ca.issue({
      cn: 'new',
      ous: ['client'],
      notBefore: new Date(now + HOUR),
      notAfter: new Date(now + 3 * HOUR),
    });
    expect(refusal(() => msp.identity(bytes(future.certificatePem))).code).toBe('EXPIRED');
  });

  it('checks the validity period again when a validated identity is asked for later', () => {
    const short = ca.issue({ cn: 'short', ous: ['client'], notAfter: new Date(Date.now() + 60_000) });
    expect(msp.identity(bytes(short.certificatePem)).role).toBe('client');
    const spy = jest.spyOn(Date, 'now').mockReturnValue(Date.now() + 2 * 60_000);
    try {
      expect(refusal(() => msp.identity(bytes(short.certificatePem))).code).toBe('EXPIRED');
    } finally {
      spy.mockRestore();
    }
  });

  it.each([
    ['client', 'client'],
    ['peer', 'peer'],
    ['admin', 'admin'],
    ['orderer', 'orderer'],
  ])('classifies the NodeOU %s', (ou, role) => {
    const id = msp.identity(bytes(ca.issue({ cn: 'x', ous: [ou] }).certificatePem));
    expect(id.role).toBe(role);
    expect(id.isAdmin).toBe(role === 'admin');
  });

  it('finds the NodeOU among affiliation OUs written in one RDN, as Fabric CA writes them', () => {
    const { certificatePem } = ca.issue({ cn: 'p', ous: ['peer', 'org1', 'department1'] });
    // Node shows the multi-valued RDN on one line; the MSP must still see three OUs.
    expect(new X509Certificate(certificatePem).subject).toMatch(/OU=.+ \+ OU=/);
    expect(msp.identity(bytes(certificatePem)).role).toBe('peer');
  });

  it('refuses an identity with no NodeOU, or with two', () => {
    const none = refusal(() => msp.identity(bytes(ca.issue({ cn: 'n', ous: [] }).certificatePem)));
    expect(none.code).toBe('NODE_OU');
    expect(none.message).toMatch(/does not contain any OU/);
    const other = refusal(() => msp.identity(bytes(ca.issue({ cn: 'o', ous: ['org1'] }).certificatePem)));
    expect(other.code).toBe('NODE_OU');
    const two = refusal(() => msp.identity(bytes(ca.issue({ cn: 't', ous: ['client', 'peer'] }).certificatePem)));
    expect(two.code).toBe('NODE_OU');
    expect(two.message).toMatch(/not a combination/);
  });

  it('uses the OU names the configuration gives', () => {
    const custom = new Msp(definition(ca, { nodeOUs: { client: 'cli', peer: 'node', admin: 'boss', orderer: 'ord' } }));
    expect(custom.identity(bytes(ca.issue({ cn: 'a', ous: ['node'] }).certificatePem)).role).toBe('peer');
    expect(refusal(() => custom.identity(bytes(ca.issue({ cn: 'b', ous: ['peer'] }).certificatePem))).code).toBe(
      'NODE_OU',
    );
  });

  it('without NodeOUs accepts any member, with admins only from the admin certificates', () => {
    const listedAdmin = ca.issue({ cn: 'boss', ous: [] });
    const plain = new Msp(definition(ca, { nodeOUs: undefined, adminCertsPem: [listedAdmin.certificatePem] }));
    const member = plain.identity(bytes(ca.issue({ cn: 'm', ous: [] }).certificatePem));
    expect(member.role).toBeUndefined();
    expect(member.isAdmin).toBe(false);
    expect(plain.identity(bytes(listedAdmin.certificatePem)).isAdmin).toBe(true);
    // An admin OU means nothing without NodeOUs.
    expect(plain.identity(bytes(ca.issue({ cn: 'a', ous: ['admin'] }).certificatePem)).isAdmin).toBe(false);
  });

  it('makes a client listed among the admin certificates an admin, keeping its role', () => {
    const client = ca.issue({ cn: 'c', ous: ['client'] });
    const withAdmins = new Msp(definition(ca, { adminCertsPem: [client.certificatePem] }));
    const id = withAdmins.identity(bytes(client.certificatePem));
    expect(id.role).toBe('client');
    expect(id.isAdmin).toBe(true);
  });

  it('refuses a certificate its CA revoked, and keeps the others', async () => {
    const revoked = ca.issue({ cn: 'gone', ous: ['client'] });
    const kept = ca.issue({ cn: 'kept', ous: ['client'] });
    const crl = await ca.crl([revoked.serial]);
    const withCrl = new Msp(definition(ca, { revocationListDer: [crl] }));
    const err = refusal(() => withCrl.identity(bytes(revoked.certificatePem)));
    expect(err.code).toBe('REVOKED');
    expect(withCrl.identity(bytes(kept.certificatePem)).role).toBe('client');
    expect(() => new Msp(definition(ca, { revocationListDer: [Buffer.from('not a crl')] }))).toThrow(MspError);
  });

  it("ignores a CRL that the certificate's own CA did not sign, as Fabric does", async () => {
    const listed = ca.issue({ cn: 'listed', ous: ['client'] });
    const forged = await TestCa.root('ca.elsewhere').crl([listed.serial]);
    const withForged = new Msp(definition(ca, { revocationListDer: [forged] }));
    expect(withForged.identity(bytes(listed.certificatePem)).role).toBe('client');
    const genuine = await ca.crl([listed.serial]);
    const withBoth = new Msp(definition(ca, { revocationListDer: [forged, genuine] }));
    expect(refusal(() => withBoth.identity(bytes(listed.certificatePem))).code).toBe('REVOKED');
  });

  it('refuses a CA certificate as an identity, and bytes that are no certificate', () => {
    expect(refusal(() => msp.identity(bytes(ca.certificatePem))).code).toBe('BAD_IDENTITY');
    expect(
      refusal(() => msp.identity(bytes('-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'))).code,
    ).toBe('BAD_IDENTITY');
    // The refusal is remembered and given again.
    expect(refusal(() => msp.identity(bytes(ca.certificatePem))).code).toBe('BAD_IDENTITY');
  });
});

describe('Identity', () => {
  const ca = TestCa.root('ca.org1');
  const msp = new Msp(definition(ca));
  const order = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;

  it('verifies low-S signatures by its key only, and refuses the high-S form', () => {
    const a = ca.issue({ cn: 'a', ous: ['client'] });
    const id = msp.identity(bytes(a.certificatePem));
    const message = Buffer.from('payload');
    const low = signFabric(a.key, message);
    expect(id.verify(message, low)).toBe(true);
    expect(id.verify(Buffer.from('other'), low)).toBe(false);
    const seq = asn1js.fromBER(low).result as asn1js.Sequence;
    const [r, s] = (seq.valueBlock.value as asn1js.Integer[]).map((i) => i.toBigInt()) as [bigint, bigint];
    const high = Buffer.from(
      new asn1js.Sequence({ value: [asn1js.Integer.fromBigInt(r), asn1js.Integer.fromBigInt(order - s)] }).toBER(false),
    );
    expect(id.verify(message, high)).toBe(false);
    const b = ca.issue({ cn: 'b', ous: ['client'] });
    expect(id.verify(message, signFabric(b.key, message))).toBe(false);
  });

  it('has one key per MSP and certificate, however the PEM was written', () => {
    const a = ca.issue({ cn: 'a', ous: ['client'] });
    const one = msp.identity(bytes(a.certificatePem));
    const two = msp.identity(bytes(a.certificatePem.replace(/\n/g, '\r\n')));
    expect(one.key).toBe(two.key);
    const other = msp.identity(bytes(ca.issue({ cn: 'a', ous: ['client'] }).certificatePem));
    expect(other.key).not.toBe(one.key);
    const sameCertOtherMsp = new Msp({ ...definition(ca), mspId: 'Org2MSP' }).identity(bytes(a.certificatePem));
    expect(sameCertOtherMsp.key).not.toBe(one.key);
  });
});
