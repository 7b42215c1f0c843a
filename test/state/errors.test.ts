// Opening the state store goes wrong clearly (issue 12): an unreachable PostgreSQL, a wrong
// or missing password, a database that does not exist, and a store whose schema is newer
// than this crossforest (on both engines) each give a StateError that names the object and
// the fix, never a password, and leave nothing written. Live: the lab's PostgreSQL, a fresh
// database per test; and `crossforest init --state postgres` opens there as written.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import Database from 'better-sqlite3';
import pg from 'pg';
import type { LabInfo } from '../../lab/lab.ts';
import { POSTGRES_DATABASE, POSTGRES_PORT, postgresPaths, postgresUrl } from '../../lab/postgres/postgres.ts';
import { exampleProjectFile, LAB_STATE_URL } from '../../src/config/example.ts';
import { loadProject } from '../../src/config/load.ts';
import type { StateLocation } from '../../src/config/state.ts';
import { listMigrations, migrationsDir } from '../../src/state/migrate.ts';
import { openProjectState, openState, openStateStore } from '../../src/state/store.ts';
import { StateError } from '../../src/util/errors.ts';
import { ensureLab } from '../helpers/lab.ts';
import { freshPostgres, type TestDatabase } from '../helpers/postgres.ts';
import { replaceSection } from '../helpers/project.ts';

