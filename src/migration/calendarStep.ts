// The calendars step: after the mail copy and after each delta, and once more in cutover's
// final delta, the mailbox's calendars, task lists and address books are copied with the
// same copy state (src/calendar), when both organizations have a calendar server. Its
// objects the target refuses are skipped items held against the batch's bad item limit;
// verify compares every object by UID.
import { type CalendarCopyReport, type CalendarVerifyReport, calendarServers, copyCalendars, verifyCalendars } from '../calendar/index.ts';
import { defaultMailCopyOptions } from '../config/mail.ts';
import { stepsOf } from './batchStore.ts';
import type { StepContext } from './stepContext.ts';
import type { MailboxRow } from './types.ts';

const serversOf = (ctx: StepContext) =>
  calendarServers(
    { id: ctx.setup.sourceId, org: ctx.setup.source },
    { id: ctx.setup.targetId, org: ctx.setup.target },
    ctx.setup.project.baseDir,
  );

/** Whether this project moves calendars (both organizations have a calendar server). */
export const movesCalendars = (ctx: StepContext): boolean => Boolean(ctx.setup.source.calendar && ctx.setup.target.calendar);

export async function calendarPass(ctx: StepContext, m: MailboxRow): Promise<CalendarCopyReport | undefined> {
  const servers = serversOf(ctx);
  if (!servers) return undefined;
  const mail = ctx.setup.project.config.mail ?? defaultMailCopyOptions();
  return copyCalendars({
    ...servers,
    sourceLogin: m.sourceLogin,
    targetLogin: m.plan.targetLogin,
    store: ctx.store,
    deleteOnTarget: mail.deleteOnTarget,
    badItemLimit: ctx.batch.options.badItemLimit,
    logger: ctx.logger,
  });
}

export async function calendarVerify(ctx: StepContext, m: MailboxRow): Promise<CalendarVerifyReport | undefined> {
  const servers = serversOf(ctx);
  if (!servers) return undefined;
  return verifyCalendars({ ...servers, sourceLogin: m.sourceLogin, targetLogin: m.plan.targetLogin });
}

/** verify's lines for a calendar comparison that is not whole; objects the target refused (skipped) are not differences. */
export function calendarProblems(v: CalendarVerifyReport, skipped: ReadonlySet<string>): string[] {
  return v.collections.flatMap((c) => {
    const missing = c.missing.filter((uid) => !skipped.has(`${c.name}\u0000${uid}`));
    return [
      ...(missing.length
        ? [`${c.kind} ${c.name}: ${missing.length} objects not on the target (UID ${missing.slice(0, 5).join(', ')})`]
        : []),
      ...(c.different.length
        ? [`${c.kind} ${c.name}: ${c.different.length} objects differ on the target (UID ${c.different.slice(0, 5).join(', ')})`]
        : []),
    ];
  });
}

/** UIDs the target refused in this mailbox's calendar passes (skipped items, explained, not differences). */
export async function skippedCalendarUids(ctx: StepContext, m: MailboxRow): Promise<Set<string>> {
  const out = new Set<string>();
  for (const st of await stepsOf(ctx.store, m.batchId)) {
    if (st.mailboxId !== m.id || st.status !== 'done') continue;
    const d = st.detail as { collections?: CalendarCopyReport['collections']; calendars?: CalendarCopyReport } | null;
    for (const c of d?.collections ?? d?.calendars?.collections ?? []) for (const x of c.skipped) out.add(`${c.name}\u0000${x.uid}`);
  }
  return out;
}
