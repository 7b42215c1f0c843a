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
import { newLeaseHolder, openStateStore } from '../../src/state/store.ts';
import { StateError } from '../../src/util/errors.ts';

const dir = () => mkdtempSync(join(tmpdir(), 'cf-state-'));

test('opening applies every migration once, in WAL mode, and reopening applies none', () => {
  const path = join(dir(), 'state', 'crossforest.sqlite');
  const s1 = openStateStore(path);
  const versions = (s1.db.prepare('SELECT version FROM schema_migration ORDER BY version').all() as { version: number }[]).map(
    (r) => r.version,
  );
  assert.deepEqual(
    versions,
    listMigrations().map((m) => m.version),
  );
  assert.equal(s1.db.pragma('journal_mode', { simple: true }), 'wal');
  s1.db
    .prepare("INSERT INTO endpoint_check (checked_at, organization, endpoint, ok, detail) VALUES ('t', 'a', 'directory', 1, '{}')")
    .run();
  s1.close();
  const s2 = openStateStore(path);
  assert.equal((s2.db.prepare('SELECT COUNT(*) AS n FROM schema_migration').get() as { n: number }).n, versions.length);
  assert.equal((s2.db.prepare('SELECT COUNT(*) AS n FROM endpoint_check').get() as { n: number }).n, 1, 'data survives reopen');
  s2.close();
});

test('a database written by a newer crossforest is refused, untouched', () => {
  const path = join(dir(), 'newer.sqlite');
  openStateStore(path).close();
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

test('a lease keeps a second holder out until released or expired', async () => {
  const path = join(dir(), 'lease.sqlite');
  const a = openStateStore(path);
  const b = openStateStore(path); // a second process's connection to the same file
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
  a.close();
  b.close();
});

test('takeLease takes over from a dead holder of this host only', async () => {
  const { spawnSync } = await import('node:child_process');
  const { hostname } = await import('node:os');
  const s = openStateStore(join(dir(), 'takeover.sqlite'));
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid as number; // exited by now
  assert.equal(await s.acquireLease('batch:x', `${hostname()}:${deadPid}:old`, 60_000), true);
  assert.equal(await s.takeLease('batch:x', newLeaseHolder(), 60_000), 'taken-over');
  assert.equal(await s.takeLease('batch:x', newLeaseHolder(), 60_000), false, 'the new holder (this live process) is kept');
  assert.equal(await s.acquireLease('batch:y', `elsewhere.example:${deadPid}:old`, 60_000), true);
  assert.equal(await s.takeLease('batch:y', newLeaseHolder(), 60_000), false, 'a holder on another host waits for expiry');
  assert.equal(await s.takeLease('batch:z', newLeaseHolder(), 60_000), 'acquired');
  s.close();
});

test('reset keeps a consistent backup beside the store, and the next open is an empty store', () => {
  const path = join(dir(), 'crossforest.sqlite');
  const s1 = openStateStore(path);
  s1.db
    .prepare("INSERT INTO endpoint_check (checked_at, organization, endpoint, ok, detail) VALUES ('t', 'a', 'directory', 1, '{}')")
    .run();
  s1.close();
  const done = resetStateStore(path, new Date('2026-12-04T23:05:06Z'));
  assert.equal(done.backup, join(dirname(path), 'crossforest.before-reset-20261204T230506.sqlite'));
  assert.ok(!existsSync(path) && !existsSync(`${path}-wal`), 'the store and its WAL are gone');
  const backup = new Database(done.backup!, { readonly: true });
  assert.equal((backup.prepare('SELECT COUNT(*) AS n FROM endpoint_check').get() as { n: number }).n, 1, 'the backup holds the data');
  backup.close();
  const s2 = openStateStore(path);
  assert.equal((s2.db.prepare('SELECT COUNT(*) AS n FROM endpoint_check').get() as { n: number }).n, 0);
  s2.close();
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
  s.close();
});
