// Scale-out bench (issue 12): the 20 × 1,000-message corpus spread over forest A's mail
// servers (`lab up --stores 2`: half on each), moved as a migration batch by one process on
// SQLite (`batch start`), and on PostgreSQL by 1, 2 and 4 `crossforest worker` processes
// (`batch start --detach`, then `batch wait`), in one run; the peers of bench/copy.ts
// (mbsync, `doveadm backup`) copy the same first-server mailboxes 4 at a time as the
// reference line. Throughput of each is a ratio to the single SQLite process. The batches
// use manual cutover (pre-stage, copy, one delta): the sources stay as they are, so every
// run moves the same mail; each run's target users and mailboxes are removed after it.
// Figures only, nothing asserted.
//   node --import tsx bench/scale.ts [--mailboxes 20] [--messages 1000] [--workers 1,2,4] [--no-peers] [--json]
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Client } from 'ldapts';
import pLimit from 'p-limit';
import { stringify } from 'yaml';
import { exampleProjectFile } from '../src/config/example.ts';
import { loadProject } from '../src/config/load.ts';
import { orgMailStores } from '../src/config/organization.ts';
import { batchByName, mailboxesOf } from '../src/migration/batchStore.ts';
import { openProjectState } from '../src/state/store.ts';
import { ensureLab, labSecret } from '../test/helpers/lab.ts';
import { labMailServers, replaceSection } from '../test/helpers/project.ts';
import { mailLab } from '../test/mail/fixtures.ts';
import { ensureCorpus, ensureUser, freshTarget, sourceFolders } from './peers/labUsers.ts';
import { type BenchEngine, benchState } from './peers/stateEngines.ts';
import { runTool, type ToolEnv } from './peers/tools.ts';

const ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));
const CLI = join(ROOT, 'bin', 'crossforest.js');
const { values: args } = parseArgs({
  options: {
    mailboxes: { type: 'string', default: '20' },
    messages: { type: 'string', default: '1000' },
    workers: { type: 'string', default: '1,2,4' },
    'no-peers': { type: 'boolean', default: false },
    json: { type: 'boolean', default: false },
  },
});
const nMailboxes = Number(args.mailboxes);
const nMessages = Number(args.messages);
const workerCounts = String(args.workers).split(',').map(Number);
const say = (l: string): void => void process.stderr.write(`${l}\n`);

// Two servers in forest A (the test helpers bring the lab back to one otherwise).
await ensureLab({ stores: Number(process.env.CROSSFOREST_BENCH_STORES ?? 2) });
const lab = await mailLab();
const labDir = lab.info.labDir;
const servers = orgMailStores(lab.project.config.organizations.a!, 'a');
say(
  `forest A mail servers: ${servers.map((s) => s.name).join(', ')}${servers.length < 2 ? ' (one: run `crossforest lab up --stores 2` to spread the corpus)' : ''}`,
);

// The corpus: fixed users, filled once, spread round robin over the servers.
const sources: { upn: string; server: string; messages: number; bytes: number }[] = [];
for (let i = 0; i < nMailboxes; i++) {
  const server = servers[i % servers.length]!;
  const upn = await ensureUser(lab.info, 'a', `cfbench-scale-${server.name}-${i}`, server.homeMDB);
  const c = await ensureCorpus(lab, upn, nMessages, 6000, server.name);
  sources.push({ upn, server: server.name, ...c });
}
const totalMessages = sources.reduce((a, s) => a + s.messages, 0);
const totalBytes = sources.reduce((a, s) => a + s.bytes, 0);
say(`${sources.length} mailboxes, ${totalMessages} messages, ${(totalBytes / 1e6).toFixed(1)} MB`);

function project(engine: BenchEngine): { file: string; dir: string; drop: () => void } {
  const dir = mkdtempSync(join(tmpdir(), `cf-scale-${engine}-`));
  const state = benchState(engine, dir, labDir);
  let text = labMailServers(labDir, exampleProjectFile()).replaceAll('.lab/', `${labDir}/`);
  text = replaceSection(text, 'state', stringify({ state: state.config }));
  // Each server takes 4 mailboxes at once, the target 8: the servers, not the limits, bound.
  text = text
    .replace('maxConcurrentPerSourceStore: 8', 'maxConcurrentPerSourceStore: 4')
    .replace('maxConcurrentMailboxes: 4', 'maxConcurrentMailboxes: 8')
    .replace('defaults: { retryIntervalSeconds: 5,', 'defaults: { retryIntervalSeconds: 0.5,');
  const file = join(dir, 'crossforest.yaml');
  writeFileSync(file, text);
  writeFileSync(join(dir, 'names.txt'), `${sources.map((s) => s.upn).join('\n')}\n`);
  return { file, dir, drop: state.drop };
}

function cli(file: string, argv: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((done) => {
    const p = spawn(process.execPath, [CLI, '-c', file, ...argv], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code) => done({ code, out, err }));
  });
}

/** Removes what a run pre-staged in forest B (users and their mailboxes on every B server). */
async function cleanTargets(file: string): Promise<void> {
  const p = loadProject(file);
  const st = await openProjectState(p);
  const b = await batchByName(st, 'scale');
  const plans = b ? (await mailboxesOf(st, b.id)).map((m) => m.plan) : [];
  await st.close();
  const f = lab.info.forests.b;
  const c = new Client({ url: f.ldapUrl, timeout: 10_000 });
  await c.bind(f.adminDn, labSecret(lab.info, 'forest-b-admin.pw'));
  for (const plan of plans) {
    await c.del(plan.targetDn).catch(() => {});
    for (const store of orgMailStores(p.config.organizations.b!, 'b')) {
      const key = store.name.replace(/^dovecot-/, '');
      rmSync(join(labDir, `mail-${key}`, plan.targetLogin.toLowerCase()), { recursive: true, force: true });
    }
  }
  await c.unbind();
}

