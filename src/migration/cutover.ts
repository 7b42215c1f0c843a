// Cutover: a final delta, the mailbox compared while the source still serves it, then
// the directory switch: the target user loses its targetAddress (mail is delivered to
// the new mailbox), the source user becomes mail-enabled (targetAddress = the target's
// primary address, homeMDB removed so it can no longer log in; every address kept; the
// mailbox itself is never deleted: "do not delete in case you need to reconnect later").
// What the source had is saved first, so rollback and a re-run after a crash both know it.
import type { Client } from 'ldapts';
import { modifyEntry } from '../directory/export.ts';
import { readEntry } from '../directory/import.ts';
import { verifyMailbox } from '../mail/verify.ts';
import { lower } from './addresses.ts';
import { mailboxById, recordSaved, recordVerify } from './batchStore.ts';
import { failpoint } from './failpoint.ts';
import { all } from './resolve.ts';
import { MigrationError, withDirectories } from './setup.ts';
import { copyOptions, endpoints, type StepContext } from './stepContext.ts';
import type { MailboxRow, SavedSource, VerifyOutcome } from './types.ts';

/** The mailbox compared (copy engine's verify) before the source is disconnected. */
export async function mailboxSnapshot(ctx: StepContext, m: MailboxRow): Promise<VerifyOutcome> {
  const ep = endpoints(ctx, m);
  const r = await verifyMailbox({ ...ep, sourceMailbox: m.sourceLogin, targetMailbox: m.plan.targetLogin, options: copyOptions(ctx), logger: ctx.logger });
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

export async function switchDirectory(ctx: StepContext, m: MailboxRow, src: Client, tgt: Client): Promise<SavedSource> {
  const source = await readEntry(src, m.sourceDn, ['homeMDB', 'targetAddress']);
  if (!source) throw new MigrationError('CF_ERR_CUTOVER', `source user ${m.sourceDn} is gone`, { object: m.sourceDn });
  // Saved once, before anything changes: a re-run after a crash must not save the half-switched state.
  let saved = mailboxById(ctx.store, m.id)?.saved ?? null;
  if (!saved) {
    saved = { homeMDB: all(source, 'homeMDB'), targetAddress: all(source, 'targetAddress') };
    recordSaved(ctx.store, m.id, saved);
  }
  const target = await readEntry(tgt, m.plan.targetDn, ['homeMDB', 'targetAddress']);
  if (!target || !all(target, 'homeMDB').length) throw new MigrationError('CF_ERR_CUTOVER', `target user ${m.plan.targetDn} has no mailbox`, { object: m.plan.targetDn, hint: 'pre-stage did not finish: batch retry-failed' });
  if (all(target, 'targetAddress').length) await modifyEntry(tgt, m.plan.targetDn, [{ attribute: 'targetAddress', values: [] }]);
  failpoint('cutover:target');
  const route = `SMTP:${m.plan.targetPrimary}`;
  const changes = [];
  if (!all(source, 'targetAddress').some((t) => lower(t) === lower(route))) changes.push({ attribute: 'targetAddress', values: [route] });
  if (all(source, 'homeMDB').length) changes.push({ attribute: 'homeMDB', values: [] });
  await modifyEntry(src, m.sourceDn, changes);
  failpoint('cutover:source');
  return saved;
}

export async function cutover(ctx: StepContext, m: MailboxRow): Promise<{ snapshot: VerifyOutcome | null; saved: SavedSource }> {
  // After a crash past the switch the source no longer serves the mailbox: the snapshot
  // taken before it stands (a null here keeps the recorded one).
  let snapshot: VerifyOutcome | null = null;
  const already = mailboxById(ctx.store, m.id)?.saved;
  if (!already) {
    snapshot = await mailboxSnapshot(ctx, m);
    recordVerify(ctx.store, m.id, snapshot);
  }
  const saved = await withDirectories(ctx.setup, (src, tgt) => switchDirectory(ctx, m, src.client, tgt.client));
  return { snapshot, saved };
}

/** Reverses a cutover that has not been cleaned up: the source serves the mailbox again, mail routes back to it. */
export async function rollback(ctx: Pick<StepContext, 'setup'>, m: MailboxRow): Promise<void> {
  if (!m.saved) throw new MigrationError('CF_ERR_ROLLBACK', `${m.sourceLogin} has no saved pre-cutover state`, { object: m.sourceLogin });
  const saved = m.saved;
  await withDirectories(ctx.setup, async (src, tgt) => {
    await modifyEntry(src.client, m.sourceDn, [
      { attribute: 'homeMDB', values: saved.homeMDB },
      { attribute: 'targetAddress', values: saved.targetAddress },
    ]);
    await modifyEntry(tgt.client, m.plan.targetDn, [{ attribute: 'targetAddress', values: [`SMTP:${m.sourceMail}`] }]);
  });
}
