// The operator dashboard on the coexistence service: a login page, the dashboard page and
// its static files (uPlot from node_modules, no CDN), the JSON API the page reads
// (`/dashboard/api/...`), a server-sent-events stream that pushes the overview when it
// changes, and the batch reports. Everything but the login page and the static files
// needs an operator session.
//
// CSRF: every GET only reads; the two POSTs (login, logout) carry a SameSite=Strict cookie
// and are refused when an Origin header names another host.
import { createReadStream, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { CoexistenceConfig } from '../../config/coexistence.ts';
import type { LoadedProject } from '../../config/load.ts';
import { openProjectState, type StateStore } from '../../state/store.ts';
import type { Logger } from '../../util/logger.ts';
import { sourcePath } from '../../util/sourceTree.ts';
import { LoginThrottle } from '../loginThrottle.ts';
import { escapeXml } from '../xml.ts';
import {
  clearedSessionCookie,
  cookieValue,
  OperatorAccounts,
  OperatorSessions,
  SESSION_COOKIE,
  sessionCookie,
} from './operatorSessions.ts';
import { batchDetail, batchSummaries, type ReportLinker, syncRuns, workerViews } from './queries.ts';
import { ReportFiles } from './reportFiles.ts';
import { SyncPreviewService } from './syncPreview.ts';
import type { Overview } from './types.ts';

export interface DashboardOptions {
  project: LoadedProject;
  config: CoexistenceConfig;
  logger: Logger;
  /** The state store to read; opened from the project file (and closed with the server) when absent. */
  state?: StateStore | undefined;
  /** How often the live stream looks for changes, in milliseconds. */
  pollMs?: number;
}

const ASSETS = sourcePath('src', 'coexistence', 'dashboard', 'assets');
const UPLOT = dirname(createRequire(import.meta.url).resolve('uplot'));
const STATIC_FILES = new Set(['/dashboard.js', '/dashboard.css', '/uPlot.iife.min.js', '/uPlot.min.css']);
const PAGE_CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";
// The reports are self-contained pages with inline CSS and SVG, no script: sandboxed.
const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:; frame-ancestors 'none'; sandbox";
const SYNC_RUNS = 10;

// same-origin, not no-referrer: with no-referrer Chromium sends `Origin: null` on the
// login form's POST, and the foreign-origin check below could not tell it from an attack.
const hardening = (reply: FastifyReply, csp = PAGE_CSP): FastifyReply =>
  reply.headers({
    'content-security-policy': csp,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'same-origin',
    'cache-control': 'no-store',
    'x-frame-options': 'DENY',
  });

export async function registerDashboard(app: FastifyInstance, opts: DashboardOptions): Promise<void> {
  const dash = opts.config.dashboard;
  if (!dash) {
    const off = async (_req: FastifyRequest, reply: FastifyReply) =>
      reply.code(404).send({
        error: 'CF_ERR_DASHBOARD_OFF',
        message: 'the operator dashboard is off',
        hint: 'add coexistence.dashboard.operators (a name and a password secret per operator) to the project file',
      });
    app.get('/dashboard', off);
    app.get('/dashboard/*', off);
    return;
  }
  const log = opts.logger.child({ scope: 'dashboard' });
  const accounts = new OperatorAccounts(dash, opts.project.baseDir);
  // Every operator secret is read once now: a broken one stops the start, naming its key.
  const clear = accounts.validate();
  if (clear.length > 0)
    log.warn(
      { operators: clear },
      'dashboard operator passwords kept in clear in their secret files; recommended: a hash from `crossforest serve hash-password`',
    );
  const sessions = new OperatorSessions(dash.sessionMinutes);
  const throttle = new LoginThrottle(opts.config.loginFailures);
  const reports = new ReportFiles(resolve(opts.project.baseDir, opts.project.config.migration?.reportsDir ?? 'reports'));
  const previews = new SyncPreviewService(opts.project, log, { timeoutMs: dash.previewTimeoutSeconds * 1000 });
  // Opened on first use, once: concurrent first requests share the one opening.
  let store: Promise<StateStore> | undefined = opts.state ? Promise.resolve(opts.state) : undefined;
  const state = (): Promise<StateStore> => {
    store ??= openProjectState(opts.project);
    return store;
  };
  if (!opts.state) app.addHook('onClose', async () => (await store?.catch(() => undefined))?.close());
  // Open live streams would keep the server from closing: end them first.
  const streams = new Set<() => void>();
  app.addHook('preClose', async () => {
    for (const end of [...streams]) end();
  });
  const pollMs = opts.pollMs ?? 2_000;

  const reportUrl = (batch: string, file: string): string => `/dashboard/reports/${encodeURIComponent(batch)}/${encodeURIComponent(file)}`;
  const links: ReportLinker & { list(batch: string): { name: string; url: string }[] } = {
    urlOf(_batch, path) {
      const at = path ? reports.locate(path) : null;
      return at ? reportUrl(at.batch, at.file) : null;
    },
    list: (batch) => reports.list(batch).map((name) => ({ name, url: reportUrl(batch, name) })),
  };
  const overview = async (): Promise<Overview> => ({
    generatedAt: new Date().toISOString(),
    batches: await batchSummaries(await state(), links),
    syncRuns: await syncRuns(await state(), SYNC_RUNS),
    workers: await workerViews(await state()),
  });
  const indexHtml = readFileSync(join(ASSETS, 'index.html'), 'utf8');

  const operatorOf = (req: FastifyRequest): string | null => sessions.operatorOf(cookieValue(req.headers.cookie, SESSION_COOKIE));
  const wantsHtml = (req: FastifyRequest): boolean =>
    String(req.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
  const foreignOrigin = (req: FastifyRequest): boolean => {
    const origin = req.headers.origin;
    if (origin === undefined) return false;
    try {
      return new URL(origin).host !== req.headers.host;
    } catch {
      return true;
    }
  };

  await app.register(async (scope) => {
    scope.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string', bodyLimit: 4_096 }, (_req, body, done) =>
      done(null, Object.fromEntries(new URLSearchParams(String(body)))),
    );

    // The dashboard's own scripts and styles and uPlot's dist files: no data in them.
    await scope.register(fastifyStatic, {
      root: [ASSETS, UPLOT],
      prefix: '/dashboard/static/',
      decorateReply: false,
      index: false,
      list: false,
      dotfiles: 'deny',
      allowedPath: (path) => STATIC_FILES.has(path),
      setHeaders: (res) => {
        res.header('x-content-type-options', 'nosniff');
        res.header('cache-control', 'no-cache');
      },
    });

    scope.get('/dashboard/login', async (req, reply) => {
      if (operatorOf(req)) return reply.redirect('/dashboard', 303);
      const q = req.query as Record<string, unknown>;
      return hardening(reply)
        .type('text/html; charset=utf-8')
        .send(loginPage(q.error === 'throttled' ? 'Too many failed logins: wait a few minutes.' : ''));
    });

    scope.post('/dashboard/login', async (req, reply) => {
      hardening(reply);
      if (foreignOrigin(req)) return reply.code(403).send({ error: 'CF_ERR_FOREIGN_ORIGIN', message: 'login from another site refused' });
      const body = (req.body ?? {}) as Record<string, unknown>;
      const name = typeof body.name === 'string' ? body.name.slice(0, 64) : '';
      const password = typeof body.password === 'string' ? body.password.slice(0, 1_024) : '';
      const html = wantsHtml(req);
      // Counted as a failure from the start: parallel guesses cannot outrun the limit while their hashes compute.
      const r = await throttle.guard(req.ip, name, async () => (name && password ? accounts.check(name, password) : null));
      if ('retryAfter' in r) {
        const wait = r.retryAfter;
        reply.code(429).header('retry-after', String(wait));
        return html
          ? reply.type('text/html; charset=utf-8').send(loginPage(`Too many failed logins: try again in ${wait} s.`))
          : { error: 'CF_ERR_TOO_MANY_LOGIN_FAILURES', message: `too many failed logins; try again in ${wait} s` };
      }
      const operator = r.value;
      if (!operator) {
        log.warn({ operator: name, ip: req.ip }, 'dashboard login failed');
        reply.code(401);
        return html
          ? reply.type('text/html; charset=utf-8').send(loginPage('Wrong name or password.'))
          : { error: 'CF_ERR_AUTH_FAILED', message: 'operator name or password is wrong' };
      }
      log.info({ operator, ip: req.ip }, 'dashboard login');
      reply.header('set-cookie', sessionCookie(sessions.open(operator), sessions.ttlSeconds));
      return html ? reply.redirect('/dashboard', 303) : { operator };
    });

    scope.post('/dashboard/logout', async (req, reply) => {
      hardening(reply);
      if (foreignOrigin(req)) return reply.code(403).send({ error: 'CF_ERR_FOREIGN_ORIGIN', message: 'logout from another site refused' });
      sessions.close(cookieValue(req.headers.cookie, SESSION_COOKIE));
      reply.header('set-cookie', clearedSessionCookie());
      return wantsHtml(req) ? reply.redirect('/dashboard/login', 303) : { ok: true };
    });

    // --- everything below needs an operator session -------------------------------------
    await scope.register(async (operatorOnly) => {
      operatorOnly.addHook('onRequest', async (req, reply) => {
        if (operatorOf(req)) return;
        hardening(reply);
        if (req.url.startsWith('/dashboard/api/'))
          return reply.code(401).send({ error: 'CF_ERR_AUTH_REQUIRED', message: 'operator login required: POST /dashboard/login' });
        return reply.redirect('/dashboard/login', 303);
      });

      operatorOnly.get('/dashboard', async (_req, reply) => hardening(reply).type('text/html; charset=utf-8').send(indexHtml));

      operatorOnly.get('/dashboard/api/overview', async (_req, reply) => hardening(reply).send(await overview()));
      operatorOnly.get('/dashboard/api/batches', async (_req, reply) => hardening(reply).send(await batchSummaries(await state(), links)));
      operatorOnly.get('/dashboard/api/batches/:name', async (req, reply) => {
        const name = (req.params as { name: string }).name;
        const detail = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(name) ? await batchDetail(await state(), name, links) : undefined;
        if (!detail)
          return hardening(reply)
            .code(404)
            .send({ error: 'CF_ERR_BATCH_UNKNOWN', message: 'no batch of that name', hint: 'GET /dashboard/api/batches lists them' });
        return hardening(reply).send(detail);
      });
      operatorOnly.get('/dashboard/api/sync/runs', async (req, reply) => {
        const raw = Number((req.query as Record<string, unknown>).limit ?? SYNC_RUNS);
        if (!Number.isInteger(raw) || raw < 1 || raw > 100)
          return hardening(reply).code(400).send({ error: 'CF_ERR_BAD_REQUEST', message: 'limit must be an integer from 1 to 100' });
        return hardening(reply).send(await syncRuns(await state(), raw));
      });
      operatorOnly.get('/dashboard/api/sync/preview', async (req, reply) => {
        const mode = (req.query as Record<string, unknown>).mode ?? 'delta';
        if (mode !== 'delta' && mode !== 'full')
          return hardening(reply).code(400).send({ error: 'CF_ERR_BAD_REQUEST', message: 'mode must be delta or full' });
        return hardening(reply).send(await previews.compute(await state(), mode));
      });

      // Live: the overview whenever it changes (checked every pollMs), a comment every 15 s
      // so proxies keep the stream open; the stream ends with the session.
      operatorOnly.get('/dashboard/api/events', (req, reply) => {
        const token = cookieValue(req.headers.cookie, SESSION_COOKIE);
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-store',
          'x-content-type-options': 'nosniff',
          connection: 'keep-alive',
        });
        let last = '';
        let quiet = 0;
        // The overview is read async: one tick at a time, and none writes after the stream ended.
        let busy = false;
        let stopped = false;
        const tick = async () => {
          if (busy || stopped) return;
          busy = true;
          try {
            if (!sessions.operatorOf(token)) {
              res.end('event: logout\ndata: {}\n\n');
              return stop();
            }
            const o = await overview();
            if (stopped) return;
            const key = JSON.stringify({ ...o, generatedAt: '' });
            if (key !== last) {
              last = key;
              quiet = 0;
              res.write(`event: overview\ndata: ${JSON.stringify(o)}\n\n`);
            } else {
              quiet += pollMs;
              if (quiet >= 15_000) {
                quiet = 0;
                res.write(': still here\n\n');
              }
            }
          } catch (err) {
            log.error({ err: (err as Error).message }, 'dashboard stream failed');
            res.end();
            stop();
          } finally {
            busy = false;
          }
        };
        const timer = setInterval(() => void tick(), pollMs);
        const stop = () => {
          stopped = true;
          clearInterval(timer);
          streams.delete(end);
        };
        const end = () => {
          stop();
          res.end();
        };
        streams.add(end);
        req.raw.on('close', stop);
        void tick();
      });

      operatorOnly.get('/dashboard/reports/:batch/:file', async (req, reply) => {
        const { batch, file } = req.params as { batch: string; file: string };
        const found = reports.resolve(batch, file);
        if (!found) return hardening(reply).code(404).send({ error: 'CF_ERR_NO_REPORT', message: 'no such report' });
        return hardening(reply, REPORT_CSP).type(found.contentType).send(createReadStream(found.path));
      });
    });
  });
}

function loginPage(message: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>crossforest: operator login</title><link rel="icon" href="data:,"><link rel="stylesheet" href="/dashboard/static/dashboard.css"></head>
<body class="login"><main>
<h1>crossforest</h1><p>Migration dashboard: operator login</p>
${message ? `<p class="error" role="alert">${escapeXml(message)}</p>` : ''}
<form method="post" action="/dashboard/login">
<label>Name <input name="name" autocomplete="username" required maxlength="64"></label>
<label>Password <input name="password" type="password" autocomplete="current-password" required maxlength="1024"></label>
<button type="submit">Log in</button>
</form></main></body></html>
`;
}
