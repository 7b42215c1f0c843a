// The dashboard's pending-export preview does not get in a writer's way: while it computes
// (held mid-synchronization by a rules extension that waits for a go file), another
// connection writes to the state store with no busy wait at all (a migration batch, a sync
// run's history, a connector-space object), the service answers other requests, and the
// preview still lists what the synchronization would export. It is bounded: past
// coexistence.dashboard.previewTimeoutSeconds it is stopped and says so. Nothing of it stays
// behind: no pending export in the store, no scratch copy beside it. No lab needed.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import type { PreviewAnswer } from '../../src/coexistence/dashboard/syncPreview.ts';
import { buildServer } from '../../src/coexistence/server.ts';
import { loadProject } from '../../src/config/load.ts';
import { allBatches } from '../../src/migration/batchStore.ts';
import { openProjectState, type StateStore } from '../../src/state/store.ts';
import * as cs from '../../src/sync/connectorSpace.ts';
import { finishRun, listRuns, startRun } from '../../src/sync/runHistory.ts';
import { emptyCounts } from '../../src/sync/types.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { type DashboardFixture, dashboardProject, newBatch, OPERATOR, OPERATOR_PASSWORD } from './dashboardFixture.ts';

// The example's `mail` import rule, but its first call writes `started` and then waits
// (at most 20 s) for `go` beside the module: the preview is caught mid-synchronization.
const HELD_RULE = `import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const dir = import.meta.dirname;
const nap = new Int32Array(new SharedArrayBuffer(4));
let first = true;
export default {
  import: {
    mail(cs) {
      if (first) {
        first = false;
        writeFileSync(join(dir, 'started'), String(Date.now()));
        const until = Date.now() + 20_000;
        while (!existsSync(join(dir, 'go')) && Date.now() < until) Atomics.wait(nap, 0, 0, 10);
      }
      const m = cs.value('mail');
      return m === undefined ? undefined : m.replaceAll('/', '').replaceAll('\\\\', '');
    },
  },
};
`;

const PEOPLE = ['Ada Lovelace', 'Alan Turing', 'Grace Hopper', 'Edsger Dijkstra', 'Barbara Liskov'];

interface Held extends DashboardFixture {
  app: FastifyInstance;
  cookie: string;
}

/** The dashboard fixture with the held `mail` rule, five people of forest A imported, and a logged-in operator. */
async function heldPreviewDashboard(previewTimeoutSeconds?: number): Promise<Held> {
  const fx = await dashboardProject();
  writeFileSync(join(fx.dir, 'heldMail.mjs'), HELD_RULE);
  let text = readFileSync(fx.project.path, 'utf8').replace(/path: \S+\/mail\.ts/g, `path: ${join(fx.dir, 'heldMail.mjs')}`);
  if (previewTimeoutSeconds !== undefined)
    text = text.replace(/^ {2}dashboard:\n/m, `  dashboard:\n    previewTimeoutSeconds: ${previewTimeoutSeconds}\n`);
  writeFileSync(fx.project.path, text);
  const project = loadProject(fx.project.path);
  const run = await startRun(fx.store, 'full-import');
  for (const [i, cn] of PEOPLE.entries()) {
    const uid = cn.split(' ')[0]!.toLowerCase();
    await cs.insertCs(fx.store, {
      agent: 'a',
      anchor: `00000000-0000-4000-8000-00000000000${i}`,
      dn: `cn=${cn},ou=Sites,dc=forest-a,dc=test`,
      objectClass: 'user',
      attributes: {
        cn: [cn],
        displayName: [cn],
        sn: [cn.split(' ')[1]!],
        mail: [`${uid}@forest-a.test`],
        proxyAddresses: [`SMTP:${uid}@forest-a.test`],
        legacyExchangeDN: [`/o=ForestA/ou=First Administrative Group/cn=Recipients/cn=${uid}`],
      },
      hash: `h${i}`,
      provisioned: false,
      runId: run,
    });
  }
  await finishRun(fx.store, run, 'success', emptyCounts(), [], null);
  const app = await buildServer({ ...project }, { logger: silentLogger, state: fx.store });
  await app.ready();
  const res = await app.inject({
    method: 'POST',
    url: '/dashboard/login',
    headers: { 'content-type': 'application/json' },
    payload: { name: OPERATOR, password: OPERATOR_PASSWORD },
  });
  assert.equal(res.statusCode, 200, res.body);
  const cookie = String(res.headers['set-cookie']).split(';')[0] as string;
  return { ...fx, project, app, cookie };
}

async function waitFor(file: string, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (existsSync(file)) return true;
    await new Promise((r) => setTimeout(r, 20));
  }
  return false;
}

const scratchCopies = (dir: string) => readdirSync(dir).filter((f) => f.startsWith('.crossforest-preview-'));

/**
 * Another connection to the same state store that never waits for a lock: on SQLite a held
 * write lock is an immediate SQLITE_BUSY; on PostgreSQL a lock wait fails at once.
 */
async function impatientConnection(fx: DashboardFixture): Promise<StateStore> {
  // PostgreSQL: set for the database before the other store connects, so each of its pooled connections has it.
  if (fx.store.engine === 'postgres')
    await fx.store.sql.exec(`ALTER DATABASE ${new URL(fx.store.location).pathname.slice(1)} SET lock_timeout = '50ms'`);
  const other = await openProjectState(fx.project);
  if (other.engine === 'sqlite') await other.sql.exec('PRAGMA busy_timeout = 0');
  return other;
}

