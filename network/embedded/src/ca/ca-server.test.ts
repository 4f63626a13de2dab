import 'reflect-metadata';
import { createPrivateKey, createPublicKey, X509Certificate, type KeyObject } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import * as x509 from '@peculiar/x509';
import type FabricCAServices from 'fabric-ca-client';
import { User } from 'fabric-common';
import { ClientIdentity, type ChaincodeStub } from 'fabric-shim';
import type { CaServer } from './ca-server';
import { CA_DATABASE_FILE } from './ca-server';
import { keyFileName } from './ca-files';
import { createAuthToken } from './token-auth';
import {
  attributesOf,
  BOOTSTRAP,
  CA_NAME,
  httpsRequest,
  makeCsr,
  newKey,
  startTestCa,
  temporaryHome,
} from './test-kit';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const Services = require('fabric-ca-client') as typeof FabricCAServices;

// Starting a CA and enrolling its admin (scrypt, key generation) took over 5 s while make test ran
// these tests at nice 10 beside the e2e networks: what is checked here is behaviour, not speed.
jest.setTimeout(30_000);

let home: { home: string; remove: () => void };
let ca: CaServer;
let url: string;
let admin: { certificatePem: string; key: KeyObject; user: User };

/** The agent's way (`mobile-agent/src/enroll/fabric-ca-enroller.ts`): the npm client, enroll from a CSR. */
function client(caName = CA_NAME): FabricCAServices {
  return new Services(url, { trustedRoots: [ca.caCertificatePem], verify: true }, caName);
}

async function enroll(
  id: string,
  secret: string,
  options: { profile?: string; attr_reqs?: { name: string; optional: boolean }[]; subject?: string } = {},
) {
  const key = newKey();
  const csr = await makeCsr(key, options.subject ?? `CN=${id}`);
  const result = await client().enroll({
    enrollmentID: id,
    enrollmentSecret: secret,
    csr,
    ...(options.profile ? { profile: options.profile } : {}),
    ...(options.attr_reqs ? { attr_reqs: options.attr_reqs } : {}),
  });
  return { certificatePem: result.certificate, rootPem: result.rootCertificate, key };
}

function registrarUser(certificatePem: string, key: KeyObject): User {
  return User.createUser(
    'admin',
    '',
    'TestMSP',
    certificatePem,
    key.export({ type: 'pkcs8', format: 'pem' }).toString(),
  );
}

async function register(id: string, extra: Partial<FabricCAServices.IRegisterRequest> = {}): Promise<string> {
  return client().register({ enrollmentID: id, affiliation: '', maxEnrollments: 0, ...extra }, admin.user);
}

/** Fabric CA's error entries of an npm client rejection. */
async function caErrors(promise: Promise<unknown>): Promise<{ code: number; message: string }[]> {
  try {
    await promise;
  } catch (err) {
    return (err as { errors?: { code: number; message: string }[] }).errors ?? [];
  }
  throw new Error('expected the CA to refuse');
}

beforeAll(async () => {
  home = temporaryHome();
  ca = await startTestCa(home.home);
  url = `https://127.0.0.1:${ca.port}`;
  const enrolled = await enroll(BOOTSTRAP.id, BOOTSTRAP.secret);
  admin = { ...enrolled, user: registrarUser(enrolled.certificatePem, enrolled.key) };
});

afterAll(async () => {
  await ca?.close();
  home?.remove();
});

