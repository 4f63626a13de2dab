/**
 * `phr-agent ui`: the patient's local web page. It listens on 127.0.0.1 only (never on a network
 * interface: it acts as the patient on the ledger), answers only to its own host name, and talks
 * to the agent through the AgentApi alone, like any other shell.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import type { AgentApi } from '../agent-api';
import { CsrfToken } from './csrf';
import { FlashStore } from './flash';
import { localOriginOnly } from './local-origin';
import { uiRoutes, type UiLog } from './routes';
import { securityHeaders } from './security-headers';

export interface UiOptions {
  /** Loopback only; the type says so, since any other address would expose the patient's agent. */
  host?: '127.0.0.1';
  /** 0 (the default) picks a free port. */
  port?: number;
  log?: UiLog;
}

export interface UiServer {
  /** e.g. http://127.0.0.1:41234/ */
  url: string;
  close(): Promise<void>;
}

const silent: UiLog = { info() {}, warn() {}, error() {} };

export async function startUi(api: AgentApi, options: UiOptions = {}): Promise<UiServer> {
  const host = options.host ?? '127.0.0.1';
  if (host !== '127.0.0.1') throw new Error('the agent UI listens on 127.0.0.1 only');
  const log = options.log ?? silent;
  let port = 0;

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false); // nothing is cached (Cache-Control: no-store), so ETags only cost a hash
  app.use(securityHeaders);
  app.use(
    localOriginOnly({
      hosts: () => [`127.0.0.1:${port}`, `localhost:${port}`],
      sideEffectGets: ['/export.json'],
      refuse: (req, res, why) => {
        log.warn({ why, method: req.method }, 'ui: request from outside refused');
        // plain text, no page: a refused request must not receive the CSRF token in a form
        res.status(403).type('text').send('Refused: this page answers only at its own address on 127.0.0.1.');
      },
    }),
  );
  app.use(uiRoutes({ api, csrf: new CsrfToken(), flashes: new FlashStore(), log }));

  const server: Server = await new Promise((resolve, reject) => {
    const s = app.listen(options.port ?? 0, host, (err?: Error) => (err ? reject(err) : resolve(s)));
  });
  port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/`;
  log.info({ url }, 'ui: listening');

  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // a browser keeps idle connections open; they must not hold the agent up
        server.closeAllConnections();
      }),
  };
}
