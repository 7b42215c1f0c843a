// The operator dashboard over HTTP (fastify inject, plus one real socket for the live
// stream): operator login required and rate-limited, the session cookie's attributes, the
// JSON the page reads for batches filled through the migration capability's own store
// functions and a real report file, report links that `../` cannot leave, no secrets.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { BatchDetail, BatchSummary, Overview } from '../../src/coexistence/dashboard/types.ts';
import { buildServer } from '../../src/coexistence/server.ts';
import {
  addSample,
  advance,
  batchByName,
  mailboxesOf,
  park,
  recordCopy,
  recordVerify,
  setBatchStatus,
} from '../../src/migration/batchStore.ts';
import { writeBatchReport } from '../../src/migration/report.ts';
import { migrationSetup } from '../../src/migration/setup.ts';
import { addRunError, finishRun, startRun } from '../../src/sync/runHistory.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { type DashboardFixture, dashboardProject, newBatch, OPERATOR, OPERATOR_PASSWORD } from './dashboardFixture.ts';

let fx: DashboardFixture;
let app: FastifyInstance;
let cookie: string;

const counts = {
  imported: 40,
  importAdds: 3,
  importUpdates: 2,
  importDeletes: 0,
  filtered: 0,
  joins: 1,
  projections: 2,
  disconnects: 0,
  provisioned: 2,
  deprovisioned: 0,
  exportAdds: 2,
  exportUpdates: 1,
  exportRenames: 0,
  exportDeletes: 0,
  errors: 1,
};

async function login(name: string, password: string, headers: Record<string, string> = {}) {
  return app.inject({
    method: 'POST',
    url: '/dashboard/login',
    headers: { 'content-type': 'application/json', ...headers },
    payload: { name, password },
  });
}

function sessionFrom(setCookie: string | string[] | undefined): string {
  const c = String(Array.isArray(setCookie) ? setCookie[0] : setCookie);
  return c.split(';')[0] as string;
}

const get = (url: string) => app.inject({ url, headers: { cookie } });

before(async () => {
  fx = await dashboardProject();
  const s = fx.store;
  // "wave-1": running, one mailbox copied with skipped items, one failed at copy, one copying.
  const id = await newBatch(s, 'wave-1', ['amartin', 'bchen', 'cdiaz'], {
    windowStart: new Date(Date.now() - 3_600_000).toISOString(),
    windowStop: new Date(Date.now() + 3_600_000).toISOString(),
    workgroup: 'finance',
  });
  await setBatchStatus(s, id, 'running');
  const [a, b, c] = (await mailboxesOf(s, id)) as [
    Awaited<ReturnType<typeof mailboxesOf>>[number],
    Awaited<ReturnType<typeof mailboxesOf>>[number],
    Awaited<ReturnType<typeof mailboxesOf>>[number],
  ];
  await advance(s, a.id, 'prestaged');
  await recordCopy(s, a.id, {
    messages: 100,
    bytes: 1_000_000,
    copied: 100,
    copiedBytes: 1_000_000,
    delta: false,
    skipped: [
      { folder: 'INBOX', uid: 7, subject: '<script>alert(1)</script>', size: 60_000_000, kind: 'large', reason: 'over maxMessageBytes' },
    ],
  });
  await advance(s, a.id, 'copied');
  await advance(s, b.id, 'prestaged');
  await park(s, b.id, 'failed', 'prestaged', 'copy: IMAP login as bchen*admin refused: NO [AUTHENTICATIONFAILED]');
  await advance(s, c.id, 'prestaged');
  await recordCopy(s, c.id, { messages: 300, bytes: 3_000_000, copied: 50, copiedBytes: 500_000, delta: false, skipped: [] });
  for (let i = 0; i < 5; i++) await addSample(s, id, 30, 300_000);
  // "wave-0": finished, verified, with a written report.
  const id0 = await newBatch(s, 'wave-0', ['dfoster']);
  const [d] = (await mailboxesOf(s, id0)) as [Awaited<ReturnType<typeof mailboxesOf>>[number]];
  await recordCopy(s, d.id, { messages: 10, bytes: 10_000, copied: 10, copiedBytes: 10_000, delta: false, skipped: [] });
  await recordVerify(s, d.id, {
    ok: false,
    problems: ['directory: mail differs on the target'],
    fidelity: 0.9,
    sourceMessages: 10,
    intact: 9,
    targetMessages: 10,
    checkedAt: new Date().toISOString(),
  });
  await advance(s, d.id, 'done');
  await setBatchStatus(s, id0, 'completed-with-errors');
  await writeBatchReport(migrationSetup(fx.project), s, (await batchByName(s, 'wave-0'))!);
  // A GAL sync run with a per-object error.
  const run = await startRun(s, 'full');
  await addRunError(s, run, {
    agent: 'forest-a',
    dn: 'cn=Jane Roe,ou=People,dc=forest-a,dc=test',
    code: 'ambiguous-join',
    reason: 'two metaverse objects match mail=jroe@forest-a.test',
  });
  await finishRun(s, run, 'completed-with-errors', counts, [], null);

  app = await buildServer(fx.project, { logger: silentLogger, state: fx.store });
  await app.ready();
  const ok = await login(OPERATOR, OPERATOR_PASSWORD);
  assert.equal(ok.statusCode, 200, ok.body);
  cookie = sessionFrom(ok.headers['set-cookie']);
});