test('the test can tell: a write transaction held on the store makes the impatient connection fail at once', async () => {
  const fx = await dashboardProject();
  const other = await impatientConnection(fx);
  try {
    // A lock on what the next batch insert needs: SQLite's one write lock, PostgreSQL's table lock.
    let release!: () => void;
    const held = new Promise<void>((r) => {
      release = r;
    });
    let locked!: () => void;
    const isLocked = new Promise<void>((r) => {
      locked = r;
    });
    const holder = fx.store.sql
      .tx(async () => {
        await fx.store.sql.exec(
          fx.store.engine === 'sqlite'
            ? "INSERT INTO lease (name, holder, acquired_at, expires_at) VALUES ('held', 'test', '', '')"
            : 'LOCK TABLE migration_batch IN EXCLUSIVE MODE',
        );
        locked();
        await held;
      })
      .catch(() => undefined);
    await isLocked;
    await assert.rejects(newBatch(other, 'blocked', ['zed']), /SQLITE_BUSY|database is locked|lock timeout/);
    release();
    await holder;
    await newBatch(other, 'unblocked', ['zed']);
  } finally {
    await other.close();
    await fx.store.close();
  }
});

test('while a preview computes, another connection writes without waiting and the service answers; the preview is still right', async () => {
  const fx = await heldPreviewDashboard();
  const other = await impatientConnection(fx);
  try {
    let answered = false;
    const pending = fx.app.inject({ url: '/dashboard/api/sync/preview?mode=full', headers: { cookie: fx.cookie } }).then((r) => {
      answered = true;
      return r;
    });
    assert.ok(await waitFor(join(fx.dir, 'started'), 30_000), 'the preview reached the synchronization');
    assert.equal(answered, false, 'the preview is still computing');

    // A migration batch, a sync run's history and a connector-space object, written meanwhile.
    await newBatch(other, 'during-preview', ['zara', 'yusuf']);
    const run = await startRun(other, 'delta-sync');
    await finishRun(other, run, 'success', emptyCounts(), [], null);
    await other.sql.tx(async () => {
      await cs.insertCs(other, {
        agent: 'b',
        anchor: '11111111-0000-4000-8000-000000000000',
        dn: 'cn=Late Arrival,ou=Sites,dc=forest-b,dc=test',
        objectClass: 'user',
        attributes: { cn: ['Late Arrival'], mail: ['late@forest-b.test'] },
        hash: 'late',
        provisioned: false,
        runId: run,
      });
    });
    const health = await fx.app.inject({ url: '/healthz' });
    assert.equal(health.statusCode, 200);
    const overview = await fx.app.inject({ url: '/dashboard/api/overview', headers: { cookie: fx.cookie } });
    assert.equal(overview.statusCode, 200, overview.body);
    assert.ok(
      overview.json().batches.some((b: { name: string }) => b.name === 'during-preview'),
      'the dashboard sees the new batch at once',
    );
    assert.equal(answered, false, 'all of that happened while the preview was computing');

    writeFileSync(join(fx.dir, 'go'), '');
    const r = await pending;
    assert.equal(r.statusCode, 200, r.body);
    const p = r.json() as PreviewAnswer;
    assert.equal(p.mode, 'full');
    // Each person of A becomes a contact in B's GAL container: five adds, from the snapshot taken at the start.
    const adds = p.items.filter((i) => i.agent === 'b' && i.op === 'add');
    assert.equal(adds.length, PEOPLE.length, JSON.stringify(p.items.map((i) => [i.agent, i.op, i.dn])));
    assert.ok(adds.some((i) => i.dn.startsWith('cn=Ada Lovelace,ou=GAL Contacts,dc=forest-b,dc=test')));
    assert.ok(!p.items.some((i) => i.dn.includes('Late Arrival')), 'written after the snapshot: not in this preview');
    assert.equal(p.total, p.items.length);

    // The writes are in the store; the preview's are not; its copy is gone.
    assert.ok((await allBatches(fx.store)).some((b) => b.name === 'during-preview'));
    assert.ok((await listRuns(fx.store, 10)).some((x) => x.profile === 'delta-sync'));
    assert.equal((await cs.pendingExports(fx.store, 'b')).length, 0, 'the preview wrote nothing');
    assert.equal((await cs.allCsHeads(fx.store)).length, PEOPLE.length + 1);
    assert.deepEqual(scratchCopies(fx.dir), []);
  } finally {
    writeFileSync(join(fx.dir, 'go'), '');
    await other.close();
    await fx.app.close();
    await fx.store.close();
  }
});

test('a preview past previewTimeoutSeconds is stopped and says so; the copy is removed and the next preview works', async () => {
  const fx = await heldPreviewDashboard(1);
  try {
    const t0 = Date.now();
    const r = await fx.app.inject({ url: '/dashboard/api/sync/preview?mode=delta', headers: { cookie: fx.cookie } });
    assert.equal(r.statusCode, 503, r.body);
    assert.equal(r.json().error, 'CF_ERR_PREVIEW_TIMEOUT');
    assert.match(r.json().message, /the delta preview was stopped after 1 s/);
    assert.match(r.json().hint, /coexistence\.dashboard\.previewTimeoutSeconds/);
    assert.ok(Date.now() - t0 < 10_000, 'stopped near its deadline, not when the rule gave up');
    assert.deepEqual(scratchCopies(fx.dir), []);
    writeFileSync(join(fx.dir, 'go'), '');
    const ok = await fx.app.inject({ url: '/dashboard/api/sync/preview?mode=delta', headers: { cookie: fx.cookie } });
    assert.equal(ok.statusCode, 200, ok.body);
    assert.equal((ok.json() as PreviewAnswer).items.filter((i) => i.op === 'add').length, PEOPLE.length);
  } finally {
    writeFileSync(join(fx.dir, 'go'), '');
    await fx.app.close();
    await fx.store.close();
  }
});
