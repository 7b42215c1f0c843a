// Everything the dashboard reads from the state store, in one place: the migration
// batches (issue 5) and the GAL sync runs (issue 3). Full rows come through their own
// exported repository functions; the few aggregate reads the dashboard polls every few
// seconds (state counts per batch, the last minute of samples, the first N errors of a
// run) are plain SQL here, so a 600-mailbox batch is not parsed row by row per refresh.
// This module is the only coupling to those tables: a change there is a change here.
import { allBatches, batchByName, mailboxById, mailboxesOf, samplesOf } from '../../migration/batchStore.ts';
import { liveWorkers } from '../../migration/distributed.ts';
import { type Batch, type MailboxRow, PIPELINE } from '../../migration/types.ts';
import { windowState } from '../../migration/window.ts';
import type { StateStore } from '../../state/store.ts';
import { listRuns } from '../../sync/runHistory.ts';
import { eta, RECENT_MS, type Sample } from './eta.ts';
import type { BatchDetail, BatchSummary, ErrorView, MailboxView, SyncRunView, WorkerView } from './types.ts';

interface StateCount {
  state: string;
  resume_state: string | null;
  n: number;
  messages: number;
  bytes: number;
  copied: number;
  copied_bytes: number;
  failed: number;
  skipped: number;
  problems: number;
}

// skipped and verify.problems are JSON text: their lengths through the engine's dialect.
async function stateCounts(s: StateStore, batchId: number): Promise<StateCount[]> {
  const d = s.sql.dialect;
  const rows = await s.sql.all<StateCount>(
    `SELECT state, resume_state, count(*) AS n, sum(messages) AS messages, sum(bytes) AS bytes,
        sum(CASE WHEN copied < messages THEN copied ELSE messages END) AS copied,
        sum(CASE WHEN copied_bytes < bytes THEN copied_bytes ELSE bytes END) AS copied_bytes,
        sum(CASE WHEN state = 'failed' THEN 1 ELSE 0 END) AS failed,
        sum(${d.jsonArrayLength('skipped')}) AS skipped,
        sum(CASE WHEN verify IS NOT NULL THEN ${d.jsonArrayLength('verify', 'problems')} ELSE 0 END) AS problems
      FROM migration_mailbox WHERE batch_id = ? GROUP BY state, resume_state`,
    [batchId],
  );
  // count/sum: numbers (PostgreSQL returns bigint and numeric as text); a NULL sum counted 0 before and after.
  return rows.map((r) => ({
    state: r.state,
    resume_state: r.resume_state,
    n: Number(r.n),
    messages: Number(r.messages),
    bytes: Number(r.bytes),
    copied: Number(r.copied),
    copied_bytes: Number(r.copied_bytes),
    failed: Number(r.failed),
    skipped: Number(r.skipped),
    problems: Number(r.problems),
  }));
}

function recentSamples(s: StateStore, batchId: number, since: string): Promise<Sample[]> {
  return s.sql.all<Sample>('SELECT at, messages, bytes FROM migration_sample WHERE batch_id = ? AND at > ? ORDER BY at', [batchId, since]);
}

function runErrorsPage(
  s: StateStore,
  runId: number,
  limit: number,
): Promise<{ agent: string; dn: string; code: string; reason: string }[]> {
  return s.sql.all<{ agent: string; dn: string; code: string; reason: string }>(
    'SELECT agent, dn, code, reason FROM sync_run_error WHERE run_id = ? ORDER BY id LIMIT ?',
    [runId, limit],
  );
}

async function runErrorCount(s: StateStore, runId: number): Promise<number> {
  return Number((await s.sql.get<{ n: number }>('SELECT count(*) AS n FROM sync_run_error WHERE run_id = ?', [runId]))?.n);
}

const LAST = PIPELINE.length - 1;
const stageOf = (state: string, resume: string | null): number => {
  const i = PIPELINE.indexOf((state === 'failed' || state === 'suspended' ? (resume ?? 'queued') : state) as (typeof PIPELINE)[number]);
  return Math.max(i, 0);
};