after(async () => {
  await app?.close();
  await fx?.store.close();
});

test('without an operator session: the page sends to the login, the API and reports answer 401', async () => {
  const page = await app.inject({ url: '/dashboard' });
  assert.equal(page.statusCode, 303);
  assert.equal(page.headers.location, '/dashboard/login');
  for (const url of [
    '/dashboard/api/overview',
    '/dashboard/api/batches/wave-1',
    '/dashboard/api/sync/runs',
    '/dashboard/api/sync/preview',
    '/dashboard/api/events',
  ]) {
    const r = await app.inject({ url });
    assert.equal(r.statusCode, 401, url);
  }
  const rep = await app.inject({ url: '/dashboard/reports/wave-0/batch.html' });
  assert.notEqual(rep.statusCode, 200);
  const forged = await app.inject({
    url: '/dashboard/api/overview',
    headers: { cookie: '__Host-crossforest-dashboard=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' },
  });
  assert.equal(forged.statusCode, 401);
  const loginPage = await app.inject({ url: '/dashboard/login' });
  assert.equal(loginPage.statusCode, 200);
  assert.match(loginPage.body, /<form method="post" action="\/dashboard\/login">/);
  assert.match(String(loginPage.headers['content-security-policy']), /script-src 'self'/);
});

test("a login sets an HttpOnly, Secure, SameSite=Strict host cookie; a GAL user's Basic auth is not a login", async () => {
  const ok = await login(OPERATOR, OPERATOR_PASSWORD);
  const set = String(ok.headers['set-cookie']);
  assert.match(set, /^__Host-crossforest-dashboard=[A-Za-z0-9_-]{43}; /);
  for (const attr of ['Path=/', 'HttpOnly', 'Secure', 'SameSite=Strict']) assert.ok(set.includes(attr), `${attr} in ${set}`);
  assert.deepEqual(ok.json(), { operator: OPERATOR });
  const basic = await app.inject({
    url: '/dashboard/api/overview',
    headers: { authorization: `Basic ${Buffer.from(`${OPERATOR}:${OPERATOR_PASSWORD}`).toString('base64')}` },
  });
  assert.equal(basic.statusCode, 401);
  // A form login (the login page) redirects to the dashboard.
  const form = await app.inject({
    method: 'POST',
    url: '/dashboard/login',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    payload: `name=${OPERATOR}&password=${encodeURIComponent(OPERATOR_PASSWORD)}`,
  });
  assert.equal(form.statusCode, 303);
  assert.equal(form.headers.location, '/dashboard');
  // Logout ends that session.
  const c2 = sessionFrom(form.headers['set-cookie']);
  assert.equal((await app.inject({ url: '/dashboard/api/batches', headers: { cookie: c2 } })).statusCode, 200);
  assert.equal((await app.inject({ method: 'POST', url: '/dashboard/logout', headers: { cookie: c2 } })).statusCode, 200);
  assert.equal((await app.inject({ url: '/dashboard/api/batches', headers: { cookie: c2 } })).statusCode, 401);
});