describe('the CA home', () => {
  it('holds the CA certificate, its key (0600, named by SKI) and a TLS certificate with the SANs', () => {
    const caCert = new X509Certificate(readFileSync(join(home.home, 'ca-cert.pem')));
    expect(caCert.ca).toBe(true);
    expect(caCert.subject).toBe('C=US\nST=North Carolina\nO=Hyperledger\nOU=Fabric\nCN=ca.test');
    const parsed = new x509.X509Certificate(caCert.raw);
    const usage = parsed.getExtension(x509.KeyUsagesExtension);
    expect(usage?.critical).toBe(true);
    expect(usage?.usages).toBe(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign);
    const constraints = parsed.getExtension(x509.BasicConstraintsExtension);
    expect([constraints?.ca, constraints?.pathLength, constraints?.critical]).toEqual([true, 1, true]);
    const years = (caCert.validToDate.getTime() - caCert.validFromDate.getTime()) / (365 * 24 * 3600_000);
    expect(years).toBeCloseTo(15, 1);
    const tls = new X509Certificate(readFileSync(join(home.home, 'tls-cert.pem')));
    expect(tls.checkIssued(caCert) && tls.verify(caCert.publicKey)).toBe(true);
    expect(tls.subjectAltName).toBe('DNS:localhost, IP Address:127.0.0.1');
    const keystore = join(home.home, 'msp', 'keystore');
    for (const cert of [caCert, tls]) {
      const file = join(keystore, keyFileName(cert.publicKey));
      expect(statSync(file).mode & 0o777).toBe(0o600);
      expect(readFileSync(file, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
      expect(cert.checkPrivateKey(createPrivateKey(readFileSync(file)))).toBe(true);
    }
  });

  it('serves TLS with that certificate, valid for 127.0.0.1 and localhost', async () => {
    const handshake = (servername?: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect({ host: '127.0.0.1', port: ca.port, ca: ca.caCertificatePem, servername }, () => {
          resolve(socket.getPeerX509Certificate()?.subjectAltName ?? '');
          socket.end();
        });
        socket.on('error', reject);
      });
    await expect(handshake('localhost')).resolves.toContain('DNS:localhost');
    await expect(handshake()).resolves.toContain('IP Address:127.0.0.1');
  });

  it('stores secrets only as salted scrypt hashes', () => {
    const db = readFileSync(join(home.home, CA_DATABASE_FILE)).toString('latin1');
    const wal = readFileSync(join(home.home, `${CA_DATABASE_FILE}-wal`)).toString('latin1');
    expect(db + wal).not.toContain(BOOTSTRAP.secret);
    expect(db + wal).toContain('scrypt$');
  });
});

describe('cainfo', () => {
  it('answers at /cainfo and /api/v1/cainfo, GET, POST and HEAD, without authentication', async () => {
    for (const [path, method] of [
      ['/cainfo', 'GET'],
      ['/api/v1/cainfo', 'GET'],
      ['/api/v1/cainfo', 'POST'],
    ] as const) {
      const reply = await httpsRequest(`${url}${path}`, ca.caCertificatePem, { method });
      expect(reply.status).toBe(200);
      expect(reply.json?.success).toBe(true);
      const result = reply.json?.result as Record<string, string>;
      expect(result.CAName).toBe(CA_NAME);
      expect(Buffer.from(result.CAChain ?? '', 'base64').toString()).toBe(ca.caCertificatePem);
      expect(result.Version).toBe('1.5.21');
    }
    const head = await httpsRequest(`${url}/cainfo`, ca.caCertificatePem, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.text).toBe('');
  });

  it("writes Fabric CA's envelope byte for byte", async () => {
    const reply = await httpsRequest(`${url}/cainfo?ca=nope`, ca.caCertificatePem);
    expect(reply.status).toBe(404);
    expect(reply.text).toBe(
      '{"result":"","errors":[{"code":19,"message":"CA \'nope\' does not exist"}\n],"messages":[],"success":false}',
    );
    const ok = await httpsRequest(`${url}/cainfo`, ca.caCertificatePem);
    expect(ok.text).toMatch(/^\{"result":\{"CAName":"ca-test",.*\}\n,"errors":\[\],"messages":\[\],"success":true\}$/s);
  });

  it('refuses an unknown CA named in the body (caname or CAName), a wrong method and an unknown path', async () => {
    for (const body of ['{"caname":"ca-other"}', '{"CAName":"ca-other"}']) {
      const reply = await httpsRequest(`${url}/cainfo`, ca.caCertificatePem, { method: 'POST', body });
      expect(reply.status).toBe(404);
      expect(reply.json?.errors).toEqual([{ code: 19, message: "CA 'ca-other' does not exist" }]);
    }
    const named = await httpsRequest(`${url}/cainfo`, ca.caCertificatePem, {
      method: 'POST',
      body: '{"CAName":"ca-test"}',
    });
    expect(named.status).toBe(200);
    const wrongMethod = await httpsRequest(`${url}/api/v1/enroll`, ca.caCertificatePem, { method: 'GET' });
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.json?.errors[0]?.code).toBe(1);
    const unknown = await httpsRequest(`${url}/api/v1/nothing`, ca.caCertificatePem);
    expect(unknown.status).toBe(404);
    expect(unknown.text).toBe('404 page not found\n');
  });

  it('is refused by the npm client for another CA name', async () => {
    const errors = await caErrors(
      client('ca-other').enroll({
        enrollmentID: 'admin',
        enrollmentSecret: 'x',
        csr: await makeCsr(newKey(), 'CN=admin'),
      }),
    );
    expect(errors).toEqual([{ code: 19, message: "CA 'ca-other' does not exist" }]);
  });
});

