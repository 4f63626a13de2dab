import type { AddressInfo } from 'node:net';
import { request } from 'node:https';
import { keyPem, TestCa } from '../testing/pki';
import { startOperationsServer } from './operations-server';

function get(
  port: number,
  path: string,
  ca: string,
  method = 'GET',
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, method, ca }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) as Record<string, unknown> }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('operations server', () => {
  it('answers /healthz and /version as the network scripts poll them, over TLS', async () => {
    const ca = TestCa.root();
    const tls = ca.issue({ cn: 'ops', hosts: ['127.0.0.1'] });
    let failing: Record<string, string> = {};
    const server = await startOperationsServer({
      host: '127.0.0.1',
      port: 0,
      tls: { certPem: tls.certificatePem, keyPem: keyPem(tls.key) },
      version: 'embedded 0.1.0 (Fabric 3.1.5 protocols)',
      checks: () => failing,
    });
    const { port } = server.address() as AddressInfo;
    try {
      const healthy = await get(port, '/healthz', ca.certificatePem);
      expect(healthy.status).toBe(200);
      expect(healthy.body).toMatchObject({ status: 'OK' });
      failing = { ledger: 'closed' };
      const sick = await get(port, '/healthz?x=1', ca.certificatePem);
      expect(sick.status).toBe(503);
      expect(sick.body).toMatchObject({
        status: 'Service Unavailable',
        failed_checks: [{ component: 'ledger', reason: 'closed' }],
      });
      expect(await get(port, '/version', ca.certificatePem)).toEqual({
        status: 200,
        body: { Version: 'embedded 0.1.0 (Fabric 3.1.5 protocols)' },
      });
      expect((await get(port, '/nope', ca.certificatePem)).status).toBe(404);
      expect((await get(port, '/healthz', ca.certificatePem, 'POST')).status).toBe(405);
    } finally {
      server.close();
    }
  });
});
