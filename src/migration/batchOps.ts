// Batch operations besides running: suspend, resume preparation, complete, remove,
// rollback of one mailbox's cutover (the effect in rollback.ts).

import { type StateStore, workerName } from '../state/store.ts';
import { CrossforestError, describeError } from '../util/errors.ts';
import { type Logger, silentLogger } from '../util/logger.ts';
import { withBatchLease } from './batchLease.ts';
import {
  deleteBatch,
  finishStep,
  mailboxById,
  mailboxesByLogin,
  mailboxesOf,
  setBatchOptions,
  setCompleteRequested,
  setRolledBack,
  startStep,
} from './batchStore.ts';
import { passwordKey, sealedInitialPassword, unseal } from './initialPassword.ts';
import { claimMailbox } from './mailboxLease.ts';
import { ROLLBACK_STAGES, type RollbackOutcome, rollback } from './rollback.ts';
import { batchOrThrow } from './runner.ts';
import { MigrationError, type MigrationSetup, targetStoreOf } from './setup.ts';
import { type MailboxRow, pipelineStage, type RunEvent } from './types.ts';
import { windowState } from './window.ts';

/** Closes the batch's window now: a running batch suspends after the current steps. */
export async function suspendBatch(store: StateStore, name: string): Promise<void> {
  const b = await batchOrThrow(store, name);
  await setBatchOptions(store, b.id, { ...b.options, windowStop: new Date().toISOString() });
}

/** Re-opens a window closed by suspend or elapsed, so `resume` can go on. */
export async function reopenWindow(store: StateStore, name: string): Promise<void> {
  const b = await batchOrThrow(store, name);
  if (windowState(b.options, new Date()).state === 'after') await setBatchOptions(store, b.id, { ...b.options, windowStop: undefined });
}

export async function requestComplete(store: StateStore, name: string): Promise<void> {
  await setCompleteRequested(store, (await batchOrThrow(store, name)).id);
}

const MIDWAY = new Set(['prestaged', 'copied', 'cutover', 'cleaned', 'verified']);

export async function removeBatch(store: StateStore, name: string, force: boolean): Promise<MailboxRow[]> {
  const b = await batchOrThrow(store, name);
  const mid = (await mailboxesOf(store, b.id)).filter((m) => MIDWAY.has(m.state) || (m.resumeState !== null && MIDWAY.has(m.resumeState)));
  if (mid.length && !force) {
    throw new MigrationError(
      'CF_ERR_BATCH_BUSY',
      `batch ${name} has ${mid.length} mailboxes between pre-stage and done (${mid
        .slice(0, 5)
        .map((m) => `${m.sourceLogin}: ${m.state}`)
        .join(', ')})`,
      {
        object: name,
        hint: 'finish or roll them back first; --force forgets the batch and leaves the directory objects as they are',
      },
    );
  }
  await deleteBatch(store, b.id);
  return mid;
}

/** Cut over (cutover to done), or a cutover stopped half-way (still copied, the pre-cutover state saved). */
function canRollBack(m: MailboxRow): boolean {
  const stage = pipelineStage(m);
  return stage !== null && (ROLLBACK_STAGES.includes(stage) || (stage === 'copied' && m.saved !== null));
}

const refusal = (login: string, reason: string, hint: string): MigrationError =>
  new MigrationError('CF_ERR_ROLLBACK', `rollback of ${login} refused: ${reason}`, { object: login, hint });

export type RolledBack = MailboxRow & { batchName: string; outcome: RollbackOutcome };

/**
 * Rolls back the cutover of a mailbox (its latest batch row; rollback.ts says how), holding
 * the batch's lease and the mailbox's, so no runner or worker moves it meanwhile. Recorded
 * as a `rollback` step with the messages copied back. Then the mailbox is `queued` again, its
 * forward copy state kept: the target user has no mailbox any more, so a later `batch start`
 * (or resume) pre-stages it again (mailbox-enables it, waits for the store) and copies only
 * what is new in the source since (what was copied back is in the forward map already), then
 * cuts over as the first time, saving the pre-cutover state afresh. A failed rollback leaves
 * the state as it was, with the failed step recorded: run it again, it continues.
 */
