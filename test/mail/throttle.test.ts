// The token bucket and the per-store registry (pure, fast): concurrent takers share one
// rate fairly, 0 means unlimited, stores are told apart by host:port, the strictest
// limit of the copies running wins, and an entry nobody holds is dropped. Time is the
// test runner's mocked clock and setTimeout, so rates are checked exactly and quickly;
// one test on real time checks that waiting takers do not spin.
import assert from 'node:assert/strict';
import { describe, it, type TestContext } from 'node:test';
import { exampleProjectFile } from '../../src/config/example.ts';
import { parseProject } from '../../src/config/load.ts';
import { defaultMailCopyOptions } from '../../src/config/mail.ts';
import { mailStoreSchema } from '../../src/config/organization.ts';
import { projectCopyEndpoints } from '../../src/mail/endpoint.ts';
import { configuredLimits, copyThrottle, StoreThrottleRegistry, storeLimitsOf } from '../../src/mail/storeThrottle.ts';
import { Throttle } from '../../src/mail/throttle.ts';
import type { MailEndpoint } from '../../src/mail/types.ts';
import { endpoints, type StepContext } from '../../src/migration/stepContext.ts';
import type { MailboxRow } from '../../src/migration/types.ts';

const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

/** Mocked time from 0; `run` advances it 1 ms at a time (letting promises settle) until `done`. */
function fakeTime(t: TestContext): { now: () => number; run: (done: () => boolean, maxMs?: number) => Promise<void> } {
  t.mock.timers.enable({ apis: ['setTimeout', 'Date'], now: 0 });
  return {
    now: () => Date.now(),
    async run(done, maxMs = 60_000) {
      await flush();
      while (!done()) {
        assert.ok(Date.now() < maxMs, `still waiting after ${maxMs} ms of mocked time`);
        t.mock.timers.tick(1);
        await flush();
      }
    },
  };
}

/** `takers` loops, each taking `each` messages of `bytes`; returns each completion's [taker, ms]. */
async function takeAll(
  time: ReturnType<typeof fakeTime>,
  takeFns: ((bytes: number) => Promise<void>)[],
  each: number,
  bytes = 1,
): Promise<[number, number][]> {
  const done: [number, number][] = [];
  let finished = 0;
  takeFns.forEach(async (take, i) => {
    for (let k = 0; k < each; k++) {
      await take(bytes);
      done.push([i, time.now()]);
    }
    finished++;
  });
  await time.run(() => finished === takeFns.length);
  return done;
}

