import { forNewPatient, isPatientBundleFile, loadBundle, mrnOf, smallBundle, syntheaFiles } from '@phr/test-support';
import { GatewayHarness, type OutcomeBody } from '@phr/test-support/gateway';
import type { Issued } from '@phr/test-support';
import { head, tcpConnection, tlsConnection, type RawConnection, type RawResponse } from './support/raw-http';

process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'error';
jest.setTimeout(90_000);

/** Short limits, so that the test sees them enforced; production defaults are in config.ts and the README. */
const HTTP = {
  handshakeTimeoutMs: 1000,
  headersTimeoutMs: 1000,
  bodyIdleTimeoutMs: 1000,
  requestTimeoutMs: 4000,
  keepAliveTimeoutMs: 1000,
  maxConnections: 80,
  maxConnectionsPerClient: 6,
  maxConnectionsPerAddress: 10,
};
/** How late a cut may come: the timers are checked about every 250 ms here; CI machines are slow. */
const SLACK_MS = 1500;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function expectOutcome(res: RawResponse | undefined, status: number, code: string): OutcomeBody {
  expect(res?.status).toBe(status);
  expect(res?.headers['content-type']).toMatch(/^application\/fhir\+json/);
  expect(res?.headers['connection']).toBe('close');
  const body = JSON.parse(res?.body ?? '') as OutcomeBody;
  expect(body.resourceType).toBe('OperationOutcome');
  expect(body.issue[0]?.code).toBe(code);
  return body;
}

