// Run history in the state store: one row per run (a profile), its counts and steps,
// and every per-object error with the DN and the reason. One query per function.
import type { StateStore } from '../state/store.ts';
import { sql } from './sql.ts';
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

export function startRun(s: StateStore, profile: string): number {
  return Number(
    sql(s, "INSERT INTO sync_run (profile, started_at, status) VALUES (?, ?, 'running')").run(profile, new Date().toISOString())
      .lastInsertRowid,
  );
}

export function finishRun(
  s: StateStore,
  id: number,
  status: RunStatus,
  counts: RunCounts,
  steps: StepRecord[],
  message: string | null,
): void {
  sql(s, 'UPDATE sync_run SET ended_at = ?, status = ?, counts = ?, steps = ?, message = ? WHERE id = ?').run(
    new Date().toISOString(),
    status,
    JSON.stringify(counts),
    JSON.stringify(steps),
    message,
    id,
  );
}

export function addRunError(s: StateStore, runId: number, e: ObjectError): void {
  sql(s, 'INSERT INTO sync_run_error (run_id, agent, dn, code, reason, at) VALUES (?, ?, ?, ?, ?, ?)').run(
    runId,
    e.agent,
    e.dn,
    e.code,
    e.reason,
    new Date().toISOString(),
  );
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

export function listRuns(s: StateStore, limit: number): RunRecord[] {
  return (sql(s, 'SELECT * FROM sync_run ORDER BY id DESC LIMIT ?').all(limit) as RunRow[]).map(toRun);
}

export function getRun(s: StateStore, id: number): RunRecord | undefined {
  const r = sql(s, 'SELECT * FROM sync_run WHERE id = ?').get(id) as RunRow | undefined;
  return r && toRun(r);
}

export function runErrors(s: StateStore, runId: number): (ObjectError & { at: string })[] {
  return sql(s, 'SELECT agent, dn, code, reason, at FROM sync_run_error WHERE run_id = ? ORDER BY id').all(runId) as (ObjectError & {
    at: string;
  })[];
}

export function getWatermark(s: StateStore, agent: string, kind: string): string | undefined {
  return (sql(s, 'SELECT value FROM sync_watermark WHERE agent = ? AND kind = ?').get(agent, kind) as { value: string } | undefined)?.value;
}

export function setWatermark(s: StateStore, agent: string, kind: string, value: string): void {
  sql(
    s,
    'INSERT INTO sync_watermark (agent, kind, value) VALUES (?, ?, ?) ON CONFLICT(agent, kind) DO UPDATE SET value = excluded.value',
  ).run(agent, kind, value);
}