interface Row {
  run: string;
  engine: BenchEngine | 'peer';
  processes: number;
  seconds: number;
  messagesPerSecond: number;
  mbPerSecond: number;
  status: string;
}

async function batchRun(engine: BenchEngine, workers: number): Promise<Row> {
  const pj = project(engine);
  const run = engine === 'sqlite' ? 'one process (SQLite)' : `${workers} worker${workers > 1 ? 's' : ''} (PostgreSQL)`;
  const children: ChildProcess[] = [];
  try {
    const created = await cli(pj.file, [
      'batch',
      'create',
      'scale',
      '--from',
      join(pj.dir, 'names.txt'),
      '--target-store',
      'store-b',
      '--cutover',
      'manual',
    ]);
    if (created.code !== 0) throw new Error(`batch create: ${created.err}`);
    const t0 = Date.now();
    let status = '?';
    if (engine === 'sqlite') {
      const r = await cli(pj.file, ['--json', 'batch', 'start', 'scale']);
      status = JSON.parse(r.out.trim().split('\n').at(-1) ?? '{}').status ?? `exit ${r.code}`;
    } else {
      const d = await cli(pj.file, ['batch', 'start', 'scale', '--detach']);
      if (d.code !== 0) throw new Error(`batch start --detach: ${d.err}`);
      for (let i = 0; i < workers; i++)
        children.push(
          spawn(process.execPath, [CLI, '-c', pj.file, 'worker', '--concurrency', '4', '--poll', '1'], {
            env: { ...process.env, CROSSFOREST_HOST_NAME: `bench-${i}` },
            stdio: 'ignore',
          }),
        );
      const w = await cli(pj.file, ['--json', 'batch', 'wait', 'scale', '--timeout', '3600']);
      status = JSON.parse(w.out.trim().split('\n').at(-1) ?? '{}').status ?? `exit ${w.code}`;
    }
    const seconds = (Date.now() - t0) / 1000;
    say(`${run}: ${seconds.toFixed(1)} s, ${status}`);
    return {
      run,
      engine,
      processes: engine === 'sqlite' ? 1 : workers,
      seconds,
      messagesPerSecond: totalMessages / seconds,
      mbPerSecond: totalBytes / 1e6 / seconds,
      status,
    };
  } finally {
    for (const c of children) c.kill('SIGTERM');
    await Promise.all(children.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : c.on('exit', r)))));
    await cleanTargets(pj.file);
    pj.drop();
  }
}

const rows: Row[] = [];
rows.push(await batchRun('sqlite', 1));
for (const n of workerCounts) rows.push(await batchRun('postgres', n));

if (!args['no-peers']) {
  // The reference line: the peers copy the same mailboxes 4 at a time (their configuration
  // reaches forest A's first server only, so the mailboxes of that server).
  const env: ToolEnv = {
    info: lab.info,
    projectFile: lab.project.path,
    workDir: mkdtempSync(join(tmpdir(), 'cf-scale-peers-')),
    repo: ROOT,
  };
  const first = sources.filter((s) => s.server === servers[0]!.name);
  const msgs = first.reduce((a, s) => a + s.messages, 0);
  const bytes = first.reduce((a, s) => a + s.bytes, 0);
  for (const tool of ['mbsync', 'doveadm'] as const) {
    const targets: string[] = [];
    const limit = pLimit(4);
    const t0 = Date.now();
    await Promise.all(
      first.map((s) =>
        limit(async () => {
          const t = await freshTarget(lab.info, tool.slice(0, 3));
          targets.push(t);
          await runTool(tool, env, s.upn, t, await sourceFolders(lab, s.upn));
        }),
      ),
    );
    const seconds = (Date.now() - t0) / 1000;
    rows.push({
      run: `${tool} (${first.length} mailboxes of ${servers[0]!.name}, 4 at a time)`,
      engine: 'peer',
      processes: 4,
      seconds,
      messagesPerSecond: msgs / seconds,
      mbPerSecond: bytes / 1e6 / seconds,
      status: 'copied',
    });
    const f = lab.info.forests.b;
    const c = new Client({ url: f.ldapUrl, timeout: 10_000 });
    await c.bind(f.adminDn, labSecret(lab.info, 'forest-b-admin.pw'));
    for (const t of targets) {
      await c.del(`cn=${t.split('@')[0]},${f.sitesDn}`).catch(() => {});
      rmSync(join(labDir, 'mail-b', t.toLowerCase()), { recursive: true, force: true });
    }
    await c.unbind();
  }
}

const base = rows[0]!.messagesPerSecond;
if (args.json)
  process.stdout.write(
    `${JSON.stringify({ mailboxes: sources.length, messages: totalMessages, bytes: totalBytes, servers: servers.map((s) => s.name), rows: rows.map((r) => ({ ...r, ratio: r.messagesPerSecond / base })) }, null, 2)}\n`,
  );
else {
  process.stdout.write(
    `scale-out: ${sources.length} mailboxes × ~${nMessages} messages (${(totalBytes / 1e6).toFixed(0)} MB) on ${servers.length} source server(s), manual cutover (pre-stage, copy, one delta)\n`,
  );
  for (const r of rows)
    process.stdout.write(
      `  ${r.run.padEnd(44)} ${r.seconds.toFixed(1).padStart(7)} s ${r.messagesPerSecond.toFixed(0).padStart(6)} msg/s ${r.mbPerSecond.toFixed(1).padStart(6)} MB/s  ×${(r.messagesPerSecond / base).toFixed(2)}  ${r.status}\n`,
    );
}
