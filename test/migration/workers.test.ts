// Work on many hosts (issue 12). On the PostgreSQL state: a batch started with --detach is
// run by two `crossforest worker` processes playing two hosts; one is killed with -9 in the
// middle of a copy; `batch wait` must end with every mailbox done exactly once, all mail on
// the target, both workers named, and the per-source-server limit held at every moment
// (sampled from the lease table while it runs). On SQLite: --detach and a second host are
// refused, naming PostgreSQL.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FORESTS } from '../../lab/forests.ts';
import { workerViews } from '../../src/coexistence/dashboard/queries.ts';
import { withMailServers } from '../../src/config/example.ts';
import { orgMailStores } from '../../src/config/organization.ts';
import { batchByName, mailboxesOf, stepsOf } from '../../src/migration/batchStore.ts';
import { openProjectState } from '../../src/state/store.ts';
import { ensureLab } from '../helpers/lab.ts';
import { TEST_ENGINE } from '../helpers/state.ts';
import { cli, type MigLab, messageCount, migLab, namesFile, removeAll, sourceUser } from './fixtures.ts';

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'crossforest.js');
const labs: MigLab[] = [];
const children: ChildProcess[] = [];
after(async () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  for (const l of labs) await removeAll(l);
});

const SOURCE_LIMIT = 2;