export async function rollbackMailbox(
  setup: MigrationSetup,
  store: StateStore,
  login: string,
  opts: { logger?: Logger; emit?: (e: RunEvent) => void } = {},
): Promise<RolledBack> {
  const m = (await mailboxesByLogin(store, login)).at(-1);
  if (!m || !canRollBack(m)) {
    const where = m ? `${m.batchName}: ${m.state}${m.resumeState ? ` at ${m.resumeState}` : ''}` : 'in no batch';
    throw new MigrationError('CF_ERR_ROLLBACK', `${login} has no cutover to roll back (${where})`, {
      object: login,
      hint: 'a rollback starts from a cutover: states cutover, cleaned, verified, done, or copied after a cutover stopped half-way',
    });
  }
  const batch = await batchOrThrow(store, m.batchName);
  if (batch.detached && (batch.status === 'created' || batch.status === 'running'))
    throw refusal(m.sourceLogin, `batch ${batch.name} is being run by the queue's workers`, `batch suspend ${batch.name} first`);
  const run = async (): Promise<RolledBack> => {
    const claim = await claimMailbox(store, m.id, m.sourceLogin);
    if (!claim) throw refusal(m.sourceLogin, 'another process is working on this mailbox', `batch suspend ${batch.name}, then roll back`);
    try {
      // Read again under the lease: a runner may have moved it since.
      const now = await mailboxById(store, m.id);
      if (!now || !canRollBack(now)) throw refusal(m.sourceLogin, `it is ${now?.state ?? 'gone'} now`, 'batch show');
      const ctx = {
        setup,
        store,
        batch,
        targetStore: targetStoreOf(setup, batch.targetStore),
        logger: (opts.logger ?? silentLogger).child({ scope: 'rollback', batch: batch.name, mailbox: m.sourceLogin }),
        emit: opts.emit ?? (() => {}),
        claim,
      };
      const stepId = await startStep(store, m.id, 'rollback', workerName());
      let outcome: RollbackOutcome;
      try {
        outcome = await rollback(ctx, now);
      } catch (err) {
        if (!claim.lost()) await finishStep(store, stepId, 'failed', { detail: { error: describeError(err) } });
        throw err;
      }
      await claim.assertHeld();
      await store.sql.tx(async () => {
        await finishStep(store, stepId, 'done', { messages: outcome.copiedBack, bytes: outcome.copiedBackBytes, detail: outcome });
        await setRolledBack(store, m.id);
      });
      return { ...now, batchName: m.batchName, state: 'queued', outcome };
    } finally {
      await claim.release();
    }
  };
  return withBatchLease(store, batch.name, run).catch((err: unknown) => {
    if (err instanceof CrossforestError && err.code === 'CF_ERR_BATCH_RUNNING')
      throw refusal(m.sourceLogin, err.message, err.hint ?? `batch suspend ${batch.name}`);
    throw err;
  });
}

/** The initial password pre-stage gave a new AD user, opened for an operator (`batch password`); never logged. */
export async function initialPasswordOf(
  setup: MigrationSetup,
  store: StateStore,
  login: string,
): Promise<{ login: string; targetLogin: string; password: string }> {
  const rows = await mailboxesByLogin(store, login);
  for (const m of rows) {
    const sealed = await sealedInitialPassword(store, m.id);
    if (sealed) return { login: m.sourceLogin, targetLogin: m.plan.targetLogin, password: unseal(passwordKey(setup), m.id, sealed) };
  }
  throw new MigrationError('CF_ERR_INITIAL_PASSWORD', `${login} has no initial password in the state store`, {
    object: login,
    hint: rows.length
      ? 'only users pre-stage created in Active Directory get one (an adopted user or an OpenLDAP target keeps its own)'
      : 'no batch holds this login: batch list',
  });
}
