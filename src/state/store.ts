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
import { CrossforestError, StateError } from '../util/errors.ts';
import { type SqlDb, sqliteDb } from './db.ts';
import { migrate } from './migrate.ts';
import type { JobQueue } from './queue.ts';

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
  /** Live leases whose name starts with `prefix` (the workers alive, the mailboxes in flight). */
  leasesLike(prefix: string): Promise<{ name: string; holder: string; expiresAt: string }[]>;
  /** Leases whose name starts with `prefix` that expired without a release: their holder died. */
  expiredLeasesLike(prefix: string): Promise<{ name: string; holder: string; expiresAt: string }[]>;
  /** The job queue (PostgreSQL only: a SQLite store serves one host, whose processes need none). */
  openQueue(onError?: (err: Error) => void): Promise<JobQueue>;
  close(): Promise<void>;
}

/**
 * This host's name in leases, step records and the SQLite owner row. CROSSFOREST_HOST_NAME
 * overrides it: hosts cloned from one image can share a hostname, and the tests play two hosts.
 */
export function hostIdentity(): string {
  return process.env.CROSSFOREST_HOST_NAME || hostname();
}

/** This process as a worker: `host:pid`, what `batch show` and the dashboard name. */
export function workerName(): string {
  return `${hostIdentity()}:${process.pid}`;
}

/** A lease holder id, `host:pid:random`: a dead holder of this host can be recognised. */
export function newLeaseHolder(): string {
  return `${workerName()}:${randomUUID()}`;
}

/** True only for a holder of this host whose process no longer exists. */
export function holderIsDead(holder: string): boolean {
  const [host, pid] = holder.split(':');
  if (host !== hostIdentity() || !pid || !/^\d+$/.test(pid)) return false;
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
  // Loaded only here: pg and pg-boss cost every start ~0.1 s, and a SQLite store needs neither.
  const { displayUrl, openPostgresDb, withPassword } = await import('./postgres.ts');
  const { openJobQueue } = await import('./queue.ts');
  const sql = await openPostgresDb({ url: loc.url, password, max: loc.poolSize });
  const where = displayUrl(loc.url);
  return storeOver(sql, where, undefined, (onError) => openJobQueue(withPassword(loc.url, password), where, onError));
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
  try {
    claimSqliteHost(db, path);
  } catch (err) {
    db.close();
    throw err;
  }
  return storeOver(sqliteDb(db), path, path);
}

/**
 * A SQLite store belongs to the first host that opened it: the file is not shared safely
 * (locks over NFS, two hosts' leases), so a second host is refused, naming PostgreSQL as
 * the way to grow. CROSSFOREST_ADOPT_STATE=1 moves the store to this host for good (the old
 * host retired, the project copied over).
 */
function claimSqliteHost(db: Database.Database, path: string): void {
  if (path === ':memory:') return;
  const me = hostIdentity();
  const owner = db.prepare('SELECT host FROM state_host WHERE id = 1').get() as { host: string } | undefined;
  if (!owner || process.env.CROSSFOREST_ADOPT_STATE === '1') {
    db.prepare(
      'INSERT INTO state_host (id, host, first_seen) VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET host = excluded.host, first_seen = excluded.first_seen',
    ).run(me, new Date().toISOString());
    return;
  }
  if (owner.host !== me)
    throw new CrossforestError(
      'CF_ERR_STATE_SECOND_HOST',
      `the SQLite state store ${path} belongs to host ${owner.host}, and this is ${me}`,
      {
        object: path,
        hint: 'a SQLite store serves one host; to run workers on many hosts put the state on PostgreSQL (state: { url: postgres://…, password: … }, see `crossforest init --state postgres --print`); if this host replaces the old one for good, run once with CROSSFOREST_ADOPT_STATE=1',
      },
    );
}

/** The store over an opened engine: leases are portable SQL, the same on both. */
function storeOver(
  sql: SqlDb,
  location: string,
  path: string | undefined,
  queue?: (onError?: (err: Error) => void) => Promise<JobQueue>,
): StateStore {
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
    leasesLike: (prefix) =>
      sql.all('SELECT name, holder, expires_at AS "expiresAt" FROM lease WHERE name LIKE ? AND expires_at >= ? ORDER BY name', [
        `${prefix}%`,
        new Date().toISOString(),
      ]),
    expiredLeasesLike: (prefix) =>
      sql.all('SELECT name, holder, expires_at AS "expiresAt" FROM lease WHERE name LIKE ? AND expires_at < ? ORDER BY name', [
        `${prefix}%`,
        new Date().toISOString(),
      ]),
    openQueue(onError) {
      if (!queue)
        return Promise.reject(
          new CrossforestError(
            'CF_ERR_STATE_NO_QUEUE',
            `the state store ${location} is SQLite: it has no job queue for workers on other hosts`,
            {
              object: location,
              hint: 'run the batch in this process (`batch start` without --detach), or put the state on PostgreSQL (`crossforest init --state postgres --print`) to spread it over workers',
            },
          ),
        );
      return queue(onError);
    },
    // Closing twice is harmless (a command's finally and a signal handler may both close).
    close: () => {
      closed ??= sql.close();
      return closed;
    },
  };
}
