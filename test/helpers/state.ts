// Which engine the tests' state stores use: SQLite (the default) or, with
// CROSSFOREST_TEST_STATE=postgres (scripts/test.sh's second pass), a fresh PostgreSQL
// database of the lab's cluster for every store a test makes, so that every test that
// touches state runs on both engines and never sees another test's state.
//
// Databases are made with psql, synchronously, so that project-file fixtures stay plain
// functions; scripts/test.sh drops them all (cf_test_*) when the pass ends.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { defaultLabDir } from '../../lab/paths.ts';
import { POSTGRES_HOST, POSTGRES_PORT, POSTGRES_ROLE, postgresPaths, postgresUrl } from '../../lab/postgres/postgres.ts';
import { type StateConfig, type StateLocation, stateLocation } from '../../src/config/state.ts';
import { openState, type StateStore } from '../../src/state/store.ts';

export type TestEngine = 'sqlite' | 'postgres';

export const TEST_ENGINE: TestEngine = process.env.CROSSFOREST_TEST_STATE === 'postgres' ? 'postgres' : 'sqlite';

function labPostgresPassword(): string {
  return readFileSync(postgresPaths(defaultLabDir()).secret, 'utf8').split('\n', 1)[0]!;
}

/** A new, empty database of the lab's cluster; returns its name. */
export function createTestDatabase(): string {
  const name = `cf_test_${randomBytes(6).toString('hex')}`;
  execFileSync(
    'psql',
    ['-X', '-q', '-h', POSTGRES_HOST, '-p', String(POSTGRES_PORT), '-U', POSTGRES_ROLE, '-d', 'postgres', '-c', `CREATE DATABASE ${name}`],
    { env: { ...process.env, PGPASSWORD: labPostgresPassword() }, stdio: ['ignore', 'ignore', 'pipe'] },
  );
  return name;
}

/**
 * The project file's `state:` section for a test project in `dir`: the SQLite file
 * `fileName` there, or a fresh PostgreSQL database with its password in `dir/state.pw`.
 */
export function testStateConfig(dir: string, fileName = 'crossforest.sqlite', engine: TestEngine = TEST_ENGINE): StateConfig {
  if (engine === 'sqlite') return { path: fileName };
  writeFileSync(join(dir, 'state.pw'), `${labPostgresPassword()}\n`, { mode: 0o600 });
  return { url: postgresUrl(createTestDatabase()), password: { file: 'state.pw' } };
}

/** The same as YAML text. */
export function testStateYaml(dir: string, fileName = 'crossforest.sqlite', engine: TestEngine = TEST_ENGINE): string {
  return stringify({ state: testStateConfig(dir, fileName, engine) });
}

/** A fresh store's location with absolute paths (to hand to another process as JSON). */
export function testStateLocation(dir: string, fileName = 'crossforest.sqlite'): StateLocation {
  const loc = stateLocation(testStateConfig(dir, fileName));
  if (loc.engine === 'sqlite') return { engine: 'sqlite', path: join(dir, loc.path) };
  return { ...loc, password: { file: join(dir, 'state.pw') } };
}

/** A fresh state store in `dir` on the tests' engine. */
export function openTestStore(dir: string, fileName = 'crossforest.sqlite'): Promise<StateStore> {
  return openState(stateLocation(testStateConfig(dir, fileName)), dir);
}
