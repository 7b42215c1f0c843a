// Rollback of a cutover without loss: the source mailbox serves the user again, with
// everything that reached or changed in the target mailbox since cutover, and mail routes
// back to it. In this order, so that nothing is lost and the two directory objects never
// route to each other:
//   1. the source user gets its saved mailbox attributes back (homeMDB …), its targetAddress
//      still pointing to the target (new mail keeps going to the target mailbox); then a
//      wait until the source store logs the mailbox in again;
//   2. a copy back: the copy engine from the target mailbox into the source mailbox, its
//      copy state seeded from the forward copy's pairs (mirrorCopyState), so that only what
//      is new on the target, and the flags changed there, reach the source; deletions on the
//      target are not applied to the source (nothing is lost), ACLs are not copied back;
//   3. routing back: the source's targetAddress as it was saved, then the target user's
//      targetAddress → the source address (source first: the other order would for a moment
//      have each object route to the other); the batch's settle; a final copy back of what
//      reached the target meanwhile;
//   4. the target user loses its mailbox attributes (mailboxAttributeNames of the store): the
//      target store no longer serves it; its mail stays on disk, the user object stays;
//   5. the forward copy state learns the copy back's pairs (and forgets those of mail
//      deleted on the target), so a later forward copy carries neither twice nor too little.
// Each write is a replace computed from what the directory holds now, and the copies are
// deltas, so a re-run after a crash anywhere converges; a re-run that finds the target
// already without its mailbox (killed after 4) goes straight to 5.
//
// Refused, before anything changes: no saved pre-cutover state; the source or the target
// user gone; source and target logins the same (the copy state could not tell the two
// directions apart); the target without its mailbox while mail still routes to it (what
// arrived there could not be copied back). Refused after step 1, with step 1 undone: the
// source store does not serve the mailbox within the batch's mailboxReadyTimeoutSeconds.
// Clean-up is no obstacle: it only removed legacy ACL entries on the target.
import type { Client } from 'ldapts';
import type { MailCopyOptions } from '../config/mail.ts';
import { modifyEntry } from '../directory/export.ts';
import { readEntry } from '../directory/import.ts';
import { COPY_LEASE_TTL_MS, copyMailbox } from '../mail/copyMailbox.ts';
import { type CopyDirection, mirrorCopyState } from '../mail/mirrorCopyState.ts';
import type { CopyReport, MailEndpoint } from '../mail/types.ts';
import { hasAll, lower } from './addresses.ts';
import { savedMailboxAttributes, settleSeconds } from './cutover.ts';
import { failpoint } from './failpoint.ts';
import { mailboxAttributeNames } from './mailboxAttributes.ts';
import { waitUntilServed } from './mailboxReady.ts';
import { all } from './resolve.ts';
import { MigrationError, withDirectories } from './setup.ts';
import { copyOptions, endpoints, type StepContext, sleep } from './stepContext.ts';
import type { MailboxRow, PipelineState, SavedSource } from './types.ts';

/** The states a cut-over mailbox passes through; a rollback starts from any of them (and from copied with a saved state). */
export const ROLLBACK_STAGES: readonly PipelineState[] = ['cutover', 'cleaned', 'verified', 'done'];

export interface RollbackOutcome {
  /** Messages and bytes copied back into the source mailbox (both passes). */
  copiedBack: number;
  copiedBackBytes: number;
  /** Messages whose flags changed on the target and were carried to the source. */
  flagsUpdated: number;
  /** Each copy back's totals; empty when a re-run found them done before (the target already cleared). */
  passes: CopyReport['totals'][];
  settleSeconds: number;
  /** Logins tried until the source store served the mailbox. */
  polls: number;
  /** Pairs of mail deleted on the target since cutover, dropped from the forward copy state (a later move copies it again). */
  forgotten: number;
}

const refused = (m: MailboxRow, reason: string, hint: string): MigrationError =>
  new MigrationError('CF_ERR_ROLLBACK', `rollback of ${m.sourceLogin} refused: ${reason}`, { object: m.sourceLogin, hint });

