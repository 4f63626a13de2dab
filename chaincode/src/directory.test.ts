import type { HospitalRecord } from '@phr/common';
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
    'MCowBQYDK2VuAyEA' + 'k'.repeat(43) + '=',
  ];

  it("registers the caller's own organisation, keyed by its MSP", async () => {
    const rec = await w.ledger.call<HospitalRecord>(w.directory, 'RegisterHospital', args(w), w.id.h1Admin);
    expect(rec).toMatchObject({ mspId: 'Hospital1MSP', displayName: 'General Hospital 1' });
    const list = await w.ledger.call<HospitalRecord[]>(w.directory, 'ListHospitals', [], w.id.patientA);
    expect(list.map((h) => h.mspId)).toEqual(['Hospital1MSP']);
    expect(
      await w.ledger.call<HospitalRecord>(w.directory, 'ReadHospital', ['Hospital1MSP'], w.id.h2Clinician),
    ).toEqual(rec);
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
      /PEM certificate/,
    );
    await expect(w.ledger.invoke(w.directory, 'ReadHospital', ['Hospital9MSP'], w.id.h1Admin)).rejects.toThrow(
      /NOT_FOUND/,
    );
  });
});