function worker(l: MigLab, host: string): ChildProcess & { log: () => string } {
  const p = spawn(process.execPath, [CLI, '-c', l.project.path, 'worker', '--concurrency', '3', '--poll', '1'], {
    env: { ...process.env, CROSSFOREST_HOST_NAME: host, CROSSFOREST_MAILBOX_LEASE_SECONDS: '6' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  p.stdout?.on('data', (d) => (log += d));
  p.stderr?.on('data', (d) => (log += d));
  children.push(p);
  return Object.assign(p, { log: () => log });
}

describe('batches on many workers (lab)', { skip: TEST_ENGINE !== 'postgres' && 'needs the PostgreSQL state' }, () => {
  it('two workers, one killed with -9 mid-copy: every mailbox done once, limits held', { timeout: 300_000 }, async () => {
    // Two mail servers in forest A (lab up --stores 2): the 6 mailboxes come from both.
    await ensureLab({ stores: 2 });
    const l = await migLab((t) => t.replace('maxConcurrentPerSourceStore: 8', `maxConcurrentPerSourceStore: ${SOURCE_LIMIT}`));
    labs.push(l);
    const servers = orgMailStores(l.project.config.organizations.a!, 'a').map((s) => s.name);
    assert.equal(servers.length, 2, 'the project names both mail servers of forest A');
    const users = [];
    for (let i = 0; i < 6; i++) users.push(await sourceUser(l, `w${i}`, 400, { server: servers[i % 2] }));
    const created = await cli(l, [
      'batch',
      'create',
      'w',
      '--from',
      namesFile(
        l,
        users.map((u) => u.sam),
      ),
      '--target-store',
      'store-b',
    ]);
    assert.equal(created.code, 0, created.err);
    {
      // batch create found each user's server from its homeMDB.
      const st0 = await openProjectState(l.project);
      const ms0 = await mailboxesOf(st0, (await batchByName(st0, 'w'))!.id);
      await st0.close();
      assert.deepEqual(
        ms0.map((m) => m.plan.sourceStore).sort(),
        [servers[0], servers[0], servers[0], servers[1], servers[1], servers[1]].sort(),
      );
    }
    const detached = await cli(l, ['--json', 'batch', 'start', 'w', '--detach']);
    assert.equal(detached.code, 0, detached.err);
    assert.equal(JSON.parse(detached.out).enqueued, 6);

    // The limit, sampled from the database every 100 ms while the batch runs.
    const st = await openProjectState(l.project);
    // The limit per source server: slots of each server counted apart.
    const maxSlotsOf = new Map<string, number>();
    let maxSlots = 0;
    let maxCopying = 0;
    let sampling = true;
    // After the kill, host-one's step stays marked running until a worker takes that mailbox
    // over: a dead process copies nothing, so it is not counted.
    let killed = false;
    // What the dashboard shows: the workers alive, with the mailboxes they hold.
    const seenAlive = new Set<string>();
    let seenHolding = false;
    let ticks = 0;
    const batchId = (await batchByName(st, 'w'))!.id;
    const sampler = (async () => {
      while (sampling) {
        const held = await st.leasesLike('migration-slot:source:');
        const slotsOf = (srv: string) => held.filter((h) => h.name.startsWith(`migration-slot:source:${srv}:`)).length;
        for (const srv of servers) maxSlotsOf.set(srv, Math.max(maxSlotsOf.get(srv) ?? 0, slotsOf(srv)));
        const slots = Math.max(...servers.map(slotsOf));
        const copying = (await stepsOf(st, batchId)).filter(
          (s) => s.status === 'running' && ['copy', 'delta', 'cutover'].includes(s.step) && !(killed && s.worker?.startsWith('host-one:')),
        );
        const serverOfMailbox = new Map((await mailboxesOf(st, batchId)).map((m) => [m.id, m.plan.sourceStore as string]));
        const perServer = Math.max(...servers.map((srv) => copying.filter((c) => serverOfMailbox.get(c.mailboxId) === srv).length));
        maxSlots = Math.max(maxSlots, slots);
        maxCopying = Math.max(maxCopying, perServer);
        if (ticks++ % 10 === 0)
          for (const w of await workerViews(st)) {
            seenAlive.add(w.worker.split(':')[0] as string);
            if (w.mailboxes.length) seenHolding = true;
          }
        await new Promise((r) => setTimeout(r, 100));
      }
    })();

    const w1 = worker(l, 'host-one');
    const w2 = worker(l, 'host-two');
    // Kill host-one once it is inside a copy step.
    const deadline = Date.now() + 120_000;
    for (;;) {
      const running = (await stepsOf(st, batchId)).filter(
        (s) => s.status === 'running' && s.step === 'copy' && s.worker?.startsWith('host-one:'),
      );
      if (running.length) break;
      assert.ok(Date.now() < deadline, `host-one never copied:\n${w1.log()}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    w1.kill('SIGKILL');
    killed = true;

    const waited = await cli(l, ['--json', 'batch', 'wait', 'w', '--timeout', '240']);
    sampling = false;
    await sampler;
    w2.kill('SIGTERM');
    assert.equal(waited.code, 0, `${waited.err}\n--- host-two:\n${w2.log()}`);
    const result = JSON.parse(waited.out.trim().split('\n').at(-1) as string);
    assert.equal(result.status, 'completed', waited.out);

    const ms = await mailboxesOf(st, batchId);
    for (const m of ms) {
      assert.equal(m.state, 'done', `${m.sourceLogin}: ${m.error}`);
      assert.equal(m.fidelity, 1, m.sourceLogin);
      // 400 INBOX + 2 Projects, each exactly once.
      assert.equal(await messageCount(l, 'b', m.plan.targetLogin), 402, m.sourceLogin);
    }
    const steps = await stepsOf(st, batchId);
    const interrupted = steps.filter((s) => s.detail === 'interrupted');
    assert.ok(interrupted.length >= 1, 'the killed worker left a step that another worker repeated');
    assert.ok(interrupted.every((s) => s.worker?.startsWith('host-one:')));
    await st.close();

    const shown = await cli(l, ['--json', 'batch', 'show', 'w']);
    assert.equal(shown.code, 0, shown.err);
    const show = JSON.parse(shown.out);
    const workers = new Set<string>();
    for (const m of show.mailboxes) {
      assert.match(m.worker, /^host-(one|two):\d+$/, 'each mailbox names the worker of its last step');
      for (const s of m.steps) if (s.worker) workers.add(s.worker.split(':')[0]);
    }
    assert.deepEqual([...workers].sort(), ['host-one', 'host-two']);
    assert.ok(maxSlots <= SOURCE_LIMIT, `source slots held at once on one server: ${maxSlots} > ${SOURCE_LIMIT}`);
    for (const srv of servers) assert.ok((maxSlotsOf.get(srv) ?? 0) >= 1, `server ${srv} was read from`);
    assert.ok(maxCopying <= SOURCE_LIMIT, `mailboxes copying at once from one server: ${maxCopying} > ${SOURCE_LIMIT}`);
    assert.ok(maxCopying >= 1);
    assert.deepEqual([...seenAlive].sort(), ['host-one', 'host-two'], 'the dashboard listed both workers alive');
    assert.ok(seenHolding, 'the dashboard showed a worker holding mailboxes');
  });
});

describe('one host only on SQLite (lab)', { skip: TEST_ENGINE !== 'sqlite' && 'a SQLite property' }, () => {
  it('refuses --detach and a second host, naming PostgreSQL', async () => {
    const l = await migLab();
    labs.push(l);
    const u = await sourceUser(l, 'sq', 1);
    const created = await cli(l, ['batch', 'create', 's', '--from', namesFile(l, [u.sam]), '--target-store', 'store-b']);
    assert.equal(created.code, 0, created.err);
    const detached = await cli(l, ['batch', 'start', 's', '--detach']);
    assert.notEqual(detached.code, 0);
    assert.match(detached.err, /is SQLite: it has no job queue/);
    assert.match(detached.err, /PostgreSQL/);
    const elsewhere = await cli(l, ['batch', 'list'], { CROSSFOREST_HOST_NAME: 'another-host' });
    assert.notEqual(elsewhere.code, 0);
    assert.match(elsewhere.err, /belongs to host .*, and this is another-host/);
    assert.match(elsewhere.err, /PostgreSQL/);
    // Nothing was changed by the refusals: the batch is still there, untouched.
    const listed = await cli(l, ['--json', 'batch', 'list']);
    assert.equal(listed.code, 0, listed.err);
    assert.equal(JSON.parse(listed.out).find((b: { name: string }) => b.name === 's')?.status, 'created');
  });
});

// Engine-neutral (the directory and the project file): run in the SQLite pass, on the one-store lab.
describe('a mailbox on a server the project does not know (lab)', { skip: TEST_ENGINE !== 'sqlite' && 'runs in the SQLite pass' }, () => {
  it('batch create refuses it with the homeMDB found and the servers known; nothing is created', async () => {
    const l = await migLab((t) =>
      withMailServers(t, 'a', [
        { name: 'dovecot-a', homeMDB: FORESTS.a.mailboxStoreDn, port: 1431 },
        { name: 'mbx-a9', homeMDB: 'CN=Mailbox Store A9,CN=MAIL-A9,DC=forest-a,DC=test', port: 1 },
      ]),
    );
    labs.push(l);
    const known = await sourceUser(l, 'hk', 0);
    const lost = await sourceUser(l, 'hl', 0, { homeMDB: 'CN=Mailbox Store Q,CN=MAIL-Q,DC=forest-a,DC=test' });
    const r = await cli(l, ['batch', 'create', 'h', '--from', namesFile(l, [known.sam, lost.sam]), '--target-store', 'store-b']);
    assert.notEqual(r.code, 0);
    assert.match(
      r.err,
      new RegExp(`"${lost.sam}".*homeMDB "CN=Mailbox Store Q,CN=MAIL-Q,DC=forest-a,DC=test" matches no mail server of a`, 'i'),
    );
    assert.match(r.err, /dovecot-a: CN=Mailbox Store A,.*; mbx-a9: CN=Mailbox Store A9/);
    assert.doesNotMatch(r.err, new RegExp(`"${known.sam}"`), 'the user on a known server is fine');
    const listed = await cli(l, ['--json', 'batch', 'list']);
    assert.deepEqual(JSON.parse(listed.out), [], 'nothing was created');
  });
});
