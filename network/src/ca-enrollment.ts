// @peculiar/x509 resolves its services through tsyringe, which needs the Reflect metadata API loaded first.
import 'reflect-metadata';
import {
  createHash,
  createPrivateKey,
  createPublicKey,
  generateKeyPairSync,
  webcrypto,
  X509Certificate,
  type KeyObject,
} from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';
import type FabricCAServices from 'fabric-ca-client';
import type { User } from 'fabric-common';

/** Where a Fabric CA is and how to trust it. */
export interface CaEndpoint {
  /** https://host:port */
  url: string;
  caName: string;
  /** PEM of the CA's TLS root (its `ca-cert.pem`). */
  tlsRootPem: string;
}

export interface EnrollOptions extends CaEndpoint {
  id: string;
  secret: string;
  /** MSP folder to write: signcerts/, keystore/, cacerts/ (tlscacerts/ for the tls profile). */
  mspDir: string;
  /** SANs for the CSR; default this machine's host name, as the Go CLI. */
  hosts?: string[];
  /** "tls" for a TLS certificate; default the enrollment certificate. */
  profile?: string;
  /** Attribute requests (`name` or `name:opt`); default the identity's ecert attributes. */
  attrRequests?: { name: string; optional: boolean }[];
}

export interface RegisterOptions extends CaEndpoint {
  /** MSP folder of an enrolled registrar (signcerts/ and keystore/). */
  registrarMspDir: string;
  id: string;
  /** Default: the CA generates one. */
  secret?: string;
  type: string;
  affiliation?: string;
  attrs?: { name: string; value: string; ecert: boolean }[];
  /** Default 0: the CA's maximum (unlimited with Fabric CA's defaults). */
  maxEnrollments?: number;
}

/** What an enrollment wrote. */
export interface EnrollmentFiles {
  certificate: string;
  privateKey: string;
  caCertificates: string[];
}

