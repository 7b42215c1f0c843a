// The state store: everything that must survive a crash (connector spaces, metaverse,
// runs, batches, per-mailbox and per-folder copy state, leases). Two engines behind one
// async SQL surface (db.ts): SQLite via better-sqlite3, the embedded default for one host
// (WAL mode, one writer, a file beside the project file), and PostgreSQL via `pg`, which
// any number of hosts share (postgres.ts). `openState` opens what the project file names.
//
// Capabilities never scatter SQL: each keeps its queries in one repository module that
// takes a StateStore and uses only `sql`.
import { randomUUID } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { resolveSecret } from '../config/secret.ts';
import { type StateConfig, type StateLocation, stateLocation } from '../config/state.ts';
import { StateError } from '../util/errors.ts';
import { type SqlDb, sqliteDb } from './db.ts';
import { migrate } from './migrate.ts';
import { displayUrl, openPostgresDb } from './postgres.ts';

export interface StateStore {
  readonly engine: SqlDb['engine'];
  /** Where the store is, for messages: the SQLite file, or the PostgreSQL URL (never a password). */
  readonly location: string;
  /** The SQLite file; undefined on PostgreSQL (snapshots and resets copy the file). */
  readonly path: string | undefined;
  /** The engine-neutral SQL surface (async): what repositories use. */
  readonly sql: SqlDb;
  /** Takes the named lease for ttlMs, or returns false if someone else holds a live one. */
  acquireLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  renewLease(name: string, holder: string, ttlMs: number): Promise<boolean>;
  releaseLease(name: string, holder: string): Promise<void>;
  /**
   * acquireLease, but a lease whose holder was a process of this host that no longer
   * exists (kill -9 never releases) is taken over at once instead of waiting out its TTL;
   * a holder on another host is left alone until its lease expires.
   */
  takeLease(name: string, holder: string, ttlMs: number): Promise<'acquired' | 'taken-over' | false>;
  leaseHolder(name: string): Promise<{ holder: string; expiresAt: string } | undefined>;
  close(): Promise<void>;
}

/** A lease holder id, `host:pid:random`: a dead holder of this host can be recognised. */
export function newLeaseHolder(): string {
  return `${hostname()}:${process.pid}:${randomUUID()}`;
}

/** True only for a holder of this host whose process no longer exists. */
export function holderIsDead(holder: string): boolean {
  const [host, pid] = holder.split(':');
  if (host !== hostname() || !pid || !/^\d+$/.test(pid)) return false;
  try {
    process.kill(Number(pid), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Opens the state store the project file names (`state:`), relative to the project's folder. */
export async function openState(loc: StateLocation, baseDir: string): Promise<StateStore> {
  if (loc.engine === 'sqlite') return openStateStore(resolve(baseDir, loc.path));
  const password = loc.password ? resolveSecret(loc.password, baseDir, 'state.password') : undefined;
  const sql = await openPostgresDb({ url: loc.url, password, max: loc.poolSize });
  return storeOver(sql, displayUrl(loc.url), undefined);
}

/** Opens the state store a loaded project file names. */
export function openProjectState(project: { baseDir: string; config: { state: StateConfig } }): Promise<StateStore> {
  return openState(stateLocation(project.config.state), project.baseDir);
}

/** Opens (and migrates) the SQLite state store at `path`. */
export function openStateStore(path: string): StateStore {
  if (path !== ':memory:') mkdirSync(dirname(path), { recursive: true });
  let db: Database.Database;
  try {
    db = new Database(path);
    db.pragma('journal_mode = WAL');
    db.pragma('synchronous = NORMAL');
    db.pragma('foreign_keys = ON');
    db.pragma('busy_timeout = 10000');
  } catch (err) {
    throw new StateError(`cannot open the state store ${path}: ${(err as Error).message}`, {
      object: path,
      hint: 'check that the folder is writable and the file is a crossforest SQLite database',
      cause: err,
    });
  }
  try {
    migrate(db, path);
  } catch (err) {
    db.close();
    if (err instanceof StateError) throw err;
    throw new StateError(`cannot migrate the state store ${path}: ${(err as Error).message}`, { object: path, cause: err });
  }
  return storeOver(sqliteDb(db), path, path);
}

/** The store over an opened engine: leases are portable SQL, the same on both. */
function storeOver(sql: SqlDb, location: string, path: string | undefined): StateStore {
  // The upsert takes a free or expired lease, or renews its own.
  const acquireLease = async (name: string, holder: string, ttlMs: number): Promise<boolean> => {
    const now = new Date();
    const res = await sql.run(
      `INSERT INTO lease (name, holder, acquired_at, expires_at) VALUES (?, ?, ?, ?)
    ON CONFLICT(name) DO UPDATE SET holder = excluded.holder, acquired_at = excluded.acquired_at, expires_at = excluded.expires_at
    WHERE lease.expires_at < ? OR lease.holder = ?`,
      [name, holder, now.toISOString(), new Date(now.getTime() + ttlMs).toISOString(), now.toISOString(), holder],
    );
    return res.changes === 1;
  };
  const releaseLease = async (name: string, holder: string): Promise<void> => {
    await sql.run('DELETE FROM lease WHERE name = ? AND holder = ?', [name, holder]);
  };
  const leaseHolder = (name: string): Promise<{ holder: string; expiresAt: string } | undefined> =>
    sql.get<{ holder: string; expiresAt: string }>(
      'SELECT holder, expires_at AS "expiresAt" FROM lease WHERE name = ? AND expires_at >= ?',
      [name, new Date().toISOString()],
    );
  let closed: Promise<void> | undefined;
  return {
    engine: sql.engine,
    location,
    path,
    sql,
    acquireLease,
    async renewLease(name, holder, ttlMs) {
      const res = await sql.run('UPDATE lease SET expires_at = ? WHERE name = ? AND holder = ?', [
        new Date(Date.now() + ttlMs).toISOString(),
        name,
        holder,
      ]);
      return res.changes === 1;
    },
    releaseLease,
    async takeLease(name, holder, ttlMs) {
      if (await acquireLease(name, holder, ttlMs)) return 'acquired';
      const current = await leaseHolder(name);
      if (!current || !holderIsDead(current.holder)) return false;
      await releaseLease(name, current.holder);
      return (await acquireLease(name, holder, ttlMs)) ? 'taken-over' : false;
    },
    leaseHolder,
    // Closing twice is harmless (a command's finally and a signal handler may both close).
    close: () => {
      closed ??= sql.close();
      return closed;
    },
  };
}
