import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { makeCa } from '@phr/test-support';
import { EnrollmentError } from './enroller';
import { FabricCaEnroller } from './fabric-ca-enroller';

/** A CA that answers every enrollment with Fabric CA's authentication failure, after `delayMs` (never when undefined). */
async function slowCa(delayMs: number | undefined): Promise<{ url: string; rootPem: string; server: Server }> {
  const ca = await makeCa('PatientsMSP');
  const tls = await ca.issue('localhost', { hosts: ['localhost', '127.0.0.1'] });
  const server = createServer({ cert: tls.certificatePem, key: tls.privateKeyPem }, (req, res) => {
    req.resume();
    if (delayMs === undefined) return;
    setTimeout(() => {
      res.writeHead(401, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({ success: false, result: null, errors: [{ code: 20, message: 'Authentication failure' }] }),
      );
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `https://127.0.0.1:${port}`, rootPem: ca.certificatePem, server };
}

async function refusal(promise: Promise<unknown>): Promise<EnrollmentError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof EnrollmentError) return err;
    throw err;
  }
  throw new Error('the enrollment was not refused');
}

describe('FabricCaEnroller deadlines', () => {
  const servers: Server[] = [];
  afterAll(() => {
    for (const s of servers) s.close();
  });

  it('waits past fabric-ca-client’s own 3 s for a slow CA and reports its answer', async () => {
    const ca = await slowCa(3_500);
    servers.push(ca.server);
    const enroller = new FabricCaEnroller({ url: ca.url, caName: 'patients-ca', tlsRootCertPem: ca.rootPem });
    const err = await refusal(enroller.enroll('p-1', 'secret', '-----BEGIN CERTIFICATE REQUEST-----\n'));
    expect(err.code).toBe('REFUSED');
  }, 15_000);

  it('gives up on a silent CA at the deadline it was given, as unreachable', async () => {
    const ca = await slowCa(undefined);
    servers.push(ca.server);
    const enroller = new FabricCaEnroller({
      url: ca.url,
      caName: 'patients-ca',
      tlsRootCertPem: ca.rootPem,
      timeoutMs: 300,
    });
    const err = await refusal(enroller.enroll('p-1', 'secret', '-----BEGIN CERTIFICATE REQUEST-----\n'));
    expect(err.code).toBe('UNREACHABLE');
    expect(err.message).toMatch(/cannot be reached/);
  }, 15_000);
});
