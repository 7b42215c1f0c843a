// Cutover, ordered so that no mail is stranded in the source mailbox (what Exchange's move
// does by queueing delivery during the switch):
//   save  what the source object had (once, before anything changes: rollback and a re-run
//         after a crash both need the pre-cutover state, never a half-switched one);
//   (a)   the target user loses its targetAddress: mail reaching the target organization
//         is delivered to the new mailbox;
//   (b)   the source user gets targetAddress = the target's primary address: new mail for
//         the old addresses now flows to the new mailbox (routing honours targetAddress
//         before homeMDB);
//   (c)   a short settle for mail already resolved to the source mailbox and still being
//         delivered there (the batch's cutoverSettleSeconds);
//   (d)   the final delta, while the source mailbox still serves the master user;
//   (e)   the mailbox compared (verifyMailbox), recorded for verify;
//   (f)   the source user loses homeMDB: no more login, the mailbox kept on disk ("do not
//         delete in case you need to reconnect later"), every address kept.
// Each step is a replace computed from what the directory holds now, so a re-run after a
// crash anywhere converges. (a) comes before (b) because the other order would, for a
// moment, have each object route to the other: a loop.
import type { Client } from 'ldapts';
import { DEFAULT_CUTOVER_SETTLE_SECONDS } from '../config/migration.ts';
import { modifyEntry } from '../directory/export.ts';
import { readEntry } from '../directory/import.ts';
import type { CopyReport } from '../mail/types.ts';
import { verifyMailbox } from '../mail/verify.ts';
import { lower } from './addresses.ts';
import { mailboxById, recordSaved, recordVerify } from './batchStore.ts';
import { failpoint } from './failpoint.ts';
import { sourceMailboxState } from './mailboxAttributes.ts';
import { all } from './resolve.ts';
import { MigrationError, type MigrationSetup, withDirectories } from './setup.ts';
import { copyOptions, endpoints, type StepContext, sleep } from './stepContext.ts';
import type { BatchOptions, MailboxRow, SavedSource, VerifyOutcome } from './types.ts';

/** The batch's settle; batches created before the option existed get the built-in default. */
export const settleSeconds = (o: BatchOptions): number => o.cutoverSettleSeconds ?? DEFAULT_CUTOVER_SETTLE_SECONDS;

/** The mailbox compared (copy engine's verify) before the source is disconnected. */
export async function mailboxSnapshot(ctx: StepContext, m: MailboxRow): Promise<VerifyOutcome> {
  const ep = endpoints(ctx, m);
  const r = await verifyMailbox({
    ...ep,
    sourceMailbox: m.sourceLogin,
    targetMailbox: m.plan.targetLogin,
    options: copyOptions(ctx),
    logger: ctx.logger,
  });
  const skipped = new Set(m.skipped.map((s) => `${s.folder}\u0000${s.uid}`));
  const unexplained = r.differences.filter((d) => d.kind !== 'extra' && !(d.uid !== undefined && skipped.has(`${d.folder}\u0000${d.uid}`)));
  return {
    ok: unexplained.length === 0,
    problems: unexplained.slice(0, 50).map((d) => `${d.folder}${d.uid !== undefined ? ` UID ${d.uid}` : ''} ${d.kind}: ${d.detail}`),
    fidelity: r.fidelity,
    sourceMessages: r.sourceMessages,
    intact: r.intact,
    targetMessages: r.folders.reduce((a, f) => a + f.targetMessages, 0),
    checkedAt: new Date().toISOString(),
  };
}

