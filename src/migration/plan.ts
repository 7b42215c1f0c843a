// Capacity planning ("we know exactly what our migration capacity is"): predicts how long
// a batch (or a names file) takes from throughput measured on earlier copy passes, or
// from a given rate, fits it against the window, and says how many mailboxes fit.
import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import pLimit from 'p-limit';
import { DEFAULT_CUTOVER_SETTLE_SECONDS } from '../config/migration.ts';
import type { OrgMailStore } from '../config/organization.ts';
import type { StateStore } from '../state/store.ts';
import { batchByName, mailboxesOf, measuredPasses, measuredSteps, stepsOf } from './batchStore.ts';
import { settleSeconds } from './cutover.ts';
import { inventoryMailbox } from './inventory.ts';
import { parseNameList } from './nameList.ts';
import { first, resolveSourceName } from './resolve.ts';
import { MigrationError, type MigrationSetup, migrationDirectory, sourceMailStore, sourceStoreOfUser, targetStoreOf } from './setup.ts';
import type { StepRecord } from './types.ts';
import { windowState } from './window.ts';

export interface PlanMailbox {
  login: string;
  messages: number;
  bytes: number;
  /** Predicted seconds for this mailbox alone (copy + fixed steps). */
  seconds: number;
}

export interface CapacityPlan {
  subject: string;
  mailboxes: PlanMailbox[];
  totals: { messages: number; bytes: number };
  rate: { bytesPerSecond: number; messagesPerSecond: number; source: string };
  /** Seconds per mailbox spent outside the copy (pre-stage, cutover, clean-up, verify), measured or assumed. */
  overheadSeconds: number;
  streams: number;
  predictedSeconds: number;
  windowSeconds: number | null;
  fits: boolean | null;
  /** How many of these mailboxes (in order) fit in the window. */
  mailboxesThatFit: number | null;
  /** For a finished batch: how long it really worked (workSeconds). */
  actualSeconds: number | null;
}

/** Throughput of one copy stream from earlier copy and delta passes (bytes and messages per second), those of `exceptBatch` left out. */
export async function measuredRate(
  store: StateStore,
  exceptBatch?: number,
): Promise<{ bytesPerSecond: number; messagesPerSecond: number; passes: number } | undefined> {
  const passes = (await measuredPasses(store, exceptBatch)).filter((p) => p.ms > 0);
  if (passes.length === 0) return undefined;
  const ms = passes.reduce((a, p) => a + p.ms, 0);
  return {
    bytesPerSecond: (passes.reduce((a, p) => a + p.bytes, 0) / ms) * 1000,
    messagesPerSecond: (passes.reduce((a, p) => a + p.messages, 0) / ms) * 1000,
    passes: passes.length,
  };
}

/** The steps besides the copy that every mailbox goes through (cutover's settle and comparison included). */
const FIXED_STEPS = ['prestage', 'cutover', 'cleanup', 'verify', 'report'] as const;

/** Seconds per mailbox outside the copy, from earlier batches: the mean time of each fixed step per mailbox, summed over the steps. */
export async function measuredOverhead(store: StateStore, exceptBatch?: number): Promise<number | undefined> {
  const steps = await measuredSteps(store, FIXED_STEPS, exceptBatch);
  if (steps.length === 0) return undefined;
  let seconds = 0;
  for (const kind of FIXED_STEPS) {
    const mine = steps.filter((x) => x.step === kind);
    if (mine.length) seconds += mine.reduce((a, x) => a + x.ms, 0) / 1000 / new Set(mine.map((x) => x.mailboxId)).size;
  }
  return seconds;
}

/**
 * How long a batch really worked: the time during which at least one of its steps ran
 * (overlapping steps counted once). Waiting for `batch complete`, for a window to open
 * again or for a resume is not work, so a batch run in two sittings is not charged for the night between.
 */