describe('enroll', () => {
  it("issues the bootstrap admin's certificate: type client as OU, no attributes, default profile", () => {
    const cert = new X509Certificate(admin.certificatePem);
    expect(cert.subject).toBe('OU=client\nCN=admin');
    expect(cert.checkIssued(new X509Certificate(ca.caCertificatePem))).toBe(true);
    expect(cert.ca).toBe(false);
    expect(attributesOf(admin.certificatePem)).toBeUndefined();
    const days = (cert.validToDate.getTime() - Date.now()) / (24 * 3600_000);
    expect(days).toBeGreaterThan(364);
    expect(days).toBeLessThan(366);
  });

  it('gives OU = type, the ecert attributes as the extension JSON, C/ST/O from the CSR and its SANs', async () => {
    await register('peer0', {
      enrollmentSecret: 'peerpw',
      role: 'peer',
      attrs: [
        { name: 'phr.role', value: 'admin', ecert: true },
        { name: 'note', value: 'x', ecert: false },
      ],
    });
    const key = newKey();
    const csr = await makeCsr(key, 'C=US, ST=North Carolina, O=Hyperledger, OU=Fabric, CN=peer0', [
      { type: 'dns', value: 'peer0.hospital1' },
      { type: 'ip', value: '127.0.0.1' },
    ]);
    const { certificate } = await client().enroll({ enrollmentID: 'peer0', enrollmentSecret: 'peerpw', csr });
    const cert = new X509Certificate(certificate);
    expect(cert.subject).toBe('C=US\nST=North Carolina\nO=Hyperledger\nOU=peer\nCN=peer0');
    expect(cert.subjectAltName).toBe('DNS:peer0.hospital1, IP Address:127.0.0.1');
    expect(cert.publicKey.export({ format: 'jwk' })).toEqual(createPublicKey(key).export({ format: 'jwk' }));
    const ext = new x509.X509Certificate(certificate).extensions.find((e) => e.type === '1.2.3.4.5.6.7.8.1');
    expect(ext?.critical).toBe(false);
    expect(Buffer.from(ext?.value ?? new ArrayBuffer(0)).toString()).toBe(
      '{"attrs":{"hf.Affiliation":"","hf.EnrollmentID":"peer0","hf.Type":"peer","phr.role":"admin"}}',
    );
  });

  it('takes the SANs from the request hosts over the CSR, and issues the tls profile with server and client auth', async () => {
    await register('gateway', {
      enrollmentSecret: 'gwpw',
      role: 'client',
      attrs: [{ name: 'phr.role', value: 'hospital-gateway', ecert: true }],
    });
    const csr = await makeCsr(newKey(), 'CN=gateway', [{ type: 'dns', value: 'ignored.example' }]);
    const body = JSON.stringify({
      certificate_request: csr,
      profile: 'tls',
      hosts: ['gw.hospital1', 'localhost', '127.0.0.1'],
      caname: CA_NAME,
    });
    const reply = await httpsRequest(`${url}/api/v1/enroll`, ca.caCertificatePem, {
      method: 'POST',
      body,
      headers: { Authorization: `Basic ${Buffer.from('gateway:gwpw').toString('base64')}` },
    });
    expect(reply.status).toBe(201);
    const result = reply.json?.result as {
      Cert: string;
      ServerInfo: { CAName: string; CAChain: string; Version: string };
    };
    expect(result.ServerInfo.CAName).toBe(CA_NAME);
    expect(result.ServerInfo.Version).toBe('');
    const pem = Buffer.from(result.Cert, 'base64').toString();
    const cert = new X509Certificate(pem);
    expect(cert.subjectAltName).toBe('DNS:gw.hospital1, DNS:localhost, IP Address:127.0.0.1');
    expect(cert.keyUsage).toEqual(['1.3.6.1.5.5.7.3.1', '1.3.6.1.5.5.7.3.2']);
    expect(attributesOf(pem)).toEqual({
      'hf.Affiliation': '',
      'hf.EnrollmentID': 'gateway',
      'hf.Type': 'client',
      'phr.role': 'hospital-gateway',
    });
    const ecert = await enroll('gateway', 'gwpw');
    expect(new X509Certificate(ecert.certificatePem).keyUsage).toBeUndefined();
  });

  it('puts only the requested attributes in, and refuses a missing required one', async () => {
    await register('clinician1', {
      enrollmentSecret: 'c1',
      role: 'client',
      attrs: [
        { name: 'phr.role', value: 'clinician', ecert: true },
        { name: 'phr.emergency', value: 'true', ecert: false },
      ],
    });
    const some = await enroll('clinician1', 'c1', {
      attr_reqs: [
        { name: 'phr.role', optional: false },
        { name: 'phr.emergency', optional: false },
        { name: 'absent', optional: true },
      ],
    });
    expect(attributesOf(some.certificatePem)).toEqual({ 'phr.emergency': 'true', 'phr.role': 'clinician' });
    const errors = await caErrors(enroll('clinician1', 'c1', { attr_reqs: [{ name: 'absent', optional: false }] }));
    expect(errors[0]?.message).toContain('The following required attributes are missing: [absent]');
  });

  it('refuses a CSR whose CN is not the enrollment id with 403', async () => {
    const reply = await httpsRequest(`${url}/enroll`, ca.caCertificatePem, {
      method: 'POST',
      body: JSON.stringify({ certificate_request: await makeCsr(newKey(), 'CN=someone-else') }),
      headers: { Authorization: `Basic ${Buffer.from('peer0:peerpw').toString('base64')}` },
    });
    expect(reply.status).toBe(403);
    expect(reply.json?.errors).toEqual([
      { code: 77, message: 'The CSR subject common name must equal the enrollment ID' },
    ]);
  });

  it('refuses a wrong secret, an unknown id and a missing header alike for the client (401)', async () => {
    for (const [id, secret] of [
      ['peer0', 'wrong'],
      ['nobody', 'x'],
    ]) {
      const errors = await caErrors(enroll(id as string, secret as string));
      expect(errors).toEqual([{ code: 20, message: 'Authentication failure' }]);
    }
    const bare = await httpsRequest(`${url}/enroll`, ca.caCertificatePem, { method: 'POST', body: '{}' });
    expect(bare.status).toBe(401);
    expect(bare.json?.errors).toEqual([{ code: 2, message: 'No authorization header' }]);
  });

  it('counts enrollments: max 1 refuses the second with 401 code 20, which the agent maps to REFUSED', async () => {
    await register('patient-one', {
      enrollmentSecret: 'once',
      role: 'client',
      maxEnrollments: 1,
      attrs: [{ name: 'phr.role', value: 'patient', ecert: true }],
    });
    const first = await enroll('patient-one', 'once');
    expect(attributesOf(first.certificatePem)?.['phr.role']).toBe('patient');
    let message = '';
    try {
      await enroll('patient-one', 'once');
    } catch (err) {
      message = (err as Error).message;
    }
    expect(message).toContain('code: 20');
    expect(message).toMatch(
      /Authentication failure|Authorization failure|maximum number of enrollments|code: 20|status code 401/i,
    );
  });

  it('refuses concurrent enrollments beyond the maximum', async () => {
    await register('patient-race', { enrollmentSecret: 'race', role: 'client', maxEnrollments: 1 });
    const outcomes = await Promise.allSettled(Array.from({ length: 4 }, () => enroll('patient-race', 'race')));
    expect(outcomes.filter((o) => o.status === 'fulfilled')).toHaveLength(1);
  });
});

