// The dashboard in a real browser: Debian's headless Chromium driven by playwright-core
// (no browser download) against the service on a loopback TLS port. An operator logs in,
// sees a running batch's copy progress change while the test advances it through the
// migration capability's store functions (pushed by the live stream, no reload), opens
// the batch's details (the uPlot chart draws, no CSP violation), opens the batch report,
// and the page is saved as screenshots (laptop and phone widths) in the test's temp dir.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { type Browser, chromium } from 'playwright-core';
import { buildServer } from '../../src/coexistence/server.ts';
import { addSample, advance, batchByName, mailboxesOf, recordCopy, setBatchStatus } from '../../src/migration/batchStore.ts';
import { writeBatchReport } from '../../src/migration/report.ts';
import { migrationSetup } from '../../src/migration/setup.ts';
import { addRunError, finishRun, startRun } from '../../src/sync/runHistory.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { type DashboardFixture, dashboardProject, newBatch, OPERATOR, OPERATOR_PASSWORD } from './dashboardFixture.ts';

let fx: DashboardFixture;
let app: FastifyInstance;
let browser: Browser;
let base: string;

/** A throwaway self-signed certificate for 127.0.0.1 (the dashboard insists on TLS cookies). */
function selfSigned(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'server.crt');
  const key = join(dir, 'server.key');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

before(async () => {
  const tmp = await dashboardProject();
  const tls = selfSigned(tmp.dir);
  await tmp.store.close();
  fx = await dashboardProject({ tls });
  const s = fx.store;
  const id = await newBatch(s, 'wave-browser', ['amartin', 'bchen'], { windowStop: new Date(Date.now() + 6 * 3_600_000).toISOString() });
  await setBatchStatus(s, id, 'running');
  const [a, b] = await mailboxesOf(s, id);
  await advance(s, a!.id, 'prestaged');
  await recordCopy(s, a!.id, { messages: 200, bytes: 2_000_000, copied: 20, copiedBytes: 200_000, delta: false, skipped: [] });
  await advance(s, b!.id, 'prestaged');
  await recordCopy(s, b!.id, { messages: 0, bytes: 0, copied: 0, copiedBytes: 0, delta: false, skipped: [] });
  await addSample(s, id, 20, 200_000);
  const run = await startRun(s, 'delta');
  await addRunError(s, run, {
    agent: 'forest-b',
    dn: 'cn=<b>Bold</b>,ou=GAL,dc=forest-b,dc=test',
    code: 'proxy-conflict',
    reason: 'smtp:bold@forest-b.test is held by another object',
  });
  await finishRun(
    s,
    run,
    'completed-with-errors',
    {
      imported: 12,
      importAdds: 1,
      importUpdates: 0,
      importDeletes: 0,
      filtered: 0,
      joins: 0,
      projections: 1,
      disconnects: 0,
      provisioned: 1,
      deprovisioned: 0,
      exportAdds: 1,
      exportUpdates: 0,
      exportRenames: 0,
      exportDeletes: 0,
      errors: 1,
    },
    [],
    null,
  );
  app = await buildServer(fx.project, { logger: silentLogger, state: s });
  base = await app.listen({ host: '127.0.0.1', port: 0 });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

after(async () => {
  await browser?.close();
  await app?.close();
  await fx?.store.close();
});

test('an operator logs in, watches a running batch progress live, opens its details and its report', async () => {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
  const page = await context.newPage();
  const problems: string[] = [];
  page.on('console', (m) => {
    // The one refused login below answers 401, which Chromium logs as a failed resource.
    if (m.type() === 'error' && !/status of 401/.test(m.text())) problems.push(m.text());
  });
  page.on('response', (r) => {
    if (r.status() >= 400 && !(r.status() === 401 && r.url().endsWith('/dashboard/login'))) problems.push(`${r.status()} ${r.url()}`);
  });
  page.on('pageerror', (e) => problems.push(e.message));
  try {
    await page.goto(`${base}/dashboard`);
    assert.match(page.url(), /\/dashboard\/login$/, 'not logged in: the login page');
    await page.fill('input[name=name]', OPERATOR);
    await page.fill('input[name=password]', 'not the password');
    await page.click('button[type=submit]');
    await page.locator('.error').waitFor();
    assert.match(String(await page.locator('.error').textContent()), /Wrong name or password/);
    await page.fill('input[name=name]', OPERATOR);
    await page.fill('input[name=password]', OPERATOR_PASSWORD);
    await Promise.all([page.waitForURL(/\/dashboard$/), page.click('button[type=submit]')]);
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === '__Host-crossforest-dashboard');
    assert.ok(session?.httpOnly && session.secure && session.sameSite === 'Strict', JSON.stringify(cookies));

    const card = page.locator('[data-batch="wave-browser"]');
    await card.locator('.copy-pct', { hasText: '10%' }).waitFor();
    await page.locator('#live.on').waitFor();
    // The runner copies on: 80 more messages of amartin's 200 (100 of 200 = 50 %).
    const id = (await batchByName(fx.store, 'wave-browser'))!.id;
    const [a] = await mailboxesOf(fx.store, id);
    await recordCopy(fx.store, a!.id, { messages: 200, bytes: 2_000_000, copied: 80, copiedBytes: 800_000, delta: false, skipped: [] });
    await addSample(fx.store, id, 80, 800_000);
    await card.locator('.copy-pct', { hasText: '50%' }).waitFor();
    assert.equal(await page.locator('#runs tbody tr').count(), 1);
    await page.locator('#runs summary').click();
    assert.match(String(await page.locator('#runs').textContent()), /cn=<b>Bold<\/b>/, 'directory text shown as text, not markup');
    assert.equal(await page.locator('#runs b').count(), 0);

    await card.locator('button.show').click();
    await page.locator('#chart canvas').waitFor();
    await page.locator('#mailboxes tbody tr[data-mailbox="amartin@forest-a.test"]').waitFor();
    assert.match(String(await page.locator('#mailboxes').textContent()), /100 \/ 200/);

    // The batch finishes and its report is written: the card links to it; it opens.
    await advance(fx.store, a!.id, 'copied');
    await writeBatchReport(migrationSetup(fx.project), fx.store, (await batchByName(fx.store, 'wave-browser'))!);
    const link = card.locator('a.report');
    await link.waitFor();
    const shot = join(fx.dir, 'dashboard-laptop.png');
    await page.screenshot({ path: shot, fullPage: true });
    await page.setViewportSize({ width: 390, height: 844 });
    // On a phone nothing makes the page wider than the screen (wide tables scroll in their box).
    await page.waitForFunction('document.documentElement.scrollWidth <= 390');
    const phone = join(fx.dir, 'dashboard-phone.png');
    await page.screenshot({ path: phone, fullPage: true });
    const [report] = await Promise.all([context.waitForEvent('page'), link.click()]);
    await report.waitForLoadState();
    assert.match(report.url(), /\/dashboard\/reports\/wave-browser\/batch\.html$/);
    assert.match(String(await report.locator('body').textContent()), /wave-browser/);
    console.log(`dashboard screenshots: ${shot} ${phone}`);
    assert.deepEqual(problems, [], 'no script errors or CSP violations');
  } finally {
    await context.close();
  }
});
