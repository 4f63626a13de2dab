import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  writeSync,
} from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import { bccspSki } from './certificate-builder';
import { CaSetupError } from './errors';
import { createCaCertificate, Issuer } from './issuer';

/** The CA's certificate and key, and the HTTPS server's, as found in or written to the CA home. */
export interface CaMaterial {
  caCertificatePem: string;
  caKey: KeyObject;
  tlsCertificatePem: string;
  tlsKeyPem: string;
  /** Which of them this start created. */
  created: { ca: boolean; tls: boolean };
}

export interface CaFilesOptions {
  home: string;
  /** CN of a new CA certificate (`--csr-cn`). */
  commonName: string;
  /** SANs of a new CA and TLS certificate (`--csr-hosts`). */
  hosts: readonly string[];
  now?: Date;
}

/** Paths of fabric-ca-server's home layout that this CA shares. */
export function caPaths(home: string) {
  return {
    caCertificate: join(home, 'ca-cert.pem'),
    tlsCertificate: join(home, 'tls-cert.pem'),
    keystore: join(home, 'msp', 'keystore'),
  };
}

/** Writes a file so that a crash leaves either the old or the new content, never a torn one. */
export function writeFileAtomic(file: string, content: string, mode = 0o644): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  const fd = openSync(temporary, 'w', mode);
  try {
    writeSync(fd, content);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(temporary, file);
  const dir = openSync(dirname(file), 'r');
  try {
    fsyncSync(dir);
  } finally {
    closeSync(dir);
  }
}

function spkiOf(key: KeyObject): SubjectPublicKeyInfo {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return AsnConvert.parse(publicKey.export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
}

/** `<keystore>/<hex SHA-256 of the public point>_sk`: where BCCSP (and the Go CLI) keep a key. */
export function keyFileName(key: KeyObject): string {
  return `${bccspSki(spkiOf(key)).toString('hex')}_sk`;
}

/** Stores a private key as PKCS#8 PEM, mode 0600, under its BCCSP name; returns the PEM. */
export function storePrivateKey(keystore: string, key: KeyObject): string {
  mkdirSync(keystore, { recursive: true, mode: 0o700 });
  const pem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
  writeFileAtomic(join(keystore, keyFileName(key)), pem, 0o600);
  return pem;
}

/** The private key in `keystore` whose public half is `certificate`'s, if any. */
export function findPrivateKey(keystore: string, certificate: X509Certificate): KeyObject | undefined {
  if (!existsSync(keystore)) return undefined;
  const wanted = keyFileName(certificate.publicKey);
  const names = readdirSync(keystore).filter((n) => n.endsWith('_sk'));
  for (const name of [wanted, ...names.filter((n) => n !== wanted)]) {
    const file = join(keystore, name);
    if (!existsSync(file)) continue;
    try {
      const key = createPrivateKey(readFileSync(file));
      if (certificate.checkPrivateKey(key)) return key;
    } catch {
      // not a key this CA can read: look further
    }
  }
  return undefined;
}

function newP256Key(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
}

/**
 * The CA's key material: reused when the home has it (also a home fabric-ca-server created), else
 * created as fabric-ca-server does on first start: a P-256 key under `msp/keystore/<SKI>_sk`
 * (0600), then `ca-cert.pem`, then the server's TLS key and `tls-cert.pem` signed by the CA. Each
 * file is written atomically and the CA certificate last of the CA pair, so a CA whose
 * `ca-cert.pem` exists always has its key.
 */
export function loadOrCreateCaMaterial(options: CaFilesOptions): CaMaterial {
  const paths = caPaths(options.home);
  try {
    mkdirSync(paths.keystore, { recursive: true, mode: 0o700 });
  } catch (err) {
    throw new CaSetupError('CA_HOME', `cannot create the CA home ${options.home}`, { cause: err });
  }
  const created = { ca: false, tls: false };

  let caCertificatePem: string;
  let caKey: KeyObject;
  if (existsSync(paths.caCertificate)) {
    caCertificatePem = readFileSync(paths.caCertificate, 'utf8');
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(caCertificatePem);
    } catch (err) {
      throw new CaSetupError('CA_CERT_INVALID', `${paths.caCertificate} is not a certificate`, { cause: err });
    }
    if (!certificate.ca) throw new CaSetupError('CA_CERT_INVALID', `${paths.caCertificate} is not a CA certificate`);
    const key = findPrivateKey(paths.keystore, certificate);
    if (!key) throw new CaSetupError('CA_KEY_MISSING', `no key for ${paths.caCertificate} in ${paths.keystore}`);
    if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new CaSetupError('CA_CERT_INVALID', 'the CA key must be an ECDSA P-256 key');
    }
    caKey = key;
  } else {
    caKey = newP256Key();
    storePrivateKey(paths.keystore, caKey);
    caCertificatePem = createCaCertificate(spkiOf(caKey), caKey, options.commonName, options.hosts, options.now);
    writeFileAtomic(paths.caCertificate, caCertificatePem);
    created.ca = true;
  }

  const ca = new X509Certificate(caCertificatePem);
  let tlsCertificatePem: string | undefined;
  let tlsKeyPem: string | undefined;
  if (!created.ca && existsSync(paths.tlsCertificate)) {
    const pem = readFileSync(paths.tlsCertificate, 'utf8');
    try {
      const certificate = new X509Certificate(pem);
      const key = findPrivateKey(paths.keystore, certificate);
      const current = certificate.validToDate.getTime() > Date.now();
      if (key && current && certificate.checkIssued(ca) && certificate.verify(ca.publicKey)) {
        tlsCertificatePem = pem;
        tlsKeyPem = key.export({ type: 'pkcs8', format: 'pem' }).toString();
      }
    } catch {
      // unusable: make a new one below
    }
  }
  if (tlsCertificatePem === undefined || tlsKeyPem === undefined) {
    const tlsKey = newP256Key();
    tlsKeyPem = storePrivateKey(paths.keystore, tlsKey);
    const issuer = new Issuer(caCertificatePem, caKey);
    tlsCertificatePem = issuer.issueServerCertificate(spkiOf(tlsKey), hostname(), options.hosts, options.now).pem;
    writeFileAtomic(paths.tlsCertificate, tlsCertificatePem);
    created.tls = true;
  }
  return { caCertificatePem, caKey, tlsCertificatePem, tlsKeyPem, created };
}
