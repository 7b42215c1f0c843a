// The state store: migrations on open, refusal of a newer database, leases that keep
// two workers off one mailbox and expire when their holder dies.
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { test } from 'node:test';
import Database from 'better-sqlite3';
import { listMigrations } from '../../src/state/migrate.ts';
import { resetStateStore } from '../../src/state/reset.ts';
import { newLeaseHolder, openState, openStateStore } from '../../src/state/store.ts';
import { StateError } from '../../src/util/errors.ts';
import { openTestStore, TEST_ENGINE, testStateLocation } from '../helpers/state.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'cf-state-'));

test('opening applies every migration once, in WAL mode, and reopening applies none', async () => {
  const path = join(dir(), 'state', 'crossforest.sqlite');
  const s1 = openStateStore(path);
  const versions = (await s1.sql.all<{ version: number }>('SELECT version FROM schema_migration ORDER BY version')).map((r) => r.version);
  assert.deepEqual(
    versions,
    listMigrations().map((m) => m.version),
  );
  assert.equal((await s1.sql.get<{ journal_mode: string }>('PRAGMA journal_mode'))?.journal_mode, 'wal');
  await s1.sql.run("INSERT INTO endpoint_check (checked_at, organization, endpoint, ok, detail) VALUES ('t', 'a', 'directory', 1, '{}')");
  await s1.close();
  const s2 = openStateStore(path);
  assert.equal((await s2.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM schema_migration'))?.n, versions.length);
  assert.equal((await s2.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM endpoint_check'))?.n, 1, 'data survives reopen');
  await s2.close();
});

test('a database written by a newer crossforest is refused, untouched', async () => {
  const path = join(dir(), 'newer.sqlite');
  await openStateStore(path).close();
  const raw = new Database(path);
  raw.prepare("INSERT INTO schema_migration (version, name, applied_at) VALUES (999, '999_future', 'x')").run();
  raw.close();
  assert.throws(
    () => openStateStore(path),
    (err: Error) => {
      assert.ok(err instanceof StateError);
      assert.match(err.message, /migrations this crossforest does not know \(999\)/);
      return true;
    },
  );
  const again = new Database(path);
  assert.equal((again.prepare('SELECT COUNT(*) AS n FROM schema_migration WHERE version = 999').get() as { n: number }).n, 1);
  again.close();
});

test('a file that is not a database gets a clear error', () => {
  const path = join(dir(), 'garbage.sqlite');
  writeFileSync(path, 'this is not sqlite'.repeat(100));
  assert.throws(
    () => openStateStore(path),
    (err: Error) => err instanceof StateError && /state store/.test(err.message),
  );
});

test('two migrations with one version are refused', () => {
  const d = join(dir(), 'migrations');
  mkdirSync(d);
  writeFileSync(join(d, '001_a.sql'), 'SELECT 1;');
  writeFileSync(join(d, '001_b.sql'), 'SELECT 1;');
  assert.throws(() => listMigrations(d), /two migrations share version 1/);
});

test(`a lease keeps a second holder out until released or expired (${TEST_ENGINE})`, async () => {
  const where = testStateLocation(dir(), 'lease.sqlite');
  const a = await openState(where, '/');
  const b = await openState(where, '/'); // a second process's connection to the same store
  assert.equal(await a.acquireLease('mailbox:b/jdoe', 'worker-1', 60_000), true);
  assert.equal(await b.acquireLease('mailbox:b/jdoe', 'worker-2', 60_000), false);
  assert.equal((await b.leaseHolder('mailbox:b/jdoe'))?.holder, 'worker-1');
  assert.equal(await a.acquireLease('mailbox:b/jdoe', 'worker-1', 60_000), true, 're-entrant for its holder');
  await a.releaseLease('mailbox:b/jdoe', 'worker-2'); // not the holder: no effect
  assert.equal(await b.acquireLease('mailbox:b/jdoe', 'worker-2', 60_000), false);
  await a.releaseLease('mailbox:b/jdoe', 'worker-1');
  assert.equal(await b.acquireLease('mailbox:b/jdoe', 'worker-2', 30), true);
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(await a.leaseHolder('mailbox:b/jdoe'), undefined, 'expired');
  assert.equal(await a.acquireLease('mailbox:b/jdoe', 'worker-1', 60_000), true, 'an expired lease can be taken over');
  assert.equal(await b.renewLease('mailbox:b/jdoe', 'worker-2', 60_000), false, 'the old holder cannot renew');
  await a.close();
  await b.close();
});

test(`takeLease takes over from a dead holder of this host only (${TEST_ENGINE})`, async () => {
  const { spawnSync } = await import('node:child_process');
  const { hostname } = await import('node:os');
  const s = await openTestStore(dir(), 'takeover.sqlite');
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid as number; // exited by now
  assert.equal(await s.acquireLease('batch:x', `${hostname()}:${deadPid}:old`, 60_000), true);
  assert.equal(await s.takeLease('batch:x', newLeaseHolder(), 60_000), 'taken-over');
  assert.equal(await s.takeLease('batch:x', newLeaseHolder(), 60_000), false, 'the new holder (this live process) is kept');
  assert.equal(await s.acquireLease('batch:y', `elsewhere.example:${deadPid}:old`, 60_000), true);
  assert.equal(await s.takeLease('batch:y', newLeaseHolder(), 60_000), false, 'a holder on another host waits for expiry');
  assert.equal(await s.takeLease('batch:z', newLeaseHolder(), 60_000), 'acquired');
  await s.close();
});

test('reset keeps a consistent backup beside the store, and the next open is an empty store', async () => {
  const path = join(dir(), 'crossforest.sqlite');
  const s1 = openStateStore(path);
  await s1.sql.run("INSERT INTO endpoint_check (checked_at, organization, endpoint, ok, detail) VALUES ('t', 'a', 'directory', 1, '{}')");
  await s1.close();
  const done = resetStateStore(path, new Date('2026-12-04T23:05:06Z'));
  assert.equal(done.backup, join(dirname(path), 'crossforest.before-reset-20261204T230506.sqlite'));
  assert.ok(!existsSync(path) && !existsSync(`${path}-wal`), 'the store and its WAL are gone');
  const backup = new Database(done.backup!, { readonly: true });
  assert.equal((backup.prepare('SELECT COUNT(*) AS n FROM endpoint_check').get() as { n: number }).n, 1, 'the backup holds the data');
  backup.close();
  const s2 = openStateStore(path);
  assert.equal((await s2.sql.get<{ n: number }>('SELECT COUNT(*) AS n FROM endpoint_check'))?.n, 0);
  await s2.close();
  assert.deepEqual(resetStateStore(join(dir(), 'absent.sqlite')).backup, undefined, 'no store: nothing to back up');
});

test('reset is refused, store untouched, while a live process holds a lease', async () => {
  const path = join(dir(), 'crossforest.sqlite');
  const s = openStateStore(path);
  const holder = newLeaseHolder();
  assert.ok(await s.acquireLease('migration-batch:night1', holder, 60_000));
  assert.throws(
    () => resetStateStore(path),
    (err: Error) => err instanceof StateError && /in use: migration-batch:night1/.test(err.message),
  );
  assert.ok(existsSync(path));
  assert.equal(readdirSync(dirname(path)).filter((f) => f.includes('before-reset')).length, 0, 'no backup written');
  await s.releaseLease('migration-batch:night1', holder);
  assert.ok(resetStateStore(path).backup);
  await s.close();
});
