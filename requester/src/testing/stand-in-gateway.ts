import { once } from 'node:events';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { TLSSocket } from 'node:tls';
import {
  encodePullAnswerSync,
  PULL_ANSWER_CONTENT_TYPE,
  PULL_RECEIPT_EXTENSION_URL,
  PULL_STATUS_PATH,
  pullAnswerAad,
  seal,
  type PullAnswerV2,
} from '@phr/common';
import type { AnswerWorld } from './answer-fixture';

/**
 * A stand-in gateway that answers as the pull contract says (200 with a sealed answer, 202 and a
 * status location, 403 OperationOutcome): the client's HTTP boundary. It seals real answers,
 * signed by the patient, to the answer key each request carries. Mutual TLS from the hospital CA.
 */
export const DENIED = 'ptdddddddddddddddddddddddddd';
/** The stand-in never answers about this patient. */
export const SILENT = 'ptssssssssssssssssssssssssss';

export interface Seen {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

export interface StandInGateway {
  url: string;
  seen: Seen[];
  /** When true, the answer's second element is altered after the patient's agent made it. */
  tamper: boolean;
  close(): Promise<void>;
}

function outcome(severity: string, code: string, diagnostics: string) {
  return JSON.stringify({ resourceType: 'OperationOutcome', issue: [{ severity, code, diagnostics }] });
}

export async function startStandInGateway(w: AnswerWorld): Promise<StandInGateway> {
  const seen: Seen[] = [];
  /** requestId → how many more polls answer 202 before the answer comes. */
  const pending = new Map<string, { answerKey: string; pollsLeft: number; requester: string }>();
  let counter = 0;
  const state = { tamper: false };

  function answerBundle(requestId: string, answerKey: string): string {
    const elements = w.disclose([
      [0, 0, 0],
      [0, 0, 1],
      [1, 1, 1],
    ]);
    if (state.tamper) elements[1]!.element.value = 1000;
    const answer: PullAnswerV2 = { ...w.compact(elements), requestId };
    const envelope = seal(
      encodePullAnswerSync(answer),
      { algorithm: 'X25519', publicKey: answerKey },
      pullAnswerAad({ requestId, pseudonym: w.pseudonym, requesterId: w.ctx.requesterId }),
      w.patient,
    );
    return JSON.stringify({
      resourceType: 'Bundle',
      type: 'searchset',
      meta: {
        extension: [
          {
            url: PULL_RECEIPT_EXTENSION_URL,
            extension: [
              { url: 'requestId', valueString: requestId },
              { url: 'status', valueCode: 'answered' },
              { url: 'breakGlass', valueBoolean: false },
            ],
          },
        ],
      },
      entry: [
        {
          resource: {
            resourceType: 'Binary',
            contentType: PULL_ANSWER_CONTENT_TYPE,
            data: Buffer.from(JSON.stringify(envelope)).toString('base64'),
          },
        },
      ],
    });
  }

  const tls = await w.hospitalCa.issue('gateway.hospital2', { hosts: ['127.0.0.1', 'localhost'] });
  const server: Server = createServer(
    {
      cert: tls.certificatePem,
      key: tls.privateKeyPem,
      ca: w.hospitalCa.certificatePem,
      requestCert: true,
      rejectUnauthorized: true,
    },
    (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString('utf8')));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        const url = new URL(req.url ?? '/', 'https://x');
        const requester = String((req.socket as TLSSocket).getPeerCertificate().subject?.CN ?? '');
        const send = (status: number, text: string, headers: Record<string, string> = {}) => {
          res.writeHead(status, { 'content-type': 'application/fhir+json', ...headers });
          res.end(text);
        };
        if (url.pathname.startsWith(PULL_STATUS_PATH)) {
          const id = decodeURIComponent(url.pathname.slice(PULL_STATUS_PATH.length));
          const p = pending.get(id);
          if (!p) return send(404, outcome('error', 'not-found', `no pending request ${id}`));
          if (p.requester !== requester) return send(403, outcome('error', 'forbidden', 'not your request'));
          if (p.pollsLeft-- > 0) {
            return send(202, outcome('information', 'informational', 'waiting for the patient'), {
              'content-location': `${PULL_STATUS_PATH}${id}`,
            });
          }
          pending.delete(id);
          return send(200, answerBundle(id, p.answerKey));
        }
        const params = req.method === 'POST' ? new URLSearchParams(body) : url.searchParams;
        const patient = url.pathname.endsWith('/$everything') ? url.pathname.split('/')[3] : params.get('patient');
        const answerKey = req.headers['x-answer-key'];
        if (typeof answerKey !== 'string') return send(400, outcome('error', 'required', 'X-Answer-Key is required'));
        if (patient === SILENT) return;
        if (patient === DENIED) return send(403, outcome('error', 'forbidden', 'no consent covers this request'));
        const requestId = `req-${++counter}`;
        if (req.headers.prefer === 'respond-async') {
          pending.set(requestId, { answerKey, pollsLeft: 1, requester });
          return send(202, outcome('information', 'informational', 'accepted'), {
            'content-location': `${PULL_STATUS_PATH}${requestId}`,
          });
        }
        return send(200, answerBundle(requestId, answerKey));
      });
    },
  );
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    get tamper() {
      return state.tamper;
    },
    set tamper(value: boolean) {
      state.tamper = value;
    },
    async close() {
      server.closeAllConnections();
      server.close();
    },
  };
}
