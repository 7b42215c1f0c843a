// Verify ("another script to compare the object to make sure it is correct"): the
// directory objects on both sides as they must be after cutover, the mailbox comparison
// taken at cutover (while the source still served it), the target recounted now, and
// split-mailbox detection (the seed's 5 %): a target user whose mailbox is on another
// store than the batch's, or an empty target while the source held mail, fails loudly;
// and the calendars, tasks and contacts compared by UID (calendarStep.ts).
import type { Client } from 'ldapts';
import { readEntry } from '../directory/import.ts';
import { hasAll, lower } from './addresses.ts';
import { calendarProblems, calendarVerify, skippedCalendarUids } from './calendarStep.ts';
import { failpoint } from './failpoint.ts';
import { all, first, USER_ATTRIBUTES } from './resolve.ts';
import { withDirectories } from './setup.ts';
import { endpoints, type StepContext } from './stepContext.ts';
import type { MailboxRow, VerifyOutcome } from './types.ts';

/** What must hold of the two directory objects after cutover; one line per problem. */
export async function directoryProblems(
  ctx: StepContext,
  m: MailboxRow,
  src: Client,
  tgt: Client,
): Promise<{ problems: string[]; split: string[] }> {
  const p = m.plan;
  const problems: string[] = [];
  const split: string[] = [];
  const s = await readEntry(src, m.sourceDn, USER_ATTRIBUTES);
  const t = await readEntry(tgt, p.targetDn, USER_ATTRIBUTES);
  if (!s) problems.push(`source user ${m.sourceDn} is gone`);
  if (!t) problems.push(`target user ${p.targetDn} is missing`);
  if (!s || !t) return { problems, split };
  if (!all(t, 'objectClass').some((c) => lower(c) === 'user')) problems.push(`target ${p.targetDn} is not a user`);
  const homes = all(t, 'homeMDB');
  if (!homes.length) problems.push(`target user ${p.targetDn} has no mailbox (homeMDB)`);
  else if (!homes.some((h) => lower(h) === lower(ctx.targetStore.homeMDB)))
    split.push(
      `SPLIT MAILBOX: target user ${p.targetLogin} has its mailbox on ${homes.join('; ')}, not on the batch's store ${ctx.batch.targetStore}`,
    );
  if (all(t, 'targetAddress').length) problems.push(`target user still routes elsewhere (targetAddress ${first(t, 'targetAddress')})`);
  const need = [
    `SMTP:${p.targetPrimary}`,
    ...m.plan.sourceProxies.map((a) => a.replace(/^SMTP:/, 'smtp:')),
    ...(p.sourceLegacyExchangeDn ? [`X500:${p.sourceLegacyExchangeDn}`] : []),
  ];
  if (!hasAll(all(t, 'proxyAddresses'), need))
    problems.push(
      `target user lacks addresses: ${need.filter((n) => !all(t, 'proxyAddresses').some((a) => lower(a) === lower(n))).join(', ')}`,
    );
  if (!all(t, 'proxyAddresses').includes(`SMTP:${p.targetPrimary}`)) problems.push(`target primary address is not SMTP:${p.targetPrimary}`);
  if (all(s, 'homeMDB').length) problems.push(`source user ${m.sourceDn} still has a mailbox (homeMDB): it can still log in`);
  if (!all(s, 'targetAddress').some((a) => lower(a) === lower(`SMTP:${p.targetPrimary}`)))
    problems.push(`source user does not route to SMTP:${p.targetPrimary} (targetAddress ${first(s, 'targetAddress') ?? 'none'})`);
  const srcNeed = [...m.plan.sourceProxies, `X500:${p.targetLegacyExchangeDn}`];
  if (!hasAll(all(s, 'proxyAddresses'), srcNeed))
    problems.push(
      `source user lost or lacks addresses: ${srcNeed.filter((n) => !all(s, 'proxyAddresses').some((a) => lower(a) === lower(n))).join(', ')}`,
    );
  if (p.contactDn && (await readEntry(tgt, p.contactDn, ['objectClass'])))
    problems.push(`the GAL-sync contact ${p.contactDn} still exists beside the user`);
  return { problems, split };
}

export async function verifyStep(ctx: StepContext, m: MailboxRow): Promise<VerifyOutcome> {
  const snap = m.verify;
  const { problems, split } = await withDirectories(ctx.setup, (src, tgt) => directoryProblems(ctx, m, src.client, tgt.client));
  let targetMessages = 0;
  const c = await endpoints(ctx, m).target.open();
  try {
    for (const l of await c.list({ statusQuery: { messages: true } })) targetMessages += l.status?.messages ?? 0;
  } finally {
    await c.logout().catch(() => c.close());
  }
  if (!snap) problems.push('no mailbox comparison was recorded at cutover');
  else {
    problems.push(...snap.problems);
    if (targetMessages === 0 && snap.sourceMessages > 0)
      split.push(`SPLIT MAILBOX: target ${m.plan.targetLogin} is empty while the source held ${snap.sourceMessages} messages`);
    else if (targetMessages < snap.intact)
      problems.push(`target holds ${targetMessages} messages, fewer than the ${snap.intact} verified at cutover`);
  }
  // Calendars, tasks and contacts, by UID and canonical content (when they move with the mailbox).
  const cal = await calendarVerify(ctx, m);
  if (cal) problems.push(...calendarProblems(cal, await skippedCalendarUids(ctx, m)));
  failpoint('verify:checked');
  return {
    ok: problems.length === 0 && split.length === 0,
    problems: [...split, ...problems],
    fidelity: snap?.fidelity ?? 0,
    sourceMessages: snap?.sourceMessages ?? 0,
    intact: snap?.intact ?? 0,
    targetMessages,
    checkedAt: new Date().toISOString(),
    ...(cal ? { calendars: { calendarItems: cal.calendarItems, contactItems: cal.contactItems, ok: cal.ok } } : {}),
  };
}
