// Batches and per-mailbox pipeline state in the state store: one query per function.
import type { StateStore } from '../state/store.ts';
import type {
  Batch,
  BatchOptions,
  BatchStatus,
  MailboxRow,
  MailboxState,
  PipelineState,
  PrestagePlan,
  SavedSource,
  SkippedEntry,
  StepRecord,
  VerifyOutcome,
} from './types.ts';

const now = (): string => new Date().toISOString();

interface BatchRowRaw {
  id: number;
  name: string;
  source_org: string;
  target_org: string;
  target_store: string;
  options: string;
  origin: string;
  status: BatchStatus;
  complete_requested: number;
  created_at: string;
  started_at: string | null;
  finished_at: string | null;
  report_path: string | null;
  detached: number;
}

function toBatch(r: BatchRowRaw): Batch {
  return {
    id: r.id,
    name: r.name,
    sourceOrg: r.source_org,
    targetOrg: r.target_org,
    targetStore: r.target_store,
    options: JSON.parse(r.options) as BatchOptions,
    origin: r.origin,
    status: r.status,
    completeRequested: r.complete_requested === 1,
    createdAt: r.created_at,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    reportPath: r.report_path,
    detached: r.detached === 1,
  };
}

interface MailboxRowRaw {
  id: number;
  batch_id: number;
  name: string;
  source_dn: string;
  source_login: string;
  source_mail: string;
  plan: string;
  state: MailboxState;
  resume_state: PipelineState | null;
  deltas: number;
  error: string | null;
  saved: string | null;
  messages: number;
  bytes: number;
  copied: number;
  copied_bytes: number;
  skipped: string;
  fidelity: number | null;
  verify: string | null;
  updated_at: string;
}

function toMailbox(r: MailboxRowRaw): MailboxRow {
  return {
    id: r.id,
    batchId: r.batch_id,
    name: r.name,
    sourceDn: r.source_dn,
    sourceLogin: r.source_login,
    sourceMail: r.source_mail,
    plan: JSON.parse(r.plan) as PrestagePlan,
    state: r.state,
    resumeState: r.resume_state,
    deltas: r.deltas,
    error: r.error,
    saved: r.saved ? (JSON.parse(r.saved) as SavedSource) : null,
    messages: r.messages,
    bytes: r.bytes,
    copied: r.copied,
    copiedBytes: r.copied_bytes,
    skipped: JSON.parse(r.skipped) as SkippedEntry[],
    fidelity: r.fidelity,
    verify: r.verify ? (JSON.parse(r.verify) as VerifyOutcome) : null,
    updatedAt: r.updated_at,
  };
}

export interface NewBatch {
  name: string;
  sourceOrg: string;
  targetOrg: string;
  targetStore: string;
  options: BatchOptions;
  origin: string;
}

export interface NewMailbox {
  name: string;
  sourceDn: string;
  sourceLogin: string;
  sourceMail: string;
  plan: PrestagePlan;
}

/** Creates the batch and its mailboxes in one transaction. */
export function insertBatch(s: StateStore, b: NewBatch, mailboxes: NewMailbox[]): Promise<number> {
  return s.sql.tx(async () => {
    const row = await s.sql.get<{ id: number }>(
      'INSERT INTO migration_batch (name, source_org, target_org, target_store, options, origin, created_at) VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id',
      [b.name, b.sourceOrg, b.targetOrg, b.targetStore, JSON.stringify(b.options), b.origin, now()],
    );
    const id = Number(row?.id);
    for (const m of mailboxes) {
      await s.sql.run(
        'INSERT INTO migration_mailbox (batch_id, name, source_dn, source_login, source_mail, plan, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        [id, m.name, m.sourceDn, m.sourceLogin, m.sourceMail, JSON.stringify(m.plan), now()],
      );
    }
    return id;
  });
}