/** A refusal or failure reported by the CA, or the CA not answering. */
export class CaClientError extends Error {
  override readonly name = 'CaClientError';
  constructor(
    readonly code: 'ALREADY_REGISTERED' | 'REFUSED' | 'UNREACHABLE' | 'FAILED' | 'BAD_INPUT',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}

/** The names the Go CLI puts in its CSRs by default (the CA keeps C, ST, L, O; it writes OU itself). */
const GO_CLI_NAMES = [{ C: ['US'] }, { ST: ['North Carolina'] }, { O: ['Hyperledger'] }, { OU: ['Fabric'] }];
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** How long a CA call may stay silent: fabric-ca-client's own 3 s is short for a CA on a loaded machine. */
const CA_CALL_TIMEOUT_MS = 30_000;

/** fabric-ca-client for one CA, with this project's deadline. */
export function caServices(endpoint: CaEndpoint): FabricCAServices {
  // Loaded only when used: fabric-common reads process.argv through nconf at load time.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Services = require('fabric-ca-client') as typeof FabricCAServices;
  // The deadline is one of fabric-common's process-wide settings, read on every call.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const common = require('fabric-common') as { Utils: { setConfigSetting(name: string, value: unknown): void } };
  common.Utils.setConfigSetting('connection-timeout', CA_CALL_TIMEOUT_MS);
  return new Services(endpoint.url, { trustedRoots: [endpoint.tlsRootPem], verify: true }, endpoint.caName);
}

/** BCCSP's key id, which names key files: SHA-256 of the uncompressed public point. */
export function keyFileName(key: KeyObject): string {
  const jwk = createPublicKey(key).export({ format: 'jwk' });
  const point = Buffer.concat([
    Buffer.from([4]),
    Buffer.from(jwk.x ?? '', 'base64url'),
    Buffer.from(jwk.y ?? '', 'base64url'),
  ]);
  return `${createHash('sha256').update(point).digest('hex')}_sk`;
}

/** A PKCS#10 request for `id` signed with `key`, with the Go CLI's default names and `hosts` as SANs. */
export async function createCsr(id: string, key: KeyObject, hosts: readonly string[]): Promise<string> {
  const subtle = webcrypto.subtle;
  const keys = {
    privateKey: await subtle.importKey('pkcs8', key.export({ type: 'pkcs8', format: 'der' }), ALG, false, ['sign']),
    publicKey: await subtle.importKey('spki', createPublicKey(key).export({ type: 'spki', format: 'der' }), ALG, true, [
      'verify',
    ]),
  };
  const names = hosts.map((value) =>
    isIP(value)
      ? { type: 'ip' as const, value }
      : /^[^\s@]+@[^\s@]+$/.test(value)
        ? { type: 'email' as const, value }
        : { type: 'dns' as const, value },
  );
  // x509's parameter types name the DOM's WebCrypto types, which Node's typings don't declare globally:
  // Node's own CryptoKeys and webcrypto are what it uses at run time.
  const csr = await x509.Pkcs10CertificateRequestGenerator.create(
    {
      name: new x509.Name([...GO_CLI_NAMES, { CN: [id] }]),
      keys,
      signingAlgorithm: ALG,
      extensions: names.length > 0 ? [new x509.SubjectAlternativeNameExtension(names)] : [],
    },
    webcrypto,
  );
  return csr.toString('pem');
}

/** The Go CLI's file name for a CA's certificates: `host-port-caname.pem`, dots and colons as dashes. */
export function caFileName(url: string, caName: string): string {
  const host = new URL(url).host;
  return `${(caName ? `${host}-${caName}` : host).replace(/[:.]/g, '-')}.pem`;
}

/** Maps the npm client's errors to what a script needs to tell apart. */
export function classify(err: unknown, action: string): CaClientError {
  const message = err instanceof Error ? err.message : String(err);
  const errors = (err as { errors?: { code?: number; message?: string }[] } | undefined)?.errors;
  const first = Array.isArray(errors) ? errors[0] : undefined;
  if (first?.code === 74 || /is already registered/.test(message)) {
    return new CaClientError('ALREADY_REGISTERED', first?.message ?? message, { cause: err });
  }
  if (first?.code === 20 || first?.code === 71 || /status code 40[13]/.test(message)) {
    return new CaClientError('REFUSED', `${action} refused by the CA: ${first?.message ?? message}`, { cause: err });
  }
  if (first) {
    return new CaClientError('FAILED', `${action} failed at the CA: code ${first.code}: ${first.message}`, {
      cause: err,
    });
  }
  if (/Calling \w+ endpoint failed/.test(message)) {
    return new CaClientError('UNREACHABLE', `${action} failed: the CA cannot be reached: ${message}`, { cause: err });
  }
  return new CaClientError('FAILED', `${action} failed: ${message}`, { cause: err });
}

function writeFile(file: string, content: string, mode: number): void {
  writeFileSync(file, content, { mode });
  chmodSync(file, mode);
}

/**
 * Enrolls `id` with a key made here (the CA library never makes or sees it) and writes the Go
 * CLI's MSP layout: `signcerts/cert.pem`, `keystore/<SKI>_sk` (PKCS#8, 0600) and the CA chain in
 * `cacerts/` (or `tlscacerts/tls-…` for the tls profile; intermediates beside).
 */
export async function enrollToMsp(options: EnrollOptions): Promise<EnrollmentFiles> {
  const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey;
  const csr = await createCsr(options.id, key, options.hosts ?? [hostname()]);
  let result: { certificate: string; rootCertificate: string };
  try {
    result = await caServices(options).enroll({
      enrollmentID: options.id,
      enrollmentSecret: options.secret,
      csr,
      ...(options.profile ? { profile: options.profile } : {}),
      ...(options.attrRequests ? { attr_reqs: options.attrRequests } : {}),
    });
  } catch (err) {
    throw classify(err, `enrollment of ${options.id}`);
  }
  const tls = options.profile === 'tls';
  const msp = options.mspDir;
  for (const dir of [msp, join(msp, 'keystore')]) mkdirSync(dir, { recursive: true, mode: 0o700 });
  mkdirSync(join(msp, 'signcerts'), { recursive: true });
  const certificate = join(msp, 'signcerts', 'cert.pem');
  writeFile(certificate, result.certificate, 0o644);
  const privateKey = join(msp, 'keystore', keyFileName(key));
  writeFile(privateKey, key.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600);
  const chain = result.rootCertificate.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
  const roots = chain.filter((pem) => {
    const cert = new X509Certificate(pem);
    return cert.checkIssued(cert);
  });
  const intermediates = chain.filter((pem) => !roots.includes(pem));
  const name = `${tls ? 'tls-' : ''}${caFileName(options.url, options.caName)}`;
  const caCertificates: string[] = [];
  for (const [dir, pems] of [
    [tls ? 'tlscacerts' : 'cacerts', roots],
    [tls ? 'tlsintermediatecerts' : 'intermediatecerts', intermediates],
  ] as const) {
    if (pems.length === 0) continue;
    mkdirSync(join(msp, dir), { recursive: true });
    const file = join(msp, dir, name);
    writeFile(file, pems.map((p) => (p.endsWith('\n') ? p : `${p}\n`)).join(''), 0o644);
    caCertificates.push(file);
  }
  return { certificate, privateKey, caCertificates };
}

/** The registrar's certificate and matching key from an MSP folder. */
export function loadMspIdentity(mspDir: string): { certificatePem: string; keyPem: string; commonName: string } {
  const signcerts = join(mspDir, 'signcerts');
  const certFile = existsSync(signcerts) ? readdirSync(signcerts).find((f) => f.endsWith('.pem')) : undefined;
  if (!certFile) throw new CaClientError('BAD_INPUT', `no certificate in ${signcerts}`);
  const certificatePem = readFileSync(join(signcerts, certFile), 'utf8');
  const certificate = new X509Certificate(certificatePem);
  const keystore = join(mspDir, 'keystore');
  const keyFiles = existsSync(keystore) ? readdirSync(keystore) : [];
  for (const file of keyFiles) {
    try {
      const keyPem = readFileSync(join(keystore, file), 'utf8');
      if (certificate.checkPrivateKey(createPrivateKey(keyPem))) {
        const commonName = /(?:^|\n)CN=([^\n]*)/.exec(certificate.subject)?.[1] ?? 'registrar';
        return { certificatePem, keyPem, commonName };
      }
    } catch {
      // not a key: look further
    }
  }
  throw new CaClientError('BAD_INPUT', `no key in ${keystore} matches ${join(signcerts, certFile)}`);
}

/** Registers an identity with the registrar's token; returns the enrollment secret. */
export async function registerIdentity(options: RegisterOptions): Promise<string> {
  const registrar = loadMspIdentity(options.registrarMspDir);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { User: UserClass } = require('fabric-common') as { User: typeof User };
  const user = UserClass.createUser(registrar.commonName, '', 'Registrar', registrar.certificatePem, registrar.keyPem);
  try {
    return await caServices(options).register(
      {
        enrollmentID: options.id,
        ...(options.secret ? { enrollmentSecret: options.secret } : {}),
        role: options.type,
        affiliation: options.affiliation ?? '',
        maxEnrollments: options.maxEnrollments ?? 0,
        ...(options.attrs && options.attrs.length > 0 ? { attrs: options.attrs } : {}),
      },
      user,
    );
  } catch (err) {
    throw classify(err, `registration of ${options.id}`);
  }
}

/** `a=v:ecert,b=w` as the Go CLI's `--id.attrs` reads it. */
export function parseAttributes(text: string): { name: string; value: string; ecert: boolean }[] {
  return text
    .split(',')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      if (eq <= 0) throw new CaClientError('BAD_INPUT', `attribute '${part}' must be of the form name=value[:ecert]`);
      const [value = '', flag = '', ...rest] = part.slice(eq + 1).split(':');
      if (rest.length > 0) throw new CaClientError('BAD_INPUT', `multiple ':' in attribute '${part}'`);
      if (flag !== '' && flag.toLowerCase() !== 'ecert') {
        throw new CaClientError('BAD_INPUT', `invalid attribute flag '${flag}' (only 'ecert')`);
      }
      return { name: part.slice(0, eq), value, ecert: flag !== '' };
    });
}

/** `a,b:opt` as the Go CLI's `--enrollment.attrs` reads it. */
export function parseAttributeRequests(text: string): { name: string; optional: boolean }[] {
  return text
    .split(',')
    .filter((part) => part !== '')
    .map((part) => {
      const [name = '', flag, ...rest] = part.split(':');
      if (rest.length > 0 || (flag !== undefined && flag !== 'opt') || name === '') {
        throw new CaClientError('BAD_INPUT', `attribute request '${part}' must be name or name:opt`);
      }
      return { name, optional: flag === 'opt' };
    });
}
