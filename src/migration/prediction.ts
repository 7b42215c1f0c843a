// Prediction against reality: when a batch starts for the first time its capacity plan is
// recorded (predictionStore.ts), made only from what earlier batches measured (this
// batch's own passes do not exist yet, and are left out even if they did). The report
// and `batch show` then set it against how long the batch really worked, in words a
// manager reads without a glossary. Making the prediction never stops a batch.
import type { StateStore } from '../state/store.ts';
import { describeError } from '../util/errors.ts';
import type { Logger } from '../util/logger.ts';
import { stepsOf } from './batchStore.ts';
import { capacityPlan, workSeconds } from './plan.ts';
import { type PredictedPlan, type Prediction, predictedPlan, predictionOf, recordPrediction } from './predictionStore.ts';
import type { MigrationSetup } from './setup.ts';
import type { Batch, StepRecord } from './types.ts';
import { utcMinute } from './window.ts';

/** The plan reads every mailbox's size from the source store: bounded, so a slow store delays the start by this much at most. */
const PLAN_TIMEOUT_MS = 120_000;

/** Within this share of the prediction a batch took "about as predicted". */
const ABOUT = 0.05;

/** Records the batch's prediction at its first start; a failure is a warning and a `failed` row, never an error. */
export async function predictAtFirstStart(
  setup: MigrationSetup,
  store: StateStore,
  batch: Batch,
  logger: Logger,
): Promise<Prediction | undefined> {
  try {
    if (await predictionOf(store, batch.id)) return undefined;
    // A batch that ran before predictions were recorded: a plan made now would not be a prediction.
    if ((await stepsOf(store, batch.id)).length > 0) return undefined;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the capacity plan took longer than ${PLAN_TIMEOUT_MS / 1000} s`)), PLAN_TIMEOUT_MS);
    });
    let p: Prediction;
    try {
      const plan = await Promise.race([capacityPlan(setup, store, { subject: batch.name, excludeOwnPasses: true }), timeout]);
      p = { madeAt: new Date().toISOString(), status: 'made', plan: predictedPlan(plan) };
      logger.info({ predictedSeconds: plan.predictedSeconds, rate: plan.rate.source, fits: plan.fits }, 'prediction recorded');
    } catch (err) {
      p = { madeAt: new Date().toISOString(), status: 'failed', warning: describeError(err) };
      logger.warn({ err: p.warning }, 'no prediction for this batch: the capacity plan failed; the batch goes on');
    } finally {
      clearTimeout(timer);
    }
    await recordPrediction(store, batch.id, p);
    return p;
  } catch (err) {
    logger.warn({ err: describeError(err) }, 'the prediction could not be recorded; the batch goes on');
    return undefined;
  }
}

export interface PredictionReport {
  /** made: predicted at the first start; failed: no plan could be made then; none: nothing recorded (a batch older than this feature). */
  status: 'made' | 'failed' | 'none';
  madeAt: string | null;
  warning: string | null;
  /** The prediction and its basis (rate and its source, streams, window, overhead, sizes). */
  predicted: PredictedPlan | null;
  /** Seconds the batch worked (workSeconds), so far if it has not finished. */
  actualSeconds: number | null;
  finished: boolean;
  /** Actual ÷ predicted, once finished. */
  ratio: number | null;
  /** Whether the batch finished within the window it was predicted against; null without a window or before the end. */
  fittedWindow: boolean | null;
  /** The comparison in plain sentences. */
  summary: string[];
}

/** "2 h 05 min", "4 min 10 s", "12 s" (pure). */
export function humanDuration(seconds: number): string {
  const s = Math.round(seconds);
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.round((s % 3600) / 60)).padStart(2, '0')} min`;
}

const FINISHED = new Set(['completed', 'completed-with-errors']);
const mb = (bytes: number): string => `${(bytes / 1e6).toFixed(1)} MB`;

function basisLines(p: PredictedPlan, madeAt: string): string[] {
  const r = p.rate;
  const rate = `${(r.bytesPerSecond / 1e6).toFixed(2)} MB/s${r.messagesPerSecond === null ? '' : ` and ${Math.round(r.messagesPerSecond)} messages/s`} per mailbox`;
  const window =
    p.windowSeconds === null
      ? 'No window was set.'
      : p.fits
        ? `Window: ${humanDuration(p.windowSeconds)}; the prediction said the batch fits.`
        : `Window: ${humanDuration(p.windowSeconds)}; the prediction said the batch does NOT fit (${p.mailboxesThatFit ?? 0} of ${p.totals.mailboxes} mailboxes would).`;
  return [
    `Predicted when the batch started (${utcMinute(madeAt)}): ${humanDuration(p.predictedSeconds)} for ${p.totals.mailboxes} mailboxes (${p.totals.messages} messages, ${mb(p.totals.bytes)}).`,
    `Basis: copy speed ${rate} — ${r.source}; ${p.streams} mailbox${p.streams === 1 ? '' : 'es'} at a time; ${humanDuration(p.overheadSeconds)} per mailbox for pre-stage, cutover, clean-up and verify.`,
    window,
  ];
}

function outcomeLines(p: PredictedPlan, actual: number | null, finished: boolean, status: string): string[] {
  if (actual === null) return ['Nothing has run yet.'];
  if (!finished) {
    const share = Math.round((actual / Math.max(p.predictedSeconds, 1)) * 100);
    const why = status === 'synced' ? 'waiting for `batch complete`' : status === 'suspended' ? 'suspended' : status;
    const lines = [`Not finished (${why}): ${humanDuration(actual)} of work so far, ${share} % of the prediction.`];
    if (status === 'suspended' && p.windowSeconds !== null)
      lines.push(`It did NOT finish in its ${humanDuration(p.windowSeconds)} window.`);
    return lines;
  }
  const ratio = actual / Math.max(p.predictedSeconds, 0.001);
  const diff = Math.round(Math.abs(ratio - 1) * 100);
  const how =
    Math.abs(ratio - 1) <= ABOUT ? 'about as predicted' : ratio > 1 ? `${diff} % longer than predicted` : `${diff} % faster than predicted`;
  const lines = [`It took ${humanDuration(actual)} of work: ${how} (${ratio.toFixed(2)} × the prediction).`];
  if (p.windowSeconds !== null)
    lines.push(
      actual <= p.windowSeconds
        ? `It finished within its ${humanDuration(p.windowSeconds)} window.`
        : `It did NOT fit its ${humanDuration(p.windowSeconds)} window: it needed ${humanDuration(actual)}.`,
    );
  return lines;
}

/** Sets the recorded prediction against the batch's steps (pure). */
export function comparePrediction(
  prediction: Prediction | undefined,
  steps: readonly StepRecord[],
  batch: Pick<Batch, 'status'>,
): PredictionReport {
  const actualSeconds = workSeconds(steps);
  const finished = FINISHED.has(batch.status);
  const took =
    actualSeconds === null
      ? 'Nothing has run yet.'
      : `It ${finished ? 'took' : 'has worked'} ${humanDuration(actualSeconds)}${finished ? '' : ' so far'}.`;
  if (!prediction) {
    return {
      status: 'none',
      madeAt: null,
      warning: null,
      predicted: null,
      actualSeconds,
      finished,
      ratio: null,
      fittedWindow: null,
      summary: ['No prediction was recorded: this batch started before crossforest recorded predictions.', took],
    };
  }
  if (prediction.status === 'failed') {
    return {
      status: 'failed',
      madeAt: prediction.madeAt,
      warning: prediction.warning,
      predicted: null,
      actualSeconds,
      finished,
      ratio: null,
      fittedWindow: null,
      summary: [`No prediction: the capacity plan could not be made when the batch started (${prediction.warning}).`, took],
    };
  }
  const p = prediction.plan;
  const ratio = finished && actualSeconds !== null ? Math.round((actualSeconds / Math.max(p.predictedSeconds, 0.001)) * 100) / 100 : null;
  const fittedWindow =
    p.windowSeconds === null
      ? null
      : finished && actualSeconds !== null
        ? actualSeconds <= p.windowSeconds
        : batch.status === 'suspended'
          ? false
          : null;
  return {
    status: 'made',
    madeAt: prediction.madeAt,
    warning: null,
    predicted: p,
    actualSeconds,
    finished,
    ratio,
    fittedWindow,
    summary: [...basisLines(p, prediction.madeAt), ...outcomeLines(p, actualSeconds, finished, batch.status)],
  };
}
