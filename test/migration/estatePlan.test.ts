// `plan --estate` below the command (src/migration/estatePlan.ts and the additions to
// estate.ts): the rates chosen (measured, given, assumed), an estate read from JSON with
// every problem listed, the totals that add up to the inventory, what sets each lane's
// rate, the capped window list, and the rates measured on a real state store.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { type Estate, generateEstate, planEstate, SEED_ESTATE } from '../../src/migration/estate.ts';
import {
  ASSUMED_OVERHEAD_SECONDS,
  ASSUMED_STREAM_MBPS,
  boundingLabel,
  capRows,
  chooseEstateRates,
  estateShape,
  estateTotals,
  limitGroups,
  parseEstate,
  runEstatePlan,
} from '../../src/migration/estatePlan.ts';
import { openTestStore } from '../helpers/state.ts';

const rates = { streamBytesPerSecond: 1, streamMessagesPerSecond: 1e9, overheadSeconds: 0 };
const opts = { windowSeconds: 100, windowsPerDay: 4, goalPerWindow: 3 };

const dirs: string[] = [];
after(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});
const tempDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'cf-estate-'));
  dirs.push(d);
  return d;
};

describe('estate plan: rates', () => {
  it('takes the measured rates, a given rate over them, and states the assumption when nothing was measured', () => {
    const measured = { bytesPerSecond: 7e6, messagesPerSecond: 300, passes: 4 };
    assert.deepEqual(chooseEstateRates(measured, 12.5), {
      streamBytesPerSecond: 7e6,
      streamMessagesPerSecond: 300,
      overheadSeconds: 12.5,
      overheadSource: 'measured',
      source: 'measured on 4 earlier copy passes',
    });
    const given = chooseEstateRates(measured, undefined, 2);
    assert.equal(given.streamBytesPerSecond, 2e6);
    assert.equal(given.streamMessagesPerSecond, Number.POSITIVE_INFINITY);
    assert.equal(given.overheadSeconds, ASSUMED_OVERHEAD_SECONDS);
    assert.equal(given.overheadSource, 'assumed');
    assert.match(given.source, /given: --rate 2/);
    const assumed = chooseEstateRates(undefined, undefined);
    assert.equal(assumed.streamBytesPerSecond, ASSUMED_STREAM_MBPS * 1e6);
    assert.match(assumed.source, /assumed: nothing measured yet; run a trial batch, or give --rate/);
  });

  it('reads the rates measured on the project’s state store (copy and delta passes)', async () => {
    const dir = tempDir();
    const store = await openTestStore(dir);
    try {
      const empty = await runEstatePlan(store, { estate: 'generate', mailboxes: 50, servers: 2, sites: 1 });
      assert.match(empty.rates.source, /^assumed/);
      const batch = await store.sql.get<{ id: number }>(
        "INSERT INTO migration_batch (name, source_org, target_org, target_store, options, origin, created_at) VALUES ('t', 'a', 'b', 'store-b', '{}', 'test', '2024-01-01T00:00:00Z') RETURNING id",
      );
      const mailbox = await store.sql.get<{ id: number }>(
        "INSERT INTO migration_mailbox (batch_id, name, source_dn, source_login, source_mail, plan, updated_at) VALUES (?, 'u', 'cn=u', 'u', 'u@a.test', '{}', '2024-01-01T00:00:00Z') RETURNING id",
        [batch!.id],
      );
      // 8 MB and 100 messages in 2 s: 4 MB/s, 50 messages/s.
      await store.sql.run(
        "INSERT INTO migration_step (mailbox_id, step, started_at, finished_at, status, messages, bytes) VALUES (?, 'copy', '2024-01-01T00:00:00.000Z', '2024-01-01T00:00:02.000Z', 'done', 100, 8000000)",
        [mailbox!.id],
      );
      const measured = await runEstatePlan(store, { estate: 'generate', mailboxes: 50, servers: 2, sites: 1 });
      assert.equal(measured.rates.source, 'measured on 1 earlier copy passes');
      assert.equal(Math.round(measured.rates.streamBytesPerSecond), 4e6);
      assert.equal(Math.round(measured.rates.streamMessagesPerSecond), 50);
      const given = await runEstatePlan(store, { estate: 'generate', mailboxes: 50, servers: 2, sites: 1, rateMBps: 9 });
      assert.equal(given.rates.streamBytesPerSecond, 9e6);
      await assert.rejects(runEstatePlan(store, { estate: 'generate', rateMBps: 0 }), /--rate must be a number of MB\/s above 0/);
    } finally {
      await store.close();
    }
  });
});