export function workSeconds(steps: readonly Pick<StepRecord, 'startedAt' | 'finishedAt'>[]): number | null {
  const spans = steps
    .filter((x) => x.finishedAt)
    .map((x) => [Date.parse(x.startedAt), Date.parse(x.finishedAt as string)] as const)
    .sort((a, b) => a[0] - b[0]);
  if (spans.length === 0) return null;
  let total = 0;
  let [from, to] = spans[0]!;
  for (const [a, b] of spans.slice(1)) {
    if (a > to) {
      total += to - from;
      [from, to] = [a, b];
    } else to = Math.max(to, b);
  }
  return (total + (to - from)) / 1000;
}

/** Longest-processing-time-first scheduling on `streams` parallel streams (pure): the makespan. */
export function makespan(durations: readonly number[], streams: number): number {
  const lanes = new Array<number>(Math.max(1, streams)).fill(0);
  for (const d of [...durations].sort((a, b) => b - a)) {
    let i = 0;
    for (let j = 1; j < lanes.length; j++) if ((lanes[j] as number) < (lanes[i] as number)) i = j;
    lanes[i] = (lanes[i] as number) + d;
  }
  return Math.max(0, ...lanes);
}

export function predict(
  mailboxes: { login: string; messages: number; bytes: number }[],
  rate: { bytesPerSecond: number; messagesPerSecond: number },
  overheadSeconds: number,
  streams: number,
  windowSeconds: number | null,
) {
  // A mailbox takes the longer of its bytes and its messages at the measured rates (small messages are bound by count).
  const per = mailboxes.map((m) => ({
    ...m,
    seconds: Math.max(m.bytes / Math.max(rate.bytesPerSecond, 1), m.messages / Math.max(rate.messagesPerSecond, 0.001)) + overheadSeconds,
  }));
  const predictedSeconds = makespan(
    per.map((m) => m.seconds),
    streams,
  );
  let fit: number | null = null;
  if (windowSeconds !== null) {
    fit = 0;
    for (let n = 1; n <= per.length; n++) {
      if (
        makespan(
          per.slice(0, n).map((m) => m.seconds),
          streams,
        ) > windowSeconds
      )
        break;
      fit = n;
    }
  }
  return { per, predictedSeconds, fits: windowSeconds === null ? null : predictedSeconds <= windowSeconds, mailboxesThatFit: fit };
}

export interface PlanInput {
  /** A batch name or a names file. */
  subject: string;
  concurrency?: number;
  windowHours?: number;
  /** Override: MB/s per stream (when nothing was measured yet). */
  rateMBps?: number;
  /** The prediction recorded when a batch starts: nothing measured on the batch itself counts. */
  excludeOwnPasses?: boolean;
}

const ASSUMED_MBPS = 5;
const ASSUMED_OVERHEAD_S = 3;