describe('register', () => {
  it('registers with token auth at both paths and returns the given secret, or a random one', async () => {
    expect(await register('ehr', { enrollmentSecret: 'ehrpw', role: 'client' })).toBe('ehrpw');
    const generated = await register('generated', { role: 'client' });
    expect(generated).toMatch(/^[A-Za-z]{12}$/);
    await expect(enroll('generated', generated)).resolves.toBeDefined();
    const body = JSON.stringify({ id: 'short-path', type: 'client', secret: 's', affiliation: '', caname: CA_NAME });
    const reply = await httpsRequest(`${url}/register`, ca.caCertificatePem, {
      method: 'POST',
      body,
      headers: {
        Authorization: createAuthToken(admin.certificatePem, admin.key, 'POST', '/register', Buffer.from(body)),
      },
    });
    expect(reply.status).toBe(201);
    expect(reply.json?.result).toEqual({ secret: 's' });
    expect(reply.headers.location).toBe('/api/v1/identities/short-path');
  });

  it('refuses a duplicate with 409 "Identity \'<id>\' is already registered"', async () => {
    const errors = await caErrors(register('ehr', { enrollmentSecret: 'again', role: 'client' }));
    expect(errors).toEqual([{ code: 74, message: "Identity 'ehr' is already registered" }]);
    await expect(enroll('ehr', 'ehrpw')).resolves.toBeDefined(); // the first secret still holds
  });

  it('refuses a token whose signature does not cover the request (401 code 20)', async () => {
    const signed = JSON.stringify({ id: 'tampered', type: 'client', secret: 's' });
    const sent = JSON.stringify({ id: 'tampered', type: 'admin', secret: 's' });
    for (const [body, token] of [
      [sent, createAuthToken(admin.certificatePem, admin.key, 'POST', '/api/v1/register', Buffer.from(signed))],
      [signed, createAuthToken(admin.certificatePem, admin.key, 'POST', '/register', Buffer.from(signed))],
      [signed, createAuthToken(admin.certificatePem, newKey(), 'POST', '/api/v1/register', Buffer.from(signed))],
    ] as const) {
      const reply = await httpsRequest(`${url}/api/v1/register`, ca.caCertificatePem, {
        method: 'POST',
        body,
        headers: { Authorization: token },
      });
      expect(reply.status).toBe(401);
      expect(reply.json?.errors).toEqual([{ code: 20, message: 'Authentication failure' }]);
    }
  });

  it('refuses a certificate this CA did not issue, and a registrar without hf.Registrar.Roles (403)', async () => {
    const other = temporaryHome();
    const stranger = await startTestCa(other.home);
    try {
      const strangerUrl = `https://127.0.0.1:${stranger.port}`;
      const foreignKey = newKey();
      const foreign = await new Services(
        strangerUrl,
        { trustedRoots: [stranger.caCertificatePem], verify: true },
        CA_NAME,
      ).enroll({
        enrollmentID: 'admin',
        enrollmentSecret: BOOTSTRAP.secret,
        csr: await makeCsr(foreignKey, 'CN=admin'),
      });
      const errors = await caErrors(
        client().register(
          { enrollmentID: 'x1', affiliation: '', maxEnrollments: 0 },
          registrarUser(foreign.certificate, foreignKey),
        ),
      );
      expect(errors).toEqual([{ code: 20, message: 'Authentication failure' }]);
    } finally {
      await stranger.close();
      other.remove();
    }
    const ehr = await enroll('ehr', 'ehrpw');
    const errors = await caErrors(
      client().register(
        { enrollmentID: 'x2', affiliation: '', maxEnrollments: 0 },
        registrarUser(ehr.certificatePem, ehr.key),
      ),
    );
    expect(errors).toEqual([{ code: 71, message: 'Authorization failure' }]);
  });

  it('refuses reserved attributes a registrar may not give', async () => {
    const errors = await caErrors(
      register('sneaky', { role: 'client', attrs: [{ name: 'hf.EnrollmentID', value: 'admin', ecert: true }] }),
    );
    expect(errors).toEqual([{ code: 71, message: 'Authorization failure' }]);
  });
});

