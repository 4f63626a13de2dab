import 'reflect-metadata';
import { webcrypto } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import type { HospitalRecord } from '@phr/common';
import { hospitalSlug, learnFromDirectory } from './directory';
import { hospitalByName, ledgerPeer, parseProfile, ProfileError, type NetworkProfile } from './network-profile';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const NOW = new Date('2026-07-01T00:00:00.000Z');

interface Ca {
  pem: string;
  issue(cn: string, isCa?: boolean): Promise<string>;
}

async function makeCa(name: string): Promise<Ca> {
  const keys = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: '01',
    name: `CN=${name}`,
    notBefore: new Date('2026-01-01'),
    notAfter: new Date('2030-01-01'),
    keys,
    signingAlgorithm: ALG,
    extensions: [new x509.BasicConstraintsExtension(true, undefined, true)],
  });
  return {
    pem: cert.toString('pem'),
    async issue(cn, isCa = false) {
      const leaf = await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify']);
      const issued = await x509.X509CertificateGenerator.create({
        serialNumber: '02',
        subject: `CN=${cn}`,
        issuer: cert.subject,
        notBefore: new Date('2026-01-01'),
        notAfter: new Date('2030-01-01'),
        signingKey: keys.privateKey,
        publicKey: leaf.publicKey,
        signingAlgorithm: ALG,
        extensions: [new x509.BasicConstraintsExtension(isCa, undefined, true)],
      });
      return issued.toString('pem');
    },
  };
}

let h1: Ca;
let h3: Ca;
let h4: Ca;
let profile: NetworkProfile;

beforeAll(async () => {
  [h1, h3, h4] = await Promise.all([makeCa('ca.hospital1'), makeCa('ca.hospital3'), makeCa('ca.hospital4')]);
  profile = parseProfile({
    v: 1,
    channel: 'phr',
    chaincode: 'phr',
    patientsCa: {
      url: 'https://ca.patients:7054',
      caName: 'ca-patients',
      mspId: 'PatientsMSP',
      tlsRootCertPem: h1.pem,
    },
    hospitals: [
      {
        name: 'hospital1',
        mspId: 'Hospital1MSP',
        displayName: 'Hospital 1',
        gatewayUrl: 'https://gw.hospital1:8443',
        caRootCertPem: h1.pem,
        peer: { address: 'peer0.hospital1:7051', tlsRootCertPem: h1.pem },
      },
    ],
  });
});

async function entry(
  mspId: string,
  ca: Ca,
  over: Partial<Record<keyof HospitalRecord | 'encryptionPublicKey', unknown>> = {},
) {
  return {
    docType: 'hospital',
    mspId,
    displayName: `Hospital ${mspId}`,
    gatewayUrl: `https://gw.${mspId.toLowerCase()}.example:8443/fhir`,
    signingCertificate: await ca.issue('gateway'),
    caCertificate: ca.pem.trim(),
    updatedAt: '2026-06-30T00:00:00.000Z',
    ...over,
  };
}

describe('hospitalSlug', () => {
  it('names a hospital after its MSP ID, lower-case, without a trailing msp', () => {
    expect(hospitalSlug('Hospital3MSP', new Set())).toBe('hospital3');
    expect(hospitalSlug('St.Mary-Clinic_MSP', new Set())).toBe('st-mary-clinic');
    expect(hospitalSlug('Org7', new Set())).toBe('org7');
    expect(hospitalSlug('3rdClinicMSP', new Set())).toBe('hospital-3rdclinic');
    expect(hospitalSlug('MSP', new Set())).toBe('hospital');
  });

  it('never takes a name already used', () => {
    expect(hospitalSlug('Hospital3MSP', new Set(['hospital3']))).toBe('hospital3-2');
    expect(hospitalSlug('Hospital3MSP', new Set(['hospital3', 'hospital3-2']))).toBe('hospital3-3');
  });
});