const sameValues = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && hasAll(a, b);

const forward = (m: MailboxRow): CopyDirection => ({ sourceMailbox: m.sourceLogin, targetMailbox: m.plan.targetLogin });
const backward = (m: MailboxRow): CopyDirection => ({ sourceMailbox: m.plan.targetLogin, targetMailbox: m.sourceLogin });

/**
 * The copy options of a copy back: every folder of the target, folder renames and renamed
 * keywords turned around, target deletions never applied, no ACLs (those on the target name
 * target identities; the source kept its own).
 */
export function reverseCopyOptions(o: MailCopyOptions): MailCopyOptions {
  return {
    ...o,
    include: ['**'],
    exclude: [],
    renames: o.renames.map((r) => ({ from: r.to, to: r.from })),
    keywordMap: Object.fromEntries(Object.entries(o.keywordMap).map(([k, v]) => [v, k])),
    deleteOnTarget: false,
    copyAcls: false,
  };
}

interface Found {
  /** Source attributes this run wrote, with the values they had before (to undo step 1). */
  restored: { attribute: string; values: string[] }[];
  targetServes: boolean;
}

/** Step 1's directory half, after the refusals that need the directory. */
async function restoreSource(m: MailboxRow, saved: SavedSource, names: string[], src: Client, tgt: Client): Promise<Found> {
  const attributes = savedMailboxAttributes(saved);
  const source = await readEntry(src, m.sourceDn, [...Object.keys(attributes), 'targetAddress']);
  if (!source)
    throw refused(m, `the source user ${m.sourceDn} is gone`, 'nothing can serve the mailbox again; its mail stays in the target');
  const target = await readEntry(tgt, m.plan.targetDn, [...names, 'targetAddress']);
  if (!target) throw refused(m, `the target user ${m.plan.targetDn} is gone`, 'the mail it received since cutover cannot be copied back');
  const targetServes = all(target, 'homeMDB').length > 0;
  const routedBack =
    sameValues(all(source, 'targetAddress'), saved.targetAddress) &&
    all(target, 'targetAddress').some((t) => lower(t) === lower(`SMTP:${m.sourceMail}`));
  if (!targetServes && !routedBack)
    throw refused(
      m,
      `the target user ${m.plan.targetDn} has no mailbox (homeMDB) while mail still routes to it`,
      'what it received since cutover could not be copied back: give it its mailbox attributes again, then batch rollback',
    );
  const restored = Object.entries(attributes)
    .filter(([a, v]) => !sameValues(all(source, a), v))
    .map(([attribute]) => ({ attribute, values: all(source, attribute) }));
  await modifyEntry(
    src,
    m.sourceDn,
    restored.map(({ attribute }) => ({ attribute, values: attributes[attribute] ?? [] })),
  );
  return { restored, targetServes };
}

/** Step 3's directory half: the source first, then the target. */
async function routeBack(m: MailboxRow, saved: SavedSource, src: Client, tgt: Client): Promise<void> {
  const source = await readEntry(src, m.sourceDn, ['targetAddress']);
  if (!sameValues(all(source, 'targetAddress'), saved.targetAddress))
    await modifyEntry(src, m.sourceDn, [{ attribute: 'targetAddress', values: saved.targetAddress }]);
  const route = `SMTP:${m.sourceMail}`;
  const target = await readEntry(tgt, m.plan.targetDn, ['targetAddress']);
  if (!sameValues(all(target, 'targetAddress'), [route]))
    await modifyEntry(tgt, m.plan.targetDn, [{ attribute: 'targetAddress', values: [route] }]);
}

/** Step 4: the target store no longer serves the user; mail on disk and the object stay. */
async function clearTarget(ctx: StepContext, m: MailboxRow, tgt: Client): Promise<void> {
  const names = mailboxAttributeNames(ctx.targetStore);
  const target = await readEntry(tgt, m.plan.targetDn, names);
  await modifyEntry(
    tgt,
    m.plan.targetDn,
    names.filter((a) => all(target, a).length > 0).map((attribute) => ({ attribute, values: [] })),
  );
}

