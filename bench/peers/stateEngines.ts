// The state store a benchmark runs on: a fresh SQLite file, or a fresh database of the
// lab's PostgreSQL cluster (the lab must be up: `crossforest lab up`), dropped afterwards.
// Benchmarks report both engines side by side, so each gets its own empty store.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { POSTGRES_HOST, POSTGRES_PORT, POSTGRES_ROLE, postgresPaths, postgresUrl } from '../../lab/postgres/postgres.ts';
import type { StateConfig } from '../../src/config/state.ts';

export type BenchEngine = 'sqlite' | 'postgres';

export function parseEngines(v: string): BenchEngine[] {
  if (v === 'both') return ['sqlite', 'postgres'];
  if (v === 'sqlite' || v === 'postgres') return [v];
  throw new Error(`--engine must be sqlite, postgres or both, not "${v}"`);
}

function psql(labDir: string, sql: string): void {
  let password: string;
  try {
    password = readFileSync(postgresPaths(labDir).secret, 'utf8').split('\n', 1)[0] as string;
  } catch {
    throw new Error(`no lab PostgreSQL in ${labDir}: run \`crossforest lab up\` first, or pass --engine sqlite`);
  }
  execFileSync('psql', ['-X', '-q', '-h', POSTGRES_HOST, '-p', String(POSTGRES_PORT), '-U', POSTGRES_ROLE, '-d', 'postgres', '-c', sql], {
    env: { ...process.env, PGPASSWORD: password },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
}

export interface BenchState {
  /** The project file's `state:` section, relative to `dir`. */
  config: StateConfig;
  drop(): void;
}

/** A fresh store for a bench project in `dir` on `engine`. */
export function benchState(engine: BenchEngine, dir: string, labDir: string): BenchState {
  if (engine === 'sqlite') return { config: { path: 'crossforest.sqlite' }, drop: () => {} };
  const name = `cf_bench_${randomBytes(5).toString('hex')}`;
  psql(labDir, `CREATE DATABASE ${name}`);
  writeFileSync(join(dir, 'state.pw'), readFileSync(postgresPaths(labDir).secret), { mode: 0o600 });
  return {
    config: { url: postgresUrl(name), password: { file: 'state.pw' } },
    drop: () => psql(labDir, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`),
  };
}
