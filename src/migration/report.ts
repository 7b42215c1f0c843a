// Reports: per mailbox and per batch, JSON for machines and a self-contained HTML page
// for people, written under `reports/<batch>/` next to the project file when the batch
// ends and on demand (`batch report <name>`).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { StateStore } from '../state/store.ts';
import { mailboxesOf, samplesOf, setReportPath, stepsOf } from './batchStore.ts';
import { failpoint } from './failpoint.ts';
import { type NoticeLine, noticeLines } from './noticeOps.ts';
import { comparePrediction, type PredictionReport } from './prediction.ts';
import { predictionOf } from './predictionStore.ts';
import { renderBatchHtml } from './reportHtml.ts';
import type { MigrationSetup } from './setup.ts';
import type { StepContext } from './stepContext.ts';
import type { Batch, MailboxRow, MailboxState, SkippedEntry, StepRecord, VerifyOutcome } from './types.ts';

export interface MailboxReport {
  name: string;
  source: string;
  target: string;
  targetDn: string;
  state: MailboxState;
  resumeState: string | null;
  error: string | null;
  messages: number;
  bytes: number;
  copied: number;
  copiedBytes: number;
  deltas: number;
  skipped: SkippedEntry[];
  fidelity: number | null;
  verify: VerifyOutcome | null;
  steps: {
    step: string;
    status: string;
    startedAt: string;
    finishedAt: string | null;
    ms: number | null;
    messages: number;
    bytes: number;
    worker: string | null;
  }[];
  copyMs: number;
  /** host:pid of the process that ran the mailbox's last step. */
  worker: string | null;
  messagesPerSecond: number;
  megabytesPerSecond: number;
}

export interface BatchReport {
  batch: string;
  status: string;
  sourceOrg: string;
  targetOrg: string;
  targetStore: string;
  options: Batch['options'];
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  generatedAt: string;
  totals: {
    mailboxes: number;
    byState: Record<string, number>;
    messages: number;
    bytes: number;
    copied: number;
    copiedBytes: number;
    skipped: number;
    copyMs: number;
    messagesPerSecond: number;
    megabytesPerSecond: number;
    meanFidelity: number | null;
  };
  mailboxes: MailboxReport[];
  /** Messages and bytes copied per interval, for the throughput chart. */
  throughput: { at: string; messages: number; bytes: number }[];
  /** The duration predicted when the batch first started, its basis, and how long it really worked. */
  prediction: PredictionReport;
  /** User notices (migration.notices): one line per mailbox and kind; warnings say what was not sent. */
  notices?: NoticeLine[];
}

const ms = (s: StepRecord): number | null => (s.finishedAt ? Date.parse(s.finishedAt) - Date.parse(s.startedAt) : null);

export function mailboxReport(m: MailboxRow, steps: StepRecord[]): MailboxReport {
  const mine = steps.filter((s) => s.mailboxId === m.id);
  const copySteps = mine.filter((s) => (s.step === 'copy' || s.step === 'delta' || s.step === 'cutover') && s.status === 'done');
  const copyMs = copySteps.reduce((a, s) => a + (ms(s) ?? 0), 0);
  const secs = Math.max(copyMs, 1) / 1000;
  const lastVerify = [...mine].reverse().find((s) => s.step === 'verify' && s.status === 'done')?.detail as VerifyOutcome | undefined;
  return {
    name: m.name,
    source: m.sourceLogin,
    target: m.plan.targetLogin,
    targetDn: m.plan.targetDn,
    state: m.state,
    resumeState: m.resumeState,
    error: m.error,
    messages: m.messages,
    bytes: m.bytes,
    copied: m.copied,
    copiedBytes: m.copiedBytes,
    deltas: m.deltas,
    skipped: m.skipped,
    fidelity: lastVerify?.fidelity ?? m.fidelity,
    verify: lastVerify ?? m.verify,
    steps: mine.map((s) => ({
      step: s.step,
      status: s.status,
      startedAt: s.startedAt,
      finishedAt: s.finishedAt,
      ms: ms(s),
      messages: s.messages,
      bytes: s.bytes,
      worker: s.worker,
    })),
    copyMs,
    // Who ran its last step (host:pid): with many workers, where to look in the logs.
    worker: [...mine].reverse().find((s) => s.worker)?.worker ?? null,
    messagesPerSecond: Math.round((m.copied / secs) * 10) / 10,
    megabytesPerSecond: Math.round((m.copiedBytes / 1e6 / secs) * 100) / 100,
  };
}