/** One copy back (step 2 and 3's final one), each folder into the folder it came from. */
function copyBack(ctx: StepContext, m: MailboxRow, ep: { source: MailEndpoint; target: MailEndpoint }, pinned: Map<string, string>) {
  return copyMailbox({
    source: ep.target,
    target: ep.source,
    ...backward(m),
    store: ctx.store,
    options: reverseCopyOptions(copyOptions(ctx)),
    pinnedFolders: pinned,
    logger: ctx.logger,
    // We own the mailbox (its lease): a copy lease still standing is a dead process's.
    waitForLeaseMs: COPY_LEASE_TTL_MS + 5000,
    onProgress: (p) => ctx.emit({ type: 'progress', mailbox: m.sourceLogin, ...p }),
  });
}

/** Reverses the cutover of `m` (steps 1–5 above); the caller holds the mailbox and records the outcome. */
export async function rollback(ctx: StepContext, m: MailboxRow): Promise<RollbackOutcome> {
  const saved = m.saved;
  if (!saved)
    throw refused(m, 'it has no saved pre-cutover state', 'cutover saves it before it changes anything: this mailbox was never cut over');
  if (lower(m.sourceLogin) === lower(m.plan.targetLogin))
    throw refused(
      m,
      `its source and target logins are the same (${m.sourceLogin})`,
      'the copy state cannot tell the two directions apart: roll back by hand',
    );
  const ep = endpoints(ctx, m);
  const names = mailboxAttributeNames(ctx.targetStore);
  const found = await withDirectories(ctx.setup, (src, tgt) => restoreSource(m, saved, names, src.client, tgt.client));
  failpoint('rollback:source');
  let polls: number;
  try {
    polls = await waitUntilServed(ctx, ep.source, {
      mailbox: m.sourceLogin,
      what: `source store serves ${m.sourceLogin} again`,
      timedOut: (err, s) =>
        refused(
          m,
          `the source store did not serve ${m.sourceLogin} within ${s} s after its mailbox attributes were restored (${err.message})${found.restored.length ? '; they were taken off again, nothing changed' : ''}`,
          'check that the source store reads the user from its directory (lab: the Dovecot userdb filter on homeMDB), then batch rollback again',
        ),
    });
  } catch (err) {
    if (found.restored.length) await withDirectories(ctx.setup, (src) => modifyEntry(src.client, m.sourceDn, found.restored));
    throw err;
  }

  const passes: CopyReport[] = [];
  const pinned = found.targetServes ? (await mirrorCopyState(ctx.store, forward(m), { prune: false })).folders : new Map<string, string>();
  if (found.targetServes) passes.push(await copyBack(ctx, m, ep, pinned));
  failpoint('rollback:copied');
  await withDirectories(ctx.setup, (src, tgt) => routeBack(m, saved, src.client, tgt.client));
  failpoint('rollback:routed');
  const settle = found.targetServes ? settleSeconds(ctx.batch.options) : 0;
  if (settle > 0) {
    ctx.emit({
      type: 'wait',
      mailbox: m.sourceLogin,
      what: `rollback: mail routes to ${m.sourceMail} again; letting mail in flight reach the target first`,
      nextPollSeconds: settle,
    });
    await sleep(settle * 1000);
  }
  if (found.targetServes) passes.push(await copyBack(ctx, m, ep, pinned));
  await withDirectories(ctx.setup, (_src, tgt) => clearTarget(ctx, m, tgt.client));
  failpoint('rollback:target');
  const { pruned } = await mirrorCopyState(ctx.store, backward(m), { prune: true });
  return {
    copiedBack: passes.reduce((a, p) => a + p.totals.copied, 0),
    copiedBackBytes: passes.reduce((a, p) => a + p.totals.copiedBytes, 0),
    flagsUpdated: passes.reduce((a, p) => a + p.totals.flagsUpdated, 0),
    passes: passes.map((p) => p.totals),
    settleSeconds: settle,
    polls,
    forgotten: pruned,
  };
}