describe('reenroll', () => {
  it('issues a new certificate on token auth without counting an enrollment', async () => {
    await register('patient-re', { enrollmentSecret: 'r', role: 'client', maxEnrollments: 1 });
    const first = await enroll('patient-re', 'r');
    const csr = await makeCsr(newKey(), 'CN=patient-re');
    const body = JSON.stringify({ certificate_request: csr, caname: CA_NAME });
    const reply = await httpsRequest(`${url}/api/v1/reenroll`, ca.caCertificatePem, {
      method: 'POST',
      body,
      headers: {
        Authorization: createAuthToken(first.certificatePem, first.key, 'POST', '/api/v1/reenroll', Buffer.from(body)),
      },
    });
    expect(reply.status).toBe(201);
    const pem = Buffer.from((reply.json?.result as { Cert: string }).Cert, 'base64').toString();
    expect(new X509Certificate(pem).subject).toBe('OU=client\nCN=patient-re');
  });
});

describe('certificates in chaincode', () => {
  it("parse with fabric-shim's ClientIdentity: role attribute, OU and MSP", async () => {
    await register('researcher1', {
      enrollmentSecret: 'r1',
      role: 'client',
      attrs: [{ name: 'phr.role', value: 'researcher', ecert: true }],
    });
    const { certificatePem } = await enroll('researcher1', 'r1');
    const stub = {
      getChannelID: () => 'phr',
      getTxID: () => 'tx1',
      getCreator: () => ({ mspid: 'Hospital1MSP', idBytes: Buffer.from(certificatePem) }),
    };
    const identity = new ClientIdentity(stub as unknown as ChaincodeStub);
    expect(identity.getMSPID()).toBe('Hospital1MSP');
    expect(identity.getAttributeValue('phr.role')).toBe('researcher');
    expect(identity.getAttributeValue('hf.EnrollmentID')).toBe('researcher1');
    expect(identity.assertAttributeValue('hf.Type', 'client')).toBe(true);
    expect(identity.getID()).toBe(
      'x509::/OU=client/CN=researcher1::/C=US/ST=North Carolina/O=Hyperledger/OU=Fabric/CN=ca.test',
    );
  });
});