describe('Throttle', () => {
  it('0 means unlimited: thousands of takes go at once, without a timer', async () => {
    for (const t of [new Throttle(0, 0), new Throttle(0, 0, () => 0)]) {
      let n = 0;
      const all = Array.from({ length: 5_000 }, () => t.take(1 << 20).then(() => n++));
      await Promise.resolve();
      await Promise.resolve();
      assert.equal(n, 5_000, 'every take settled within the microtask queue');
      await Promise.all(all);
      assert.equal(t.waiting, 0);
    }
  });

  it('several concurrent takers share one rate, served in turn', async (t) => {
    const time = fakeTime(t);
    const th = new Throttle(10, 0, time.now);
    const done = await takeAll(
      time,
      [0, 1, 2].map(() => (b: number) => th.take(b)),
      10,
    );
    assert.equal(done.length, 30);
    // one second of burst (10), then 10/s: the 30th message goes at 2 s, never earlier
    for (let i = 0; i < done.length; i++)
      assert.ok(done[i]![1] >= Math.max(0, (i + 1 - 10) * 100) - 1, `message ${i + 1} at ${done[i]![1]} ms`);
    assert.ok(done[29]![1] >= 1999 && done[29]![1] <= 2010, `last at ${done[29]![1]} ms`);
    // fair: no taker ever gets more than one message ahead of another
    const counts = [0, 0, 0];
    for (const [i, at] of done) {
      counts[i]!++;
      assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `turns at ${at} ms: ${counts}`);
    }
  });

  it('limits bytes per second; a message bigger than the burst waits for a full bucket and the next one pays its debt', async (t) => {
    const time = fakeTime(t);
    const th = new Throttle(0, 1_000, time.now);
    const done = await takeAll(time, [(b) => th.take(b)], 3, 500);
    assert.deepEqual(
      done.map(([, at]) => at),
      [0, 0, 500],
    );
    const big: number[] = [];
    let n = 0;
    void th
      .take(3_000)
      .then(() => big.push(time.now()))
      .then(() => th.take(100))
      .then(() => big.push(time.now()))
      .then(() => n++);
    await time.run(() => n === 1);
    // bucket at 0 after the 3rd message (at 500 ms: -500 + 500 = 0) → full (1,000) at 1,500 ms;
    // then 2,000 bytes owed → 100 more bytes at 1,500 + 2,100 = 3,600 ms
    assert.deepEqual(big, [1_500, 3_600]);
  });

  it('takes the strictest of both units', async (t) => {
    const time = fakeTime(t);
    const th = new Throttle(100, 1_000, time.now);
    const done = await takeAll(time, [(b) => th.take(b)], 4, 500);
    assert.deepEqual(
      done.map(([, at]) => at),
      [0, 0, 500, 1_000],
    );
  });

  it('an idle bucket holds one second of burst, no more', async (t) => {
    const time = fakeTime(t);
    const th = new Throttle(5, 0, time.now);
    await time.run(() => time.now() >= 10_000);
    const done = await takeAll(time, [(b) => th.take(b)], 7);
    assert.deepEqual(
      done.map(([, at]) => at - 10_000),
      [0, 0, 0, 0, 0, 200, 400],
    );
  });

  it('new rates apply to the takers already waiting', async (t) => {
    const time = fakeTime(t);
    const th = new Throttle(1, 0, time.now);
    const at: number[] = [];
    for (let i = 0; i < 4; i++) void th.take(1).then(() => at.push(time.now()));
    await time.run(() => at.length === 1);
    assert.equal(th.waiting, 3);
    await time.run(() => time.now() >= 200);
    th.setRates(10, 0); // tokens kept (0.2), then 10/s: next at 280 ms, then every 100 ms
    await time.run(() => at.length === 3);
    assert.deepEqual(at, [0, 280, 380]);
    th.setRates(0, 0); // unlimited: the last one goes at once
    await time.run(() => at.length === 4);
    assert.equal(at[3], 380);
    assert.equal(th.waiting, 0);
  });

  it('waiting takers sleep on one timer instead of spinning (real time)', async () => {
    const th = new Throttle(200, 0);
    const cpu = process.cpuUsage();
    const started = performance.now();
    await Promise.all(
      Array.from({ length: 4 }, async () => {
        for (let k = 0; k < 75; k++) await th.take(1);
      }),
    );
    const wall = performance.now() - started;
    const used = process.cpuUsage(cpu);
    assert.ok(wall >= 400, `300 messages at 200/s after a burst of 200 take ≥ 500 ms (${wall.toFixed(0)} ms)`);
    assert.ok((used.user + used.system) / 1000 < wall / 2, `CPU ${(used.user + used.system) / 1000} ms over ${wall.toFixed(0)} ms`);
  });
});

