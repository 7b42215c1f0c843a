// Mailbox copy benchmark: crossforest vs mbsync vs `doveadm backup` (imapc), same data,
// same run. Scenarios: one 3,000-message mailbox, and 20 mailboxes × 1,000 messages
// (4 copies at a time per tool). For each: first pass (msg/s, MB/s, wall, peak RSS), a
// no-change re-run, and a small delta (10 new messages + 10 flag changes). Figures are
// printed, never asserted.
//   node --import tsx bench/copy.ts [--only single|multi|large] [--mailboxes 20] [--keep]
import { mkdtempSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pLimit from 'p-limit';
import { projectCopyEndpoints } from '../src/mail/endpoint.ts';
import { verifyMailbox } from '../src/mail/verify.ts';
import { type MailLab, mailLab, message, populate, removeUsers, session } from '../test/mail/fixtures.ts';
import { ensureCorpus, ensureUser, freshTarget, sourceFolders } from './peers/labUsers.ts';
import { treeCpuSeconds } from './peers/serverCpu.ts';
import { type RunResult, runCrossforest, runTool, TOOLS, type Tool, type ToolEnv } from './peers/tools.ts';

const args = process.argv.slice(2);
const only = args.includes('--only') ? args[args.indexOf('--only') + 1] : undefined;
const nMailboxes = args.includes('--mailboxes') ? Number(args[args.indexOf('--mailboxes') + 1]) : 20;

interface Row {
  scenario: string;
  tool: Tool;
  messages: number;
  bytes: number;
  first: number;
  rss: number;
  rssNoChange: number;
  noChange: number;
  delta: number;
  failures: number;
  /** CPU seconds of the first pass: the tool's processes, and each lab Dovecot's (serverCpu.ts). */
  cpu: { tool: number; a: number; b: number };
}

async function mutate(lab: MailLab, upn: string): Promise<void> {
  await populate(
    lab,
    'a',
    upn,
    'INBOX',
    Array.from({ length: 10 }, () => ({ raw: message({ size: 4000, subject: 'bench delta' }) })),
  );
  const c = await session(lab, 'a', upn);
  const box = await c.mailboxOpen('INBOX');
  await c.messageFlagsAdd(`1:${Math.min(10, box.exists)}`, ['\\Flagged'], { uid: false });
  await c.logout();
}

/** Puts the source back as it was (delta messages expunged, flags cleared) so runs compare. */
async function restore(lab: MailLab, upn: string): Promise<void> {
  const c = await session(lab, 'a', upn);
  const box = await c.mailboxOpen('INBOX');
  const uids = (await c.search({ subject: 'bench delta' }, { uid: true })) || [];
  if (uids.length) await c.messageDelete(uids, { uid: true });
  await c.messageFlagsRemove(`1:${Math.min(10, box.exists)}`, ['\\Flagged'], { uid: false });
  await c.logout();
}

async function scenario(
  lab: MailLab,
  env: ToolEnv,
  name: string,
  sources: { upn: string; messages: number; bytes: number }[],
  parallel: number,
): Promise<Row[]> {
  const rows: Row[] = [];
  const targets = new Map<string, string>();
  const folders = new Map<string, string[]>();
  for (const s of sources) folders.set(s.upn, await sourceFolders(lab, s.upn));
  const targetOf = async (tool: Tool, upn: string): Promise<string> => {
    const key = `${tool}:${upn}`;
    if (!targets.has(key)) targets.set(key, await freshTarget(env.info, tool.slice(0, 3)));
    allTargets.add(targets.get(key) as string);
    return targets.get(key) as string;
  };
  const pass = async (tool: Tool): Promise<{ wall: number; rss: number; failures: number; cpu: Row['cpu'] }> => {
    const a0 = treeCpuSeconds(dovecotPid('a'));
    const b0 = treeCpuSeconds(dovecotPid('b'));
    const t0 = Date.now();
    let results: RunResult[];
    if (tool === 'crossforest') {
      // One process for the whole batch, `parallel` mailboxes at a time (the pipeline's way).
      const pairs: [string, string][] = [];
      for (const s of sources) pairs.push([s.upn, await targetOf(tool, s.upn)]);
      results = [await runCrossforest(env, pairs, parallel)];
      const m = /\{"engineSeconds":([\d.]+)/.exec(results[0]?.output ?? '');
      if (m) process.stderr.write(`  crossforest engine ${m[1]} s (without process start-up)\n`);
    } else {
      const limit = pLimit(parallel);
      results = await Promise.all(
        sources.map((s) => limit(async () => runTool(tool, env, s.upn, await targetOf(tool, s.upn), folders.get(s.upn) as string[]))),
      );
    }
    const failures = results.filter((r) => !r.ok);
    for (const f of failures.slice(0, 2)) process.stderr.write(`  ${tool} failed: ${f.output.slice(-400)}\n`);
    return {
      wall: (Date.now() - t0) / 1000,
      rss: Math.max(...results.map((r) => r.peakRssKb)),
      failures: failures.length,
      cpu: {
        tool: results.reduce((a, r) => a + r.cpuSeconds, 0),
        a: treeCpuSeconds(dovecotPid('a')) - a0,
        b: treeCpuSeconds(dovecotPid('b')) - b0,
      },
    };
  };
  const first = new Map<Tool, Awaited<ReturnType<typeof pass>>>();
  for (const tool of TOOLS) {
    process.stderr.write(`${name}: ${tool} first pass…\n`);
    first.set(tool, await pass(tool));
  }
  // What verification costs, on crossforest's target: every byte read back on both sides, and the quick header look.
  for (const depth of ['full', 'quick'] as const) {
    let seconds = 0;
    let intact = 0;
    let messages = 0;
    for (const src of sources) {
      const t0 = Date.now();
      const v = await verifyMailbox({
        ...projectCopyEndpoints(lab.project, src.upn, await targetOf('crossforest', src.upn), {}),
        sourceMailbox: src.upn,
        targetMailbox: await targetOf('crossforest', src.upn),
        depth,
      });
      seconds += (Date.now() - t0) / 1000;
      intact += v.intact;
      messages += v.sourceMessages;
    }
    verifyCosts.push({ scenario: name, depth, seconds, messages, intact });
  }
  const noChange = new Map<Tool, { wall: number; rss: number }>();
  for (const tool of TOOLS) noChange.set(tool, await pass(tool));
  for (const s of sources) await mutate(lab, s.upn);
  const delta = new Map<Tool, number>();
  try {
    for (const tool of TOOLS) delta.set(tool, (await pass(tool)).wall);
  } finally {
    for (const s of sources) await restore(lab, s.upn);
  }
  const messages = sources.reduce((a, s) => a + s.messages, 0);
  const bytes = sources.reduce((a, s) => a + s.bytes, 0);
  for (const tool of TOOLS) {
    const f = first.get(tool) as Awaited<ReturnType<typeof pass>>;
    rows.push({
      scenario: name,
      tool,
      messages,
      bytes,
      first: f.wall,
      rss: f.rss,
      rssNoChange: noChange.get(tool)?.rss ?? 0,
      noChange: noChange.get(tool)?.wall ?? Number.NaN,
      delta: delta.get(tool) as number,
      failures: f.failures,
      cpu: f.cpu,
    });
  }
  return rows;
}

function print(rows: Row[]): void {
  const fmt = (n: number, d = 1): string => n.toFixed(d);
  const lines = [
    'scenario | tool | messages | MB | first pass s | msg/s | MB/s | peak RSS MB (first / no-change) | no-change s | delta s | first pass vs mbsync | vs doveadm | CPU s: tool / Dovecot A / Dovecot B | failed runs',
  ];
  for (const r of rows) {
    const peer = (t: Tool): number => rows.find((x) => x.scenario === r.scenario && x.tool === t)?.first ?? Number.NaN;
    lines.push(
      [
        r.scenario,
        r.tool,
        r.messages,
        fmt(r.bytes / 1e6),
        fmt(r.first, 2),
        fmt(r.messages / r.first, 0),
        fmt(r.bytes / 1e6 / r.first, 1),
        `${fmt(r.rss / 1024, 0)} / ${fmt(r.rssNoChange / 1024, 0)}`,
        fmt(r.noChange, 2),
        fmt(r.delta, 2),
        `${fmt(peer('mbsync') / r.first, 2)}×`,
        `${fmt(peer('doveadm') / r.first, 2)}×`,
        `${fmt(r.cpu.tool, 2)} / ${fmt(r.cpu.a, 2)} / ${fmt(r.cpu.b, 2)}`,
        r.failures,
      ].join(' | '),
    );
  }
  process.stdout.write(
    `${lines.join('\n')}\n${bounds(rows)}(speed ratio > 1 means faster than the peer; wall times include process start-up (crossforest runs compiled, as scripts/build.sh makes it); crossforest runs a batch in one process, mbsync and doveadm one process per mailbox, both 4 at a time; peak RSS is per process)\n`,
  );
}

/**
 * What the servers alone need, per scenario: the two Dovecots' CPU during crossforest's first
 * pass spread over every core is the shortest that pass could take even if crossforest cost
 * nothing, set against the peers' wall times.
 */
function bounds(rows: Row[]): string {
  const out: string[] = [];
  for (const name of new Set(rows.map((r) => r.scenario))) {
    const cf = rows.find((r) => r.scenario === name && r.tool === 'crossforest');
    const dove = rows.find((r) => r.scenario === name && r.tool === 'doveadm');
    const mb = rows.find((r) => r.scenario === name && r.tool === 'mbsync');
    if (!cf || !dove || !mb) continue;
    const floor = (cf.cpu.a + cf.cpu.b) / availableParallelism();
    out.push(
      `${name}: the two Dovecots spent ${(cf.cpu.a + cf.cpu.b).toFixed(2)} CPU s serving crossforest's first pass, so on ${availableParallelism()} cores it cannot take under ${floor.toFixed(2)} s however little crossforest itself costs (crossforest ${cf.first.toFixed(2)} s; mbsync ${mb.first.toFixed(2)} s, its Dovecots ${(mb.cpu.a + mb.cpu.b).toFixed(2)} CPU s; doveadm ${dove.first.toFixed(2)} s, writing the target's storage in its own process)`,
    );
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

const verifyCosts: { scenario: string; depth: 'full' | 'quick'; seconds: number; messages: number; intact: number }[] = [];
function printVerifyCosts(): void {
  for (const v of verifyCosts)
    process.stdout.write(
      `verify ${v.depth} (${v.scenario}): ${v.seconds.toFixed(2)} s for ${v.messages} messages, ${((v.seconds * 1000) / Math.max(1, v.messages)).toFixed(2)} s per 1,000; ${v.intact}/${v.messages} intact\n`,
    );
}

const dovecotPid = (forest: 'a' | 'b'): number => {
  const pid = lab.info.mailStores.find((s) => s.name === `dovecot-${forest}`)?.pid;
  if (typeof pid !== 'number') throw new Error(`the lab has no running dovecot-${forest}`);
  return pid;
};

const allTargets = new Set<string>();
const allSources = new Set<string>();
const lab = await mailLab();
const env: ToolEnv = {
  info: lab.info,
  projectFile: lab.project.path,
  workDir: mkdtempSync(join(tmpdir(), 'cf-bench-')),
  repo: resolve(import.meta.dirname, '..'),
};
process.stderr.write(`bench work dir ${env.workDir}\n`);
// Warm-up (LAB-NOTES: the first doveadm run after a start is ~3× slower): one small copy per tool.
const warm = await ensureUser(lab.info, 'a', 'cfbench-warm');
await ensureCorpus(lab, warm, 100, 8000);
allSources.add(warm);
for (const tool of TOOLS) {
  const t = await freshTarget(lab.info, 'warm');
  allTargets.add(t);
  await runTool(tool, env, warm, t, await sourceFolders(lab, warm));
}

const rows: Row[] = [];
if (!only || only === 'single') {
  const upn = await ensureUser(lab.info, 'a', 'cfbench-big');
  allSources.add(upn);
  const c = await ensureCorpus(lab, upn, 3000, 9300);
  rows.push(...(await scenario(lab, env, '1 × 3,000', [{ upn, ...c }], 1)));
}
if (!only || only === 'multi') {
  const sources = [];
  for (let i = 1; i <= nMailboxes; i++) {
    const upn = await ensureUser(lab.info, 'a', `cfbench-${String(i).padStart(2, '0')}`);
    allSources.add(upn);
    sources.push({ upn, ...(await ensureCorpus(lab, upn, 1000, 9300)) });
  }
  rows.push(...(await scenario(lab, env, `${nMailboxes} × 1,000 (4 at a time)`, sources, 4)));
}
if (!only || only === 'large') {
  // Memory with a 50 MB message: the copy streams it (compare peak RSS with the no-change run's).
  const upn = await ensureUser(lab.info, 'a', 'cfbench-large');
  allSources.add(upn);
  const c = await session(lab, 'a', upn);
  const st = await c.status('INBOX', { messages: true });
  await c.logout();
  if ((st === false ? 0 : (st.messages ?? 0)) === 0)
    await populate(lab, 'a', upn, 'INBOX', [{ raw: message({ size: 45_000_000, subject: 'large' }) }]);
  const c2 = await session(lab, 'a', upn);
  const s2 = await c2.status('INBOX', { messages: true, size: true });
  await c2.logout();
  rows.push(
    ...(await scenario(
      lab,
      env,
      '1 × one 50 MB message',
      [{ upn, messages: s2 ? (s2.messages ?? 0) : 0, bytes: Number((s2 as { size?: number }).size ?? 0) }],
      1,
    )),
  );
}
print(rows);
printVerifyCosts();
// Leave the lab's directory as we found it: every target user goes; the generated source
// mailboxes too unless --keep (re-filling them takes ~30 s).
const sam = (upn: string): string => upn.slice(0, upn.indexOf('@'));
await removeUsers(lab, 'b', [...allTargets].map(sam));
if (!args.includes('--keep')) await removeUsers(lab, 'a', [...allSources].map(sam));
