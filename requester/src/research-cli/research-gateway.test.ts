import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ResearchError } from './research-errors';
import { MAX_RESPONSE_BYTES, ResearchGateway } from './research-gateway';

describe('ResearchGateway', () => {
  let server: Server;
  let url: string;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      // Declares more than the cap; the client must not wait to read it.
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': String(MAX_RESPONSE_BYTES + 1) });
      res.write('{"extracts":[');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('refuses an answer larger than it reads (BAD_RESPONSE)', async () => {
    const gateway = new ResearchGateway({
      gatewayUrl: url,
      caPem: '',
      certificatePem: '',
      privateKeyPem: '',
      timeoutMs: 5000,
    });
    try {
      await expect(gateway.extracts('offer-gw-0001')).rejects.toEqual(
        expect.objectContaining({ name: ResearchError.name, code: 'BAD_RESPONSE' }),
      );
    } finally {
      await gateway.close();
    }
  });
});
