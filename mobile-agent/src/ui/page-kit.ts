/** What every route of the page uses: the agent's status, the layout around a page, notices, failures. */
import type { Request, Response } from 'express';
import type { AgentApi, AgentStatus } from '../agent-api';
import type { CsrfToken } from './csrf';
import { friendlyError } from './errors';
import type { Flash, FlashStore } from './flash';
import { layout, type PageContent } from './layout';

/** The logger shape the UI uses (pino's, and the agent's Logger, fit it). Never given health data. */
export interface UiLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

export interface UiDeps {
  api: AgentApi;
  csrf: CsrfToken;
  flashes: FlashStore;
  log: UiLog;
}

/** Functions (closures over the deps), so route modules can take them apart. */
export interface PageKit extends UiDeps {
  /** The header's unread count and the hospitals' names; the page still renders if the agent cannot say. */
  agentStatus: () => Promise<AgentStatus | undefined>;
  /** The page: `content` in the layout, with the notice the address names (shown once). */
  send: (req: Request, res: Response, content: PageContent, status?: number, known?: AgentStatus) => Promise<void>;
  /** Post/Redirect/Get: to `to`, with `flash` shown there once. */
  redirectWith: (res: Response, to: string, flash: Flash, fragment?: string) => void;
  /** Logs the real error (never shown) and returns what the patient is told. */
  failure: (err: unknown, what: string) => { status: number; message: string };
}

export function pageKit(deps: UiDeps): PageKit {
  const { api, csrf, flashes, log } = deps;

  async function agentStatus(): Promise<AgentStatus | undefined> {
    try {
      return await api.status();
    } catch (err) {
      log.warn({ err: describe(err) }, 'ui: agent status unavailable');
      return undefined;
    }
  }

  async function send(
    req: Request,
    res: Response,
    content: PageContent,
    status = 200,
    known?: AgentStatus,
  ): Promise<void> {
    const agent = known ?? (await agentStatus());
    const flash = flashes.take(req.query.notice);
    const body = layout(
      {
        csrfToken: csrf.value,
        path: selfPath(req),
        ...(agent ? { unread: agent.unreadNotifications } : {}),
        ...(flash ? { flash } : {}),
      },
      content,
    );
    res.status(status).type('html').send(body);
  }

  const redirectWith = (res: Response, to: string, flash: Flash, fragment = ''): void => {
    res.redirect(303, `${to}?notice=${encodeURIComponent(flashes.put(flash))}${fragment}`);
  };

  function failure(err: unknown, what: string): { status: number; message: string } {
    const friendly = friendlyError(err);
    const entry = { what, status: friendly.status, err: describe(err) };
    if (friendly.status >= 500) log.error(entry, 'ui: agent call failed');
    else log.warn(entry, 'ui: agent refused');
    return friendly;
  }

  return { ...deps, agentStatus, send, redirectWith, failure };
}

/** This page's own address without the one-time notice id: where the header's sync button returns. */
function selfPath(req: Request): string {
  const url = new URL(req.originalUrl, 'http://ui.invalid');
  url.searchParams.delete('notice');
  return url.pathname + url.search;
}

export function hospitalsOf(agent: AgentStatus | undefined): AgentStatus['hospitals'] {
  return agent?.hospitals ?? [];
}

/** An error for the log: its message and code, nothing else. */
function describe(err: unknown): { message: string; code?: string } {
  const message = err instanceof Error ? err.message : String(err);
  const code = err && typeof err === 'object' && 'code' in err && typeof err.code === 'string' ? err.code : undefined;
  return code !== undefined ? { message, code } : { message };
}