test('a login from another site is refused (CSRF), whatever the password', async () => {
  const r = await login(OPERATOR, OPERATOR_PASSWORD, { origin: 'https://evil.example', host: '127.0.0.1:8443' });
  assert.equal(r.statusCode, 403);
  assert.equal(r.headers['set-cookie'], undefined);
});

test('failed logins are rate-limited per operator name: after the limit even the right password waits', async () => {
  for (let i = 0; i < 3; i++) assert.equal((await login('other', `wrong-${i}`)).statusCode, 401);
  const limited = await login('other', 'Other-operator-pw');
  assert.equal(limited.statusCode, 429);
  assert.ok(Number(limited.headers['retry-after']) > 0);
  assert.equal(limited.headers['set-cookie'], undefined);
  // Someone else's name is not locked by it.
  assert.equal((await login(OPERATOR, OPERATOR_PASSWORD)).statusCode, 200);
  // Nor does a wrong password for one operator open another's account.
  assert.equal((await login(OPERATOR, 'Other-operator-pw')).statusCode, 401);
});

test('the overview: batches with per-state counts, progress, ETA against the window, errors, report link; sync runs with counts and errors', async () => {
  const r = await get('/dashboard/api/overview');
  assert.equal(r.statusCode, 200, r.body);
  assert.equal(r.headers['cache-control'], 'no-store');
  const o = r.json() as Overview;
  const w1 = o.batches.find((b) => b.name === 'wave-1') as BatchSummary;
  assert.equal(w1.status, 'running');
  assert.equal(w1.workgroup, 'finance');
  assert.equal(w1.mailboxes, 3);
  assert.deepEqual(w1.byState, { copied: 1, failed: 1, prestaged: 1 });
  assert.equal(w1.messages, 400);
  assert.equal(w1.copiedMessages, 150);
  assert.equal(w1.copyProgress, 150 / 400);
  assert.equal(w1.errors, 2, 'the failed mailbox and the skipped item');
  assert.equal(w1.window.state, 'open');
  assert.equal(w1.eta.remainingMessages, 250);
  assert.ok(w1.eta.messagesPerSecond > 0, 'recent samples give a rate');
  assert.equal(typeof w1.eta.seconds, 'number');
  assert.equal(typeof w1.eta.fitsWindow, 'boolean');
  assert.equal(w1.reportUrl, null);
  const w0 = o.batches.find((b) => b.name === 'wave-0') as BatchSummary;
  assert.equal(w0.status, 'completed-with-errors');
  assert.equal(w0.pipelineProgress, 1);
  assert.equal(w0.reportUrl, '/dashboard/reports/wave-0/batch.html');
  assert.equal(w0.eta.seconds, 0);
  assert.equal(o.syncRuns.length, 1);
  const run = o.syncRuns[0]!;
  assert.equal(run.status, 'completed-with-errors');
  assert.equal(run.counts.exportAdds, 2);
  assert.deepEqual(run.errors, [
    {
      agent: 'forest-a',
      dn: 'cn=Jane Roe,ou=People,dc=forest-a,dc=test',
      code: 'ambiguous-join',
      reason: 'two metaverse objects match mail=jroe@forest-a.test',
    },
  ]);
  assert.equal(run.moreErrors, 0);
  assert.doesNotMatch(r.body, new RegExp(OPERATOR_PASSWORD.replace(/[!]/g, '\\$&')));
});

