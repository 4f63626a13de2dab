import { X509Certificate } from 'node:crypto';
import { FhirError } from '@phr/common';
import { makeCa, type TestCa } from '@phr/test-support';
import { ClientCertificateAuthenticator } from '../src/auth/client-certificate';

function statusOf(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof FhirError) return err.status;
    throw err;
  }
  return undefined;
}

describe('ClientCertificateAuthenticator', () => {
  let hospital: TestCa;
  let other: TestCa;
  let auth: ClientCertificateAuthenticator;

  beforeAll(async () => {
    hospital = await makeCa('Hospital1MSP');
    other = await makeCa('Hospital2MSP');
    auth = new ClientCertificateAuthenticator([{ mspId: hospital.mspId, caPem: hospital.certificatePem }]);
  });

  it('gives the same principal each time a certificate comes back, and a copy the caller may change', async () => {
    const ehr = new X509Certificate((await hospital.issue('ehr1', { attrs: { 'phr.role': 'ehr' } })).certificatePem);
    const first = auth.principalOf(ehr);
    expect(first).toMatchObject({ mspId: 'Hospital1MSP', role: 'ehr', emergency: false });
    first.role = 'admin';
    const again = auth.principalOf(new X509Certificate(ehr.raw));
    expect(again.role).toBe('ehr');
    expect(again.id).toBe(first.id);
  });

  it('tells certificates apart: another identity of the same CA is its own principal', async () => {
    const a = auth.principalOf(
      new X509Certificate((await hospital.issue('clinician1', { attrs: { 'phr.role': 'clinician' } })).certificatePem),
    );
    const b = auth.principalOf(
      new X509Certificate((await hospital.issue('clinician2', { attrs: { 'phr.role': 'clinician' } })).certificatePem),
    );
    expect(a.id).not.toBe(b.id);
  });

  it('refuses a certificate of an untrusted CA every time, not only the first', async () => {
    const foreign = new X509Certificate((await other.issue('ehr', { attrs: { 'phr.role': 'ehr' } })).certificatePem);
    expect(statusOf(() => auth.principalOf(foreign))).toBe(401);
    expect(statusOf(() => auth.principalOf(foreign))).toBe(401);
  });

  it('checks validity on every request: a known certificate that has expired is refused', async () => {
    const issued = await hospital.issue('shortlived', {
      attrs: { 'phr.role': 'ehr' },
      notAfter: new Date(Date.now() + 60_000),
    });
    const cert = new X509Certificate(issued.certificatePem);
    expect(auth.principalOf(cert).role).toBe('ehr');
    const now = Date.now;
    Date.now = () => now() + 120_000;
    try {
      expect(statusOf(() => auth.principalOf(cert))).toBe(401);
    } finally {
      Date.now = now;
    }
  });
});
