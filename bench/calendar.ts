// Calendar copy benchmark: crossforest (copyCalendars, the product's own code, in this
// process) vs vdirsyncer 0.19 (Debian's, a process per command), same data, same run.
// One source Radicale of the bench's own (loopback, free port, scratch folder) holds the
// generated calendars, task lists and address books of N users (writeRadicaleCorpus); each
// tool copies them into an EMPTY target Radicale of its own. The source's item cache is warmed
// first (PROPFIND Depth 1 of every home and collection + a multiget of every object), so
// neither tool pays Radicale's first-read parse. Per tool: first pass, then a no-change
// re-run; then both targets are judged by the same independent comparison (peers/davSnapshot:
// plain fetch, every object by UID, canonical comparison; collection properties). Both tools
// copy --parallel users at a time; crossforest's busy time per request kind and both tools'
// and both Radicales' CPU are printed too. Figures are printed, never asserted; exit 1 only
// when the setup fails.
// --vdirsyncer-all-at-once runs vdirsyncer its own way (one process over every pair): at
// 20 × 500 it fails on Radicale 3.1 ("Connection reset by peer" / "Server disconnected", nothing
// copied): Radicale answers HTTP/1.0 (a connection per request) and listens with a backlog of 5,
// and 16 new connections at once while its threads are busy overflow it.
//   node --import tsx bench/calendar.ts [--users 20] [--events 500] [--contacts 200] [--tasks 10]
//     [--parallel 4] [--concurrency 4] [--vdirsyncer-first] [--vdirsyncer-all-at-once] [--keep] [--json]
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pLimit from 'p-limit';
import { writeRadicaleCorpus } from '../lab/radicale/corpus.ts';
import { CALMIGRATE_USER } from '../lab/radicale/radicale.ts';
import { copyCalendars, DavServer } from '../src/calendar/index.ts';
import { openStateStore } from '../src/state/store.ts';
import { silentLogger } from '../src/util/logger.ts';
import {
  type CollectionSnapshot,
  type DavReader,
  emptyJudgement,
  etagsOf,
  type Judgement,
  judge,
  snapshotHome,
} from './peers/davSnapshot.ts';
import { BENCH_PASSWORD, type BenchRadicale, CALMIGRATE_AUTH, startRadicale, stopRadicales } from './peers/radicaleServers.ts';
import { timed } from './peers/tools.ts';
import { pairsOf, VDIRSYNCER_CONNECTIONS, type VdirsyncerCommand, vdirsyncer, vdirsyncerConfig } from './peers/vdirsyncer.ts';