export interface ReportLinker {
  /** The URL of a report file on this service, or null when it is not under the reports folder. */
  urlOf(batch: string, absolutePath: string | null): string | null;
}

async function summarize(s: StateStore, b: Batch, links: ReportLinker, now: number): Promise<BatchSummary> {
  const counts = await stateCounts(s, b.id);
  const byState: Record<string, number> = {};
  let mailboxes = 0;
  let stages = 0;
  let messages = 0;
  let bytes = 0;
  let copied = 0;
  let copiedBytes = 0;
  let errors = 0;
  for (const c of counts) {
    byState[c.state] = (byState[c.state] ?? 0) + c.n;
    mailboxes += c.n;
    stages += stageOf(c.state, c.resume_state) * c.n;
    messages += c.messages ?? 0;
    bytes += c.bytes ?? 0;
    copied += c.copied ?? 0;
    copiedBytes += c.copied_bytes ?? 0;
    errors += (c.failed ?? 0) + (c.skipped ?? 0) + (c.problems ?? 0);
  }
  const w = windowState(b.options, new Date(now));
  // Only a running batch has a rate worth projecting; the others show what they reached.
  const samples = b.status === 'running' ? await recentSamples(s, b.id, new Date(now - RECENT_MS).toISOString()) : [];
  return {
    name: b.name,
    status: b.status,
    sourceOrg: b.sourceOrg,
    targetOrg: b.targetOrg,
    targetStore: b.targetStore,
    workgroup: b.options.workgroup ?? null,
    cutover: b.options.cutover,
    createdAt: b.createdAt,
    startedAt: b.startedAt,
    finishedAt: b.finishedAt,
    window: { start: b.options.windowStart ?? null, stop: b.options.windowStop ?? null, state: w.state },
    mailboxes,
    byState,
    messages,
    bytes,
    copiedMessages: copied,
    copiedBytes,
    copyProgress: messages > 0 ? copied / messages : mailboxes > 0 && stages >= mailboxes * PIPELINE.indexOf('copied') ? 1 : 0,
    pipelineProgress: mailboxes > 0 ? stages / (mailboxes * LAST) : 0,
    errors,
    eta: eta(samples, messages - copied, b.options.windowStop ?? null, now),
    reportUrl: links.urlOf(b.name, b.reportPath),
  };
}

export async function batchSummaries(s: StateStore, links: ReportLinker, now = Date.now()): Promise<BatchSummary[]> {
  const out: BatchSummary[] = [];
  for (const b of await allBatches(s)) out.push(await summarize(s, b, links, now));
  return out;
}

function mailboxView(m: MailboxRow): MailboxView {
  return {
    name: m.name,
    source: m.sourceLogin,
    target: m.plan.targetLogin,
    state: m.state,
    resumeState: m.resumeState,
    messages: m.messages,
    copied: Math.min(m.copied, m.messages),
    bytes: m.bytes,
    copiedBytes: Math.min(m.copiedBytes, m.bytes),
    deltas: m.deltas,
    skipped: m.skipped.length,
    fidelity: m.fidelity,
    error: m.error,
    updatedAt: m.updatedAt,
  };
}

/** Every reason a mailbox is not clean, in the pipeline's own words. */
export function mailboxErrors(m: MailboxRow): ErrorView[] {
  const out: ErrorView[] = [];
  if (m.error) out.push({ mailbox: m.sourceLogin, kind: 'failed', reason: m.error });
  for (const k of m.skipped) {
    const what = [k.folder, k.subject ? `"${k.subject}"` : `uid ${k.uid}`].join(' ');
    out.push({ mailbox: m.sourceLogin, kind: 'skipped', reason: `${what}: ${k.reason} (${k.kind}, ${k.size} bytes)` });
  }
  for (const p of m.verify?.problems ?? []) out.push({ mailbox: m.sourceLogin, kind: 'verify', reason: p });
  return out;
}

