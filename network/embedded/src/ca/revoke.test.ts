import 'reflect-metadata';
import { verify, X509Certificate, type KeyObject } from 'node:crypto';
import { Agent } from 'node:https';
import * as x509 from '@peculiar/x509';
import type FabricCAServices from 'fabric-ca-client';
import { User, Utils } from 'fabric-common';
import type { CaServer } from './ca-server';
import { createAuthToken } from './token-auth';
import { BOOTSTRAP, CA_NAME, httpsRequest, makeCsr, newKey, startTestCa, temporaryHome } from './test-kit';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Services = require('fabric-ca-client') as typeof FabricCAServices;
// The real module object (a namespace import is a copy), whose global agent the npm client uses.
// eslint-disable-next-line @typescript-eslint/no-require-imports
const httpsModule = require('node:https') as { globalAgent: Agent };

// Every registration and enrollment hashes or checks a secret with scrypt: give a loaded machine time.
jest.setTimeout(60_000);

interface Enrolled {
  certificatePem: string;
  key: KeyObject;
  user: User;
}

/** What the npm client sends (its typings lack `gencrl` and make the id required). */
interface RevokeRequest {
  enrollmentID?: string;
  aki?: string;
  serial?: string;
  reason?: string;
  gencrl?: boolean;
}

interface RevokeResult {
  RevokedCerts: { Serial: string; AKI: string }[] | null;
  CRL: string;
}

let home: { home: string; remove: () => void };
let ca: CaServer;
let url: string;
let admin: Enrolled;

function client(): FabricCAServices {
  return new Services(url, { trustedRoots: [ca.caCertificatePem], verify: true }, CA_NAME);
}

function userOf(id: string, certificatePem: string, key: KeyObject): User {
  return User.createUser(id, '', 'TestMSP', certificatePem, key.export({ type: 'pkcs8', format: 'pem' }).toString());
}

async function enroll(id: string, secret: string): Promise<Enrolled> {
  const key = newKey();
  const { certificate } = await client().enroll({
    enrollmentID: id,
    enrollmentSecret: secret,
    csr: await makeCsr(key, `CN=${id}`),
  });
  return { certificatePem: certificate, key, user: userOf(id, certificate, key) };
}

async function register(id: string, extra: Partial<FabricCAServices.IRegisterRequest> = {}): Promise<void> {
  await client().register(
    { enrollmentID: id, enrollmentSecret: `${id}-pw`, role: 'client', affiliation: '', maxEnrollments: 0, ...extra },
    admin.user,
  );
}

/** Registers `id` and enrolls it `times` times. */
async function identityWithCertificates(id: string, times: number, extra = {}): Promise<Enrolled[]> {
  await register(id, extra);
  const enrolled: Enrolled[] = [];
  for (let i = 0; i < times; i++) enrolled.push(await enroll(id, `${id}-pw`));
  return enrolled;
}

function revokeCall(request: RevokeRequest, by: User): Promise<unknown> {
  return client().revoke(request as FabricCAServices.IRevokeRequest, by);
}

async function revoke(request: RevokeRequest, by: User = admin.user): Promise<RevokeResult> {
  const reply = (await revokeCall(request, by)) as { result: RevokeResult; success: boolean };
  expect(reply.success).toBe(true);
  return reply.result;
}

async function caErrors(promise: Promise<unknown>): Promise<{ code: number; message: string }[]> {
  try {
    await promise;
  } catch (err) {
    return (err as { errors?: { code: number; message: string }[] }).errors ?? [];
  }
  throw new Error('expected the CA to refuse');
}

/** Fabric CA's index form of a certificate's serial: lower-case hex without leading zeros. */
function serialOf(certificatePem: string): string {
  return new X509Certificate(certificatePem).serialNumber.toLowerCase().replace(/^0+/, '');
}

function caSubjectKeyId(): string {
  const ext = new x509.X509Certificate(ca.caCertificatePem).getExtension(x509.SubjectKeyIdentifierExtension);
  if (!ext) throw new Error('the CA certificate has no SKI');
  return ext.keyId.toLowerCase();
}

/**
 * The CA's key id as Fabric CA keeps and answers a certificate's AKI: lower case without leading
 * zeros (`strings.TrimLeft(aki, "0")` in its certificate store and `parseInput`), so an SKI that
 * starts with a zero nibble (one CA key in 16) is answered shorter than the extension's hex.
 */
