import { createHash, X509Certificate } from 'node:crypto';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { caPaths, keyFileName, loadOrCreateCaMaterial } from './ca-files';
import { CaSetupError } from './errors';
import { temporaryHome } from './test-kit';

describe('the CA home', () => {
  const home = temporaryHome();
  const options = { home: home.home, commonName: 'ca.hospital1', hosts: ['ca.hospital1', 'localhost', '127.0.0.1'] };
  afterAll(() => home.remove());

  it('is created on first start and reused afterwards', () => {
    const first = loadOrCreateCaMaterial(options);
    expect(first.created).toEqual({ ca: true, tls: true });
    const ca = new X509Certificate(first.caCertificatePem);
    expect(ca.subject).toBe('C=US\nST=North Carolina\nO=Hyperledger\nOU=Fabric\nCN=ca.hospital1');
    expect(ca.subjectAltName).toBe('DNS:ca.hospital1, DNS:localhost, IP Address:127.0.0.1');
    const again = loadOrCreateCaMaterial({ ...options, commonName: 'ignored' });
    expect(again.created).toEqual({ ca: false, tls: false });
    expect(again.caCertificatePem).toBe(first.caCertificatePem);
    expect(again.tlsCertificatePem).toBe(first.tlsCertificatePem);
    const keystore = caPaths(home.home).keystore;
    expect(readdirSync(keystore).sort()).toEqual(
      [keyFileName(ca.publicKey), keyFileName(new X509Certificate(first.tlsCertificatePem).publicKey)].sort(),
    );
    expect(statSync(keystore).mode & 0o777).toBe(0o700);
    expect(readdirSync(home.home).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it("names key files as BCCSP does: hex SHA-256 of the uncompressed point, '_sk'", () => {
    const ca = new X509Certificate(loadOrCreateCaMaterial(options).caCertificatePem);
    const spki = ca.publicKey.export({ type: 'spki', format: 'der' });
    const point = spki.subarray(spki.length - 65);
    expect(point[0]).toBe(4);
    expect(keyFileName(ca.publicKey)).toBe(`${createHash('sha256').update(point).digest('hex')}_sk`);
  });

  it('makes a new TLS certificate when it is gone, keeping the CA', () => {
    const before = loadOrCreateCaMaterial(options);
    rmSync(caPaths(home.home).tlsCertificate);
    const after = loadOrCreateCaMaterial(options);
    expect(after.created).toEqual({ ca: false, tls: true });
    expect(after.caCertificatePem).toBe(before.caCertificatePem);
    expect(new X509Certificate(after.tlsCertificatePem).checkIssued(new X509Certificate(after.caCertificatePem))).toBe(
      true,
    );
  });

  it('refuses to start when the CA key is missing', () => {
    const material = loadOrCreateCaMaterial(options);
    rmSync(join(caPaths(home.home).keystore, keyFileName(new X509Certificate(material.caCertificatePem).publicKey)));
    expect(() => loadOrCreateCaMaterial(options)).toThrow(
      expect.objectContaining({ name: 'CaSetupError', code: 'CA_KEY_MISSING' }),
    );
    expect(() => loadOrCreateCaMaterial(options)).toThrow(CaSetupError);
  });
});