describe('restart', () => {
  it('keeps the CA, registrations, secrets and enrollment counts; the bootstrap secret is not replaced', async () => {
    const caPem = ca.caCertificatePem;
    await ca.close();
    ca = await startTestCa(home.home, { bootstrap: { id: 'admin', secret: 'changed' } });
    url = `https://127.0.0.1:${ca.port}`;
    expect(ca.caCertificatePem).toBe(caPem);
    expect(await caErrors(register('ehr', { enrollmentSecret: 'x', role: 'client' }))).toEqual([
      { code: 74, message: "Identity 'ehr' is already registered" },
    ]);
    expect(await caErrors(enroll('patient-one', 'once'))).toEqual([{ code: 20, message: 'Authentication failure' }]);
    await expect(enroll('ehr', 'ehrpw')).resolves.toBeDefined();
    await expect(enroll('admin', BOOTSTRAP.secret)).resolves.toBeDefined();
    expect(await caErrors(enroll('admin', 'changed'))).toEqual([{ code: 20, message: 'Authentication failure' }]);
  });

  it('answers /healthz on the operations endpoint', async () => {
    const res = await fetch(`http://127.0.0.1:${ca.operationsPort}/healthz`);
    expect(res.status).toBe(200);
    expect(((await res.json()) as { status: string }).status).toBe('OK');
  });
});