function caAki(): string {
  return caSubjectKeyId().replace(/^0+/, '');
}

/** The PEM CRL in a result's base64 `CRL`. */
function crlPem(b64: string): string {
  const pem = Buffer.from(b64, 'base64').toString('utf8');
  expect(pem).toMatch(/^-----BEGIN X509 CRL-----\n[A-Za-z0-9+/=\n]+-----END X509 CRL-----\n$/);
  return pem;
}

/** One DER element at `offset`: where its contents start and end. */
function derElement(der: Buffer, offset: number): { tag: number; start: number; end: number } {
  const tag = der[offset] as number;
  let length = der[offset + 1] as number;
  let start = offset + 2;
  if (length & 0x80) {
    const octets = length & 0x7f;
    length = 0;
    for (let i = 0; i < octets; i++) length = length * 256 + (der[start + i] as number);
    start += octets;
  }
  return { tag, start, end: start + length };
}

/** Verifies a CRL's signature with node:crypto: the DER TBSCertList against the CA certificate's key. */
function crlSignatureVerifies(pem: string, caPem: string): boolean {
  const der = Buffer.from(pem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
  const outer = derElement(der, 0);
  const tbs = derElement(der, outer.start);
  const algorithm = derElement(der, tbs.end);
  const bits = derElement(der, algorithm.end);
  expect([outer.tag, tbs.tag, algorithm.tag, bits.tag]).toEqual([0x30, 0x30, 0x30, 0x03]);
  const signature = der.subarray(bits.start + 1, bits.end); // past the unused-bits octet
  return verify('sha256', der.subarray(outer.start, tbs.end), new X509Certificate(caPem).publicKey, signature);
}

function crlSerials(crl: x509.X509Crl): string[] {
  return crl.entries.map((e) => e.serialNumber.toLowerCase().replace(/^0+/, '')).sort();
}

let savedAgent: Agent;

beforeAll(async () => {
  // The npm client reuses kept-alive sockets and gives each request 3 s: on a loaded machine a request
  // can meet the server closing an idle socket (ECONNRESET) or take longer. Neither is what this tests.
  savedAgent = httpsModule.globalAgent;
  httpsModule.globalAgent = new Agent({ keepAlive: false });
  (Utils as unknown as { setConfigSetting(name: string, value: unknown): void }).setConfigSetting(
    'connection-timeout',
    30_000,
  );
  home = temporaryHome();
  ca = await startTestCa(home.home);
  url = `https://127.0.0.1:${ca.port}`;
  admin = await enroll(BOOTSTRAP.id, BOOTSTRAP.secret);
});

afterAll(async () => {
  await ca?.close();
  home?.remove();
  httpsModule.globalAgent.destroy();
  httpsModule.globalAgent = savedAgent;
});

const revokedSoFar: string[] = [];

describe('revoke by enrollment id', () => {
  let certificates: Enrolled[];
  let result: RevokeResult;
  const before = Date.now();

  beforeAll(async () => {
    certificates = await identityWithCertificates('patient-revoked', 2);
    await identityWithCertificates('patient-kept', 1);
    result = await revoke({ enrollmentID: 'patient-revoked', gencrl: true, reason: 'keycompromise' });
    revokedSoFar.push(...certificates.map((c) => serialOf(c.certificatePem)));
  });

  it('revokes every certificate of the identity and returns their serials with the CA SKI as AKI', () => {
    const serials = certificates.map((c) => serialOf(c.certificatePem)).sort();
    expect(result.RevokedCerts?.map((r) => r.Serial).sort()).toEqual(serials);
    for (const revoked of result.RevokedCerts ?? []) expect(revoked.AKI).toBe(caAki());
  });

  it('returns a CRL that parses, lists those serials, is signed by the CA key and carries AKI = CA SKI', () => {
    const pem = crlPem(result.CRL);
    const crl = new x509.X509Crl(pem);
    expect(crlSerials(crl)).toEqual(certificates.map((c) => serialOf(c.certificatePem)).sort());
    for (const entry of crl.entries) {
      expect(entry.revocationDate.getTime()).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
      expect(entry.revocationDate.getTime()).toBeLessThanOrEqual(Date.now());
    }
    expect(crlSignatureVerifies(pem, ca.caCertificatePem)).toBe(true);
    // the same CRL checked against another CA's certificate must fail
    expect(crlSignatureVerifies(pem, ca.tlsCertificatePem)).toBe(false);
    const aki = crl.getExtension(x509.AuthorityKeyIdentifierExtension);
    expect(aki?.keyId?.toLowerCase()).toBe(caSubjectKeyId());
    expect(crl.version).toBe(1); // v2
    expect(crl.issuer).toBe(new x509.X509Certificate(ca.caCertificatePem).subject);
    expect(crl.signatureAlgorithm).toMatchObject({ name: 'ECDSA', hash: { name: 'SHA-256' } });
    const thisUpdate = crl.thisUpdate.getTime();
    expect(Math.abs(thisUpdate - Date.now())).toBeLessThan(60_000);
    expect((crl.nextUpdate?.getTime() ?? 0) - thisUpdate).toBe(24 * 3600_000);
  });

  it('is what openssl-style verifiers accept too (@peculiar/x509 verify with the CA key)', async () => {
    const crl = new x509.X509Crl(crlPem(result.CRL));
    const caCert = new x509.X509Certificate(ca.caCertificatePem);
    await expect(crl.verify({ publicKey: caCert })).resolves.toBe(true);
  });

  it('stops the revoked certificates from authenticating (reenroll refused, 401 code 20)', async () => {
    for (const revoked of certificates) {
      expect(await caErrors(client().reenroll(revoked.user, []))).toEqual([
        { code: 20, message: 'Authentication failure' },
      ]);
    }
    const kept = await enroll('patient-kept', 'patient-kept-pw');
    await expect(client().reenroll(kept.user, [])).resolves.toBeDefined();
  });

  it('stops the revoked identity from enrolling again, whatever its secret', async () => {
    expect(await caErrors(enroll('patient-revoked', 'patient-revoked-pw'))).toEqual([
      { code: 20, message: 'Authentication failure' },
    ]);
    await expect(enroll('patient-kept', 'patient-kept-pw')).resolves.toBeDefined();
  });

  it('answers RevokedCerts null and no CRL when the identity has nothing left to revoke', async () => {
    expect(await revoke({ enrollmentID: 'patient-revoked', gencrl: true })).toEqual({ RevokedCerts: null, CRL: '' });
  });

  it('leaves the CRL out unless gencrl is asked for', async () => {
    await identityWithCertificates('patient-nocrl', 1);
    const plain = await revoke({ enrollmentID: 'patient-nocrl' });
    expect(plain.RevokedCerts).toHaveLength(1);
    expect(plain.CRL).toBe('');
    revokedSoFar.push(...(plain.RevokedCerts ?? []).map((r) => r.Serial));
  });
});

describe('revoke by serial and AKI', () => {
  it('revokes that certificate only; the identity keeps its others and may enroll again', async () => {
    const [first, second] = await identityWithCertificates('clinician-rv', 2);
    if (!first || !second) throw new Error('two certificates expected');
    const serial = new X509Certificate(first.certificatePem).serialNumber; // upper case, as a person copies it
    const result = await revoke({ serial, aki: caSubjectKeyId().toUpperCase(), enrollmentID: 'clinician-rv' });
    expect(result.RevokedCerts).toEqual([{ Serial: serialOf(first.certificatePem), AKI: caAki() }]);
    revokedSoFar.push(serialOf(first.certificatePem));
    expect(await caErrors(client().reenroll(first.user, []))).toEqual([
      { code: 20, message: 'Authentication failure' },
    ]);
    await expect(client().reenroll(second.user, [])).resolves.toBeDefined();
    await expect(enroll('clinician-rv', 'clinician-rv-pw')).resolves.toBeDefined();
  });

  it("gives Fabric CA's errors: already revoked 66, not the owner's 9, unknown certificate 8, unknown id 10, neither 15", async () => {
    const [cert] = await identityWithCertificates('clinician-errors', 1);
    if (!cert) throw new Error('a certificate expected');
    const serial = serialOf(cert.certificatePem);
    const aki = caAki();
    expect(await caErrors(revokeCall({ serial, aki, enrollmentID: 'someone-else' }, admin.user))).toEqual([
      { code: 9, message: `Certificate with serial ${serial} and AKI ${aki} is not owned by someone-else` },
    ]);
    await revoke({ serial, aki });
    revokedSoFar.push(serial);
    expect(await caErrors(revokeCall({ serial, aki }, admin.user))).toEqual([
      { code: 66, message: `Certificate with serial ${serial} and AKI ${aki} was already revoked` },
    ]);
    expect(await caErrors(revokeCall({ serial: '0abc', aki }, admin.user))).toEqual([
      {
        code: 8,
        message: `Certificate with serial abc and AKI ${aki} was not found: Failed to get Certificate: sql: no rows in result set`,
      },
    ]);
    expect(await caErrors(revokeCall({ enrollmentID: 'nobody' }, admin.user))).toEqual([
      { code: 10, message: 'Identity nobody was not found: Failed to get User: sql: no rows in result set' },
    ]);
    const body = JSON.stringify({ caname: CA_NAME });
    const reply = await httpsRequest(`${url}/api/v1/revoke`, ca.caCertificatePem, {
      method: 'POST',
      body,
      headers: {
        Authorization: createAuthToken(admin.certificatePem, admin.key, 'POST', '/api/v1/revoke', Buffer.from(body)),
      },
    });
    expect(reply.status).toBe(400);
    expect(reply.json?.errors).toEqual([
      { code: 15, message: 'Either Name or Serial and AKI are required for a revoke request' },
    ]);
  });
});

describe('who may revoke', () => {
  it('refuses a registrar without hf.Revoker (403 code 71) and revokes nothing', async () => {
    await identityWithCertificates('registrar-no-revoker', 0, {
      attrs: [{ name: 'hf.Registrar.Roles', value: 'client' }],
    });
    const registrar = await enroll('registrar-no-revoker', 'registrar-no-revoker-pw');
    const [target] = await identityWithCertificates('target-1', 1);
    if (!target) throw new Error('a certificate expected');
    expect(await caErrors(revokeCall({ enrollmentID: 'target-1' }, registrar.user))).toEqual([
      { code: 71, message: 'Authorization failure' },
    ]);
    expect(
      await caErrors(revokeCall({ serial: serialOf(target.certificatePem), aki: caSubjectKeyId() }, registrar.user)),
    ).toEqual([{ code: 71, message: 'Authorization failure' }]);
    await expect(client().reenroll(target.user, [])).resolves.toBeDefined();
    await expect(enroll('target-1', 'target-1-pw')).resolves.toBeDefined();
  });

  it("keeps a revoker to its affiliation and types, as Fabric CA's CanManageUser does", async () => {
    await register('revoker-org1', {
      affiliation: 'org1',
      attrs: [
        { name: 'hf.Registrar.Roles', value: 'client' },
        { name: 'hf.Revoker', value: 'true' },
      ],
    });
    const revoker = await enroll('revoker-org1', 'revoker-org1-pw');
    await identityWithCertificates('in-org2', 1, { affiliation: 'org2' });
    await identityWithCertificates('peer-org1', 1, { affiliation: 'org1', role: 'peer' });
    await identityWithCertificates('in-org1-dept', 1, { affiliation: 'org1.dept1' });
    for (const id of ['in-org2', 'peer-org1']) {
      expect(await caErrors(revokeCall({ enrollmentID: id }, revoker.user))).toEqual([
        { code: 71, message: 'Authorization failure' },
      ]);
    }
    const result = await revoke({ enrollmentID: 'in-org1-dept' }, revoker.user);
    expect(result.RevokedCerts).toHaveLength(1);
    revokedSoFar.push(...(result.RevokedCerts ?? []).map((r) => r.Serial));
    await expect(enroll('in-org2', 'in-org2-pw')).resolves.toBeDefined();
  });

  it('lets any identity revoke itself by enrollment id, as Fabric CA does', async () => {
    const [self] = await identityWithCertificates('self-revoker', 1);
    if (!self) throw new Error('a certificate expected');
    const result = await revoke({ enrollmentID: 'self-revoker' }, self.user);
    expect(result.RevokedCerts?.map((r) => r.Serial)).toEqual([serialOf(self.certificatePem)]);
    revokedSoFar.push(serialOf(self.certificatePem));
    expect(await caErrors(enroll('self-revoker', 'self-revoker-pw'))).toEqual([
      { code: 20, message: 'Authentication failure' },
    ]);
  });
});

describe('gencrl', () => {
  it('lists every revoked certificate, signed by the CA', async () => {
    const b64 = await client().generateCRL({}, admin.user);
    const pem = crlPem(b64);
    const crl = new x509.X509Crl(pem);
    expect(revokedSoFar.length).toBeGreaterThanOrEqual(7);
    expect(crlSerials(crl)).toEqual([...revokedSoFar].sort());
    expect(crlSignatureVerifies(pem, ca.caCertificatePem)).toBe(true);
    expect(crl.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId?.toLowerCase()).toBe(caSubjectKeyId());
  });

  it('honours revokedafter/revokedbefore/expireafter/expirebefore and refuses an inverted window (400 code 36/37)', async () => {
    const count = async (request: FabricCAServices.IRestriction) =>
      new x509.X509Crl(crlPem(await client().generateCRL(request, admin.user))).entries.length;
    const hour = 3600_000;
    expect(await count({ revokedAfter: new Date(Date.now() + hour) })).toBe(0);
    expect(await count({ revokedBefore: new Date(Date.now() - hour) })).toBe(0);
    expect(await count({ revokedAfter: new Date(Date.now() - hour), revokedBefore: new Date(Date.now() + hour) })).toBe(
      revokedSoFar.length,
    );
    expect(await count({ expireBefore: new Date(Date.now() + hour) })).toBe(0);
    expect(await count({ expireAfter: new Date(Date.now() + hour) })).toBe(revokedSoFar.length);
    expect(
      await caErrors(
        client().generateCRL({ revokedAfter: new Date(), revokedBefore: new Date(Date.now() - hour) }, admin.user),
      ),
    ).toEqual([
      { code: 36, message: "Invalid 'revokedafter' value. It must not be a timestamp greater than 'revokedbefore'" },
    ]);
    expect(
      await caErrors(
        client().generateCRL({ expireAfter: new Date(), expireBefore: new Date(Date.now() - hour) }, admin.user),
      ),
    ).toEqual([
      { code: 37, message: "Invalid 'expireafter' value. It must not be a timestamp greater than 'expirebefore'" },
    ]);
  });

  it("accepts the Go CLI's zero times for unset bounds and refuses a time that is not RFC 3339 (400 code 5)", async () => {
    const zero = '0001-01-01T00:00:00Z';
    const post = (fields: Record<string, unknown>) => {
      const body = JSON.stringify({ caname: CA_NAME, ...fields });
      return httpsRequest(`${url}/api/v1/gencrl`, ca.caCertificatePem, {
        method: 'POST',
        body,
        headers: {
          Authorization: createAuthToken(admin.certificatePem, admin.key, 'POST', '/api/v1/gencrl', Buffer.from(body)),
        },
      });
    };
    const ok = await post({ revokedafter: zero, revokedbefore: zero, expireafter: zero, expirebefore: zero });
    expect(ok.status).toBe(200);
    const crl = new x509.X509Crl(crlPem((ok.json?.result as { CRL: string }).CRL));
    expect(crl.entries).toHaveLength(revokedSoFar.length);
    const bad = await post({ revokedafter: 'yesterday' });
    expect(bad.status).toBe(400);
    expect(bad.json?.errors[0]?.code).toBe(5);
  });

  it('refuses a caller without hf.GenCRL (403 code 71)', async () => {
    await register('no-gencrl');
    const caller = await enroll('no-gencrl', 'no-gencrl-pw');
    expect(await caErrors(client().generateCRL({}, caller.user))).toEqual([
      { code: 71, message: 'Authorization failure' },
    ]);
  });

  it('keeps revocations across a restart', async () => {
    await ca.close();
    ca = await startTestCa(home.home);
    url = `https://127.0.0.1:${ca.port}`;
    const crl = new x509.X509Crl(crlPem(await client().generateCRL({}, admin.user)));
    expect(crlSerials(crl)).toEqual([...revokedSoFar].sort());
    expect(await caErrors(enroll('patient-revoked', 'patient-revoked-pw'))).toEqual([
      { code: 20, message: 'Authentication failure' },
    ]);
  });
});