export async function batchByName(s: StateStore, name: string): Promise<Batch | undefined> {
  const r = await s.sql.get<BatchRowRaw>('SELECT * FROM migration_batch WHERE name = ?', [name]);
  return r && toBatch(r);
}

export async function batchById(s: StateStore, id: number): Promise<Batch | undefined> {
  const r = await s.sql.get<BatchRowRaw>('SELECT * FROM migration_batch WHERE id = ?', [id]);
  return r && toBatch(r);
}

export async function allBatches(s: StateStore): Promise<Batch[]> {
  return (await s.sql.all<BatchRowRaw>('SELECT * FROM migration_batch ORDER BY id')).map(toBatch);
}

export async function setBatchStatus(s: StateStore, id: number, status: BatchStatus): Promise<void> {
  const at = now();
  const started = status === 'running' ? at : null;
  const finished = status === 'completed' || status === 'completed-with-errors' ? at : null;
  await s.sql.run('UPDATE migration_batch SET status = ?, started_at = COALESCE(started_at, ?), finished_at = ? WHERE id = ?', [
    status,
    started,
    finished,
    id,
  ]);
}

/** Marks a batch as worked by the queue's workers (`batch start --detach`), or by one process again. */
export async function setDetached(s: StateStore, id: number, detached: boolean): Promise<void> {
  await s.sql.run('UPDATE migration_batch SET detached = ? WHERE id = ?', [detached ? 1 : 0, id]);
}

export async function setCompleteRequested(s: StateStore, id: number): Promise<void> {
  await s.sql.run('UPDATE migration_batch SET complete_requested = 1 WHERE id = ?', [id]);
}

export async function setBatchOptions(s: StateStore, id: number, options: BatchOptions): Promise<void> {
  await s.sql.run('UPDATE migration_batch SET options = ? WHERE id = ?', [JSON.stringify(options), id]);
}

export async function setReportPath(s: StateStore, id: number, path: string): Promise<void> {
  await s.sql.run('UPDATE migration_batch SET report_path = ? WHERE id = ?', [path, id]);
}

export async function deleteBatch(s: StateStore, id: number): Promise<void> {
  await s.sql.run('DELETE FROM migration_batch WHERE id = ?', [id]);
}

export async function mailboxesOf(s: StateStore, batchId: number): Promise<MailboxRow[]> {
  return (await s.sql.all<MailboxRowRaw>('SELECT * FROM migration_mailbox WHERE batch_id = ? ORDER BY id', [batchId])).map(toMailbox);
}

export async function mailboxById(s: StateStore, id: number): Promise<MailboxRow | undefined> {
  const r = await s.sql.get<MailboxRowRaw>('SELECT * FROM migration_mailbox WHERE id = ?', [id]);
  return r && toMailbox(r);
}

/** Mailboxes of any batch with this source login (lowercased), for "already in a batch" and rollback. */
export async function mailboxesByLogin(s: StateStore, login: string): Promise<(MailboxRow & { batchName: string })[]> {
  const rows = await s.sql.all<MailboxRowRaw & { batch_name: string }>(
    'SELECT m.*, b.name AS batch_name FROM migration_mailbox m JOIN migration_batch b ON b.id = m.batch_id WHERE lower(m.source_login) = lower(?) ORDER BY m.id',
    [login],
  );
  return rows.map((r) => ({ ...toMailbox(r), batchName: r.batch_name }));
}

/** Moves a mailbox to its next state; `extra` bookkeeping runs in the same transaction. */
export function advance(s: StateStore, id: number, state: MailboxState, extra?: () => Promise<void>): Promise<void> {
  return s.sql.tx(async () => {
    await s.sql.run('UPDATE migration_mailbox SET state = ?, resume_state = NULL, error = NULL, updated_at = ? WHERE id = ?', [
      state,
      now(),
      id,
    ]);
    await extra?.();
  });
}

