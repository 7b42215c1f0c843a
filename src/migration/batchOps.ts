// Batch operations besides running: suspend, resume preparation, complete, remove,
// rollback of one mailbox's cutover.

import type { StateStore } from '../state/store.ts';
import { deleteBatch, mailboxesByLogin, mailboxesOf, setBatchOptions, setCompleteRequested, setRolledBack } from './batchStore.ts';
import { rollback } from './cutover.ts';
import { passwordKey, sealedInitialPassword, unseal } from './initialPassword.ts';
import { batchOrThrow } from './runner.ts';
import { MigrationError, type MigrationSetup } from './setup.ts';
import { type MailboxRow, pipelineStage } from './types.ts';
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

/** Cut over and not cleaned up, or a cutover stopped half-way (pre-cutover state saved, still at copied). */
const canRollBack = (m: MailboxRow): boolean => pipelineStage(m) === 'cutover' || (pipelineStage(m) === 'copied' && m.saved !== null);

/** Rolls back the cutover of a mailbox that has not been cleaned up. */
export async function rollbackMailbox(
  setup: MigrationSetup,
  store: StateStore,
  login: string,
): Promise<MailboxRow & { batchName: string }> {
  const rows = await mailboxesByLogin(store, login);
  const m = rows.find(canRollBack);
  if (!m) {
    const where = rows.map((r) => `${r.batchName}: ${r.state}${r.resumeState ? ` at ${r.resumeState}` : ''}`).join(', ') || 'in no batch';
    throw new MigrationError('CF_ERR_ROLLBACK', `${login} has no cutover to roll back (${where})`, {
      object: login,
      hint: 'only a cutover that has not been cleaned up can be rolled back',
    });
  }
  await rollback({ setup }, m);
  await setRolledBack(store, m.id);
  return m;
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