describe('learnFromDirectory', () => {
  it('adds a hospital the profile does not know, with its gateway and CA and no peer', async () => {
    const { added, ignored } = learnFromDirectory(profile, [await entry('Hospital3MSP', h3)], NOW);
    expect(ignored).toEqual([]);
    expect(added).toEqual([
      {
        name: 'hospital3',
        mspId: 'Hospital3MSP',
        displayName: 'Hospital Hospital3MSP',
        gatewayUrl: 'https://gw.hospital3msp.example:8443/fhir',
        caRootCertPem: h3.pem.trim() + '\n',
        learnedFromDirectoryAt: NOW.toISOString(),
      },
    ]);
    const next = parseProfile({ ...profile, hospitals: [...profile.hospitals, ...added] });
    expect(hospitalByName(next, 'hospital3').mspId).toBe('Hospital3MSP');
    expect(hospitalByName(next, 'Hospital3MSP').name).toBe('hospital3');
    expect(ledgerPeer(next).address).toBe('peer0.hospital1:7051');
  });

  it('never changes a hospital the profile has, whatever the directory says of it', async () => {
    const hijack = await entry('Hospital1MSP', h3, { gatewayUrl: 'https://evil.example/fhir', displayName: 'Evil' });
    const { added, ignored } = learnFromDirectory(profile, [hijack], NOW);
    expect(added).toEqual([]);
    expect(ignored).toEqual([]);
  });

  it('ignores entries it cannot use, naming only their MSP ID and the reason', async () => {
    const records = [
      await entry('HttpMSP', h3, { gatewayUrl: 'http://gw.example/fhir' }),
      await entry('NotUrlMSP', h3, { gatewayUrl: 'gw.example' }),
      await entry('LeafMSP', h3, { caCertificate: await h3.issue('not-a-ca') }),
      await entry('LegacyMSP', h3, { caCertificate: undefined, encryptionPublicKey: 'MCowBQYDK2VuAyEA' }),
      await entry('GarbledMSP', h3, { caCertificate: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----' }),
      await entry('TwoMSP', h3, { caCertificate: h3.pem + h4.pem }),
      await entry('OtherSignerMSP', h3, { signingCertificate: await h4.issue('gateway') }),
      await entry('PatientsMSP', h3),
      await entry('NoNameMSP', h3, { displayName: '  ' }),
      { mspId: 'bad msp id with spaces' },
      'not an object',
      null,
      await entry('Hospital4MSP', h4),
    ];
    const { added, ignored } = learnFromDirectory(profile, records, NOW);
    expect(added.map((h) => h.name)).toEqual(['hospital4']);
    expect(ignored).toEqual([
      { mspId: 'HttpMSP', reason: 'the gateway URL is not https' },
      { mspId: 'NotUrlMSP', reason: 'the gateway URL is not an absolute URL' },
      { mspId: 'LeafMSP', reason: 'the CA certificate is not a CA certificate' },
      { mspId: 'LegacyMSP', reason: 'the entry has no CA certificate' },
      { mspId: 'GarbledMSP', reason: 'the CA certificate cannot be read' },
      { mspId: 'TwoMSP', reason: 'the CA certificate is not one certificate' },
      { mspId: 'OtherSignerMSP', reason: "the gateway signing certificate was not issued by the entry's CA" },
      { mspId: 'PatientsMSP', reason: "the patients' organisation is not a hospital" },
      { mspId: 'NoNameMSP', reason: 'the entry has no display name' },
      { mspId: '(invalid)', reason: 'the entry has no valid MSP ID' },
      { mspId: '(invalid)', reason: 'the entry has no valid MSP ID' },
      { mspId: '(invalid)', reason: 'the entry has no valid MSP ID' },
    ]);
  });

  it('gives two new hospitals with the same slug different names, and takes each MSP once', async () => {
    const a = await entry('Hospital3MSP', h3);
    const b = await entry('HOSPITAL3-MSP', h4);
    const { added } = learnFromDirectory(profile, [a, b, await entry('Hospital3MSP', h4)], NOW);
    expect(added.map((h) => [h.name, h.mspId])).toEqual([
      ['hospital3', 'Hospital3MSP'],
      ['hospital3-2', 'HOSPITAL3-MSP'],
    ]);
  });
});

describe('the profile schema', () => {
  it('takes a hospital without a peer, but not a profile where no hospital names one', async () => {
    const learned = learnFromDirectory(profile, [await entry('Hospital3MSP', h3)], NOW).added;
    expect(() => parseProfile({ ...profile, hospitals: [...learned, ...profile.hospitals] })).not.toThrow();
    expect(ledgerPeer(parseProfile({ ...profile, hospitals: [...learned, ...profile.hospitals] })).address).toBe(
      'peer0.hospital1:7051',
    );
    expect(() => parseProfile({ ...profile, hospitals: learned })).toThrow(ProfileError);
    expect(() => parseProfile({ ...profile, hospitals: learned })).toThrow(/must name its peer/);
  });
});