/** failed / suspended, remembering where to resume. */
export async function park(
  s: StateStore,
  id: number,
  state: 'failed' | 'suspended',
  resumeState: PipelineState,
  error: string | null,
): Promise<void> {
  await s.sql.run('UPDATE migration_mailbox SET state = ?, resume_state = ?, error = ?, updated_at = ? WHERE id = ?', [
    state,
    resumeState,
    error,
    now(),
    id,
  ]);
}

/** Back to the last completed state (resume / retry-failed). */
export async function unpark(s: StateStore, id: number): Promise<void> {
  await s.sql.run(
    "UPDATE migration_mailbox SET state = resume_state, resume_state = NULL, updated_at = ? WHERE id = ? AND state IN ('failed', 'suspended')",
    [now(), id],
  );
}

/**
 * A rolled-back mailbox starts over at `queued` (its target user has no mailbox any more, so
 * pre-stage must enable it again); the saved pre-cutover state is forgotten, the next cutover
 * saves its own. The copy state is not touched: the next copy is a delta.
 */
export async function setRolledBack(s: StateStore, id: number): Promise<void> {
  await s.sql.run(
    "UPDATE migration_mailbox SET state = 'queued', resume_state = NULL, saved = NULL, error = NULL, updated_at = ? WHERE id = ?",
    [now(), id],
  );
}

export async function recordCopy(
  s: StateStore,
  id: number,
  c: { messages: number; bytes: number; copied: number; copiedBytes: number; skipped: SkippedEntry[]; delta: boolean },
): Promise<void> {
  await s.sql.run(
    `UPDATE migration_mailbox SET messages = ?, bytes = ?, copied = copied + ?, copied_bytes = copied_bytes + ?, skipped = ?,
      deltas = deltas + ?, updated_at = ? WHERE id = ?`,
    [c.messages, c.bytes, c.copied, c.copiedBytes, JSON.stringify(c.skipped), c.delta ? 1 : 0, now(), id],
  );
}

export async function recordSaved(s: StateStore, id: number, saved: SavedSource): Promise<void> {
  await s.sql.run('UPDATE migration_mailbox SET saved = ? WHERE id = ?', [JSON.stringify(saved), id]);
}

export async function recordVerify(s: StateStore, id: number, v: VerifyOutcome): Promise<void> {
  await s.sql.run('UPDATE migration_mailbox SET verify = ?, fidelity = ? WHERE id = ?', [JSON.stringify(v), v.fidelity, id]);
}

/** A step begins; `worker` (host:pid) is who runs it. */
export async function startStep(s: StateStore, mailboxId: number, step: string, worker: string): Promise<number> {
  const row = await s.sql.get<{ id: number }>(
    "INSERT INTO migration_step (mailbox_id, step, started_at, status, worker) VALUES (?, ?, ?, 'running', ?) RETURNING id",
    [mailboxId, step, now(), worker],
  );
  return Number(row?.id);
}

export async function finishStep(
  s: StateStore,
  stepId: number,
  status: 'done' | 'failed',
  r: { messages?: number; bytes?: number; detail?: unknown } = {},
): Promise<void> {
  await s.sql.run('UPDATE migration_step SET finished_at = ?, status = ?, messages = ?, bytes = ?, detail = ? WHERE id = ?', [
    now(),
    status,
    r.messages ?? 0,
    r.bytes ?? 0,
    r.detail === undefined ? null : JSON.stringify(r.detail),
    stepId,
  ]);
}

export async function stepsOf(s: StateStore, batchId: number): Promise<StepRecord[]> {
  const rows = await s.sql.all<{
    mailbox_id: number;
    step: string;
    started_at: string;
    finished_at: string | null;
    status: string;
    messages: number;
    bytes: number;
    detail: string | null;
    worker: string | null;
  }>(
    `SELECT st.mailbox_id, st.step, st.started_at, st.finished_at, st.status, st.messages, st.bytes, st.detail, st.worker
        FROM migration_step st JOIN migration_mailbox m ON m.id = st.mailbox_id WHERE m.batch_id = ? ORDER BY st.id`,
    [batchId],
  );
  return rows.map((r) => ({
    mailboxId: r.mailbox_id,
    step: r.step,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    status: r.status,
    messages: r.messages,
    bytes: r.bytes,
    detail: r.detail ? JSON.parse(r.detail) : null,
    worker: r.worker,
  }));
}

