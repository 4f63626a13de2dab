import { PullRequestError, PullVerificationError } from './errors';
import { CountingLedger, type RequesterLedger } from './ledger';
import { PullClient } from './pull-client';
import { makeAnswerWorld, type AnswerWorld } from './testing/answer-fixture';
import { DENIED, SILENT, startStandInGateway, type StandInGateway } from './testing/stand-in-gateway';

/** The client's HTTP boundary against the stand-in gateway (testing/stand-in-gateway.ts). */

let w: AnswerWorld;
let gateway: StandInGateway;
let gatewayUrl: string;
let seen: StandInGateway['seen'];

beforeAll(async () => {
  w = await makeAnswerWorld();
  gateway = await startStandInGateway(w);
  gatewayUrl = gateway.url;
  seen = gateway.seen;
});

afterAll(() => gateway.close());

beforeEach(() => {
  seen.length = 0;
  gateway.tamper = false;
});

function client(ledger: RequesterLedger = w.ledger, timeoutMs?: number): PullClient {
  return new PullClient({
    gatewayUrl,
    caPem: w.hospitalCa.certificatePem,
    certificatePem: w.requester.certificatePem,
    privateKeyPem: w.requester.privateKeyPem,
    mspId: w.hospitalCa.mspId,
    ledger,
    ...(timeoutMs !== undefined ? { timeoutMs } : {}),
  });
}

