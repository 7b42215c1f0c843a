// The project file's `state:` section (issue 12): `crossforest init --state postgres` writes
// the lab's PostgreSQL, `--state sqlite` (the default) today's SQLite file; a wrong state
// section is refused with its key path, its line and the fix, without ever echoing a
// password, and before anything is opened or written.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { promisify } from 'node:util';
import { POSTGRES_DATABASE, postgresPaths, postgresUrl } from '../../lab/postgres/postgres.ts';
import { exampleProjectFile, LAB_STATE_PASSWORD_FILE, LAB_STATE_URL } from '../../src/config/example.ts';
import { type ConfigProblem, parseProject } from '../../src/config/load.ts';
import { postgresUrlProblem } from '../../src/config/state.ts';
import { openState } from '../../src/state/store.ts';
import { ConfigError } from '../../src/util/errors.ts';
import { replaceSection } from '../helpers/project.ts';

const CLI = new URL('../../bin/crossforest.js', import.meta.url).pathname;
const SQLITE_STATE = 'state:\n  path: crossforest.sqlite          # the state store (SQLite), relative to this file\n';
const cli = (args: string[], cwd = process.cwd()) =>
  promisify(execFile)(process.execPath, [CLI, ...args], { cwd, env: process.env }).then(
    (r) => ({ code: 0, ...r }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );

/** The example with its state section replaced by `state` (YAML text, or '' for none). */
const withState = (state: string): string => exampleProjectFile().replace(SQLITE_STATE, state);

function problemsOf(text: string): { problems: ConfigProblem[]; err: ConfigError } {
  try {
    parseProject(text);
  } catch (err) {
    assert.ok(err instanceof ConfigError, `expected ConfigError, got ${err}`);
    return { problems: (err as ConfigError & { problems: ConfigProblem[] }).problems, err };
  }
  assert.fail('expected the project file to be refused');
}

/** The one problem at `path`, on the line holding `lineText`. */
function problemAt(text: string, path: string, lineText: string): ConfigProblem {
  const { problems } = problemsOf(text);
  const p = problems.find((x) => x.path === path);
  assert.ok(p, `no problem at ${path}: ${JSON.stringify(problems)}`);
  assert.equal(p.line, text.split('\n').findIndex((l) => l.includes(lineText)) + 1, `line of ${path}`);
  return p;
}

describe('crossforest init --state', () => {
  it('postgres: the example names the lab’s PostgreSQL database and its password file, like the other lab secrets', () => {
    const cfg = parseProject(exampleProjectFile('openldap', 'postgres'));
    assert.deepEqual(cfg.state, { url: LAB_STATE_URL, password: { file: LAB_STATE_PASSWORD_FILE } });
    // What the lab really runs (lab/postgres/postgres.ts), and where it keeps the password.
    assert.equal(LAB_STATE_URL, postgresUrl());
    assert.equal(LAB_STATE_URL, `postgres://crossforest@127.0.0.1:5433/${POSTGRES_DATABASE}`);
    assert.equal(LAB_STATE_PASSWORD_FILE, relative(process.cwd(), postgresPaths('.lab').secret));
    // The lab's other secrets are referenced the same way (.lab/secrets/…, relative to the file).
    assert.match(exampleProjectFile(), /masterPassword: \{ file: \.lab\/secrets\/mail-a-master\.pw \}/);
    // Only the state section differs, for both directory kinds.
    for (const directory of ['openldap', 'samba'] as const) {
      assert.equal(
        replaceSection(exampleProjectFile(directory, 'postgres'), 'state'),
        replaceSection(exampleProjectFile(directory), 'state'),
      );
      assert.deepEqual(parseProject(exampleProjectFile(directory, 'postgres')).state.url, LAB_STATE_URL);
    }
  });

  it('sqlite (the default) keeps the SQLite file of before', () => {
    assert.equal(exampleProjectFile('openldap', 'sqlite'), exampleProjectFile());
    assert.ok(exampleProjectFile().includes(SQLITE_STATE));
    assert.deepEqual(parseProject(exampleProjectFile()).state, { path: 'crossforest.sqlite' });
  });

  it('--print prints the chosen example; a file is written only where none is, and an unknown engine is refused', async () => {
    const pg = await cli(['init', '--state', 'postgres', '--print']);
    assert.equal(pg.code, 0, pg.stderr);
    assert.equal(pg.stdout, exampleProjectFile('openldap', 'postgres'));
    const dflt = await cli(['init', '--print']);
    assert.equal(dflt.stdout, exampleProjectFile());
    assert.equal((await cli(['init', '--state', 'sqlite', '--directory', 'samba', '--print'])).stdout, exampleProjectFile('samba'));

    const dir = mkdtempSync(join(tmpdir(), 'cf-init-'));
    const file = join(dir, 'crossforest.yaml');
    const wrote = await cli(['-c', file, 'init', '--state', 'postgres']);
    assert.equal(wrote.code, 0, wrote.stderr);
    assert.equal(readFileSync(file, 'utf8'), exampleProjectFile('openldap', 'postgres'));
    assert.match(wrote.stderr, /PostgreSQL database crossforest/);

    const again = await cli(['-c', file, 'init']);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already exists/);
    assert.match(again.stderr, /--force/);
    assert.equal(readFileSync(file, 'utf8'), exampleProjectFile('openldap', 'postgres'), 'untouched');

    const bad = await cli(['-c', join(dir, 'other.yaml'), 'init', '--state', 'mysql']);
    assert.notEqual(bad.code, 0);
    assert.match(bad.stderr, /argument 'mysql' is invalid\. Allowed choices are sqlite, postgres/);
    assert.deepEqual(readdirSync(dir), ['crossforest.yaml'], 'nothing else written');
  });
});

