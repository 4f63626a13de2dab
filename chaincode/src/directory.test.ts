import type { HospitalRecord } from '@phr/common';
import { caCertificatePem, makeCa, makeIdentity } from './testing/identities';
import { makeWorld, type World } from './testing/world';

describe('Directory', () => {
  let w: World;
  beforeEach(async () => {
    w = await makeWorld();
  });

  const args = (w: World) => [
    'General Hospital 1',
    'https://gw.hospital1.example:8443/fhir',
    w.id.h1Gateway.certificatePem,
    w.caCertificate.hospital1,
  ];

  it("registers the caller's own organisation, keyed by its MSP, with the CA that issued it", async () => {
    const rec = await w.ledger.call<HospitalRecord>(w.directory, 'RegisterHospital', args(w), w.id.h1Admin);
    expect(rec).toMatchObject({
      mspId: 'Hospital1MSP',
      displayName: 'General Hospital 1',
      gatewayUrl: 'https://gw.hospital1.example:8443/fhir',
      signingCertificate: w.id.h1Gateway.certificatePem.trim(),
      caCertificate: w.caCertificate.hospital1.trim(),
    });
    expect(rec).not.toHaveProperty('encryptionPublicKey');
    const list = await w.ledger.call<HospitalRecord[]>(w.directory, 'ListHospitals', [], w.id.patientA);
    expect(list.map((h) => h.mspId)).toEqual(['Hospital1MSP']);
    expect(
      await w.ledger.call<HospitalRecord>(w.directory, 'ReadHospital', ['Hospital1MSP'], w.id.h2Clinician),
    ).toEqual(rec);
  });

  it('lets a hospital that joined later register itself, and each hospital only its own CA', async () => {
    const h3Admin = await makeIdentity('Hospital3MSP', 'admin', { 'phr.role': 'admin' });
    const h3Gateway = await makeIdentity('Hospital3MSP', 'gateway', { 'phr.role': 'hospital-gateway' });
    const h3Ca = await caCertificatePem('Hospital3MSP');
    await w.ledger.invoke(w.directory, 'RegisterHospital', args(w), w.id.h1Admin);
    const rec = await w.ledger.call<HospitalRecord>(
      w.directory,
      'RegisterHospital',
      ['Hospital 3', 'https://gw.hospital3.example/fhir', h3Gateway.certificatePem, h3Ca],
      h3Admin,
    );
    expect(rec).toMatchObject({ mspId: 'Hospital3MSP', caCertificate: h3Ca.trim() });
    // Hospital 3's admin cannot publish Hospital 1's CA under its own name.
    await expect(
      w.ledger.invoke(
        w.directory,
        'RegisterHospital',
        ['Hospital 3', 'https://gw.hospital3.example/fhir', w.id.h1Gateway.certificatePem, w.caCertificate.hospital1],
        h3Admin,
      ),
    ).rejects.toThrow(/INVALID_ARGUMENT: caCertificate did not issue the caller's certificate/);
    const list = await w.ledger.call<HospitalRecord[]>(w.directory, 'ListHospitals', [], w.id.patientA);
    expect(list.map((h) => [h.mspId, h.caCertificate])).toEqual([
      ['Hospital1MSP', w.caCertificate.hospital1.trim()],
      ['Hospital3MSP', h3Ca.trim()],
    ]);
  });

  it("refuses a CA that did not issue the caller's certificate, even one with the same name", async () => {
    // Hospital 2's CA, and a gateway certificate it issued: consistent, but not the caller's CA.
    const otherCa = [...args(w)];
    otherCa[2] = w.id.h2Gateway.certificatePem;
    otherCa[3] = w.caCertificate.hospital2;
    await expect(w.ledger.invoke(w.directory, 'RegisterHospital', otherCa, w.id.h1Admin)).rejects.toThrow(
      /INVALID_ARGUMENT: caCertificate did not issue the caller's certificate/,
    );
    // An impostor CA named like Hospital 1's, with its own key, issuing its own gateway certificate.
    const impostor = await makeCa('Hospital1MSP');
    const fakeGateway = await makeIdentity('Hospital1MSP', 'gateway', { 'phr.role': 'hospital-gateway' }, impostor);
    const sameName = [...args(w)];
    sameName[2] = fakeGateway.certificatePem;
    sameName[3] = impostor.certificatePem;
    await expect(w.ledger.invoke(w.directory, 'RegisterHospital', sameName, w.id.h1Admin)).rejects.toThrow(
      /INVALID_ARGUMENT: caCertificate did not issue the caller's certificate/,
    );
    await expect(w.ledger.invoke(w.directory, 'ReadHospital', ['Hospital1MSP'], w.id.h1Admin)).rejects.toThrow(
      /NOT_FOUND/,
    );
  });

  it('refuses a signing certificate from another CA', async () => {
    const h2Signing = [...args(w)];
    h2Signing[2] = w.id.h2Gateway.certificatePem;
    await expect(w.ledger.invoke(w.directory, 'RegisterHospital', h2Signing, w.id.h1Admin)).rejects.toThrow(
      /INVALID_ARGUMENT: signingCertificate was not issued by caCertificate/,
    );
    const impostor = await makeCa('Hospital1MSP');
    const fakeGateway = await makeIdentity('Hospital1MSP', 'gateway', { 'phr.role': 'hospital-gateway' }, impostor);
    const sameName = [...args(w)];
    sameName[2] = fakeGateway.certificatePem;
    await expect(w.ledger.invoke(w.directory, 'RegisterHospital', sameName, w.id.h1Admin)).rejects.toThrow(
      /INVALID_ARGUMENT: signingCertificate was not issued by caCertificate/,
    );
  });

  it('refuses a caCertificate that is not one PEM CA certificate', async () => {
    const leaf = [...args(w)];
    leaf[3] = w.id.h1Gateway.certificatePem;
    await expect(w.ledger.invoke(w.directory, 'RegisterHospital', leaf, w.id.h1Admin)).rejects.toThrow(
      /INVALID_ARGUMENT: caCertificate must be a CA certificate/,
    );
    const two = [...args(w)];
    two[3] = w.caCertificate.hospital1 + w.caCertificate.hospital2;
    await expect(w.ledger.invoke(w.directory, 'RegisterHospital', two, w.id.h1Admin)).rejects.toThrow(
      /INVALID_ARGUMENT: caCertificate must be one PEM certificate/,
    );
    const garbled = [...args(w)];
    garbled[3] = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    await expect(w.ledger.invoke(w.directory, 'RegisterHospital', garbled, w.id.h1Admin)).rejects.toThrow(
      /INVALID_ARGUMENT: caCertificate is not a readable X.509 certificate/,
    );
    const missing = args(w).slice(0, 3);
    await expect(w.ledger.invoke(w.directory, 'RegisterHospital', missing, w.id.h1Admin)).rejects.toThrow(
      /INVALID_ARGUMENT: caCertificate must be one PEM certificate/,
    );
  });

  it('refuses non-admins and bad entries', async () => {
    await expect(w.ledger.invoke(w.directory, 'RegisterHospital', args(w), w.id.h1Gateway)).rejects.toThrow(
      /FORBIDDEN/,
    );
    await expect(w.ledger.invoke(w.directory, 'RegisterHospital', args(w), w.id.patientA)).rejects.toThrow(/FORBIDDEN/);
    const http = args(w);
    http[1] = 'http://gw.hospital1.example/fhir';
    await expect(w.ledger.invoke(w.directory, 'RegisterHospital', http, w.id.h1Admin)).rejects.toThrow(/https/);
    const noCert = args(w);
    noCert[2] = 'not a cert';
    await expect(w.ledger.invoke(w.directory, 'RegisterHospital', noCert, w.id.h1Admin)).rejects.toThrow(
      /signingCertificate must be one PEM certificate/,
    );
    await expect(w.ledger.invoke(w.directory, 'ReadHospital', ['Hospital9MSP'], w.id.h1Admin)).rejects.toThrow(
      /NOT_FOUND/,
    );
  });
});