describe('estate plan: the estate', () => {
  const good = {
    servers: [
      { name: 's1', site: 'x', maxConcurrentMailboxes: 2, maxBytesPerSecond: null },
      { name: 's2', site: 'y', maxConcurrentMailboxes: 1, maxBytesPerSecond: 4 },
    ],
    mailboxes: [
      { login: 'a', server: 's1', bytes: 50, messages: 5 },
      { login: 'b', server: 's2', site: 'y', bytes: 20, messages: 2 },
    ],
    siteBytesPerSecond: { x: 10 },
  };

  it('reads a JSON file of the Estate shape: null or absent rates are not limited, a mailbox takes its server’s site', () => {
    const e = parseEstate(JSON.stringify(good), 'e.json');
    assert.deepEqual(e.servers[0], { name: 's1', site: 'x', maxConcurrentMailboxes: 2, maxBytesPerSecond: Number.POSITIVE_INFINITY });
    assert.deepEqual(e.mailboxes[0], { login: 'a', server: 's1', site: 'x', bytes: 50, messages: 5 });
    assert.deepEqual(e.siteBytesPerSecond, { x: 10 });
    assert.equal(e.targetBytesPerSecond, Number.POSITIVE_INFINITY);
  });

  it('lists every problem of a file with its place, and refuses what is not JSON', () => {
    const bad = {
      servers: [{ name: 's1', site: 'x', maxConcurrentMailboxes: 0 }, { name: 's2' }, { name: 's3', site: 'x', maxConcurrentMailboxes: 1 }],
      mailboxes: [
        { login: 'a', server: 'nope', bytes: 1, messages: 1 },
        { login: 'b', server: 's3', bytes: -1, messages: 1 },
        { login: 'b', server: 's3', bytes: 1, messages: 1 },
        { login: 'c', server: 's3', site: 'elsewhere', bytes: 1, messages: 1 },
      ],
      targetBytesPerSecond: -5,
    };
    assert.throws(
      () => parseEstate(JSON.stringify(bad), 'bad.json'),
      (err: Error) => {
        for (const line of [
          'servers[0] (s1): "maxConcurrentMailboxes" must be a whole number of 1 or more',
          'servers[1]: needs a "name" and a "site"',
          'mailboxes[0] (a): server "nope" is not in "servers"',
          'mailboxes[1] (b): "bytes" and "messages" must be whole numbers of 0 or more',
          'mailboxes[2]: mailbox "b" is listed twice',
          'mailboxes[3] (c): site "elsewhere" is not its server\'s site "x"',
          '"targetBytesPerSecond" must be bytes per second above 0, or null',
        ])
          assert.ok(err.message.includes(`✗ ${line}`), `${line}\nin\n${err.message}`);
        return true;
      },
    );
    assert.throws(() => parseEstate('{ nope', 'x.json'), /x\.json is not JSON/);
    assert.throws(() => parseEstate('[]', 'x.json'), /needs an object with "servers" and "mailboxes" arrays/);
  });

  it('generates the seed’s shape with the counts given, and refuses counts that make no estate', () => {
    assert.deepEqual(estateShape({}), SEED_ESTATE);
    assert.deepEqual(estateShape({ mailboxes: 10, servers: 3, sites: 2, seed: 5 }), {
      ...SEED_ESTATE,
      mailboxes: 10,
      servers: 3,
      sites: 2,
      seed: 5,
    });
    assert.throws(() => estateShape({ servers: 2, sites: 3 }), /--sites 3 is more than --servers 2/);
    assert.throws(() => estateShape({ mailboxes: 0 }), /--mailboxes must be a whole number of 1 or more/);
    assert.throws(() => estateShape({ servers: Number.NaN }), /--servers must be a whole number/);
  });

  it('runs on a file and refuses the generator’s options with it, and impossible windows', async () => {
    const dir = tempDir();
    const file = join(dir, 'estate.json');
    writeFileSync(file, JSON.stringify(good));
    const store = await openTestStore(dir);
    try {
      const run = await runEstatePlan(store, { estate: file, rateMBps: 1e-6, windowHours: 100 / 3600, goalPerWindow: 1 });
      assert.equal(run.estate.source, file);
      assert.equal(run.estate.shape, undefined);
      assert.deepEqual([run.estate.mailboxes, run.estate.servers, run.estate.sites, run.estate.bytes], [2, 2, 2, 70]);
      assert.equal(run.totals.scheduled.mailboxes + run.totals.tooLarge.mailboxes, 2);
      await assert.rejects(runEstatePlan(store, { estate: file, seed: 3 }), /only --estate generate takes --seed, not the file/);
      await assert.rejects(runEstatePlan(store, { estate: join(dir, 'missing.json') }), /missing\.json: no such file/);
      await assert.rejects(
        runEstatePlan(store, { estate: 'generate', windowHours: 8, windowsPerDay: 4 }),
        /4 windows of 8 h do not fit in a day/,
      );
      await assert.rejects(runEstatePlan(store, { estate: 'generate', workers: 0 }), /--workers must be a whole number of 1 or more/);
    } finally {
      await store.close();
    }
  });
});

