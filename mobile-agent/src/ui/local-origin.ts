/**
 * Only the page's own origin may talk to it. A localhost server is reachable from any site the
 * patient opens through DNS rebinding (evil.example resolving to 127.0.0.1), so:
 *  - every request must name our own host and port in Host (a rebound request names evil.example);
 *  - a request that changes something must, when the browser says where it comes from (Origin,
 *    Sec-Fetch-Site), come from our own origin. The CSRF token is checked besides, so a browser
 *    that says nothing is still covered.
 */
import type { NextFunction, Request, Response } from 'express';

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface LocalOriginOptions {
  /** Host header values we answer to, e.g. "127.0.0.1:4321" and "localhost:4321". Read per request: the port is known only after listen. */
  hosts(): readonly string[];
  refuse(req: Request, res: Response, why: string): void;
  /**
   * GETs that change something (the export records an access event on the ledger): another site
   * must not be able to trigger them with a link or an image, so they too must not be cross-site.
   */
  sideEffectGets?: readonly string[];
}

export function localOriginOnly(options: LocalOriginOptions) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const hosts = options.hosts();
    const host = (req.headers.host ?? '').toLowerCase();
    if (!hosts.includes(host)) return options.refuse(req, res, 'unknown Host');
    const changes = !SAFE_METHODS.has(req.method) || (options.sideEffectGets?.includes(req.path) ?? false);
    if (!changes) return next();
    const site = req.headers['sec-fetch-site'];
    if (site !== undefined && site !== 'same-origin' && site !== 'none') {
      return options.refuse(req, res, 'cross-site request');
    }
    // Under Referrer-Policy: no-referrer, browsers send "Origin: null" even for our own forms;
    // then only Sec-Fetch-Site (which pages cannot forge) can vouch for the request.
    const origin = req.headers.origin?.toLowerCase();
    const foreign =
      origin === 'null' ? site !== 'same-origin' : origin !== undefined && !hosts.some((h) => origin === `http://${h}`);
    if (foreign) return options.refuse(req, res, 'foreign Origin');
    next();
  };
}