/** Most points the throughput chart gets: longer runs are summed into wider buckets. */
export const MAX_CHART_POINTS = 600;

export function downsample(samples: readonly Sample[], max = MAX_CHART_POINTS): Sample[] {
  if (samples.length <= max) return [...samples];
  const per = Math.ceil(samples.length / max);
  const out: Sample[] = [];
  for (let i = 0; i < samples.length; i += per) {
    const chunk = samples.slice(i, i + per);
    // Stamped at the chunk's last sample; the page divides by the bucket's width.
    out.push({
      at: (chunk[chunk.length - 1] as Sample).at,
      messages: chunk.reduce((a, c) => a + c.messages, 0),
      bytes: chunk.reduce((a, c) => a + c.bytes, 0),
    });
  }
  return out;
}

export async function batchDetail(
  s: StateStore,
  name: string,
  links: ReportLinker & { list(batch: string): { name: string; url: string }[] },
  now = Date.now(),
): Promise<BatchDetail | undefined> {
  const b = await batchByName(s, name);
  if (!b) return undefined;
  const rows = await mailboxesOf(s, b.id);
  return {
    ...(await summarize(s, b, links, now)),
    mailboxList: rows.map(mailboxView),
    errorList: rows.flatMap(mailboxErrors),
    throughput: downsample(await samplesOf(s, b.id)),
    reports: links.list(b.name),
  };
}

/** The latest GAL sync runs, newest first, each with its first `errorsPerRun` per-object errors. */
/** The window a worker's throughput is measured over. */
export const WORKER_WINDOW_MINUTES = 10;

/** The workers alive, the mailboxes each holds, and their copy throughput over the last minutes. */
export async function workerViews(s: StateStore, now = Date.now()): Promise<WorkerView[]> {
  const alive = await liveWorkers(s);
  if (alive.length === 0) return [];
  const since = new Date(now - WORKER_WINDOW_MINUTES * 60_000).toISOString();
  const moved = await s.sql.all<{ worker: string; messages: number | string; bytes: number | string }>(
    `SELECT worker, SUM(messages) AS messages, SUM(bytes) AS bytes FROM migration_step
      WHERE worker IS NOT NULL AND status = 'done' AND step IN ('copy', 'delta', 'cutover') AND finished_at >= ? GROUP BY worker`,
    [since],
  );
  const secs = WORKER_WINDOW_MINUTES * 60;
  const views: WorkerView[] = [];
  for (const w of alive) {
    const m = moved.find((r) => r.worker === w.worker);
    const messages = Number(m?.messages ?? 0);
    const bytes = Number(m?.bytes ?? 0);
    const logins: string[] = [];
    for (const id of w.mailboxes) {
      const row = await mailboxById(s, id);
      if (row) logins.push(row.sourceLogin);
    }
    views.push({
      worker: w.worker,
      aliveUntil: w.aliveUntil,
      mailboxes: logins,
      recentMessages: messages,
      recentBytes: bytes,
      messagesPerSecond: Math.round((messages / secs) * 10) / 10,
      megabytesPerSecond: Math.round((bytes / 1e6 / secs) * 100) / 100,
    });
  }
  return views;
}

export async function syncRuns(s: StateStore, limit: number, errorsPerRun = 20): Promise<SyncRunView[]> {
  const out: SyncRunView[] = [];
  for (const r of await listRuns(s, limit)) {
    const errors = await runErrorsPage(s, r.id, errorsPerRun);
    const total = errors.length < errorsPerRun ? errors.length : await runErrorCount(s, r.id);
    out.push({
      id: r.id,
      profile: r.profile,
      status: r.status,
      startedAt: r.startedAt,
      endedAt: r.endedAt,
      seconds: r.endedAt ? (Date.parse(r.endedAt) - Date.parse(r.startedAt)) / 1000 : null,
      counts: Object.fromEntries(Object.entries(r.counts).filter((e): e is [string, number] => typeof e[1] === 'number')),
      message: r.message,
      errors,
      moreErrors: total - errors.length,
    });
  }
  return out;
}
