// `crossforest serve --json` lists every route the service answers, the operator
// dashboard's included: the list comes from fastify's own route registrations, so a route
// added later cannot be missing from it. No lab needed (plain HTTP on loopback).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { test } from 'node:test';
import { buildServer, routesOf } from '../../src/coexistence/server.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { dashboardProject } from './dashboardFixture.ts';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'crossforest.js');

const DASHBOARD = [
  'GET /dashboard',
  'GET /dashboard/login',
  'POST /dashboard/login',
  'POST /dashboard/logout',
  'GET /dashboard/static/*',
  'GET /dashboard/api/overview',
  'GET /dashboard/api/batches',
  'GET /dashboard/api/batches/:name',
  'GET /dashboard/api/sync/runs',
  'GET /dashboard/api/sync/preview',
  'GET /dashboard/api/events',
  'GET /dashboard/reports/:batch/:file',
];
const SERVICE = [
  'GET /healthz',
  'GET /.well-known/autoconfig/mail/config-v1.1.xml',
  'GET /mail/config-v1.1.xml',
  'POST /autodiscover/autodiscover.xml',
  'POST /Autodiscover/Autodiscover.xml',
  'GET /apple/mail.mobileconfig',
  'GET /api/galfind',
  'GET /api/freebusy',
  'GET /public/',
];

test('routesOf lists every registered route once, the dashboard included, and each is one fastify answers', async () => {
  const fx = await dashboardProject();
  const app = await buildServer(fx.project, { logger: silentLogger, state: fx.store });
  try {
    await app.ready();
    const routes = routesOf(app);
    assert.deepEqual([...routes].sort(), [...SERVICE, ...DASHBOARD].sort());
    for (const r of routes) {
      const [method, url] = r.split(' ') as [string, string];
      assert.ok(app.hasRoute({ method: method as 'GET', url }), r);
    }
  } finally {
    await app.close();
    await fx.store.close();
  }
  // Without a dashboard section its two "off" routes are listed (they answer 404 saying what to add).
  const off = await dashboardProject({ dashboard: false });
  const app2 = await buildServer(off.project, { logger: silentLogger, state: off.store });
  try {
    await app2.ready();
    assert.deepEqual(
      routesOf(app2).filter((r) => r.includes('/dashboard')),
      ['GET /dashboard', 'GET /dashboard/*'],
    );
  } finally {
    await app2.close();
    await off.store.close();
  }
});

test('crossforest serve --json prints the address and the complete route list, and exits 0 on SIGTERM', async () => {
  const fx = await dashboardProject();
  await fx.store.close();
  const child = spawn(process.execPath, [CLI, '-c', fx.project.path, '--json', 'serve', '--port', '0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  try {
    const info = await new Promise<{ listening: string; tls: boolean; dashboard: boolean; routes: string[] }>((resolve, reject) => {
      let out = '';
      child.stdout.setEncoding('utf8').on('data', (d: string) => {
        out += d;
        try {
          resolve(JSON.parse(out));
        } catch {
          // not complete yet
        }
      });
      child.on('exit', () => reject(new Error(`serve exited early: ${stderr}`)));
    });
    assert.match(info.listening, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(info.tls, false);
    assert.equal(info.dashboard, true);
    for (const r of [...SERVICE, ...DASHBOARD]) assert.ok(info.routes.includes(r), `${r} listed`);
    assert.equal(info.routes.length, SERVICE.length + DASHBOARD.length);
  } finally {
    child.kill('SIGTERM');
  }
  assert.equal(await exited, 0, stderr);
});
