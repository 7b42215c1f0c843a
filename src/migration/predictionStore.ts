// The prediction recorded when a batch first starts (032_batch_prediction.sql): one row
// per batch, written once, one query per function.
import type { StateStore } from '../state/store.ts';
import type { CapacityPlan, PlanMailbox } from './plan.ts';

/** What was predicted: the capacity plan's figures and their basis. */
export interface PredictedPlan {
  predictedSeconds: number;
  windowSeconds: number | null;
  fits: boolean | null;
  mailboxesThatFit: number | null;
  streams: number;
  /** messagesPerSecond null: the rate was not bound by message count (given or assumed in MB/s). */
  rate: { source: string; bytesPerSecond: number; messagesPerSecond: number | null };
  overheadSeconds: number;
  totals: { mailboxes: number; messages: number; bytes: number };
  mailboxes: PlanMailbox[];
}

export type Prediction = { madeAt: string } & ({ status: 'made'; plan: PredictedPlan } | { status: 'failed'; warning: string });

interface Raw {
  made_at: string;
  status: 'made' | 'failed';
  warning: string | null;
  predicted_seconds: number | null;
  window_seconds: number | null;
  fits: number | null;
  mailboxes_that_fit: number | null;
  streams: number | null;
  rate_source: string | null;
  bytes_per_second: number | null;
  messages_per_second: number | null;
  overhead_seconds: number | null;
  messages: number | null;
  bytes: number | null;
  per_mailbox: string | null;
}

export function predictedPlan(p: CapacityPlan): PredictedPlan {
  return {
    predictedSeconds: p.predictedSeconds,
    windowSeconds: p.windowSeconds,
    fits: p.fits,
    mailboxesThatFit: p.mailboxesThatFit,
    streams: p.streams,
    rate: {
      source: p.rate.source,
      bytesPerSecond: p.rate.bytesPerSecond,
      messagesPerSecond: Number.isFinite(p.rate.messagesPerSecond) ? p.rate.messagesPerSecond : null,
    },
    overheadSeconds: p.overheadSeconds,
    totals: { mailboxes: p.mailboxes.length, ...p.totals },
    mailboxes: p.mailboxes,
  };
}

const INSERT = `INSERT INTO migration_prediction (batch_id, made_at, status, warning, predicted_seconds, window_seconds, fits, mailboxes_that_fit, streams,
    rate_source, bytes_per_second, messages_per_second, overhead_seconds, messages, bytes, per_mailbox)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
  ON CONFLICT (batch_id) DO NOTHING`;

/** Records the batch's prediction unless one is recorded already (the first start's stands); true when this one was kept. */
export async function recordPrediction(store: StateStore, batchId: number, p: Prediction): Promise<boolean> {
  const plan = p.status === 'made' ? p.plan : null;
  const r = await store.sql.run(INSERT, [
    batchId,
    p.madeAt,
    p.status,
    p.status === 'failed' ? p.warning : null,
    plan?.predictedSeconds ?? null,
    plan?.windowSeconds ?? null,
    plan && plan.fits !== null ? Number(plan.fits) : null,
    plan?.mailboxesThatFit ?? null,
    plan?.streams ?? null,
    plan?.rate.source ?? null,
    plan?.rate.bytesPerSecond ?? null,
    plan?.rate.messagesPerSecond ?? null,
    plan?.overheadSeconds ?? null,
    plan?.totals.messages ?? null,
    plan?.totals.bytes ?? null,
    plan ? JSON.stringify(plan.mailboxes) : null,
  ]);
  return r.changes === 1;
}

export async function predictionOf(store: StateStore, batchId: number): Promise<Prediction | undefined> {
  const r = await store.sql.get<Raw>('SELECT * FROM migration_prediction WHERE batch_id = ?', [batchId]);
  if (!r) return undefined;
  if (r.status === 'failed') return { madeAt: r.made_at, status: 'failed', warning: r.warning ?? 'no reason recorded' };
  const mailboxes = JSON.parse(r.per_mailbox ?? '[]') as PlanMailbox[];
  return {
    madeAt: r.made_at,
    status: 'made',
    plan: {
      predictedSeconds: r.predicted_seconds ?? 0,
      windowSeconds: r.window_seconds,
      fits: r.fits === null ? null : r.fits === 1,
      mailboxesThatFit: r.mailboxes_that_fit,
      streams: r.streams ?? 1,
      rate: { source: r.rate_source ?? '', bytesPerSecond: r.bytes_per_second ?? 0, messagesPerSecond: r.messages_per_second },
      overheadSeconds: r.overhead_seconds ?? 0,
      totals: { mailboxes: mailboxes.length, messages: r.messages ?? 0, bytes: r.bytes ?? 0 },
      mailboxes,
    },
  };
}