/** Save, (a) and (b): the pre-cutover state recorded, then new mail routed to the target. Returns the saved state and whether the source still has its mailbox. */
export async function routeToTarget(
  ctx: StepContext,
  m: MailboxRow,
  src: Client,
  tgt: Client,
): Promise<{ saved: SavedSource; sourceServes: boolean }> {
  const source = await readEntry(src, m.sourceDn, [...ctx.setup.config.sourceMailboxAttributes, 'targetAddress']);
  if (!source) throw new MigrationError('CF_ERR_CUTOVER', `source user ${m.sourceDn} is gone`, { object: m.sourceDn });
  const target = await readEntry(tgt, m.plan.targetDn, ['homeMDB', 'targetAddress']);
  if (!target || !all(target, 'homeMDB').length)
    throw new MigrationError('CF_ERR_CUTOVER', `target user ${m.plan.targetDn} has no mailbox`, {
      object: m.plan.targetDn,
      hint: 'pre-stage did not finish: batch retry-failed',
    });
  // Saved once: a re-run after a crash must not save the half-switched state.
  let saved = (await mailboxById(ctx.store, m.id))?.saved ?? null;
  if (!saved) {
    const attributes = sourceMailboxState(ctx.setup, source);
    saved = { homeMDB: attributes.homeMDB ?? [], targetAddress: all(source, 'targetAddress'), attributes };
    await recordSaved(ctx.store, m.id, saved);
  }
  if (all(target, 'targetAddress').length) await modifyEntry(tgt, m.plan.targetDn, [{ attribute: 'targetAddress', values: [] }]);
  failpoint('cutover:target');
  const route = `SMTP:${m.plan.targetPrimary}`;
  if (!all(source, 'targetAddress').some((t) => lower(t) === lower(route)))
    await modifyEntry(src, m.sourceDn, [{ attribute: 'targetAddress', values: [route] }]);
  failpoint('cutover:routed');
  return { saved, sourceServes: all(source, 'homeMDB').length > 0 };
}

/**
 * (f): the source can no longer log in: its mailbox attributes (sourceMailboxAttributes) are
 * cleared, so it is a mail-enabled user routed by targetAddress; its mail stays on disk, its
 * addresses and its account stay (never deleted).
 */
export async function disconnectSource(setup: MigrationSetup, m: MailboxRow, src: Client): Promise<void> {
  const present = sourceMailboxState(setup, await readEntry(src, m.sourceDn, setup.config.sourceMailboxAttributes));
  await modifyEntry(
    src,
    m.sourceDn,
    Object.keys(present).map((attribute) => ({ attribute, values: [] })),
  );
  failpoint('cutover:source');
}

/** What cutover cleared from the source, for rollback (rollback.ts): the saved attributes (older rows saved homeMDB alone). */
export const savedMailboxAttributes = (saved: SavedSource): Record<string, string[]> => saved.attributes ?? { homeMDB: saved.homeMDB };

export interface CutoverOutcome {
  /** The final delta's report; null when a crashed run had already disconnected the source. */
  final: CopyReport | null;
  /** The comparison taken now; null keeps the one recorded before the crash. */
  snapshot: VerifyOutcome | null;
  saved: SavedSource;
  settleSeconds: number;
}

/** The whole cutover; `finalDelta` runs the delta pass and records it (pipeline.ts). */
export async function cutover(ctx: StepContext, m: MailboxRow, finalDelta: () => Promise<CopyReport>): Promise<CutoverOutcome> {
  const { saved, sourceServes } = await withDirectories(ctx.setup, (src, tgt) => routeToTarget(ctx, m, src.client, tgt.client));
  const settle = settleSeconds(ctx.batch.options);
  // Past (f) in a crashed run the source no longer serves the mailbox: the comparison recorded then stands.
  if (!sourceServes) return { final: null, snapshot: null, saved, settleSeconds: 0 };
  if (settle > 0) {
    ctx.emit({
      type: 'wait',
      mailbox: m.sourceLogin,
      what: `cutover: new mail routes to ${m.plan.targetPrimary}; letting mail in flight reach the source first`,
      nextPollSeconds: settle,
    });
    await sleep(settle * 1000);
  }
  const final = await finalDelta();
  const snapshot = await mailboxSnapshot(ctx, m);
  await recordVerify(ctx.store, m.id, snapshot);
  failpoint('cutover:compared');
  await withDirectories(ctx.setup, (src) => disconnectSource(ctx.setup, m, src.client));
  return { final, snapshot, saved, settleSeconds: settle };
}