describe('PullClient', () => {
  test('search sends the contract headers and returns verified elements and resources', async () => {
    const c = client();
    const counting = new CountingLedger(w.ledger);
    const c2 = client(counting);
    try {
      const pull = await c2.search({
        type: 'Observation',
        patient: w.pseudonym,
        codes: [
          { system: 'http://loinc.org', code: '8000-0' },
          { system: 'http://loinc.org', code: '8101-1' },
        ],
      });
      expect(pull.status).toBe('answered');
      expect(pull.elements).toHaveLength(3);
      expect(pull.resources.map((r) => r.id)).toEqual(['obs-0']);
      expect(pull.deliveriesChecked).toBe(2);
      expect(counting.deliveryReads).toBe(2);
      const req = seen[0]!;
      expect(req.method).toBe('GET');
      const url = new URL(req.url, 'https://x');
      expect(url.pathname).toBe('/fhir/Observation');
      expect(url.searchParams.get('patient')).toBe(w.pseudonym);
      expect(url.searchParams.get('code')).toBe('http://loinc.org|8000-0,http://loinc.org|8101-1');
      expect(req.headers['x-purpose-of-use']).toBe('TREAT');
      expect(req.headers['x-break-glass']).toBeUndefined();
      // a bare X25519 SPKI DER, fresh for every request
      const key = Buffer.from(req.headers['x-answer-key'] as string, 'base64');
      expect(key).toHaveLength(44);
      await c.search({ type: 'Observation', patient: w.pseudonym });
      expect(seen[1]!.headers['x-answer-key']).not.toBe(req.headers['x-answer-key']);
    } finally {
      await c.close();
      await c2.close();
    }
  });

  test('POST _search sends a form body; break-glass asks for ETREAT', async () => {
    const c = client();
    try {
      await c.search({
        type: 'Condition',
        patient: w.pseudonym,
        codes: [{ system: 'http://snomed.info/sct', code: '44054006' }],
        post: true,
        breakGlass: true,
      });
      const req = seen[0]!;
      expect(req.method).toBe('POST');
      expect(req.url).toBe('/fhir/Condition/_search');
      expect(req.headers['content-type']).toBe('application/x-www-form-urlencoded');
      expect(new URLSearchParams(req.body).get('code')).toBe('http://snomed.info/sct|44054006');
      expect(req.headers['x-break-glass']).toBe('true');
      expect(req.headers['x-purpose-of-use']).toBe('ETREAT');
    } finally {
      await c.close();
    }
  });

  test('$everything', async () => {
    const c = client();
    try {
      const pull = await c.everything(w.pseudonym, { purpose: 'PATRQT' });
      expect(pull.elements).toHaveLength(3);
      expect(seen[0]!.url).toBe(`/fhir/Patient/${w.pseudonym}/$everything`);
      expect(seen[0]!.headers['x-purpose-of-use']).toBe('PATRQT');
    } finally {
      await c.close();
    }
  });

  test('respond-async: 202 with a status location, polled until the answer comes', async () => {
    const c = client();
    try {
      const first = await c.search({ type: 'Observation', patient: w.pseudonym, async: true });
      expect(first.status).toBe('pending');
      expect(seen[0]!.headers.prefer).toBe('respond-async');
      const again = await c.poll(first.requestId);
      expect(again.status).toBe('pending');
      const done = await c.poll(first.requestId);
      expect(done).toMatchObject({ status: 'answered', requestId: first.requestId });
      expect(done.elements).toHaveLength(3);
      expect(c.pending(first.requestId)).toBeUndefined();
    } finally {
      await c.close();
    }
  });

  test('another process can poll with the pending key', async () => {
    const a = client();
    const b = client();
    try {
      const first = await a.search({ type: 'Observation', patient: w.pseudonym, async: true });
      const key = a.pending(first.requestId)!;
      await expect(b.poll(first.requestId)).rejects.toMatchObject({ code: 'NOT_FOUND' });
      expect((await b.poll(first.requestId, key)).status).toBe('pending');
      expect((await b.poll(first.requestId, key)).status).toBe('answered');
    } finally {
      await a.close();
      await b.close();
    }
  });

  test('403 is a denial carrying the OperationOutcome diagnostics', async () => {
    const c = client();
    try {
      const err = await c.search({ type: 'Observation', patient: DENIED }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PullRequestError);
      expect(err).toMatchObject({ name: 'PullRequestError', code: 'DENIED', status: 403 });
      expect((err as Error).message).toBe('denied: no consent covers this request');
    } finally {
      await c.close();
    }
  });

  test('a tampered answer is refused as a whole and names the element', async () => {
    const c = client();
    gateway.tamper = true;
    try {
      const err = await c.search({ type: 'Observation', patient: w.pseudonym }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(PullVerificationError);
      expect((err as PullVerificationError).code).toBe('PROOF_INVALID');
      expect((err as PullVerificationError).elementIds).toHaveLength(1);
    } finally {
      await c.close();
    }
  });

  test('bad input is refused before anything is sent', async () => {
    const c = client();
    try {
      await expect(c.search({ type: 'observation; drop', patient: w.pseudonym })).rejects.toMatchObject({
        code: 'BAD_REQUEST',
      });
      await expect(c.everything('../admin')).rejects.toMatchObject({ code: 'BAD_REQUEST' });
      expect(seen).toHaveLength(0);
    } finally {
      await c.close();
    }
  });

  test('each exchange has a deadline', async () => {
    const c = client(w.ledger, 300);
    try {
      const started = Date.now();
      const err = await c.search({ type: 'Observation', patient: SILENT }).catch((e: unknown) => e);
      expect(err).toMatchObject({ name: 'PullRequestError', code: 'TIMEOUT' });
      expect(Date.now() - started).toBeLessThan(3000);
    } finally {
      await c.close();
    }
  });

  test('a gateway that cannot be reached is UNREACHABLE', async () => {
    const c = new PullClient({
      gatewayUrl: 'https://127.0.0.1:1',
      caPem: w.hospitalCa.certificatePem,
      certificatePem: w.requester.certificatePem,
      privateKeyPem: w.requester.privateKeyPem,
      mspId: w.hospitalCa.mspId,
      ledger: w.ledger,
    });
    try {
      await expect(c.search({ type: 'Observation', patient: w.pseudonym })).rejects.toMatchObject({
        code: 'UNREACHABLE',
      });
    } finally {
      await c.close();
    }
  });
});
