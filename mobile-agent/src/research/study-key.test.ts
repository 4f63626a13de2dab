import { X509Certificate } from 'node:crypto';
import { generateEncryptionKeyPair, openEnvelope, seal, verifyEnvelope } from '@phr/common';
import { newStudyKey, studyKeyOf } from './study-key';

describe('newStudyKey', () => {
  it('makes a P-256 key with a self-signed certificate naming only the participation, that signs an envelope', async () => {
    const key = await newStudyKey('rp-1234-participation', new Date('2099-01-01T00:00:00Z'));
    const cert = new X509Certificate(key.certificatePem);
    expect(cert.subject).toBe('CN=rp-1234-participation');
    expect(cert.issuer).toBe(cert.subject);
    expect(cert.verify(cert.publicKey)).toBe(true);
    expect(cert.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')).toBe(key.studyKey);
    expect(studyKeyOf(key.privateKeyPem)).toBe(key.studyKey);

    const researcher = generateEncryptionKeyPair('X25519');
    const aad = { purpose: 'test', offerId: 'offer-0001', participationId: 'rp-1234-participation' };
    const envelope = seal(Buffer.from('extract'), { algorithm: 'X25519', publicKey: researcher.publicKeyPem }, aad, {
      certificatePem: key.certificatePem,
      privateKeyPem: key.privateKeyPem,
    });
    expect(verifyEnvelope(envelope).senderCertificate).toBe(key.certificatePem);
    expect(openEnvelope(envelope, researcher.privateKeyPem, aad).toString()).toBe('extract');
  });

  it('makes a new key for every participation', async () => {
    const a = await newStudyKey('rp-participation-a', new Date('2099-01-01T00:00:00Z'));
    const b = await newStudyKey('rp-participation-b', new Date('2099-01-01T00:00:00Z'));
    expect(a.studyKey).not.toBe(b.studyKey);
  });
});
