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
export function insertBatch(s: StateStore, b: NewBatch, mailboxes: NewMailbox[]): number {
  return s.tx(() => {
    const id = Number(
      s.db
        .prepare(
          'INSERT INTO migration_batch (name, source_org, target_org, target_store, options, origin, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
        )
        .run(b.name, b.sourceOrg, b.targetOrg, b.targetStore, JSON.stringify(b.options), b.origin, now()).lastInsertRowid,
    );
    const ins = s.db.prepare(
      'INSERT INTO migration_mailbox (batch_id, name, source_dn, source_login, source_mail, plan, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    for (const m of mailboxes) ins.run(id, m.name, m.sourceDn, m.sourceLogin, m.sourceMail, JSON.stringify(m.plan), now());
    return id;
  });
}

export function batchByName(s: StateStore, name: string): Batch | undefined {
  const r = s.db.prepare('SELECT * FROM migration_batch WHERE name = ?').get(name) as BatchRowRaw | undefined;
  return r && toBatch(r);
}

export function allBatches(s: StateStore): Batch[] {
  return (s.db.prepare('SELECT * FROM migration_batch ORDER BY id').all() as BatchRowRaw[]).map(toBatch);
}

export function setBatchStatus(s: StateStore, id: number, status: BatchStatus): void {
  s.db
    .prepare(`UPDATE migration_batch SET status = ?, started_at = CASE WHEN ? = 'running' AND started_at IS NULL THEN ? ELSE started_at END,
      finished_at = CASE WHEN ? IN ('completed', 'completed-with-errors') THEN ? ELSE NULL END WHERE id = ?`)
    .run(status, status, now(), status, now(), id);
}

export function setCompleteRequested(s: StateStore, id: number): void {
  s.db.prepare('UPDATE migration_batch SET complete_requested = 1 WHERE id = ?').run(id);
}

export function setBatchOptions(s: StateStore, id: number, options: BatchOptions): void {
  s.db.prepare('UPDATE migration_batch SET options = ? WHERE id = ?').run(JSON.stringify(options), id);
}

export function setReportPath(s: StateStore, id: number, path: string): void {
  s.db.prepare('UPDATE migration_batch SET report_path = ? WHERE id = ?').run(path, id);
}

export function deleteBatch(s: StateStore, id: number): void {
  s.db.prepare('DELETE FROM migration_batch WHERE id = ?').run(id);
}

export function mailboxesOf(s: StateStore, batchId: number): MailboxRow[] {
  return (s.db.prepare('SELECT * FROM migration_mailbox WHERE batch_id = ? ORDER BY id').all(batchId) as MailboxRowRaw[]).map(toMailbox);
}

export function mailboxById(s: StateStore, id: number): MailboxRow | undefined {
  const r = s.db.prepare('SELECT * FROM migration_mailbox WHERE id = ?').get(id) as MailboxRowRaw | undefined;
  return r && toMailbox(r);
}

/** Mailboxes of any batch with this source login (lowercased), for "already in a batch" and rollback. */
export function mailboxesByLogin(s: StateStore, login: string): (MailboxRow & { batchName: string })[] {
  return (
    s.db
      .prepare(
        'SELECT m.*, b.name AS batch_name FROM migration_mailbox m JOIN migration_batch b ON b.id = m.batch_id WHERE lower(m.source_login) = lower(?) ORDER BY m.id',
      )
      .all(login) as (MailboxRowRaw & { batch_name: string })[]
  ).map((r) => ({ ...toMailbox(r), batchName: r.batch_name }));
}

/** Moves a mailbox to its next state; `extra` bookkeeping runs in the same transaction. */
export function advance(s: StateStore, id: number, state: MailboxState, extra?: () => void): void {
  s.tx(() => {
    s.db
      .prepare('UPDATE migration_mailbox SET state = ?, resume_state = NULL, error = NULL, updated_at = ? WHERE id = ?')
      .run(state, now(), id);
    extra?.();
  });
}

/** failed / suspended, remembering where to resume. */
export function park(s: StateStore, id: number, state: 'failed' | 'suspended', resumeState: PipelineState, error: string | null): void {
  s.db
    .prepare('UPDATE migration_mailbox SET state = ?, resume_state = ?, error = ?, updated_at = ? WHERE id = ?')
    .run(state, resumeState, error, now(), id);
}

/** Back to the last completed state (resume / retry-failed). */
export function unpark(s: StateStore, id: number): void {
  s.db
    .prepare(
      "UPDATE migration_mailbox SET state = resume_state, resume_state = NULL, updated_at = ? WHERE id = ? AND state IN ('failed', 'suspended')",
    )
    .run(now(), id);
}

export function setRolledBack(s: StateStore, id: number): void {
  s.db
    .prepare("UPDATE migration_mailbox SET state = 'copied', resume_state = NULL, saved = NULL, error = NULL, updated_at = ? WHERE id = ?")
    .run(now(), id);
}

export function recordCopy(
  s: StateStore,
  id: number,
  c: { messages: number; bytes: number; copied: number; copiedBytes: number; skipped: SkippedEntry[]; delta: boolean },
): void {
  s.db
    .prepare(`UPDATE migration_mailbox SET messages = ?, bytes = ?, copied = copied + ?, copied_bytes = copied_bytes + ?, skipped = ?,
      deltas = deltas + ?, updated_at = ? WHERE id = ?`)
    .run(c.messages, c.bytes, c.copied, c.copiedBytes, JSON.stringify(c.skipped), c.delta ? 1 : 0, now(), id);
}

export function recordSaved(s: StateStore, id: number, saved: SavedSource): void {
  s.db.prepare('UPDATE migration_mailbox SET saved = ? WHERE id = ?').run(JSON.stringify(saved), id);
}

export function recordVerify(s: StateStore, id: number, v: VerifyOutcome): void {
  s.db.prepare('UPDATE migration_mailbox SET verify = ?, fidelity = ? WHERE id = ?').run(JSON.stringify(v), v.fidelity, id);
}

export function startStep(s: StateStore, mailboxId: number, step: string): number {
  return Number(
    s.db
      .prepare("INSERT INTO migration_step (mailbox_id, step, started_at, status) VALUES (?, ?, ?, 'running')")
      .run(mailboxId, step, now()).lastInsertRowid,
  );
}

export function finishStep(
  s: StateStore,
  stepId: number,
  status: 'done' | 'failed',
  r: { messages?: number; bytes?: number; detail?: unknown } = {},
): void {
  s.db
    .prepare('UPDATE migration_step SET finished_at = ?, status = ?, messages = ?, bytes = ?, detail = ? WHERE id = ?')
    .run(now(), status, r.messages ?? 0, r.bytes ?? 0, r.detail === undefined ? null : JSON.stringify(r.detail), stepId);
}

export function stepsOf(s: StateStore, batchId: number): StepRecord[] {
  return (
    s.db
      .prepare(`SELECT st.mailbox_id, st.step, st.started_at, st.finished_at, st.status, st.messages, st.bytes, st.detail
        FROM migration_step st JOIN migration_mailbox m ON m.id = st.mailbox_id WHERE m.batch_id = ? ORDER BY st.id`)
      .all(batchId) as {
      mailbox_id: number;
      step: string;
      started_at: string;
      finished_at: string | null;
      status: string;
      messages: number;
      bytes: number;
      detail: string | null;
    }[]
  ).map((r) => ({
    mailboxId: r.mailbox_id,
    step: r.step,
    startedAt: r.started_at,
    finishedAt: r.finished_at,
    status: r.status,
    messages: r.messages,
    bytes: r.bytes,
    detail: r.detail ? JSON.parse(r.detail) : null,
  }));
}

/** Steps left 'running' by a process that died: marked failed so timings stay honest. */
export function closeDanglingSteps(s: StateStore, batchId: number): void {
  s.db
    .prepare(
      "UPDATE migration_step SET status = 'failed', finished_at = ?, detail = '\"interrupted\"' WHERE status = 'running' AND mailbox_id IN (SELECT id FROM migration_mailbox WHERE batch_id = ?)",
    )
    .run(now(), batchId);
}

/** Copy and delta passes measured in any batch (but `exceptBatch`): messages, bytes, milliseconds. */
export function measuredPasses(s: StateStore, exceptBatch?: number): { messages: number; bytes: number; ms: number }[] {
  return (
    s.db
      .prepare(`SELECT st.messages, st.bytes, st.started_at, st.finished_at FROM migration_step st JOIN migration_mailbox m ON m.id = st.mailbox_id
        WHERE st.step IN ('copy', 'delta') AND st.status = 'done' AND st.messages > 0 AND m.batch_id IS NOT ?`)
      .all(exceptBatch ?? null) as { messages: number; bytes: number; started_at: string; finished_at: string }[]
  ).map((r) => ({ messages: r.messages, bytes: r.bytes, ms: Date.parse(r.finished_at) - Date.parse(r.started_at) }));
}

/** Finished steps of the given kinds in any batch (but `exceptBatch`): which mailbox, which step, milliseconds. */
export function measuredSteps(
  s: StateStore,
  steps: readonly string[],
  exceptBatch?: number,
): { mailboxId: number; step: string; ms: number }[] {
  return (
    s.db
      .prepare(`SELECT st.mailbox_id, st.step, st.started_at, st.finished_at FROM migration_step st JOIN migration_mailbox m ON m.id = st.mailbox_id
        WHERE st.status = 'done' AND st.step IN (SELECT value FROM json_each(?)) AND m.batch_id IS NOT ?`)
      .all(JSON.stringify(steps), exceptBatch ?? null) as { mailbox_id: number; step: string; started_at: string; finished_at: string }[]
  ).map((r) => ({ mailboxId: r.mailbox_id, step: r.step, ms: Date.parse(r.finished_at) - Date.parse(r.started_at) }));
}

export function addSample(s: StateStore, batchId: number, messages: number, bytes: number): void {
  s.db.prepare('INSERT INTO migration_sample (batch_id, at, messages, bytes) VALUES (?, ?, ?, ?)').run(batchId, now(), messages, bytes);
}

export function samplesOf(s: StateStore, batchId: number): { at: string; messages: number; bytes: number }[] {
  return s.db.prepare('SELECT at, messages, bytes FROM migration_sample WHERE batch_id = ? ORDER BY at').all(batchId) as {
    at: string;
    messages: number;
    bytes: number;
  }[];
}
