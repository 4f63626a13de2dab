// Test helpers for the CA's tests: a CA in a temporary home, HTTPS requests, CSRs made like the clients make them.
import 'reflect-metadata';
import { generateKeyPairSync, createPublicKey, webcrypto, type KeyObject } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AsnConvert } from '@peculiar/asn1-schema';
import { SubjectPublicKeyInfo } from '@peculiar/asn1-x509';
import * as x509 from '@peculiar/x509';
import { CaServer, type CaServerOptions } from './ca-server';
import type { AltNames, SubjectFields } from './certificate-builder';
import type { ParsedCsr } from './csr';
import { createCaCertificate, Issuer } from './issuer';

export const CA_NAME = 'ca-test';
export const BOOTSTRAP = { id: 'admin', secret: 'adminpw' } as const;

export function temporaryHome(): { home: string; remove: () => void } {
  const home = mkdtempSync(join(tmpdir(), 'phr-ca-'));
  return { home, remove: () => rmSync(home, { recursive: true, force: true }) };
}

export function startTestCa(home: string, overrides: Partial<CaServerOptions> = {}): Promise<CaServer> {
  return CaServer.start({
    home,
    host: '127.0.0.1',
    port: 0,
    caName: CA_NAME,
    csrCommonName: 'ca.test',
    csrHosts: ['127.0.0.1', 'localhost'],
    bootstrap: { ...BOOTSTRAP },
    operations: { host: '127.0.0.1', port: 0 },
    ...overrides,
  });
}

export interface HttpsReply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
  json: { result: unknown; errors: { code: number; message: string }[]; success: boolean } | undefined;
}

/** One HTTPS request to the CA, trusting `caPem`. */
export function httpsRequest(
  url: string,
  caPem: string,
  options: { method?: string; body?: string | Buffer; headers?: Record<string, string> } = {},
): Promise<HttpsReply> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: options.method ?? 'GET', ca: caPem, headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: HttpsReply['json'];
        try {
          json = text ? (JSON.parse(text) as HttpsReply['json']) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json });
      });
    });
    req.on('error', reject);
    if (options.body !== undefined) req.write(options.body);
    req.end();
  });
}

export function newKey(): KeyObject {
  return generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A PKCS#10 request as the agent (`CN=id` only) or the CLIs (names, SANs) make it. */
export async function makeCsr(
  key: KeyObject,
  subject: string,
  sans: { type: 'dns' | 'ip' | 'email'; value: string }[] = [],
): Promise<string> {
  const subtle = webcrypto.subtle;
  const keys = {
    privateKey: await subtle.importKey('pkcs8', key.export({ type: 'pkcs8', format: 'der' }), ALG, false, ['sign']),
    publicKey: await subtle.importKey('spki', createPublicKey(key).export({ type: 'spki', format: 'der' }), ALG, true, [
      'verify',
    ]),
  };
  // x509's parameter types name the DOM's WebCrypto types, which Node's typings don't declare globally:
  // Node's own CryptoKeys and webcrypto are what it uses at run time.
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: subject,
      keys,
      signingAlgorithm: ALG,
      extensions: sans.length > 0 ? [new x509.SubjectAlternativeNameExtension(sans)] : [],
    },
    webcrypto,
  );
  return csr.toString('pem');
}

/** The attribute extension's JSON of a certificate, if it has one. */
export function attributesOf(certificatePem: string): Record<string, string> | undefined {
  const cert = new x509.X509Certificate(certificatePem);
  const ext = cert.extensions.find((e) => e.type === '1.2.3.4.5.6.7.8.1');
  return ext
    ? (JSON.parse(Buffer.from(ext.value).toString('utf8')) as { attrs: Record<string, string> }).attrs
    : undefined;
}

/** The SubjectPublicKeyInfo structure of a key. */
export function spkiOf(key: KeyObject): SubjectPublicKeyInfo {
  return AsnConvert.parse(createPublicKey(key).export({ type: 'spki', format: 'der' }), SubjectPublicKeyInfo);
}

/** A CA made as the server makes its own, without a home on disk. */
export function makeCa(
  commonName = 'ca.unit',
  now = new Date(),
): { issuer: Issuer; certificatePem: string; key: KeyObject } {
  const key = newKey();
  const certificatePem = createCaCertificate(spkiOf(key), key, commonName, ['localhost'], now);
  return { issuer: new Issuer(certificatePem, key), certificatePem, key };
}

/** A parsed CSR for `id` with `key`, as `parseCsr` would return it. */
export function csrFor(key: KeyObject, id: string, subject: SubjectFields = {}, altNames?: AltNames): ParsedCsr {
  return {
    subject: { ...subject, CN: id },
    commonName: id,
    publicKey: spkiOf(key),
    altNames: altNames ?? { dns: [], emails: [], ips: [], uris: [] },
    requestsCa: false,
  };
}

/** An enrollment certificate of `id` from a fresh CA, with its key. */
export function makeCertificate(
  id: string,
  type = 'client',
): { certificatePem: string; key: KeyObject; ca: ReturnType<typeof makeCa> } {
  const ca = makeCa();
  const key = newKey();
  const issued = ca.issuer.issue({ csr: csrFor(key, id), enrollmentId: id, type, affiliation: '', profile: '' });
  return { certificatePem: issued.pem, key, ca };
}
