// The per-mailbox state machine: queued → prestaged → copied → (delta)* → cutover →
// cleaned → verified → done, with failed and suspended beside it. Each step's effect is
// idempotent (it converges on the same objects when run again) and its completion is
// recorded in one transaction with its bookkeeping, so a process killed at any moment
// resumes from the last completed step.

import type { CalendarCopyReport } from '../calendar/index.ts';
import type { CopyReport } from '../mail/types.ts';
import { workerName } from '../state/store.ts';
import { describeError } from '../util/errors.ts';
import { advance, finishStep, mailboxById, park, recordCopy, startStep } from './batchStore.ts';
import { calendarPass, movesCalendars } from './calendarStep.ts';
import { cleanup } from './cleanup.ts';
import { copyPass } from './copyStep.ts';
import { cutover } from './cutover.ts';
import { prestage } from './prestage.ts';
import { writeMailboxReport } from './report.ts';
import { MigrationError } from './setup.ts';
import type { StepContext } from './stepContext.ts';
import type { MailboxRow, MailboxState, PipelineState, StepName } from './types.ts';
import { verifyStep } from './verifyStep.ts';

export interface MailboxRunLimits {
  /** Stop once pre-staged (the batch pre-stages everyone before copying anyone). */
  stopAfterPrestage?: boolean;
  /** Run one step and return (a queue worker's job is one step of one mailbox). */
  oneStep?: boolean;
  /** The window closed: suspend before the next step. */
  shouldSuspend(): Promise<boolean>;
  /** Cutover may run now (immediate, time reached, or `batch complete`). */
  cutoverAllowed(): Promise<boolean>;
}

function copyCounts(r: CopyReport, delta: boolean) {
  return {
    messages: r.totals.messages,
    bytes: r.totals.bytes,
    copied: r.totals.copied,
    copiedBytes: r.totals.copiedBytes,
    skipped: r.skipped.map((s) => ({
      folder: s.folder,
      uid: s.uid,
      messageId: s.messageId,
      subject: s.subject,
      size: s.size,
      kind: s.kind,
      reason: s.reason,
    })),
    delta,
  };
}

/** Runs one step: the effect, then its completion and bookkeeping in one transaction. */
async function step<T>(
  ctx: StepContext,
  m: MailboxRow,
  name: StepName,
  effect: () => Promise<T>,
  record: (
    result: T,
    stepId: number,
  ) => { next: MailboxState; messages?: number; bytes?: number; detail?: unknown; extra?: () => Promise<void> },
): Promise<MailboxState> {
  ctx.emit({ type: 'state', mailbox: m.sourceLogin, state: m.state, step: name });
  await ctx.claim?.assertHeld();
  const stepId = await startStep(ctx.store, m.id, name, workerName());
  let result: T;
  try {
    result = await effect();
  } catch (err) {
    const message = describeError(err);
    const detail = (err as { report?: CopyReport }).report;
    // Lost the mailbox mid-step: its new holder repeats the step; this worker records nothing.
    if (ctx.claim?.lost()) throw err;
    await ctx.claim?.assertHeld();
    await ctx.store.sql.tx(async () => {
      await finishStep(ctx.store, stepId, 'failed', { detail: { error: message, ...(detail ? { report: detail } : {}) } });
      await park(ctx.store, m.id, 'failed', m.state as PipelineState, message);
    });
    ctx.logger.error({ mailbox: m.sourceLogin, step: name, err: message }, 'step failed');
    ctx.emit({ type: 'state', mailbox: m.sourceLogin, state: 'failed', step: name, error: message });
    return 'failed';
  }
  const r = record(result, stepId);
  await ctx.claim?.assertHeld();
  await advance(ctx.store, m.id, r.next, async () => {
    await finishStep(ctx.store, stepId, 'done', { messages: r.messages ?? 0, bytes: r.bytes ?? 0, detail: r.detail });
    await r.extra?.();
  });
  ctx.emit({ type: 'state', mailbox: m.sourceLogin, state: r.next, step: name });
  return r.next;
}

/**
 * The calendars step after a mail copy or delta (the mailbox at copied): the calendars,
 * tasks and address books follow, when both organizations have a calendar server. A failure
 * parks the mailbox at copied: its mail stays copied, and the next run copies the calendars.
 */
async function calendarsStep(ctx: StepContext, id: number): Promise<MailboxState> {
  const m = await mailboxById(ctx.store, id);
  if (!m) return 'copied';
  if (m.state !== 'copied' || !movesCalendars(ctx)) return m.state;
  return step(
    ctx,
    m,
    'calendars',
    async () => (await calendarPass(ctx, m)) as CalendarCopyReport,
    (r) => ({ next: 'copied', messages: r.totals.copied + r.totals.updated, detail: r }),
  );
}

