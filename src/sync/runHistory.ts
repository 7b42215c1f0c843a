// Run history in the state store: one row per run (a profile), its counts and steps,
// and every per-object error with the DN and the reason. One query per function.
import type { StateStore } from '../state/store.ts';
import type { ObjectError, RunCounts } from './types.ts';

export type RunStatus = 'running' | 'success' | 'completed-with-errors' | 'stopped' | 'failed';

export interface StepRecord {
  step: string;
  agent: string | undefined;
  startedAt: string;
  endedAt: string;
  counts: RunCounts;
  /** objects per second of this step */
  rate: number;
  message?: string;
}

export interface RunRecord {
  id: number;
  profile: string;
  startedAt: string;
  endedAt: string | null;
  status: RunStatus;
  counts: Partial<RunCounts>;
  steps: StepRecord[];
  message: string | null;
}

export async function startRun(s: StateStore, profile: string): Promise<number> {
  const r = await s.sql.get<{ id: number }>("INSERT INTO sync_run (profile, started_at, status) VALUES (?, ?, 'running') RETURNING id", [
    profile,
    new Date().toISOString(),
  ]);
  return Number(r?.id);
}

export async function finishRun(
  s: StateStore,
  id: number,
  status: RunStatus,
  counts: RunCounts,
  steps: StepRecord[],
  message: string | null,
): Promise<void> {
  await s.sql.run('UPDATE sync_run SET ended_at = ?, status = ?, counts = ?, steps = ?, message = ? WHERE id = ?', [
    new Date().toISOString(),
    status,
    JSON.stringify(counts),
    JSON.stringify(steps),
    message,
    id,
  ]);
}

export async function addRunError(s: StateStore, runId: number, e: ObjectError): Promise<void> {
  await s.sql.run('INSERT INTO sync_run_error (run_id, agent, dn, code, reason, at) VALUES (?, ?, ?, ?, ?, ?)', [
    runId,
    e.agent,
    e.dn,
    e.code,
    e.reason,
    new Date().toISOString(),
  ]);
}

interface RunRow {
  id: number;
  profile: string;
  started_at: string;
  ended_at: string | null;
  status: RunStatus;
  counts: string;
  steps: string;
  message: string | null;
}

const RUN_COLS = 'id, profile, started_at, ended_at, status, counts, steps, message';

function toRun(r: RunRow): RunRecord {
  return {
    id: r.id,
    profile: r.profile,
    startedAt: r.started_at,
    endedAt: r.ended_at,
    status: r.status,
    counts: JSON.parse(r.counts) as Partial<RunCounts>,
    steps: JSON.parse(r.steps) as StepRecord[],
    message: r.message,
  };
}

export async function listRuns(s: StateStore, limit: number): Promise<RunRecord[]> {
  return (await s.sql.all<RunRow>(`SELECT ${RUN_COLS} FROM sync_run ORDER BY id DESC LIMIT ?`, [limit])).map(toRun);
}

export async function getRun(s: StateStore, id: number): Promise<RunRecord | undefined> {
  const r = await s.sql.get<RunRow>(`SELECT ${RUN_COLS} FROM sync_run WHERE id = ?`, [id]);
  return r && toRun(r);
}

export function runErrors(s: StateStore, runId: number): Promise<(ObjectError & { at: string })[]> {
  return s.sql.all<ObjectError & { at: string }>('SELECT agent, dn, code, reason, at FROM sync_run_error WHERE run_id = ? ORDER BY id', [
    runId,
  ]);
}

export async function getWatermark(s: StateStore, agent: string, kind: string): Promise<string | undefined> {
  return (await s.sql.get<{ value: string }>('SELECT value FROM sync_watermark WHERE agent = ? AND kind = ?', [agent, kind]))?.value;
}

export async function setWatermark(s: StateStore, agent: string, kind: string, value: string): Promise<void> {
  await s.sql.run(
    'INSERT INTO sync_watermark (agent, kind, value) VALUES (?, ?, ?) ON CONFLICT(agent, kind) DO UPDATE SET value = excluded.value',
    [agent, kind, value],
  );
}