test('a batch in detail: per-mailbox state, the errors with their reasons, the throughput samples, the report files', async () => {
  const r = await get('/dashboard/api/batches/wave-1');
  assert.equal(r.statusCode, 200, r.body);
  const d = r.json() as BatchDetail;
  assert.deepEqual(
    d.mailboxList.map((m) => [m.source, m.state, m.resumeState, m.copied, m.messages]),
    [
      ['amartin@forest-a.test', 'copied', null, 100, 100],
      ['bchen@forest-a.test', 'failed', 'prestaged', 0, 0],
      ['cdiaz@forest-a.test', 'prestaged', null, 50, 300],
    ],
  );
  assert.deepEqual(
    d.errorList.map((e) => [e.mailbox, e.kind]),
    [
      ['amartin@forest-a.test', 'skipped'],
      ['bchen@forest-a.test', 'failed'],
    ],
  );
  assert.match(d.errorList[0]!.reason, /over maxMessageBytes/);
  assert.match(d.errorList[1]!.reason, /AUTHENTICATIONFAILED/);
  assert.equal(d.throughput.length, 5);
  assert.deepEqual(d.reports, []);
  const d0 = (await get('/dashboard/api/batches/wave-0')).json() as BatchDetail;
  assert.deepEqual(d0.errorList, [{ mailbox: 'dfoster@forest-a.test', kind: 'verify', reason: 'directory: mail differs on the target' }]);
  assert.deepEqual(
    d0.reports.map((x) => x.name),
    ['batch.html', 'batch.json'],
  );
  assert.equal((await get('/dashboard/api/batches/nope')).statusCode, 404);
  assert.equal((await get('/dashboard/api/batches/..%2F..%2Fetc')).statusCode, 404);
});

test('reports are served from the reports folder, sandboxed; ../, encoded, backslashed and symlinked ways out are 404', async () => {
  const ok = await get('/dashboard/reports/wave-0/batch.html');
  assert.equal(ok.statusCode, 200);
  assert.match(String(ok.headers['content-type']), /^text\/html/);
  assert.match(String(ok.headers['content-security-policy']), /sandbox/);
  assert.match(ok.body, /wave-0/);
  // A file beside the reports folder that an escape would reach, and a symlink to it inside.
  writeFileSync(join(fx.dir, 'outside.html'), '<p>secret</p>');
  mkdirSync(join(fx.dir, 'reports', 'evil'), { recursive: true });
  symlinkSync(join(fx.dir, 'outside.html'), join(fx.dir, 'reports', 'evil', 'link.html'));
  symlinkSync(fx.dir, join(fx.dir, 'reports', 'up'));
  for (const url of [
    '/dashboard/reports/wave-0/../../outside.html',
    '/dashboard/reports/..%2F..%2F/outside.html',
    '/dashboard/reports/wave-0/..%2F..%2Foutside.html',
    '/dashboard/reports/wave-0/%2e%2e%2f%2e%2e%2foutside.html',
    '/dashboard/reports/wave-0/..%5C..%5Coutside.html',
    '/dashboard/reports/..%2e/outside.html',
    '/dashboard/reports/evil/link.html',
    '/dashboard/reports/up/outside.html',
    '/dashboard/reports/wave-0/batch.html%00.json',
    '/dashboard/reports/wave-0/crossforest.yaml',
    '/dashboard/reports/wave-0/',
  ]) {
    const r = await get(url);
    assert.ok(r.statusCode === 404 || r.statusCode === 400, `${url}: ${r.statusCode}`);
    assert.doesNotMatch(r.body, /secret|organizations:/, url);
  }
});

