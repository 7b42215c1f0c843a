// The coexistence HTTP service (`crossforest serve`): one fastify instance on one port,
// TLS with the configured certificate (the seed's locked-down design: 443 only). Routes:
// client autoconfiguration (no login, as clients expect), GAL find and free/busy (HTTP
// Basic checked by an LDAP bind against the caller's own forest), a health check, and
// the operator dashboard (batches and sync runs, behind an operator login).
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { LoadedProject } from '../config/load.ts';
import { readReferencedFile } from '../config/secret.ts';
import type { StateStore } from '../state/store.ts';
import { ConfigError, CrossforestError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import { appleProfile, autodiscoverError, autodiscoverResponse, thunderbirdConfig } from './autoconfig.ts';
import { type Coexistence, createCoexistence } from './coexistence.ts';
import { registerDashboard } from './dashboard/dashboardRoutes.ts';
import { autoconfigQuery, BadRequestError, emailAddress, freeBusyQuery, freeBusyWindow, galQuery, parseOr400 } from './requestSchemas.ts';
import { freeBusyXml, galFindXml } from './seedXml.ts';
import type { Caller } from './types.ts';
import { parseBasicAuth } from './userAuthenticator.ts';
import { autodiscoverEmail } from './xml.ts';

export interface ServerOptions {
  logger: Logger;
  /** Built from the project file when absent (tests may pass their own). */
  coexistence?: Coexistence;
  /** The state store the dashboard reads; opened from the project file when absent. */
  state?: StateStore;
}

class HttpError extends CrossforestError {
  readonly statusCode: number;
  readonly headers: Record<string, string>;
  constructor(statusCode: number, code: string, message: string, headers: Record<string, string> = {}) {
    super(code, message);
    this.statusCode = statusCode;
    this.headers = headers;
  }
}

const REALM = 'Basic realm="crossforest coexistence", charset="UTF-8"';

const routeLists = new WeakMap<FastifyInstance, readonly string[]>();

/** Every route of a server built by buildServer, as `METHOD /path`, in the order they were registered. */
export function routesOf(app: FastifyInstance): string[] {
  const all = routeLists.get(app) ?? [];
  // The HEAD twin of a GET route is fastify's own, not worth a line.
  return all.filter((r) => !(r.startsWith('HEAD ') && all.includes(`GET ${r.slice(5)}`)));
}

export async function buildServer(project: LoadedProject, opts: ServerOptions): Promise<FastifyInstance> {
  const cx = opts.coexistence ?? createCoexistence(project, opts.logger);
  const cfg = cx.config;
  let https: { cert: Buffer; key: Buffer } | undefined;
  if (cfg.tls) {
    https = {
      cert: readReferencedFile(cfg.tls.certFile, project.baseDir, 'coexistence.tls.certFile'),
      key: readReferencedFile(cfg.tls.keyFile, project.baseDir, 'coexistence.tls.keyFile'),
    };
  } else if (!cfg.insecureHttp) {
    throw new ConfigError('coexistence.tls is required: the service carries passwords (HTTP Basic) and never runs without TLS', {
      object: 'coexistence.tls',
      hint: 'set coexistence.tls.certFile and keyFile (PEM); insecureHttp: true exists for tests on loopback only',
    });
  }
  const app = Fastify({
    ...(https ? { https } : {}),
    loggerInstance: opts.logger.child({ scope: 'serve' }),
    bodyLimit: 16_384,
    // Long queries are refused by fastify itself (414) before any parsing.
    routerOptions: { maxParamLength: 200 },
    connectionTimeout: 30_000,
    requestTimeout: 60_000,
  }) as unknown as FastifyInstance;

  // Every route, as registered (the dashboard's and the static files' included), for `serve --json`.
  const routes: string[] = [];
  app.addHook('onRoute', (route) => {
    for (const method of [route.method].flat()) if (!routes.includes(`${method} ${route.url}`)) routes.push(`${method} ${route.url}`);
  });
  routeLists.set(app, routes);

  app.addContentTypeParser(['text/xml', 'application/xml'], { parseAs: 'string', bodyLimit: 16_384 }, (_req, body, done) =>
    done(null, body),
  );

  app.setErrorHandler((err: Error & { statusCode?: number; headers?: Record<string, string> }, req, reply) => {
    const status =
      err instanceof HttpError || err instanceof BadRequestError
        ? err.statusCode
        : err instanceof CrossforestError
          ? 503
          : (err.statusCode ?? 500);
    if (status >= 500) req.log.error({ err: err.message, code: (err as CrossforestError).code }, 'request failed');
    const code = (err as { code?: string }).code ?? 'CF_ERR_INTERNAL';
    // CrossforestError messages are written for people and never hold secrets; others may leak internals.
    const message = err instanceof CrossforestError || status < 500 ? err.message : 'internal error';
    void reply
      .code(status)
      .headers(err instanceof HttpError ? err.headers : {})
      .send({ error: code, message, ...(err instanceof CrossforestError && err.hint && status >= 500 ? { hint: err.hint } : {}) });
  });

  const authenticate = async (req: FastifyRequest): Promise<Caller> => {
    const creds = parseBasicAuth(req.headers.authorization);
    if (!creds)
      throw new HttpError(401, 'CF_ERR_AUTH_REQUIRED', 'authentication required: HTTP Basic with your login name and password', {
        'www-authenticate': REALM,
      });
    // Counted as a failure from the start: parallel guesses cannot all pass the limit while their binds run.
    const r = await cx.throttle.guard(req.ip, creds.user, () => cx.auth.authenticate(creds));
    if ('retryAfter' in r)
      throw new HttpError(429, 'CF_ERR_TOO_MANY_LOGIN_FAILURES', `too many failed logins; try again in ${r.retryAfter} s`, {
        'retry-after': String(r.retryAfter),
      });
    if (!r.value) throw new HttpError(401, 'CF_ERR_AUTH_FAILED', 'login name or password is wrong', { 'www-authenticate': REALM });
    return r.value;
  };

  app.get('/healthz', async () => ({ ok: true }));

  // --- client autoconfiguration -------------------------------------------------------
  const thunderbird = async (req: FastifyRequest, reply: FastifyReply) => {
    const { emailaddress } = parseOr400(autoconfigQuery, req.query);
    const settings = await cx.clientSettings(emailaddress);
    if (!settings) throw new HttpError(404, 'CF_ERR_UNKNOWN_DOMAIN', `no organization serves ${emailaddress}`);
    return reply.type('application/xml; charset=utf-8').header('cache-control', 'no-store').send(thunderbirdConfig(settings));
  };
  app.get('/.well-known/autoconfig/mail/config-v1.1.xml', thunderbird);
  app.get('/mail/config-v1.1.xml', thunderbird);

  const autodiscover = async (req: FastifyRequest, reply: FastifyReply) => {
    const raw = typeof req.body === 'string' ? autodiscoverEmail(req.body) : null;
    const parsed = raw === null ? null : emailAddress.safeParse(raw);
    reply.type('text/xml; charset=utf-8').header('cache-control', 'no-store');
    if (!parsed?.success)
      return reply.code(400).send(autodiscoverError(600, 'Invalid Request: an Autodiscover request with one EMailAddress is expected'));
    const settings = await cx.clientSettings(parsed.data);
    if (!settings) return reply.code(404).send(autodiscoverError(500, `no organization serves ${parsed.data}`));
    return reply.send(autodiscoverResponse(settings));
  };
  app.post('/autodiscover/autodiscover.xml', autodiscover);
  app.post('/Autodiscover/Autodiscover.xml', autodiscover);

  app.get('/apple/mail.mobileconfig', async (req, reply) => {
    const { emailaddress } = parseOr400(autoconfigQuery, req.query);
    const settings = await cx.clientSettings(emailaddress);
    if (!settings) throw new HttpError(404, 'CF_ERR_UNKNOWN_DOMAIN', `no organization serves ${emailaddress}`);
    return reply
      .type('application/x-apple-aspen-config')
      .header('content-disposition', 'attachment; filename="mail.mobileconfig"')
      .header('cache-control', 'no-store')
      .send(appleProfile(settings, cfg.publicHost));
  });

  // --- GAL find and free/busy (authenticated) ----------------------------------------
  const galSchema = galQuery(cfg.gal.pageSize);
  const fbSchema = freeBusyQuery(cfg.freeBusy.maxAddresses);
  const galfind = async (req: FastifyRequest) => {
    // Parameters first: a malformed request costs no LDAP bind.
    const q = parseOr400(galSchema, req.query);
    await authenticate(req);
    const page = await cx.gal.search({ text: q.q, offset: q.offset, limit: q.limit });
    return { ...page, limit: q.limit };
  };
  const freebusy = async (req: FastifyRequest) => {
    const q = parseOr400(fbSchema, req.query);
    const w = freeBusyWindow(q, cfg.freeBusy.maxSlots);
    await authenticate(req);
    const people = await cx.freeBusy.lookup(q.u, w);
    return {
      start: new Date(w.start).toISOString(),
      end: new Date(w.end).toISOString(),
      interval: w.intervalMinutes,
      legend: '0 free, 1 tentative, 2 busy, 3 out of office, 4 no data',
      people,
    };
  };
  app.get('/api/galfind', galfind);
  app.get('/api/freebusy', freebusy);
  // The seed's mobile URL shape: GET /public/?Cmd=freebusy&start=…&end=…&interval=30&u=SMTP:…
  // Answered in Exchange 2003's XML shape (see seedXml.ts); /api/ answers the same in JSON.
  app.get('/public/', async (req, reply) => {
    const cmd = (req.query as Record<string, unknown>).Cmd;
    reply.type('text/xml; charset=utf-8');
    if (cmd === 'galfind') return galFindXml(await galfind(req));
    if (cmd === 'freebusy') return freeBusyXml((await freebusy(req)).people);
    throw new BadRequestError('bad request: Cmd must be galfind or freebusy');
  });

  // --- operator dashboard (its own login; src/coexistence/dashboard) ------------------
  await registerDashboard(app, { project, config: cfg, logger: opts.logger, state: opts.state });

  return app;
}
