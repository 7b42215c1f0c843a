// The PostgreSQL engine of the state surface (db.ts), over a `pg` 8 pool: how crossforest
// grows past one host (workers on many hosts share one database). Opened with
// `state: { url: postgres://user@host:port/db, password: { file: … } }`.
//
// The dialect differences the repositories do not see live here and in
// ./migrations/postgres: `?` placeholders become `$1…`; BIGINT and NUMERIC (COUNT, SUM)
// come back as JavaScript numbers, as SQLite gives them (every count and byte total we keep
// is far below 2^53); a transaction holds one pooled connection for its whole async scope.
import { AsyncLocalStorage } from 'node:async_hooks';
import pg from 'pg';
import { StateError } from '../util/errors.ts';
import { DIALECTS, type RunResult, type SqlDb, type SqlValue } from './db.ts';
import { listMigrations, migrateDb, migrationsDir } from './migrate.ts';

const INT8 = 20;
const NUMERIC = 1700;
const types = {
  getTypeParser(oid: number, format?: 'text' | 'binary') {
    if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};

/** `?` → `$n`, outside quoted strings and identifiers (the repositories' SQL is ours). */
export function numberPlaceholders(sql: string): string {
  let n = 0;
  let out = '';
  let quote: string | undefined;
  for (const c of sql) {
    if (quote) {
      if (c === quote) quote = undefined;
    } else if (c === "'" || c === '"') quote = c;
    else if (c === '?') {
      out += `$${++n}`;
      continue;
    }
    out += c;
  }
  return out;
}

/** The URL as it may be shown: no password, ever. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString();
  } catch {
    return 'the state.url (not a valid URL)';
  }
}

/**
 * The password goes into the connection string: pg lets the string's (absent) password win
 * over a separate `password` option. The string is never logged or shown (displayUrl).
 */
function withPassword(url: string, password: string | undefined): string {
  if (password === undefined) return url;
  try {
    const u = new URL(url);
    u.password = encodeURIComponent(password);
    return u.toString();
  } catch {
    return url; // not a URL: the first connection says so, without the password
  }
}

export interface PostgresOptions {
  url: string;
  password?: string | undefined;
  /** Connections in the pool (default 10). */
  max?: number;
}

/** Names the fix for what a failed first connection means. */
function openError(err: unknown, url: string): StateError {
  const e = err as Error & { code?: string };
  const where = displayUrl(url);
  const hint =
    e.code === '28P01' || e.code === '28000'
      ? 'check the user in state.url and the password file state.password.file'
      : e.code === '3D000'
        ? 'create the database (createdb) or fix its name in state.url'
        : e.code === 'ECONNREFUSED' || e.code === 'ENOTFOUND' || e.code === 'ETIMEDOUT'
          ? 'start PostgreSQL (the lab: `crossforest lab up`) or fix host and port in state.url'
          : 'check state.url and that PostgreSQL runs';
  return new StateError(`cannot open the state store ${where}: ${e.message}`, { object: where, hint, cause: err });
}

/** Opens (and migrates) a PostgreSQL state database. */
export async function openPostgresDb(opts: PostgresOptions): Promise<SqlDb> {
  const where = displayUrl(opts.url);
  const pool = new pg.Pool({
    connectionString: withPassword(opts.url, opts.password),
    max: opts.max ?? 10,
    connectionTimeoutMillis: 10_000,
    types,
  });
  // An idle pooled connection that dies (a server restart) must not crash the process.
  pool.on('error', () => undefined);
  try {
    const c = await pool.connect();
    c.release();
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw openError(err, opts.url);
  }
  const scope = new AsyncLocalStorage<{ client: pg.PoolClient; depth: number }>();
  let savepoints = 0;
  const runner = (): pg.Pool | pg.PoolClient => scope.getStore()?.client ?? pool;
  const query = (sql: string, params: readonly SqlValue[]) => runner().query(numberPlaceholders(sql), params as unknown[]);

  const db: SqlDb = {
    engine: 'postgres',
    dialect: DIALECTS.postgres,
    all: async <T>(sql: string, params: readonly SqlValue[] = []) => (await query(sql, params)).rows as T[],
    get: async <T>(sql: string, params: readonly SqlValue[] = []) => (await query(sql, params)).rows[0] as T | undefined,
    run: async (sql, params = []): Promise<RunResult> => ({ changes: (await query(sql, params)).rowCount ?? 0 }),
    exec: async (sql) => void (await runner().query(sql)),
    async tx<T>(fn: () => Promise<T>): Promise<T> {
      const outer = scope.getStore();
      if (outer) {
        const name = `sp${++savepoints}`;
        await outer.client.query(`SAVEPOINT ${name}`);
        try {
          const out = await scope.run({ client: outer.client, depth: outer.depth + 1 }, fn);
          await outer.client.query(`RELEASE SAVEPOINT ${name}`);
          return out;
        } catch (err) {
          await outer.client.query(`ROLLBACK TO SAVEPOINT ${name}`);
          throw err;
        }
      }
      const client = await pool.connect();
      let broken = false;
      try {
        await client.query('BEGIN');
        const out = await scope.run({ client, depth: 1 }, fn);
        await client.query('COMMIT');
        return out;
      } catch (err) {
        await client.query('ROLLBACK').catch(() => {
          broken = true;
        });
        throw err;
      } finally {
        client.release(broken);
      }
    },
    close: () => pool.end(),
  };
  try {
    // One host migrates at a time: the others wait on the advisory lock, then find nothing to do.
    await migrateDb(db, where, listMigrations(migrationsDir('postgres')), "SELECT pg_advisory_xact_lock(hashtext('crossforest schema'))");
  } catch (err) {
    await pool.end().catch(() => undefined);
    if (err instanceof StateError) throw err;
    throw new StateError(`cannot migrate the state store ${where}: ${(err as Error).message}`, { object: where, cause: err });
  }
  return db;
}