export async function buildBatchReport(store: StateStore, batch: Batch): Promise<BatchReport> {
  const steps = await stepsOf(store, batch.id);
  const mailboxes = (await mailboxesOf(store, batch.id)).map((m) => mailboxReport(m, steps));
  const byState: Record<string, number> = {};
  for (const m of mailboxes) byState[m.state] = (byState[m.state] ?? 0) + 1;
  const sum = (f: (m: MailboxReport) => number): number => mailboxes.reduce((a, m) => a + f(m), 0);
  // Wall-clock copy time of the batch: first copy start to last copy end (mailboxes overlap).
  const copySteps = steps.filter((s) => ['copy', 'delta', 'cutover'].includes(s.step) && s.finishedAt);
  const wall = copySteps.length
    ? Math.max(...copySteps.map((s) => Date.parse(s.finishedAt as string))) - Math.min(...copySteps.map((s) => Date.parse(s.startedAt)))
    : 0;
  const secs = Math.max(wall, 1) / 1000;
  const fids = mailboxes.map((m) => m.fidelity).filter((f): f is number => f !== null);
  return {
    batch: batch.name,
    status: batch.status,
    sourceOrg: batch.sourceOrg,
    targetOrg: batch.targetOrg,
    targetStore: batch.targetStore,
    options: batch.options,
    createdAt: batch.createdAt,
    startedAt: batch.startedAt,
    finishedAt: batch.finishedAt,
    generatedAt: new Date().toISOString(),
    totals: {
      mailboxes: mailboxes.length,
      byState,
      messages: sum((m) => m.messages),
      bytes: sum((m) => m.bytes),
      copied: sum((m) => m.copied),
      copiedBytes: sum((m) => m.copiedBytes),
      skipped: sum((m) => m.skipped.length),
      copyMs: wall,
      messagesPerSecond: Math.round((sum((m) => m.copied) / secs) * 10) / 10,
      megabytesPerSecond: Math.round((sum((m) => m.copiedBytes) / 1e6 / secs) * 100) / 100,
      meanFidelity: fids.length ? fids.reduce((a, f) => a + f, 0) / fids.length : null,
    },
    mailboxes,
    throughput: await samplesOf(store, batch.id),
    prediction: comparePrediction(await predictionOf(store, batch.id), steps, batch),
    notices: await noticeLines(store, batch),
  };
}

export function reportsDir(setup: MigrationSetup, batch: string): string {
  return resolve(setup.project.baseDir, setup.config.reportsDir, batch);
}

const safeName = (login: string): string => login.replace(/[^A-Za-z0-9@._-]/g, '_');

/** The batch report as JSON and HTML; returns the HTML path. */
export async function writeBatchReport(
  setup: MigrationSetup,
  store: StateStore,
  batch: Batch,
): Promise<{ html: string; json: string; report: BatchReport }> {
  const dir = reportsDir(setup, batch.name);
  mkdirSync(dir, { recursive: true });
  const report = await buildBatchReport(store, batch);
  const json = join(dir, 'batch.json');
  const html = join(dir, 'batch.html');
  writeFileSync(json, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(html, renderBatchHtml(report, setup.project.config.project));
  await setReportPath(store, batch.id, html);
  return { html, json, report };
}

/** The mailbox's own JSON report (the pipeline's last step). */
export async function writeMailboxReport(ctx: StepContext, m: MailboxRow): Promise<string> {
  const dir = reportsDir(ctx.setup, ctx.batch.name);
  mkdirSync(dir, { recursive: true });
  const path = join(dir, `${safeName(m.sourceLogin)}.json`);
  writeFileSync(path, `${JSON.stringify(mailboxReport({ ...m, state: 'done' }, await stepsOf(ctx.store, ctx.batch.id)), null, 2)}\n`);
  failpoint('report:written');
  return path;
}