const { values: args } = parseArgs({
  options: {
    users: { type: 'string', default: '20' },
    events: { type: 'string', default: '500' },
    contacts: { type: 'string', default: '200' },
    tasks: { type: 'string', default: '10' },
    /** crossforest: users copied at a time … */
    parallel: { type: 'string', default: '4' },
    /** … and requests in flight per user (DavServer concurrency): parallel × concurrency = vdirsyncer's 16. */
    concurrency: { type: 'string', default: '4' },
    'vdirsyncer-first': { type: 'boolean', default: false },
    /** vdirsyncer's own way: one process per command over every pair (fails at 20 × 500 on Radicale 3.1: see the notes). */
    'vdirsyncer-all-at-once': { type: 'boolean', default: false },
    /** Keep the scratch folder (Radicales' storage, vdirsyncer's config and status). */
    keep: { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const users = Number(args.users);
const parallel = Number(args.parallel);
const concurrency = Number(args.concurrency);
const counts = { events: Number(args.events), contacts: Number(args.contacts), tasks: Number(args.tasks) };
const say = (line: string) => process.stderr.write(`${line}\n`);
const seconds = (t0: number) => Math.round(performance.now() - t0) / 1000;

type Tool = 'crossforest' | 'vdirsyncer';
interface Pass {
  seconds: number;
  /** The tool's own CPU (user + system): crossforest's process, vdirsyncer's processes. */
  cpu: number;
  /** CPU the source and the target Radicale spent meanwhile. */
  serverCpu: { source: number; target: number };
  failures: number;
  /** Busy seconds (summed over concurrent calls): vdirsyncer per command, crossforest per DavServer method and state SQL. */
  parts: Record<string, { calls: number; seconds: number }>;
}
interface ToolResult {
  first: Pass;
  rerun: Pass;
  judgement: Judgement;
}

const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
/** User + system CPU seconds of a process so far (/proc/<pid>/stat utime, stime). */
function cpuOf(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

async function measured(
  source: BenchRadicale,
  target: BenchRadicale,
  run: () => Promise<Omit<Pass, 'seconds' | 'serverCpu'>>,
): Promise<Pass> {
  const [s0, d0, t0] = [cpuOf(source.pid), cpuOf(target.pid), performance.now()];
  const r = await run();
  return { ...r, seconds: seconds(t0), serverCpu: { source: cpuOf(source.pid) - s0, target: cpuOf(target.pid) - d0 } };
}

const DAV_METHODS = [
  'homeOf',
  'collections',
  'etags',
  'changesSince',
  'multiget',
  'ensureHome',
  'create',
  'setProperties',
  'put',
  'remove',
];

/** Times every call of `methods` of `target` into `parts()[label method]` (what they do is unchanged). */
function timeCalls(target: object, methods: readonly string[], label: string, parts: () => Pass['parts']): void {
  const self = target as Record<string, (...a: unknown[]) => Promise<unknown>>;
  for (const m of methods) {
    const original = self[m] as (...a: unknown[]) => Promise<unknown>;
    self[m] = async (...a: unknown[]) => {
      const t0 = performance.now();
      try {
        return await original.apply(target, a);
      } finally {
        const key = `${label} ${m}`;
        const p = parts()[key] ?? { calls: 0, seconds: 0 };
        parts()[key] = p;
        p.calls++;
        p.seconds += (performance.now() - t0) / 1000;
      }
    };
  }
}

async function crossforest(source: BenchRadicale, target: BenchRadicale, logins: readonly string[], dir: string): Promise<[Pass, Pass]> {
  process.env.CF_BENCH_DAV_PASSWORD = BENCH_PASSWORD;
  const server = (org: string, s: BenchRadicale) =>
    new DavServer(
      org,
      {
        url: `${s.url}/`,
        user: CALMIGRATE_USER,
        password: { env: 'CF_BENCH_DAV_PASSWORD' },
        home: '/{login}/',
        timeoutMs: 120_000,
        concurrency,
      },
      dir,
    );
  const servers = { source: server('a', source), target: server('b', target) };
  const store = openStateStore(join(dir, 'state.sqlite'));
  let parts: Pass['parts'] = {};
  timeCalls(servers.source, DAV_METHODS, 'source', () => parts);
  timeCalls(servers.target, DAV_METHODS, 'target', () => parts);
  timeCalls(store.sql, ['run', 'get', 'all'], 'state', () => parts);
  const pass = () =>
    measured(source, target, async () => {
      parts = {};
      const cpu0 = process.cpuUsage();
      const limit = pLimit(parallel);
      let failures = 0;
      await Promise.all(
        logins.map((login) =>
          limit(async () => {
            try {
              await copyCalendars({
                ...servers,
                sourceLogin: login,
                targetLogin: login,
                store,
                deleteOnTarget: false,
                badItemLimit: 0,
                logger: silentLogger,
              });
            } catch (err) {
              if (failures++ < 2) say(`  crossforest ${login} failed: ${(err as Error).message}`);
            }
          }),
        ),
      );
      const cpu = process.cpuUsage(cpu0);
      return { cpu: (cpu.user + cpu.system) / 1e6, failures, parts };
    });
  try {
    say('crossforest: first pass…');
    const first = await pass();
    say('crossforest: no-change re-run…');
    return [first, await pass()];
  } finally {
    await store.close();
  }
}

async function vdirsyncerRun(source: BenchRadicale, target: BenchRadicale, logins: readonly string[], dir: string): Promise<[Pass, Pass]> {
  const config = vdirsyncerConfig(dir, source.url, target.url, logins);
  // Per user (default): `parallel` users at a time, each user's commands one after the other, a
  // process each; all at once: one process per command over every pair.
  const batches = args['vdirsyncer-all-at-once'] ? [[] as string[]] : logins.map((_, i) => pairsOf(i));
  const pass = (commands: VdirsyncerCommand[]) =>
    measured(source, target, async () => {
      const parts: Pass['parts'] = {};
      let cpu = 0;
      let failures = 0;
      const limit = pLimit(parallel);
      await Promise.all(
        batches.map((pairs) =>
          limit(async () => {
            for (const c of commands) {
              const r = await vdirsyncer(config, c, pairs);
              const p = parts[c] ?? { calls: 0, seconds: 0 };
              parts[c] = p;
              p.calls++;
              p.seconds += r.wallSeconds;
              cpu += r.cpuSeconds;
              if (!r.ok && failures++ < 2) say(`  vdirsyncer ${c} ${pairs.join(' ')} failed: ${r.output.slice(-600)}`);
            }
          }),
        ),
      );
      return { cpu, failures, parts };
    });
  say('vdirsyncer: first pass (discover, sync, metasync)…');
  const first = await pass(['discover', 'sync', 'metasync']);
  say('vdirsyncer: no-change re-run (sync)…');
  return [first, await pass(['sync'])];
}

const reader = (s: BenchRadicale): DavReader => ({ url: s.url, authorization: CALMIGRATE_AUTH });

async function snapshots(s: BenchRadicale, logins: readonly string[]): Promise<Map<string, CollectionSnapshot[]>> {
  const out = new Map<string, CollectionSnapshot[]>();
  const limit = pLimit(4);
  await Promise.all(logins.map((l) => limit(async () => out.set(l, await snapshotHome(reader(s), l)))));
  return out;
}

function print(results: Record<Tool, ToolResult>, objects: number, notes: string[]): void {
  const f = (n: number, d = 2) => (Number.isFinite(n) ? n.toFixed(d) : '–');
  const lines = [
    'tool | first pass s | objects/s | re-run s | identical/total | missing | different | extra | collection props kept | component sets kept | tool CPU s first / re-run | Radicale CPU s source + target, first pass | failed',
  ];
  for (const [tool, r] of Object.entries(results) as [Tool, ToolResult][]) {
    const j = r.judgement;
    lines.push(
      [
        tool,
        f(r.first.seconds),
        f(objects / r.first.seconds, 0),
        f(r.rerun.seconds),
        `${j.identical}/${j.source}`,
        j.missing,
        j.different,
        j.extra,
        `${j.propsKept}/${j.propsTotal}`,
        `${j.componentsKept}/${j.calendars}`,
        `${f(r.first.cpu, 1)} / ${f(r.rerun.cpu, 1)}`,
        `${f(r.first.serverCpu.source, 1)} + ${f(r.first.serverCpu.target, 1)}`,
        r.first.failures + r.rerun.failures,
      ].join(' | '),
    );
  }
  const { crossforest: cf, vdirsyncer: vd } = results;
  lines.push(
    `crossforest ÷ vdirsyncer (speed = vdirsyncer s / crossforest s, > 1 = crossforest faster): first pass ${f(vd.first.seconds / cf.first.seconds)}×, ` +
      `no-change re-run ${f(vd.rerun.seconds / cf.rerun.seconds)}×`,
  );
  const parts = (p: Pass) =>
    Object.entries(p.parts)
      .sort(([, a], [, b]) => b.seconds - a.seconds)
      .map(([k, v]) => `${k} ${f(v.seconds)} s${v.calls > 1 ? ` (${v.calls} calls)` : ''}`)
      .join(', ');
  lines.push(
    `vdirsyncer first pass: ${parts(vd.first)}; re-run: ${parts(vd.rerun)}`,
    `crossforest first pass, busy time per request kind (summed over concurrent calls): ${parts(cf.first)}`,
    `crossforest re-run: ${parts(cf.rerun)}`,
    ...(['crossforest', 'vdirsyncer'] as const).flatMap((t) => results[t].judgement.examples.map((e) => `${t} differs: ${e}`)),
    ...notes,
  );
  process.stdout.write(`${lines.join('\n')}\n`);
}

const scratch = mkdtempSync(join(tmpdir(), 'cf-bench-calendar-'));
const servers: BenchRadicale[] = [];
try {
  const dir = (name: string) => {
    mkdirSync(join(scratch, name), { recursive: true });
    return join(scratch, name);
  };
  const sourceDir = dir('source');
  const m = writeRadicaleCorpus(join(sourceDir, 'collections', 'collection-root'), {
    forest: 'a',
    size: Math.max(users * 2, 50),
    seed: 'crossforest',
    users,
    counts,
  });
  const logins = m.users.map((u) => u.upn);
  const { events, tasks, contacts, bytes } = m.totals;
  say(
    `${m.totals.users} users, ${m.totals.collections} collections: ${events} events, ${tasks} tasks, ${contacts} vCards (${(bytes / 1e6).toFixed(1)} MB)`,
  );
  const source = await startRadicale(sourceDir);
  servers.push(source);
  const targets: Record<Tool, BenchRadicale> = {
    crossforest: await startRadicale(dir('target-crossforest')),
    vdirsyncer: await startRadicale(dir('target-vdirsyncer'), { logins }),
  };
  servers.push(...Object.values(targets));
  let t0 = performance.now();
  const sourceSnap = await snapshots(source, logins);
  const warm = seconds(t0);
  const objects = [...sourceSnap.values()].flat().reduce((n, c) => n + c.objects.size, 0);
  say(`source warmed (every collection listed and read once): ${objects} objects in ${warm} s`);
  const vdsStart = (await timed('vdirsyncer', ['--version'])).wallSeconds;

  const runs: Partial<Record<Tool, [Pass, Pass]>> = {};
  const order: Tool[] = args['vdirsyncer-first'] ? ['vdirsyncer', 'crossforest'] : ['crossforest', 'vdirsyncer'];
  for (const tool of order) {
    runs[tool] =
      tool === 'crossforest'
        ? await crossforest(source, targets.crossforest, logins, dir('crossforest'))
        : await vdirsyncerRun(source, targets.vdirsyncer, logins, dir('vdirsyncer'));
  }
  say('judging both targets against the source…');
  t0 = performance.now();
  const results = {} as Record<Tool, ToolResult>;
  for (const tool of ['crossforest', 'vdirsyncer'] as const) {
    const got = await snapshots(targets[tool], logins);
    const judgement = emptyJudgement();
    for (const l of logins) judge(judgement, l, sourceSnap.get(l) ?? [], got.get(l) ?? []);
    const [first, rerun] = runs[tool] as [Pass, Pass];
    results[tool] = { first, rerun, judgement };
  }
  const before = etagsOf([...sourceSnap.values()].flat());
  const after = etagsOf([...(await snapshots(source, logins)).values()].flat());
  const sourceUnchanged = before.size === after.size && [...before].every(([k, v]) => after.get(k) === v);
  say(`judged in ${seconds(t0)} s`);
  const notes = [
    `data: ${m.totals.users} users × (${counts.events} events + ${counts.tasks} tasks + ${counts.contacts} vCards; every fifth a private calendar, one the meeting-rooms calendar) = ${objects} objects in ${m.totals.collections} collections, ${(bytes / 1e6).toFixed(1)} MB; ` +
      `Radicale 3.1 (no fsync) on loopback, one source, an empty target per tool; source item cache warmed before timing (${warm} s); the source ${sourceUnchanged ? 'did not change' : 'CHANGED'} during the runs`,
    `parallelism: crossforest ${parallel} users at a time × ${concurrency} requests per user (≤ ${parallel * concurrency} in flight), in this process (no Node start-up counted); ` +
      (args['vdirsyncer-all-at-once']
        ? 'vdirsyncer one process per command over every pair: every collection at once'
        : `vdirsyncer ${parallel} users at a time, a process per user and command (discover, sync, metasync), that user's collections at once`) +
      `, ≤ ${VDIRSYNCER_CONNECTIONS} connections per server per process (fixed in 0.19); Python start-up ≈ ${vdsStart} s per process, counted`,
    'vdirsyncer: a caldav and a carddav pair per user, source read-only as calmigrate, target as the user (vdirsyncer creates collections only in its own login\'s home), "from a", "a wins"; first pass = discover + sync + metasync (displayname, color, description), re-run = sync',
    `order: ${order.join(' then ')}; judged afterwards by the same comparison (plain PROPFIND + multiget, by UID, src/calendar/canonical.ts); figures are noisy: 2 cores shared with other engineers' tests`,
  ];
  if (args.json) {
    const plain = (r: ToolResult) => ({ ...r, judgement: { ...r.judgement } });
    process.stdout.write(
      `${JSON.stringify({
        data: { ...m.totals, objects, counts, warmSeconds: warm, sourceUnchanged },
        parallelism: {
          crossforest: { users: parallel, concurrency },
          vdirsyncer: args['vdirsyncer-all-at-once']
            ? { allAtOnce: true, connectionsPerServer: VDIRSYNCER_CONNECTIONS }
            : { users: parallel, connectionsPerServer: VDIRSYNCER_CONNECTIONS },
        },
        order,
        crossforest: plain(results.crossforest),
        vdirsyncer: plain(results.vdirsyncer),
        speedRatio: {
          first: results.vdirsyncer.first.seconds / results.crossforest.first.seconds,
          rerun: results.vdirsyncer.rerun.seconds / results.crossforest.rerun.seconds,
        },
      })}\n`,
    );
  } else print(results, objects, notes);
} catch (err) {
  say(`bench setup failed: ${(err as Error).stack ?? err}`);
  process.exitCode = 1;
} finally {
  await stopRadicales(servers);
  if (args.keep) say(`kept ${scratch}`);
  else rmSync(scratch, { recursive: true, force: true });
}
