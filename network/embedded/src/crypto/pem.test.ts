import { X509Certificate } from 'node:crypto';
import { TestCa } from '../testing/pki';
import { canonicalCertificatePem, splitPemCertificates, toPem } from './pem';

describe('PEM', () => {
  it('writes 64 base64 characters a line between the labels, as Go encoding/pem does', () => {
    const der = Buffer.alloc(100, 0xab);
    const pem = toPem(der, 'X509 CRL');
    const lines = pem.trimEnd().split('\n');
    expect(lines[0]).toBe('-----BEGIN X509 CRL-----');
    expect(lines.at(-1)).toBe('-----END X509 CRL-----');
    expect(lines.slice(1, -1).map((l) => l.length)).toEqual([64, 64, 8]);
    expect(Buffer.from(lines.slice(1, -1).join(''), 'base64')).toEqual(der);
    expect(pem.endsWith('\n')).toBe(true);
  });

  it('splits a bundle into its certificates in order, and re-encodes one canonically', () => {
    const a = TestCa.root('ca.a');
    const b = TestCa.root('ca.b');
    const bundle = `junk\n${a.certificatePem}\r\n${b.certificatePem.replace(/\n/g, '\r\n')}`;
    expect(splitPemCertificates(bundle).map((c) => c.subject)).toEqual([
      new X509Certificate(a.certificatePem).subject,
      new X509Certificate(b.certificatePem).subject,
    ]);
    expect(splitPemCertificates('nothing here')).toEqual([]);
    const messy = b.certificatePem.replace(/\n/g, '\r\n');
    expect(canonicalCertificatePem(messy)).toBe(b.certificatePem);
    expect(canonicalCertificatePem(new X509Certificate(b.certificatePem).raw)).toBe(b.certificatePem);
  });
});