/** Advances one mailbox as far as the limits allow; returns where it stopped. */
export async function runMailbox(ctx: StepContext, id: number, limits: MailboxRunLimits): Promise<MailboxState> {
  for (;;) {
    const m = await mailboxById(ctx.store, id);
    if (!m) throw new MigrationError('CF_ERR_BATCH_GONE', `mailbox ${id} is no longer in the state store`, { object: String(id) });
    if (m.state === 'done' || m.state === 'failed' || m.state === 'suspended') return m.state;
    if (await limits.shouldSuspend()) {
      await ctx.claim?.assertHeld();
      await park(ctx.store, m.id, 'suspended', m.state, 'the batch window closed');
      ctx.emit({ type: 'state', mailbox: m.sourceLogin, state: 'suspended' });
      return 'suspended';
    }
    let next: MailboxState;
    switch (m.state) {
      case 'queued':
        next = await step(
          ctx,
          m,
          'prestage',
          () => prestage(ctx, m),
          (r) => ({ next: 'prestaged', detail: r }),
        );
        if (limits.stopAfterPrestage) return next;
        break;
      case 'prestaged':
        next = await step(
          ctx,
          m,
          'copy',
          () => copyPass(ctx, m, 'copy'),
          (r) => ({
            next: 'copied',
            messages: r.totals.copied,
            bytes: r.totals.copiedBytes,
            detail: { totals: r.totals, warnings: r.warnings, acls: r.acls, retries: r.retries },
            extra: () => recordCopy(ctx.store, m.id, copyCounts(r, false)),
          }),
        );
        if (next === 'copied') next = await calendarsStep(ctx, id);
        break;
      case 'copied': {
        if (!(await limits.cutoverAllowed())) {
          // Waiting for cutover: one delta pass keeps the target close to the source.
          await step(
            ctx,
            m,
            'delta',
            () => copyPass(ctx, m, 'delta'),
            (r) => ({
              next: 'copied',
              messages: r.totals.copied,
              bytes: r.totals.copiedBytes,
              detail: { totals: r.totals },
              extra: () => recordCopy(ctx.store, m.id, copyCounts(r, true)),
            }),
          );
          if ((await mailboxById(ctx.store, id))?.state === 'copied') await calendarsStep(ctx, id);
          return (await mailboxById(ctx.store, id))?.state ?? 'copied';
        }
        let calendarsAtCutover: CalendarCopyReport | undefined;
        next = await step(
          ctx,
          m,
          'cutover',
          () =>
            cutover(ctx, m, async () => {
              // The final delta runs inside cutover, after new mail was routed to the target.
              const final = await copyPass(ctx, m, 'delta');
              await recordCopy(ctx.store, m.id, copyCounts(final, true));
              // And the calendars' final delta, while the source still serves them; its skipped items go in the step's detail.
              calendarsAtCutover = await calendarPass(ctx, m);
              return final;
            }),
          (r) => ({
            next: 'cutover',
            messages: r.final?.totals.copied ?? 0,
            bytes: r.final?.totals.copiedBytes ?? 0,
            detail: {
              finalDelta: r.final?.totals ?? null,
              saved: r.saved,
              snapshot: r.snapshot,
              settleSeconds: r.settleSeconds,
              ...(calendarsAtCutover ? { calendars: calendarsAtCutover } : {}),
            },
          }),
        );
        break;
      }
      case 'cutover':
        next = await step(
          ctx,
          m,
          'cleanup',
          () => cleanup(ctx, m),
          (r) => ({ next: 'cleaned', detail: r }),
        );
        break;
      case 'cleaned':
        next = await step(
          ctx,
          m,
          'verify',
          async () => {
            const v = await verifyStep(ctx, m);
            if (!v.ok) {
              const err = new MigrationError(
                'CF_ERR_VERIFY',
                `verify of ${m.sourceLogin} failed:\n${v.problems.map((p) => `  ✗ ${p}`).join('\n')}`,
                {
                  object: m.sourceLogin,
                  hint: v.problems.some((p) => p.startsWith('SPLIT'))
                    ? 'a split mailbox: find where its mail went (homeMDB, the other store) before users notice; then batch retry-failed'
                    : 'fix what is listed, then batch retry-failed',
                },
              );
              throw err;
            }
            return v;
          },
          (v) => ({ next: 'verified', detail: v }),
        );
        break;
      case 'verified':
        next = await step(
          ctx,
          m,
          'report',
          () => writeMailboxReport(ctx, m),
          (path) => ({ next: 'done', detail: { path } }),
        );
        break;
      default:
        return m.state;
    }
    if (next === 'failed' || limits.oneStep) return next;
  }
}