test("static files: the page's script and uPlot from node_modules, nothing else of those folders", async () => {
  const u = await app.inject({ url: '/dashboard/static/uPlot.iife.min.js' });
  assert.equal(u.statusCode, 200);
  assert.match(u.body, /uPlot/);
  assert.equal((await app.inject({ url: '/dashboard/static/dashboard.js' })).statusCode, 200);
  for (const url of [
    '/dashboard/static/index.html',
    '/dashboard/static/uPlot.cjs.js',
    '/dashboard/static/../dashboardRoutes.ts',
    '/dashboard/static/%2e%2e/queries.ts',
  ]) {
    assert.equal((await app.inject({ url })).statusCode, 404, url);
  }
  const page = await get('/dashboard');
  assert.equal(page.statusCode, 200);
  assert.match(page.body, /<script src="\/dashboard\/static\/uPlot\.iife\.min\.js" defer><\/script>/);
  assert.doesNotMatch(page.body, /https?:\/\//, 'no CDN');
});

test('the sync runs and preview endpoints validate their parameters; the preview writes nothing', async () => {
  assert.equal((await get('/dashboard/api/sync/runs?limit=0')).statusCode, 400);
  assert.equal((await get('/dashboard/api/sync/runs?limit=abc')).statusCode, 400);
  assert.equal((await get('/dashboard/api/sync/runs?limit=5')).json().length, 1);
  assert.equal((await get('/dashboard/api/sync/preview?mode=everything')).statusCode, 400);
  const before = await fx.store.sql.get('SELECT count(*) AS n FROM sync_run');
  const p = await get('/dashboard/api/sync/preview?mode=delta');
  assert.equal(p.statusCode, 200, p.body);
  const body = p.json() as { mode: string; total: number; items: unknown[]; errors: unknown[] };
  assert.equal(body.mode, 'delta');
  assert.equal(body.total, body.items.length);
  assert.deepEqual(await fx.store.sql.get('SELECT count(*) AS n FROM sync_run'), before);
});

test('the live stream pushes the overview, and again when a mailbox advances', async () => {
  const live = await dashboardProject();
  await newBatch(live.store, 'live-1', ['eking']);
  const server = await buildServer(live.project, { logger: silentLogger, state: live.store });
  try {
    await server.listen({ host: '127.0.0.1', port: 0 });
    const port = (server.server.address() as { port: number }).port;
    const res = await server.inject({
      method: 'POST',
      url: '/dashboard/login',
      headers: { 'content-type': 'application/json' },
      payload: { name: OPERATOR, password: OPERATOR_PASSWORD },
    });
    const c = sessionFrom(res.headers['set-cookie']);
    const events: Overview[] = [];
    await new Promise<void>((resolve, reject) => {
      const req = request({ host: '127.0.0.1', port, path: '/dashboard/api/events', headers: { cookie: c }, timeout: 20_000 }, (stream) => {
        assert.equal(stream.statusCode, 200);
        assert.match(String(stream.headers['content-type']), /^text\/event-stream/);
        let buf = '';
        stream.setEncoding('utf8').on('data', (chunk: string) => {
          buf += chunk;
          let i = buf.indexOf('\n\n');
          while (i >= 0) {
            const ev = buf.slice(0, i);
            buf = buf.slice(i + 2);
            const data = /^data: (.*)$/m.exec(ev)?.[1];
            if (/^event: overview$/m.test(ev) && data) {
              events.push(JSON.parse(data) as Overview);
              if (events.length === 1) {
                void (async () => {
                  const [m] = await mailboxesOf(live.store, (await batchByName(live.store, 'live-1'))!.id);
                  await advance(live.store, m!.id, 'prestaged');
                })().catch(reject);
              } else {
                req.destroy();
                resolve();
              }
            }
            i = buf.indexOf('\n\n');
          }
        });
      });
      req.on('error', (err) => (events.length >= 2 ? resolve() : reject(err)));
      req.on('timeout', () => reject(new Error('no second event')));
      req.end();
    });
    assert.deepEqual(events[0]!.batches[0]!.byState, { queued: 1 });
    assert.deepEqual(events[1]!.batches[0]!.byState, { prestaged: 1 });
  } finally {
    await server.close();
    await live.store.close();
  }
});

test('without a dashboard section /dashboard is off and says what to add', async () => {
  const off = await dashboardProject({ dashboard: false });
  const server = await buildServer(off.project, { logger: silentLogger, state: off.store });
  try {
    const r = await server.inject({ url: '/dashboard/api/overview' });
    assert.equal(r.statusCode, 404);
    assert.match(r.json().hint, /coexistence\.dashboard\.operators/);
  } finally {
    await server.close();
    await off.store.close();
  }
});