/** Issue 12: slow, stalled and piled-up connections are cut at configured times and cannot crowd out an EHR. */
describe('gateway HTTP edge: stalled clients and connection limits', () => {
  let h: GatewayHarness;
  const open: RawConnection[] = [];

  beforeAll(async () => {
    h = await GatewayHarness.create({ http: HTTP, threads: 1 });
  });
  afterEach(() => {
    for (const c of open.splice(0)) c.destroy();
  });
  afterAll(async () => {
    await h.close();
  });

  const tls = async (client?: Issued, localAddress?: string) => {
    const c = await tlsConnection(
      h.gateway.port,
      h.hospitalCa.certificatePem,
      client,
      localAddress ? { localAddress } : {},
    );
    open.push(c);
    return c;
  };
  const tcp = async (localAddress?: string) => {
    const c = await tcpConnection(h.gateway.port, localAddress ? { localAddress } : {});
    open.push(c);
    return c;
  };

  /** Resolves with how long after `since` the connection closed, or Infinity if not within `ms`. */
  async function cutAfter(c: RawConnection, since: number, ms: number): Promise<number> {
    return (await c.closedWithin(ms)) ? (c.closedAt ?? Infinity) - since : Infinity;
  }

  it('cuts headers sent a byte at a time (slowloris) at the headers timeout with a 408, no certificate needed', async () => {
    const c = await tls();
    const since = Date.now();
    const text = 'GET /fhir/metadata HTTP/1.1\r\nHost: localhost\r\nX-Slow: ' + 'a'.repeat(200);
    let i = 0;
    const trickle = setInterval(() => c.write(text[i++ % text.length] ?? 'a'), 100);
    try {
      const res = await c.response(HTTP.headersTimeoutMs + SLACK_MS + 1000);
      expectOutcome(res, 408, 'timeout');
      const after = await cutAfter(c, since, 1000);
      expect(after).toBeGreaterThanOrEqual(HTTP.headersTimeoutMs - 100);
      expect(after).toBeLessThan(HTTP.headersTimeoutMs + SLACK_MS);
    } finally {
      clearInterval(trickle);
    }
  });

  it('cuts a connection that never finishes the TLS handshake at the handshake timeout', async () => {
    const c = await tcp();
    const since = Date.now();
    const after = await cutAfter(c, since, HTTP.handshakeTimeoutMs + SLACK_MS + 1000);
    expect(after).toBeGreaterThanOrEqual(HTTP.handshakeTimeoutMs - 100);
    expect(after).toBeLessThan(HTTP.handshakeTimeoutMs + SLACK_MS);
  });

  it('cuts a TLS connection that sends no request at the headers timeout', async () => {
    const c = await tls(h.clients.clinician);
    const since = Date.now();
    const after = await cutAfter(c, since, HTTP.headersTimeoutMs + SLACK_MS + 1000);
    expect(after).toBeLessThan(HTTP.headersTimeoutMs + SLACK_MS);
  });

  it('answers a body that stops coming 408 at the body idle timeout', async () => {
    const c = await tls(h.clients.ehr);
    c.write(head('POST', '/fhir', { 'Content-Type': 'application/fhir+json', 'Content-Length': 100_000 }));
    c.write('{"resourceType":"Bundle",');
    const since = Date.now();
    const res = await c.response(HTTP.bodyIdleTimeoutMs + SLACK_MS + 1000);
    const body = expectOutcome(res, 408, 'timeout');
    expect(body.issue[0]?.diagnostics).toMatch(/body/);
    expect(Date.now() - since).toBeGreaterThanOrEqual(HTTP.bodyIdleTimeoutMs - 100);
    expect(Date.now() - since).toBeLessThan(HTTP.bodyIdleTimeoutMs + SLACK_MS);
    expect(await c.closedWithin(1000)).toBe(true);
  });

  it('answers a body that keeps trickling 408 at the request timeout', async () => {
    const c = await tls(h.clients.ehr);
    const since = Date.now();
    c.write(head('POST', '/fhir', { 'Content-Type': 'application/fhir+json', 'Content-Length': 100_000 }));
    const trickle = setInterval(() => c.write(' '), 200);
    try {
      const res = await c.response(HTTP.requestTimeoutMs + SLACK_MS + 1000);
      expectOutcome(res, 408, 'timeout');
      expect(Date.now() - since).toBeGreaterThanOrEqual(HTTP.requestTimeoutMs - 100);
      expect(Date.now() - since).toBeLessThan(HTTP.requestTimeoutMs + SLACK_MS);
      expect(await c.closedWithin(1000)).toBe(true);
    } finally {
      clearInterval(trickle);
    }
  });

  it('closes idle keep-alive connections after the keep-alive timeout', async () => {
    const c = await tls(h.clients.clinician);
    c.write(head('GET', '/fhir/metadata'));
    const res = await c.response(3000);
    expect(res?.status).toBe(200);
    const since = Date.now();
    const after = await cutAfter(c, since, HTTP.keepAliveTimeoutMs + SLACK_MS + 2000);
    expect(after).toBeLessThan(HTTP.keepAliveTimeoutMs + SLACK_MS + 1000);
  });

  it('answers 503 on a connection over the per-certificate limit; long-polls are not cut; others get in', async () => {
    const patient = await h.newPatient('many-devices');
    const held: RawConnection[] = [];
    for (let i = 0; i < HTTP.maxConnectionsPerClient; i++) {
      const c = await tls(patient.identity);
      c.write(head('GET', `/mailbox/${patient.pseudonym}/messages?wait=20`));
      held.push(c);
    }
    const extra = await tls(patient.identity);
    extra.write(head('GET', `/mailbox/${patient.pseudonym}/messages`));
    const res = await extra.response(3000);
    const body = expectOutcome(res, 503, 'throttled');
    expect(body.issue[0]?.diagnostics).toMatch(/connections/);
    expect(res?.headers['retry-after']).toBeDefined();
    expect(await extra.closedWithin(1000)).toBe(true);
    // another client is not affected
    const other = await tls(h.clients.admin);
    other.write(head('GET', '/fhir/metadata'));
    expect((await other.response(3000))?.status).toBe(200);
    // long-polls outlive every request timeout: they are waiting for the gateway, not stalling it
    await sleep(HTTP.requestTimeoutMs + 500);
    expect(held.map((c) => c.closed)).toEqual(held.map(() => false));
    // once one of them is gone, the client may connect again
    held[0]!.destroy();
    await sleep(200);
    const again = await tls(patient.identity);
    again.write(head('GET', `/mailbox/${patient.pseudonym}/messages`));
    expect((await again.response(3000))?.status).toBe(200);
  });

  it('counts connections without a trusted certificate per address, and certificate holders per certificate', async () => {
    // more certificate holders from one address than the address limit: they count per certificate
    const certified: RawConnection[] = [];
    for (const who of [h.clients.ehr, h.clients.admin]) {
      for (let i = 0; i < HTTP.maxConnectionsPerClient; i++) certified.push(await tls(who, '127.0.0.2'));
    }
    expect(certified.length).toBeGreaterThan(HTTP.maxConnectionsPerAddress);
    for (const c of certified) c.write(head('GET', '/fhir/metadata'));
    for (const c of certified) expect((await c.response(3000))?.status).toBe(200);
    // handshakes in progress and anonymous TLS connections count against the address
    const anonymous: RawConnection[] = [];
    for (let i = 0; i < HTTP.maxConnectionsPerAddress - 2; i++) anonymous.push(await tcp('127.0.0.2'));
    for (let i = 0; i < 2; i++) anonymous.push(await tls(undefined, '127.0.0.2'));
    const extra = await tcp('127.0.0.2');
    // refused at once: before a handshake there is no HTTP to answer with
    expect(await extra.closedWithin(500)).toBe(true);
    expect(anonymous.map((p) => p.closed)).toEqual(anonymous.map(() => false));
    const anon = anonymous.at(-1)!;
    anon.write(head('GET', '/healthz'));
    expect((await anon.response(3000))?.status).toBe(200);
    // another address is not affected
    const elsewhere = await tcp('127.0.0.3');
    expect(await elsewhere.closedWithin(200)).toBe(false);
  });

  it('refuses connections over the total limit, and accepts again when stalled ones are cut', async () => {
    await sleep(HTTP.keepAliveTimeoutMs + 1500); // earlier tests' connections are gone
    const addresses = Array.from({ length: 8 }, (_, i) => `127.0.1.${i + 1}`);
    const stalled: RawConnection[] = [];
    for (const a of addresses) for (let i = 0; i < 10; i++) stalled.push(await tcp(a));
    expect(stalled.length).toBe(HTTP.maxConnections);
    const extra = await tcp('127.0.2.1');
    expect(await extra.closedWithin(500)).toBe(true);
    // the handshake timeout frees them
    await sleep(HTTP.handshakeTimeoutMs + SLACK_MS);
    expect(stalled.every((s) => s.closed)).toBe(true);
    const later = await tls(h.clients.ehr);
    later.write(head('GET', '/fhir/metadata'));
    expect((await later.response(3000))?.status).toBe(200);
  });

  it('takes a normal post at normal speed while stalled and idle clients pile up', async () => {
    const source = forNewPatient(smallBundle(loadBundle(syntheaFiles().find(isPatientBundleFile)!), 5), 'calm');
    const patient = await h.newPatient('calm');
    await h.link(patient, mrnOf(source));
    const post = async () => {
      const t0 = Date.now();
      const res = await h.request(h.clients.ehr, 'POST', '/fhir', source, {
        'content-type': 'application/fhir+json',
      });
      return { status: res.status, ms: Date.now() - t0 };
    };
    const quiet = await post(); // warm, and the time it takes with nobody else around
    expect(quiet.status).toBe(200);

    const trickles: NodeJS.Timeout[] = [];
    const stalled: RawConnection[] = [];
    try {
      // slowloris without a certificate from several addresses, anonymous TCP, stalled bodies, idle TLS
      for (let a = 1; a <= 3; a++) {
        for (let i = 0; i < 8; i++) {
          const c = await tls(undefined, `127.0.3.${a}`);
          stalled.push(c);
          c.write('GET /fhir/metadata HTTP/1.1\r\nHost: x\r\n');
          trickles.push(setInterval(() => c.write('X'), 100));
        }
        for (let i = 0; i < 2; i++) stalled.push(await tcp(`127.0.3.${a}`));
      }
      for (const who of [h.clients.clinician, h.clients.admin, h.clients.noRole]) {
        for (let i = 0; i < HTTP.maxConnectionsPerClient; i++) {
          const c = await tls(who);
          stalled.push(c);
          c.write(head('POST', '/fhir/$verify', { 'Content-Type': 'application/fhir+json', 'Content-Length': 9000 }));
          c.write('{');
        }
      }
      const since = Date.now();
      const busy = await post();
      expect(busy.status).toBe(200);
      expect(busy.ms).toBeLessThan(quiet.ms + 2000);
      // and every stalled one is gone by the configured times
      await sleep(Math.max(0, since + HTTP.headersTimeoutMs + SLACK_MS - Date.now()));
      expect(stalled.filter((c) => !c.closed).length).toBe(0);
    } finally {
      for (const t of trickles) clearInterval(t);
    }
  });
});