export async function capacityPlan(setup: MigrationSetup, store: StateStore, input: PlanInput): Promise<CapacityPlan> {
  const batch = await batchByName(store, input.subject);
  let logins: string[];
  let known = new Map<string, { messages: number; bytes: number }>();
  // Each mailbox's source server: sizes not measured yet are read there.
  const serverOf = new Map<string, OrgMailStore>();
  if (batch) {
    const rows = await mailboxesOf(store, batch.id);
    logins = rows.map((m) => m.sourceLogin);
    for (const m of rows) serverOf.set(m.sourceLogin, sourceMailStore(setup, m.plan.sourceStore));
    known = new Map(rows.filter((m) => m.messages > 0).map((m) => [m.sourceLogin, { messages: m.messages, bytes: m.bytes }]));
  } else {
    let text: string;
    try {
      text = readFileSync(input.subject, 'utf8');
    } catch {
      throw new MigrationError('CF_ERR_PLAN_SUBJECT', `"${input.subject}" is neither a batch nor a readable names file`, {
        object: input.subject,
        hint: 'crossforest batch list shows the batches',
      });
    }
    const parsed = parseNameList(text, extname(input.subject).toLowerCase() === '.csv');
    if (parsed.problems.length)
      throw new MigrationError('CF_ERR_BATCH_NAMES', `${input.subject}:\n${parsed.problems.map((p) => `  ✗ ${p}`).join('\n')}`, {
        object: input.subject,
      });
    const conn = await migrationDirectory(setup, 'source');
    try {
      logins = [];
      const problems: string[] = [];
      for (const e of parsed.entries) {
        const r = await resolveSourceName(setup, conn.client, store, e.name);
        if (typeof r === 'string') {
          problems.push(`line ${e.line}: ${r}`);
          continue;
        }
        const login = first(r.entry, setup.source.directory.loginAttribute) ?? e.name;
        const server = sourceStoreOfUser(setup, {
          homeMDB: first(r.entry, 'homeMDB'),
          homeServerName: first(r.entry, 'msExchHomeServerName'),
        });
        if (typeof server === 'string') problems.push(`line ${e.line}: "${e.name}": ${server}`);
        else {
          logins.push(login);
          serverOf.set(login, server);
        }
      }
      if (problems.length)
        throw new MigrationError('CF_ERR_BATCH_NAMES', `${input.subject}:\n${problems.map((p) => `  ✗ ${p}`).join('\n')}`, {
          object: input.subject,
        });
    } finally {
      await conn.close();
    }
  }
  // Sizes not measured by a copy yet come from the inventory of the source store.
  const limit = pLimit(4);
  const mailboxes = await Promise.all(
    logins.map((login) =>
      limit(async () => {
        const k = known.get(login);
        if (k) return { login, ...k };
        const inv = await inventoryMailbox(setup.project, serverOf.get(login) ?? sourceMailStore(setup, undefined), login);
        return { login, messages: inv.messages, bytes: inv.bytes };
      }),
    ),
  );
  const except = input.excludeOwnPasses && batch ? batch.id : undefined;
  const measured = await measuredRate(store, except);
  const rate = input.rateMBps
    ? {
        bytesPerSecond: input.rateMBps * 1e6,
        messagesPerSecond: Number.POSITIVE_INFINITY,
        source: `given: ${input.rateMBps} MB/s per mailbox`,
      }
    : measured
      ? { ...measured, source: `measured on ${measured.passes} earlier copy passes` }
      : {
          bytesPerSecond: ASSUMED_MBPS * 1e6,
          messagesPerSecond: Number.POSITIVE_INFINITY,
          source: `assumed ${ASSUMED_MBPS} MB/s per mailbox (nothing measured yet: run a trial batch, or give --rate)`,
        };
  // Fixed steps per mailbox from the step timings of every batch so far; before any, a guess that includes cutover's settle.
  const overheadSeconds =
    (await measuredOverhead(store, except)) ?? ASSUMED_OVERHEAD_S + (batch ? settleSeconds(batch.options) : DEFAULT_CUTOVER_SETTLE_SECONDS);
  const storeLimit = batch
    ? targetStoreOf(setup, batch.targetStore).maxConcurrentMailboxes
    : Math.min(...Object.values(setup.config.targetStores).map((s) => s.maxConcurrentMailboxes));
  const streams = Math.min(
    input.concurrency ?? batch?.options.concurrency ?? setup.config.defaults.concurrency,
    storeLimit,
    setup.config.maxConcurrentPerSourceStore,
  );
  let windowSeconds: number | null = input.windowHours ? input.windowHours * 3600 : null;
  if (windowSeconds === null && batch?.options.windowStop) {
    const w = windowState(batch.options, new Date(batch.options.windowStart ?? Date.now()));
    windowSeconds = Number.isFinite(w.msUntilChange) ? w.msUntilChange / 1000 : null;
  }
  const p = predict(mailboxes, rate, overheadSeconds, streams, windowSeconds);
  const actualSeconds = batch?.finishedAt ? workSeconds(await stepsOf(store, batch.id)) : null;
  return {
    subject: input.subject,
    mailboxes: p.per,
    totals: { messages: p.per.reduce((a, m) => a + m.messages, 0), bytes: p.per.reduce((a, m) => a + m.bytes, 0) },
    rate,
    overheadSeconds,
    streams,
    predictedSeconds: p.predictedSeconds,
    windowSeconds,
    fits: p.fits,
    mailboxesThatFit: p.mailboxesThatFit,
    actualSeconds,
  };
}