describe('store throttle registry', () => {
  const store = (o: Record<string, unknown>) =>
    mailStoreSchema.parse({ host: 'Mail.Example.com', masterUser: 'admin', masterPassword: { env: 'X' }, ...o });

  it('identifies a store by host:port, with the default ports, and reads its limits (0 = unlimited by default)', () => {
    assert.deepEqual(storeLimitsOf(store({})), { key: 'mail.example.com:143', maxMessagesPerSecond: 0, maxBytesPerSecond: 0 });
    assert.equal(storeLimitsOf(store({ tls: 'implicit' })).key, 'mail.example.com:993');
    assert.deepEqual(storeLimitsOf(store({ port: 1431, maxMessagesPerSecond: 20, maxBytesPerSecond: 1e6 })), {
      key: 'mail.example.com:1431',
      maxMessagesPerSecond: 20,
      maxBytesPerSecond: 1e6,
    });
    assert.throws(() => store({ maxMessagesPerSecond: -1 }), /maxMessagesPerSecond|too small|>=0/i);
  });

  it('splits every store budget over the processes that share it (queue workers), and back', () => {
    const reg = new StoreThrottleRegistry();
    const a = reg.acquire({ key: 'h:1', maxMessagesPerSecond: 10, maxBytesPerSecond: 4e6 });
    const free = reg.acquire({ key: 'h:2', maxMessagesPerSecond: 0, maxBytesPerSecond: 0 });
    reg.setShare(4);
    assert.deepEqual([a.throttle.messagesPerSecond, a.throttle.bytesPerSecond], [2.5, 1e6]);
    assert.deepEqual([free.throttle.messagesPerSecond, free.throttle.bytesPerSecond], [0, 0], 'unlimited stays unlimited');
    const late = reg.acquire({ key: 'h:3', maxMessagesPerSecond: 6, maxBytesPerSecond: 0 });
    assert.equal(late.throttle.messagesPerSecond, 1.5, 'a store acquired later gets its share too');
    reg.setShare(0);
    assert.equal(a.throttle.messagesPerSecond, 10, 'never less than one process');
    a.release();
    free.release();
    late.release();
  });

  it('gives every holder of a store the same throttle, other stores their own; the last release drops the entry', () => {
    const reg = new StoreThrottleRegistry();
    const a1 = reg.acquire({ key: 'h:1', maxMessagesPerSecond: 5, maxBytesPerSecond: 0 });
    const a2 = reg.acquire({ key: 'h:1', maxMessagesPerSecond: 5, maxBytesPerSecond: 0 });
    const b = reg.acquire({ key: 'h:2', maxMessagesPerSecond: 5, maxBytesPerSecond: 0 });
    assert.equal(a1.throttle, a2.throttle);
    assert.notEqual(a1.throttle, b.throttle);
    assert.deepEqual(
      reg.active().map((e) => [e.key, e.holders]),
      [
        ['h:1', 2],
        ['h:2', 1],
      ],
    );
    a1.release();
    a1.release(); // idempotent: a2 still holds
    assert.deepEqual(
      reg.active().map((e) => [e.key, e.holders]),
      [
        ['h:1', 1],
        ['h:2', 1],
      ],
    );
    a2.release();
    b.release();
    assert.deepEqual(reg.active(), []);
    const again = reg.acquire({ key: 'h:1', maxMessagesPerSecond: 7, maxBytesPerSecond: 0 });
    assert.notEqual(again.throttle, a1.throttle);
    assert.equal(again.throttle.messagesPerSecond, 7);
  });

  it('runs at the strictest limit of the copies holding a store, per unit, until they release', () => {
    const reg = new StoreThrottleRegistry();
    const free = reg.acquire({ key: 'h:1', maxMessagesPerSecond: 0, maxBytesPerSecond: 0 });
    assert.deepEqual([free.throttle.messagesPerSecond, free.throttle.bytesPerSecond], [0, 0]);
    const msgs = reg.acquire({ key: 'h:1', maxMessagesPerSecond: 20, maxBytesPerSecond: 0 });
    const both = reg.acquire({ key: 'h:1', maxMessagesPerSecond: 50, maxBytesPerSecond: 1_000 });
    assert.deepEqual([free.throttle.messagesPerSecond, free.throttle.bytesPerSecond], [20, 1_000]);
    msgs.release();
    assert.deepEqual([free.throttle.messagesPerSecond, free.throttle.bytesPerSecond], [50, 1_000]);
    both.release();
    assert.deepEqual([free.throttle.messagesPerSecond, free.throttle.bytesPerSecond], [0, 0]);
    free.release();
  });

  it('copies against one store share its rate; each copy counts on its source and its target store', async (t) => {
    const time = fakeTime(t);
    const reg = new StoreThrottleRegistry(time.now);
    const ep = (key: string, rate: number): MailEndpoint => ({
      address: `imap://${key}`,
      timeoutMs: 1_000,
      open: () => Promise.reject(new Error('not used')),
      storeLimits: { key, maxMessagesPerSecond: rate, maxBytesPerSecond: 0 },
    });
    const options = defaultMailCopyOptions();
    // two copies from the limited store A (10/s) to an unlimited store B
    const copies = [0, 1].map(() => copyThrottle({ source: ep('a:1431', 10), target: ep('b:1432', 0), options }, reg));
    assert.deepEqual(
      reg.active().map((e) => [e.key, e.holders, e.maxMessagesPerSecond]),
      [
        ['a:1431', 2, 10],
        ['b:1432', 2, 0],
      ],
    );
    const done = await takeAll(
      time,
      copies.map((c) => (b: number) => c.take(b)),
      15,
    );
    assert.equal(done.at(-1)![1], 2_000, '30 messages at 10/s after a burst of 10');
    const [r0, r1] = copies.map((c) => c.report());
    assert.deepEqual(
      r0!.map((r) => [r.scope, r.store, r.maxMessagesPerSecond]),
      [['source store', 'imap://a:1431', 10]],
    );
    assert.equal(r1!.length, 1);
    for (const c of copies) c.release();
    assert.deepEqual(reg.active(), []);

    // a copy within one store reads and appends there: two tokens per message
    const self = copyThrottle({ source: ep('a:1431', 10), target: ep('a:1431', 10), options }, reg);
    const within = await takeAll(time, [(b) => self.take(b)], 10);
    assert.equal(within.at(-1)![1] - done.at(-1)![1], 1_000, '10 messages = 20 operations at 10/s after a burst of 10');
    self.release();
  });

  it('reaches copyMailbox from the project file on both call paths (CLI and migration) without their help', () => {
    const text = exampleProjectFile().replace(/(port: 1431\n(?: {6}.*\n)*? {6}maxMessagesPerSecond: )0/, '$125');
    const config = parseProject(text);
    const project = { config, baseDir: '/nowhere', path: '/nowhere/crossforest.yaml' } as Parameters<typeof projectCopyEndpoints>[0];
    const cli = projectCopyEndpoints(project, 'u@forest-a.test', 'u@forest-b.test', {});
    assert.deepEqual(cli.source.storeLimits, { key: '127.0.0.1:1431', maxMessagesPerSecond: 25, maxBytesPerSecond: 0 });
    assert.deepEqual(cli.target.storeLimits, { key: '127.0.0.1:9932', maxMessagesPerSecond: 0, maxBytesPerSecond: 0 });
    const orgs = config.organizations;
    const ctx = {
      setup: { project, config: config.migration, sourceId: 'a', targetId: 'b', source: orgs.a, target: orgs.b },
      batch: { targetStore: 'store-b' },
    } as unknown as StepContext;
    const migration = endpoints(ctx, { sourceLogin: 'u@forest-a.test', plan: { targetLogin: 'u@forest-b.test' } } as MailboxRow);
    assert.deepEqual(migration.source.storeLimits, cli.source.storeLimits);
    assert.deepEqual(migration.target.storeLimits, cli.target.storeLimits);
  });

  it('lists the configured limits the CLI shows (set ones only)', () => {
    const ep = (address: string, m: number): MailEndpoint => ({
      address,
      timeoutMs: 1,
      open: () => Promise.reject(new Error('x')),
      storeLimits: { key: address, maxMessagesPerSecond: m, maxBytesPerSecond: 0 },
    });
    assert.deepEqual(configuredLimits(ep('imap://a', 20), ep('imap://b', 0), defaultMailCopyOptions({ maxBytesPerSecond: 5e6 })), [
      { scope: 'mailbox', maxMessagesPerSecond: 0, maxBytesPerSecond: 5e6 },
      { scope: 'source store', store: 'imap://a', maxMessagesPerSecond: 20, maxBytesPerSecond: 0 },
    ]);
    assert.deepEqual(
      configuredLimits(
        ep('imap://a', 0),
        { address: 'x', timeoutMs: 1, open: () => Promise.reject(new Error('x')) },
        defaultMailCopyOptions(),
      ),
      [],
    );
  });
});
