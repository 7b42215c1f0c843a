// What every phase of a run reports into: counts, per-object errors, a logger.
import type { Logger } from '../util/logger.ts';
import type { ObjectError, RunCounts } from './types.ts';
import { emptyCounts } from './types.ts';

export interface RunContext {
  counts: RunCounts;
  errors: ObjectError[];
  logger: Logger;
  /** Progress callback for the CLI's progress line: objects done, and the total when known. */
  progress?: (phase: string, done: number, total?: number) => void;
}

export function newRunContext(logger: Logger, progress?: RunContext['progress']): RunContext {
  return { counts: emptyCounts(), errors: [], logger, ...(progress ? { progress } : {}) };
}

export function reportError(run: RunContext, e: ObjectError): void {
  run.counts.errors++;
  run.errors.push(e);
  run.logger.warn({ agent: e.agent, dn: e.dn, code: e.code }, e.reason);
}