/** Steps left 'running' by a process that died: marked failed so timings stay honest. */
export async function closeDanglingSteps(s: StateStore, batchId: number): Promise<void> {
  await s.sql.run(
    "UPDATE migration_step SET status = 'failed', finished_at = ?, detail = '\"interrupted\"' WHERE status = 'running' AND mailbox_id IN (SELECT id FROM migration_mailbox WHERE batch_id = ?)",
    [now(), batchId],
  );
}

/** The same for one mailbox, once its lease is ours: whatever ran its step before has died. */
export async function closeDanglingStepsOf(s: StateStore, mailboxId: number): Promise<void> {
  await s.sql.run(
    "UPDATE migration_step SET status = 'failed', finished_at = ?, detail = '\"interrupted\"' WHERE status = 'running' AND mailbox_id = ?",
    [now(), mailboxId],
  );
}

// `exceptBatch` absent means every batch; -1 is no batch id, so one statement serves both
// engines (SQLite's `IS NOT ?` has no portable spelling).
const except = (batchId?: number): number => batchId ?? -1;

/** Copy and delta passes measured in any batch (but `exceptBatch`): messages, bytes, milliseconds. */
export async function measuredPasses(s: StateStore, exceptBatch?: number): Promise<{ messages: number; bytes: number; ms: number }[]> {
  const rows = await s.sql.all<{ messages: number; bytes: number; started_at: string; finished_at: string }>(
    `SELECT st.messages, st.bytes, st.started_at, st.finished_at FROM migration_step st JOIN migration_mailbox m ON m.id = st.mailbox_id
        WHERE st.step IN ('copy', 'delta') AND st.status = 'done' AND st.messages > 0 AND m.batch_id <> ?`,
    [except(exceptBatch)],
  );
  return rows.map((r) => ({ messages: r.messages, bytes: r.bytes, ms: Date.parse(r.finished_at) - Date.parse(r.started_at) }));
}

/** Finished steps of the given kinds in any batch (but `exceptBatch`): which mailbox, which step, milliseconds. */
export async function measuredSteps(
  s: StateStore,
  steps: readonly string[],
  exceptBatch?: number,
): Promise<{ mailboxId: number; step: string; ms: number }[]> {
  if (steps.length === 0) return [];
  const rows = await s.sql.all<{ mailbox_id: number; step: string; started_at: string; finished_at: string }>(
    `SELECT st.mailbox_id, st.step, st.started_at, st.finished_at FROM migration_step st JOIN migration_mailbox m ON m.id = st.mailbox_id
        WHERE st.status = 'done' AND st.step IN (${steps.map(() => '?').join(', ')}) AND m.batch_id <> ?`,
    [...steps, except(exceptBatch)],
  );
  return rows.map((r) => ({ mailboxId: r.mailbox_id, step: r.step, ms: Date.parse(r.finished_at) - Date.parse(r.started_at) }));
}

export async function addSample(s: StateStore, batchId: number, messages: number, bytes: number): Promise<void> {
  await s.sql.run('INSERT INTO migration_sample (batch_id, at, messages, bytes) VALUES (?, ?, ?, ?)', [batchId, now(), messages, bytes]);
}

export function samplesOf(s: StateStore, batchId: number): Promise<{ at: string; messages: number; bytes: number }[]> {
  return s.sql.all('SELECT at, messages, bytes FROM migration_sample WHERE batch_id = ? ORDER BY at', [batchId]);
}
