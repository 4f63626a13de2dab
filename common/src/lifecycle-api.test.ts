import 'reflect-metadata';
import { createPrivateKey, KeyObject, randomBytes, sign, verify, webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { canonicalJson } from './canonical-json';
import {
  ERASURE_RECEIPT_PURPOSE,
  erasureReceiptSignedBytes,
  signErasureReceipt,
  verifyErasureReceipt,
  type ErasureReceipt,
} from './lifecycle-api';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

/** A self-signed ECDSA P-256 certificate, as a gateway's signing identity looks to this code. */
async function gatewaySigner(): Promise<{ certificatePem: string; privateKeyPem: string }> {
  const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };
  const keys = await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex'),
    name: 'CN=gateway.hospital-a',
    notBefore: new Date('2026-01-01'),
    notAfter: new Date('2030-01-01'),
    keys,
    signingAlgorithm: alg,
  });
  const privateKeyPem = KeyObject.from(keys.privateKey).export({ type: 'pkcs8', format: 'pem' }) as string;
  return { certificatePem: cert.toString('pem'), privateKeyPem };
}

const receipt: ErasureReceipt = {
  receiptId: 'receipt-0001',
  pseudonym: 'ptaaaaaaaaaaaaaaaaaaaaaaaaaa',
  hospital: 'Hospital1MSP',
  erasedAt: '2026-05-01T12:00:00.000Z',
  destroyed: [{ what: 'backups', count: 2 }],
  kept: [{ what: 'standardized-elements', count: 9, basis: 'hospital record retention law' }],
};

describe('erasure receipt signatures', () => {
  it('verify over the receipt under its purpose label, and not for a changed receipt', async () => {
    const signer = await gatewaySigner();
    const signature = signErasureReceipt(receipt, signer.privateKeyPem);
    expect(verifyErasureReceipt(receipt, signature, signer.certificatePem)).toBe(true);
    expect(verifyErasureReceipt({ ...receipt, kept: [] }, signature, signer.certificatePem)).toBe(false);
    expect(erasureReceiptSignedBytes(receipt).toString('utf8')).toBe(
      canonicalJson({ purpose: ERASURE_RECEIPT_PURPOSE, receipt }),
    );
  });

  it("do not accept the key's signature over the receipt's bare JSON (made for some other purpose)", async () => {
    const signer = await gatewaySigner();
    // What the same key might sign elsewhere: JSON that happens to read as a receipt.
    const bare = sign('sha256', Buffer.from(canonicalJson(receipt), 'utf8'), createPrivateKey(signer.privateKeyPem));
    expect(verifyErasureReceipt(receipt, bare.toString('base64'), signer.certificatePem)).toBe(false);
    // Nor does a receipt signature serve as one over the bare JSON.
    const signature = Buffer.from(signErasureReceipt(receipt, signer.privateKeyPem), 'base64');
    const publicKey = new X509Certificate(signer.certificatePem).publicKey;
    expect(verify('sha256', Buffer.from(canonicalJson(receipt), 'utf8'), publicKey, signature)).toBe(false);
  });

  it('never throws: a malformed certificate or signature is false', () => {
    expect(verifyErasureReceipt(receipt, 'not base64!', 'not a certificate')).toBe(false);
  });
});
