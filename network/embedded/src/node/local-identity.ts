import { createPrivateKey, randomBytes, type KeyObject } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { common } from '@hyperledger/fabric-protos';
import { signFabric } from '../crypto/ecdsa';
import { canonicalCertificatePem } from '../crypto/pem';
import { serializeIdentity } from '../msp/msp-manager';

/**
 * A node's own signing identity, read from its MSP folder (signcerts/, keystore/*_sk). Serialized
 * with the certificate re-encoded from its DER bytes, as a Fabric node serializes itself.
 */
export class LocalIdentity {
  readonly serialized: Uint8Array;
  readonly certificatePem: string;
  private readonly key: KeyObject;

  constructor(
    readonly mspId: string,
    certificatePem: string,
    privateKeyPem: string,
  ) {
    this.certificatePem = canonicalCertificatePem(certificatePem);
    this.key = createPrivateKey(privateKeyPem);
    this.serialized = serializeIdentity(mspId, this.certificatePem);
  }

  static fromMspFolder(mspId: string, mspDir: string): LocalIdentity {
    const certs = readdirSync(join(mspDir, 'signcerts')).filter((f) => f.endsWith('.pem'));
    const keys = readdirSync(join(mspDir, 'keystore'));
    const cert = certs[0];
    const key = keys.find((k) => k.endsWith('_sk')) ?? keys[0];
    if (!cert || !key) throw new Error(`no certificate or key in ${mspDir}`);
    return new LocalIdentity(
      mspId,
      readFileSync(join(mspDir, 'signcerts', cert), 'utf8'),
      readFileSync(join(mspDir, 'keystore', key), 'utf8'),
    );
  }

  sign(message: Uint8Array): Buffer {
    return signFabric(this.key, message);
  }

  /** A signature header naming this identity, with a fresh 24-byte nonce. */
  signatureHeader(): common.SignatureHeader {
    const h = new common.SignatureHeader();
    h.setCreator(this.serialized);
    h.setNonce(randomBytes(24));
    return h;
  }
}
