import 'reflect-metadata';
import { X509Certificate } from 'node:crypto';
import { AsnConvert } from '@peculiar/asn1-schema';
import * as asn1 from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { altNamesOfHosts } from './certificate-builder';
import { parseCsr } from './csr';
import { FabricCaError } from './errors';
import { csrFor, makeCa, makeCsr, newKey } from './test-kit';

const YEAR = 365 * 24 * 3600_000;

describe('Issuer', () => {
  it('writes the type then the affiliation elements as OUs, keeps C/ST/L/O from the CSR and drops its OUs', () => {
    const { issuer } = makeCa();
    const key = newKey();
    const csr = csrFor(key, 'peer0', {
      C: ['US'],
      ST: ['North Carolina'],
      L: ['Durham'],
      O: ['Hyperledger'],
      OU: ['Fabric'],
    });
    const issued = issuer.issue({
      csr,
      enrollmentId: 'peer0',
      type: 'peer',
      affiliation: 'org1.department1',
      profile: '',
    });
    const cert = new X509Certificate(issued.pem);
    expect(cert.subject.split('\n')).toEqual([
      'C=US',
      'ST=North Carolina',
      'L=Durham',
      'O=Hyperledger',
      expect.stringMatching(/^OU=/),
      'CN=peer0',
    ]);
    expect(cert.subject).toContain('peer');
    expect(cert.subject).toContain('org1');
    expect(cert.subject).toContain('department1');
    expect(cert.subject).not.toContain('Fabric');
  });

  it("starts at the CA's notBefore and never outlives the CA", () => {
    const now = new Date();
    const ca = makeCa('ca.old', new Date(now.getTime() - 15 * YEAR + 30 * 24 * 3600_000));
    const issued = ca.issuer.issue({
      csr: csrFor(newKey(), 'late'),
      enrollmentId: 'late',
      type: 'client',
      affiliation: '',
      profile: 'tls',
    });
    expect(issued.notBefore.getTime()).toBe(ca.issuer.caNotBefore.getTime());
    expect(issued.notAfter.getTime()).toBe(ca.issuer.caNotAfter.getTime());
    const fresh = makeCa();
    const normal = fresh.issuer.issue({
      csr: csrFor(newKey(), 'a'),
      enrollmentId: 'a',
      type: 'client',
      affiliation: '',
      profile: '',
    });
    expect(Math.abs(normal.notAfter.getTime() - Date.now() - YEAR)).toBeLessThan(2 * 60_000);
  });

  it('replaces the CSR SANs with the request hosts, even an empty list, and refuses an unknown profile', () => {
    const { issuer } = makeCa();
    const csr = csrFor(newKey(), 'n', {}, { dns: ['from.csr'], emails: [], ips: [], uris: [] });
    const keep = new X509Certificate(
      issuer.issue({ csr, enrollmentId: 'n', type: 'client', affiliation: '', profile: '' }).pem,
    );
    expect(keep.subjectAltName).toBe('DNS:from.csr');
    const cleared = new X509Certificate(
      issuer.issue({ csr, enrollmentId: 'n', type: 'client', affiliation: '', profile: '', hosts: [] }).pem,
    );
    expect(cleared.subjectAltName).toBeUndefined();
    expect(() => issuer.issue({ csr, enrollmentId: 'n', type: 'client', affiliation: '', profile: 'nope' })).toThrow(
      FabricCaError,
    );
  });

  it('sorts hosts into SAN kinds as cfssl does', () => {
    expect(
      altNamesOfHosts(['peer0.h1', '127.0.0.1', '::1', 'ops@h1.example', 'spiffe://h1/peer0', 'localhost']),
    ).toEqual({
      dns: ['peer0.h1', 'localhost'],
      ips: ['127.0.0.1', '::1'],
      emails: ['ops@h1.example'],
      uris: ['spiffe://h1/peer0'],
    });
  });
});

describe('parseCsr', () => {
  it('reads the subject, the key and the requested SANs', async () => {
    const key = newKey();
    const pem = await makeCsr(key, 'C=US, O=Hyperledger, CN=alice', [
      { type: 'dns', value: 'alice.example' },
      { type: 'ip', value: '10.0.0.1' },
    ]);
    const csr = parseCsr(pem);
    expect(csr.commonName).toBe('alice');
    expect(csr.subject).toMatchObject({ C: ['US'], O: ['Hyperledger'] });
    expect(csr.altNames).toEqual({ dns: ['alice.example'], emails: [], ips: ['10.0.0.1'], uris: [] });
    expect(csr.requestsCa).toBe(false);
  });

  it('refuses what is not a CSR, and a CSR whose signature does not verify (400 code 31)', async () => {
    expect(() => parseCsr('hello')).toThrow(expect.objectContaining({ status: 400, code: 31 }));
    const pem = await makeCsr(newKey(), 'CN=bob');
    const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    der[der.length - 5] = (der[der.length - 5] as number) ^ 0x01;
    const tampered = `-----BEGIN CERTIFICATE REQUEST-----\n${der.toString('base64')}\n-----END CERTIFICATE REQUEST-----\n`;
    expect(() => parseCsr(tampered)).toThrow(expect.objectContaining({ status: 400, code: 31 }));
  });
});

describe('Issuer.createCrl', () => {
  it('encodes serials as positive DER integers (odd length, high bit) with their revocation times', async () => {
    const { issuer, certificatePem } = makeCa();
    expect(issuer.canSignCrl).toBe(true);
    const now = new Date('2030-06-01T12:00:00.000Z');
    const revokedAt = new Date('2030-05-31T08:09:10.000Z');
    const pem = issuer.createCrl(
      [
        { serial: 'ff01', revokedAt },
        { serial: 'abc', revokedAt },
        { serial: '7f', revokedAt: now },
      ],
      now,
    );
    const crl = new x509.X509Crl(pem);
    const entries = AsnConvert.parse(Buffer.from(crl.rawData), asn1.CertificateList).tbsCertList.revokedCertificates;
    // DER INTEGER contents: a 00 before a high bit, none otherwise
    expect(entries?.map((e) => Buffer.from(e.userCertificate).toString('hex'))).toEqual(['00ff01', '0abc', '7f']);
    expect(crl.entries.map((e) => e.revocationDate.toISOString())).toEqual([
      revokedAt.toISOString(),
      revokedAt.toISOString(),
      now.toISOString(),
    ]);
    expect(crl.thisUpdate.toISOString()).toBe(now.toISOString());
    expect(crl.nextUpdate?.toISOString()).toBe('2030-06-02T12:00:00.000Z');
    expect(crl.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId).toBe(
      new x509.X509Certificate(certificatePem).getExtension(x509.SubjectKeyIdentifierExtension)?.keyId,
    );
    await expect(crl.verify({ publicKey: new x509.X509Certificate(certificatePem) })).resolves.toBe(true);
    await expect(crl.verify({ publicKey: new x509.X509Certificate(makeCa().certificatePem) })).resolves.toBe(false);
  });

  it('leaves the revokedCertificates list out when there is none, as Go does', () => {
    const { issuer } = makeCa();
    const crl = new x509.X509Crl(issuer.createCrl([]));
    expect(crl.entries).toHaveLength(0);
    // TBSCertList: version, signature, issuer, thisUpdate, nextUpdate, [0] extensions: six elements
    const der = Buffer.from(crl.rawData);
    const tbs = AsnConvert.parse(der, asn1.CertificateList).tbsCertList;
    expect(tbs.revokedCertificates).toBeUndefined();
    expect(tbs.crlExtensions).toHaveLength(1);
  });
});