describe('estate plan: the result', () => {
  it('puts every mailbox of the inventory in exactly one window or in the too-large list, and the totals add up', () => {
    const e = generateEstate({ ...SEED_ESTATE, mailboxes: 3_000, servers: 10, sites: 3 });
    const p = planEstate(
      e,
      { streamBytesPerSecond: 5e6, streamMessagesPerSecond: Number.POSITIVE_INFINITY, overheadSeconds: 8 },
      {
        windowSeconds: 6 * 3600,
        windowsPerDay: 4,
        goalPerWindow: 600,
      },
    );
    const seen = [...p.windowSummaries.flatMap((w) => w.logins), ...p.tooLarge.map((t) => t.login)];
    assert.equal(seen.length, 3_000);
    assert.deepEqual(new Set(seen), new Set(e.mailboxes.map((m) => m.login)));
    for (const w of p.windowSummaries) assert.equal(w.logins.length, w.mailboxes);
    const t = estateTotals(e, p);
    assert.equal(t.mailboxes, 3_000);
    assert.equal(t.scheduled.mailboxes + t.tooLarge.mailboxes, t.mailboxes);
    assert.equal(t.scheduled.bytes + t.tooLarge.bytes, t.bytes);
    assert.equal(t.bytes, p.bytes);
  });

  it('names what sets each server’s lane rate: one stream, the server, the site link or the target intake', () => {
    const servers = [
      { name: 'fast', site: 'x', maxConcurrentMailboxes: 1, maxBytesPerSecond: Infinity },
      { name: 'slow', site: 'x', maxConcurrentMailboxes: 2, maxBytesPerSecond: 2 },
      { name: 'remote', site: 'far', maxConcurrentMailboxes: 2, maxBytesPerSecond: Infinity },
    ];
    const e: Estate = { servers, siteBytesPerSecond: { far: 4 }, mailboxes: [] };
    const p = planEstate(e, { ...rates, streamBytesPerSecond: 10 }, opts);
    assert.deepEqual(p.laneLimits, { fast: 'stream', slow: 'server', remote: 'site' });
    assert.deepEqual(p.laneBytesPerSecond, { fast: 10, slow: 1, remote: 2 });
    assert.deepEqual(p.laneCounts, { fast: 1, slow: 2, remote: 2 });
    const capped = planEstate({ ...e, targetBytesPerSecond: 5 }, { ...rates, streamBytesPerSecond: 10 }, opts);
    assert.deepEqual(capped.laneLimits, { fast: 'target', slow: 'server', remote: 'target' }, '5 B/s over 5 lanes: 1 B/s each');
    assert.deepEqual(
      limitGroups(capped).map((g) => [g.limit, g.servers, g.laneBytesPerSecond]),
      [
        ['target', 2, { min: 1, max: 1 }],
        ['server', 1, { min: 1, max: 1 }],
      ],
    );
    assert.deepEqual(p.perWindow, { mean: 0, min: 0, max: 0 }, 'no mailboxes: no windows, no Infinity');
  });

  it('runs no more mailboxes at once than the workers when there are fewer workers than servers', () => {
    const servers = Array.from({ length: 4 }, (_, i) => ({
      name: `s${i}`,
      site: 'x',
      maxConcurrentMailboxes: 1,
      maxBytesPerSecond: Infinity,
    }));
    const e: Estate = {
      servers,
      siteBytesPerSecond: {},
      mailboxes: servers.map((s, i) => ({ login: `u${i}`, server: s.name, site: 'x', bytes: 60, messages: 1 })),
    };
    const free = planEstate(e, rates, opts);
    assert.equal(free.windows, 1, 'four servers, one lane each: all four in one window');
    assert.equal(free.windowSummaries[0]!.boundByWorkers, false);
    const two = planEstate(e, rates, { ...opts, workers: 2 });
    assert.deepEqual(
      two.windowSummaries.map((w) => [w.mailboxes, w.boundByWorkers]),
      [
        [2, false],
        [2, false],
      ],
      'two workers: two 60 s mailboxes a 100 s window',
    );
    const shared = planEstate({ ...e, targetBytesPerSecond: 4 }, { ...rates, streamBytesPerSecond: 10 }, { ...opts, workers: 2 });
    assert.equal(shared.laneBytesPerSecond.s0, 2, 'the target’s 4 B/s over the 2 streams that run at once, not over 4 lanes');
  });

  it('caps a long list to the first rows and the last with a count of those left out', () => {
    const rows = Array.from({ length: 30 }, (_, i) => i + 1);
    assert.deepEqual(capRows(rows, false), [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, { omitted: 19 }, 30]);
    assert.deepEqual(capRows(rows, true), rows);
    assert.deepEqual(capRows(rows.slice(0, 12), false), rows.slice(0, 12), 'one row left out is shown instead');
    assert.deepEqual(capRows(rows, false, 2, 0), [1, 2, { omitted: 28 }]);
  });

  it('labels the servers that bound a window', () => {
    assert.equal(boundingLabel([], 10), '—');
    assert.equal(boundingLabel(['a', 'b'], 10), 'a, b');
    assert.equal(boundingLabel(['a', 'b', 'c', 'd', 'e'], 10), '5 servers: a, b, c …');
    assert.equal(
      boundingLabel(
        Array.from({ length: 10 }, (_, i) => `s${i}`),
        10,
      ),
      'all 10 servers',
    );
    assert.equal(boundingLabel([], 10, true), 'the workers');
    assert.equal(boundingLabel(['a'], 10, true), 'the workers; a');
  });
});