const CLI = new URL('../../bin/crossforest.js', import.meta.url).pathname;
const cli = (args: string[]) =>
  promisify(execFile)(process.execPath, [CLI, ...args], { env: process.env }).then(
    (r) => ({ code: 0, ...r }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
const newest = (engine: 'sqlite' | 'postgres'): number => Math.max(...listMigrations(migrationsDir(engine)).map((m) => m.version));

let lab: LabInfo;
let labPassword: string;
const dbs: TestDatabase[] = [];

/** A folder with the password file `pw` (the lab's, or `password`; none for null) and a location for `url`. */
function project(url: string, password: string | null = labPassword): { dir: string; loc: StateLocation } {
  const dir = mkdtempSync(join(tmpdir(), 'cf-state-err-'));
  if (password === null) return { dir, loc: { engine: 'postgres', url } };
  writeFileSync(join(dir, 'pw'), `${password}\n`, { mode: 0o600 });
  return { dir, loc: { engine: 'postgres', url, password: { file: 'pw' } } };
}

/** A project file for the CLI: the init example with `state` as its state section. */
function projectFile(dir: string, state: string): string {
  const file = join(dir, 'crossforest.yaml');
  writeFileSync(file, replaceSection(exampleProjectFile().replaceAll('.lab/', `${lab.labDir}/`), 'state', state));
  return file;
}

async function fresh(): Promise<TestDatabase> {
  const t = await freshPostgres();
  dbs.push(t);
  return t;
}

/** A client of the lab's cluster on `url` (pg lets the URL's absent password beat a `password` option). */
async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const u = new URL(url);
  const c = new pg.Client({
    host: u.hostname,
    port: Number(u.port),
    user: u.username,
    database: u.pathname.slice(1),
    password: labPassword,
  });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

const tablesOf = (url: string): Promise<string[]> =>
  withClient(url, async (c) =>
    (await c.query<{ t: string }>("SELECT tablename AS t FROM pg_tables WHERE schemaname = 'public' ORDER BY 1")).rows.map((r) => r.t),
  );

/** Asserts a StateError with the message and hint wanted and no secret anywhere in it. */
function stateError(want: { message: RegExp; hint: RegExp; object?: string }, secrets: string[] = [labPassword]) {
  return (err: Error): boolean => {
    assert.ok(err instanceof StateError, `expected a StateError, got ${err}`);
    assert.equal(err.code, 'CF_ERR_STATE');
    assert.match(err.message, want.message);
    assert.match(String(err.hint), want.hint);
    if (want.object !== undefined) assert.equal(err.object, want.object);
    for (const s of secrets) {
      assert.ok(!err.message.includes(s), `the message holds a secret: ${err.message}`);
      assert.ok(!String(err.hint).includes(s), `the hint holds a secret: ${err.hint}`);
    }
    return true;
  };
}

describe('opening the state store fails clearly (live)', { timeout: 120_000 }, () => {
  before(async () => {
    lab = await ensureLab();
    labPassword = readFileSync(postgresPaths(lab.labDir).secret, 'utf8').split('\n', 1)[0]!;
  });

  after(async () => {
    for (const t of dbs) await t.drop().catch(() => undefined);
  });

  it('an unreachable PostgreSQL names host and port and says to start it or fix state.url', async () => {
    const url = 'postgres://crossforest@127.0.0.1:1/crossforest';
    const { dir, loc } = project(url);
    await assert.rejects(
      openState(loc, dir),
      stateError({
        message:
          /^cannot open the state store postgres:\/\/crossforest@127\.0\.0\.1:1\/crossforest: nothing listens on 127\.0\.0\.1:1 \(.*ECONNREFUSED.*\)$/,
        hint: /start PostgreSQL \(the lab: `crossforest lab up`\) or fix host and port in state\.url/,
        object: '127.0.0.1:1',
      }),
    );
    // The same through the CLI: one line and the hint, exit 1, nothing written.
    const file = projectFile(dir, `state:\n  url: ${url}\n  password: { file: pw }\n`);
    const r = await cli(['-c', file, 'sync', 'history']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^crossforest: cannot open the state store .*nothing listens on 127\.0\.0\.1:1/m);
    assert.match(r.stderr, /→ start PostgreSQL/);
    assert.ok(!r.stderr.includes(labPassword));
    assert.deepEqual(readdirSync(dir).sort(), ['crossforest.yaml', 'pw']);
  });

  it('a wrong password names the user and state.password, never the password, and creates nothing', async () => {
    const t = await fresh();
    const wrong = `wrong-${randomBytes(4).toString('hex')}`;
    const { dir, loc } = project(t.url, wrong);
    await assert.rejects(
      openState(loc, dir),
      stateError(
        {
          message:
            /^cannot open the state store postgres:\/\/crossforest@127\.0\.0\.1:5433\/cf_test_\w+: password authentication failed for user "crossforest"$/,
          hint: /check the user in state\.url and the password state\.password names/,
          object: t.url,
        },
        [wrong, labPassword],
      ),
    );
    assert.deepEqual(await tablesOf(t.url), [], 'no table created');
  });

  it('no password where the server asks for one says to add state.password', async () => {
    const t = await fresh();
    const { dir, loc } = project(t.url, null);
    const saved = process.env.PGPASSWORD;
    delete process.env.PGPASSWORD;
    try {
      await assert.rejects(
        openState(loc, dir),
        stateError({
          message: /cannot open the state store .*cf_test_\w+: the server asks for a password and state\.password is not set/,
          hint: /add state\.password: \{ file: path \}/,
        }),
      );
    } finally {
      if (saved !== undefined) process.env.PGPASSWORD = saved;
    }
    assert.deepEqual(await tablesOf(t.url), []);
  });

  it('a database that does not exist is named, with the command that creates it; none is created', async () => {
    const name = `cf_test_missing_${randomBytes(4).toString('hex')}`;
    const { dir, loc } = project(postgresUrl(name));
    await assert.rejects(
      openState(loc, dir),
      stateError({
        message: new RegExp(`: database "${name}" does not exist$`),
        hint: new RegExp(
          `create it \\(\`createdb -h 127\\.0\\.0\\.1 -p ${POSTGRES_PORT} -U crossforest ${name}\`, or CREATE DATABASE ${name} as a PostgreSQL superuser; .*crossforest lab up.*\\), or fix its name in state\\.url`,
        ),
      }),
    );
    const found = await withClient(
      postgresUrl('postgres'),
      async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [name])).rowCount,
    );
    assert.equal(found, 0, 'no database created');
  });

  it('`lab up` made the crossforest database, and `init --state postgres` as written opens and creates the schema', async () => {
    const exists = await withClient(
      postgresUrl('postgres'),
      async (c) => (await c.query('SELECT 1 FROM pg_database WHERE datname = $1', [POSTGRES_DATABASE])).rowCount,
    );
    assert.equal(exists, 1, `lab up creates the ${POSTGRES_DATABASE} database`);
    // The example itself, pointed at this lab and (so as to leave the lab's own database
    // alone) at a fresh, empty database of the same cluster.
    const t = await fresh();
    const dir = mkdtempSync(join(tmpdir(), 'cf-init-pg-'));
    const file = join(dir, 'crossforest.yaml');
    const r = await cli(['-c', file, 'init', '--state', 'postgres']);
    assert.equal(r.code, 0, r.stderr);
    const text = readFileSync(file, 'utf8');
    assert.ok(text.includes(LAB_STATE_URL));
    writeFileSync(file, text.replaceAll('.lab/', `${lab.labDir}/`).replace(LAB_STATE_URL, t.url));
    const store = await openProjectState(loadProject(file));
    try {
      assert.equal(store.engine, 'postgres');
      const versions = await store.sql.all<{ version: number }>('SELECT version FROM schema_migration ORDER BY version');
      assert.deepEqual(
        versions.map((v) => v.version),
        listMigrations(migrationsDir('postgres')).map((m) => m.version),
      );
    } finally {
      await store.close();
    }
  });

  it('PostgreSQL: a schema newer than the code is refused with both versions and "upgrade crossforest", untouched', async () => {
    const t = await fresh();
    const { dir, loc } = project(t.url);
    const s = await openState(loc, dir);
    await s.sql.run("INSERT INTO schema_migration (version, name, applied_at) VALUES (999, '999_future', 'x')");
    await s.close();
    const before = await tablesOf(t.url);
    const known = newest('postgres');
    const want = {
      message: new RegExp(
        `^state store postgres://crossforest@127\\.0\\.0\\.1:5433/cf_test_\\w+ has schema version 999, this crossforest knows versions up to ${known}: migrations this crossforest does not know \\(999\\)$`,
      ),
      hint: /written by a newer crossforest: upgrade crossforest .*point state\.url at another database; nothing was changed/,
      object: t.url,
    };
    await assert.rejects(openState(loc, dir), stateError(want));
    assert.deepEqual(await tablesOf(t.url), before, 'no table added or dropped');
    const rows = await withClient(t.url, async (c) => (await c.query('SELECT version FROM schema_migration ORDER BY version')).rows);
    assert.deepEqual(
      rows.map((r) => r.version),
      [...listMigrations(migrationsDir('postgres')).map((m) => m.version), 999],
    );
    // Through the CLI: exit 1, the message and the hint.
    const r = await cli(['-c', projectFile(dir, `state:\n  url: ${t.url}\n  password: { file: pw }\n`), 'sync', 'history']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`has schema version 999, this crossforest knows versions up to ${known}`));
    assert.match(r.stderr, /→ it was written by a newer crossforest: upgrade crossforest/);
  });

  it('SQLite: a schema newer than the code is refused the same way, the file untouched', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cf-state-newer-'));
    const path = join(dir, 'crossforest.sqlite');
    await openStateStore(path).close();
    const raw = new Database(path);
    raw.prepare("INSERT INTO schema_migration (version, name, applied_at) VALUES (998, '998_future', 'x')").run();
    raw.prepare("INSERT INTO schema_migration (version, name, applied_at) VALUES (999, '999_future', 'x')").run();
    const dump = () => raw.prepare('SELECT version, name FROM schema_migration ORDER BY version').all();
    const before = dump();
    const known = newest('sqlite');
    const want = {
      message: new RegExp(
        `^state store ${path.replaceAll('.', '\\.')} has schema version 999, this crossforest knows versions up to ${known}: migrations this crossforest does not know \\(998, 999\\)$`,
      ),
      hint: /written by a newer crossforest: upgrade crossforest .*point state\.path at another file; nothing was changed/,
      object: path,
    };
    assert.throws(() => openStateStore(path), stateError(want));
    await assert.rejects(openState({ engine: 'sqlite', path: 'crossforest.sqlite' }, dir), stateError(want));
    assert.deepEqual(dump(), before, 'schema_migration untouched');
    raw.close();
    const r = await cli(['-c', projectFile(dir, 'state:\n  path: crossforest.sqlite\n'), 'sync', 'history']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, new RegExp(`has schema version 999, this crossforest knows versions up to ${known}`));
    assert.match(r.stderr, /→ it was written by a newer crossforest: upgrade crossforest/);
  });
});