describe('a bad state section', () => {
  it('a typo in a key is an unknown key with a suggestion, for both engines', () => {
    const p = problemAt(withState('state:\n  paht: x.sqlite\n'), 'state.paht', 'paht:');
    assert.match(p.message, /unknown key "paht" \(did you mean "path"\?\)/);
    const text = withState(`state:\n  url: ${LAB_STATE_URL}\n  pasword: { file: pg.pw }\n`);
    assert.match(problemAt(text, 'state.pasword', 'pasword').message, /unknown key "pasword" \(did you mean "password"\?\)/);
    assert.match(
      problemAt(withState(`state:\n  url: ${LAB_STATE_URL}\n  poolsize: 4\n`), 'state.poolsize', 'poolsize').message,
      /did you mean "poolSize"/,
    );
  });

  it('path and url together: one or the other', () => {
    const text = withState(`state:\n  path: x.sqlite\n  url: ${LAB_STATE_URL}\n`);
    const p = problemAt(text, 'state.url', 'url:');
    assert.match(p.message, /give path \(SQLite\) or url \(PostgreSQL\), not both: remove one of them/);
  });

  it('a password in the URL is refused, in the user part or as ?password=, and never echoed', () => {
    for (const url of [
      'postgres://crossforest:hunter2-secret@127.0.0.1:5433/crossforest',
      'postgresql://crossforest:hunter2-secret@db.example/crossforest?sslmode=require',
      'postgres://crossforest@127.0.0.1:5433/crossforest?sslmode=disable&password=hunter2-secret',
      'mysql://crossforest:hunter2-secret@db.example/crossforest',
    ]) {
      const text = withState(`state:\n  url: ${url}\n`);
      const p = problemAt(text, 'state.url', 'url:');
      assert.match(p.message, /the URL holds a password.*move it to a file and name that in state\.password: \{ file: … \}/, url);
      const { err } = problemsOf(text);
      assert.ok(!err.message.includes('hunter2'), err.message);
      assert.ok(!String(err.hint).includes('hunter2'));
    }
  });

  it('a URL that is not PostgreSQL, names no database or does not parse says what to write', () => {
    const cases: [string, RegExp][] = [
      ['mysql://crossforest@db.example/crossforest', /expected a PostgreSQL URL postgres:\/\/user@host:port\/database/],
      ['postgres://crossforest@db.example:5432', /the URL names no database .*end it with \/<database>/],
      ['postgres://crossforest@db.example:5432/', /the URL names no database/],
      ['postgres://crossforest@db.example:notaport/crossforest', /not a valid URL/],
      ['postgres:///crossforest', /the URL names no host/],
    ];
    for (const [url, want] of cases) {
      assert.match(problemAt(withState(`state:\n  url: "${url}"\n`), 'state.url', 'url:').message, want, url);
      assert.match(String(postgresUrlProblem(url)), want);
    }
    assert.equal(postgresUrlProblem(LAB_STATE_URL), undefined);
    assert.equal(postgresUrlProblem('postgresql://crossforest@db.example/crossforest?sslmode=require'), undefined);
  });

  it('a password that is not a reference, or an empty one, says how to write the reference (never the value)', () => {
    const literal = withState(`state:\n  url: ${LAB_STATE_URL}\n  password: hunter2-secret\n`);
    const p = problemAt(literal, 'state.password', 'password:');
    assert.match(p.message, /a reference, not the password itself: put the password on the first line of a file .* \{ file: path \}/);
    assert.ok(!problemsOf(literal).err.message.includes('hunter2'));
    for (const ref of ['', '{}', '{ fiel: pg.pw }', '{ file: pg.pw, env: PGPASS }']) {
      const text = withState(`state:\n  url: ${LAB_STATE_URL}\n  password: ${ref}\n`);
      assert.match(
        problemAt(text, 'state.password', 'password:').message,
        /expected a secret reference: \{ file: path \} \(relative to this file\) or \{ env: NAME \}/,
        ref,
      );
    }
  });

  it('password or poolSize without url belongs to PostgreSQL; a state that is no mapping says both forms', () => {
    assert.match(
      problemAt(withState('state:\n  path: x.sqlite\n  password: { file: pg.pw }\n'), 'state.password', 'password:').message,
      /password and poolSize belong to a PostgreSQL state: add state\.url, or remove them for SQLite/,
    );
    assert.match(problemAt(withState('state:\n  poolSize: 4\n'), 'state.poolSize', 'poolSize').message, /belong to a PostgreSQL state/);
    for (const state of ['state:\n', 'state: crossforest.sqlite\n']) {
      assert.match(
        problemAt(withState(state), 'state', 'state:').message,
        /expected \{ path: file\.sqlite \} \(SQLite\) or \{ url: postgres:\/\/.*, password: \{ file: … \} \} \(PostgreSQL\)/,
      );
    }
  });

  it('a password reference that resolves to nothing names state.password and the fix, before any connection', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cf-state-ref-'));
    // Port 1: were a connection tried, the error would be a StateError about it instead.
    const url = 'postgres://crossforest@127.0.0.1:1/crossforest';
    await assert.rejects(openState({ engine: 'postgres', url, password: { file: 'missing.pw' } }, dir), (err: Error) => {
      assert.ok(err instanceof ConfigError, String(err));
      assert.equal(err.code, 'CF_ERR_CONFIG');
      assert.equal(err.object, 'state.password');
      assert.match(err.message, /state\.password: secret file .*missing\.pw does not exist/);
      assert.match(String(err.hint), /create the file with the secret on its first line/);
      return true;
    });
    delete process.env.CF_TEST_STATE_PW_UNSET;
    await assert.rejects(openState({ engine: 'postgres', url, password: { env: 'CF_TEST_STATE_PW_UNSET' } }, dir), (err: Error) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.message, /state\.password: environment variable CF_TEST_STATE_PW_UNSET is not set/);
      return true;
    });
    assert.deepEqual(readdirSync(dir), [], 'nothing written');
  });

  it('the CLI refuses a bad state section with its line and the fix, and writes no state store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'cf-state-cli-'));
    const file = join(dir, 'crossforest.yaml');
    writeFileSync(file, withState('state:\n  path: x.sqlite\n  url: postgres://crossforest:hunter2-secret@127.0.0.1:5433/crossforest\n'));
    const r = await cli(['-c', file, 'sync', 'history']);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /crossforest\.yaml:\d+ {2}state\.url: the URL holds a password/);
    assert.match(r.stderr, /state\.url: give path \(SQLite\) or url \(PostgreSQL\), not both/);
    assert.match(r.stderr, /→ fix the keys above/);
    assert.ok(!r.stderr.includes('hunter2'), r.stderr);
    assert.equal(existsSync(join(dir, 'x.sqlite')), false);
    assert.deepEqual(readdirSync(dir), ['crossforest.yaml']);
  });
});
