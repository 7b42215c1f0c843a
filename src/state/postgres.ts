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
export function withPassword(url: string, password: string | undefined): string {
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

/** The parts of the URL an error may name (never the password), or undefined if it does not parse. */
function urlParts(url: string): { host: string; port: string; user: string; database: string } | undefined {
  try {
    const u = new URL(url);
    return {
      host: u.hostname || 'localhost',
      port: u.port || '5432',
      user: decodeURIComponent(u.username) || 'your OS user',
      database: decodeURIComponent(u.pathname.replace(/^\//, '')),
    };
  } catch {
    return undefined;
  }
}

/**
 * The text of a connection error. Node 20 reports a host with several addresses that all
 * refuse (localhost: ::1 and 127.0.0.1) as an AggregateError with an empty message.
 */
function errorText(e: Error & { errors?: unknown[] }): string {
  if (e.message) return e.message;
  const inner = (e.errors ?? []).map((x) => (x as Error).message).filter(Boolean);
  return inner.length > 0 ? inner.join('; ') : String((e as { code?: string }).code ?? 'connection failed');
}

/** Names the object and the fix for what a failed first connection means (never the password). */
export function openError(err: unknown, url: string, hasPassword: boolean): StateError {
  const e = err as Error & { code?: string; errors?: unknown[] };
  const where = displayUrl(url);
  const p = urlParts(url);
  const text = errorText(e);
  const fail = (message: string, hint: string, object = where): StateError =>
    new StateError(`cannot open the state store ${where}: ${message}`, { object, hint, cause: err });
  if (e.code === '28P01')
    return fail(
      text,
      hasPassword
        ? `check the user in state.url and the password state.password names (the password file's first line, or the environment variable)`
        : 'the server wants a password: add state.password: { file: path } (or { env: NAME }) to the state section',
    );
  if (e.code === '28000')
    return fail(
      text,
      'the server does not admit this user, host or database (pg_hba.conf): fix the user in state.url, or have the PostgreSQL administrator allow it',
    );
  if (!hasPassword && /client password must be|password must be a string/i.test(text))
    return fail(
      'the server asks for a password and state.password is not set',
      'add state.password: { file: path } (the password on its first line, or { env: NAME }) to the state section',
    );
  if (e.code === '3D000') {
    const db = p?.database ?? 'the database';
    const create = p ? `createdb -h ${p.host} -p ${p.port} -U ${p.user} ${db}` : `createdb ${db}`;
    return fail(
      `database "${db}" does not exist`,
      `create it (\`${create}\`, or CREATE DATABASE ${db} as a PostgreSQL superuser; the lab's crossforest database is made by \`crossforest lab up\`), or fix its name in state.url; crossforest creates its tables itself`,
    );
  }
  const at = p ? `${p.host}:${p.port}` : where;
  if (e.code === 'ECONNREFUSED')
    return fail(
      `nothing listens on ${at} (${text})`,
      'start PostgreSQL (the lab: `crossforest lab up`) or fix host and port in state.url',
      at,
    );
  if (e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN')
    return fail(`host ${p?.host ?? ''} is not found (${text})`, 'fix the host in state.url (or its DNS name)', at);
  if (e.code === 'ETIMEDOUT' || e.code === 'EHOSTUNREACH' || e.code === 'ENETUNREACH' || /timeout/i.test(text))
    return fail(
      `${at} does not answer (${text})`,
      'check host and port in state.url, that PostgreSQL runs there, and that no firewall drops the connection',
      at,
    );
  return fail(text, 'check state.url and that PostgreSQL runs');
}

/** Names the fix for a migration that failed (the schema is created on open). */
function migrateError(err: unknown, where: string, url: string): StateError {
  const e = err as Error & { code?: string };
  const user = urlParts(url)?.user ?? 'the user';
  const hint =
    e.code === '42501'
      ? `${user} may not create tables in this database: make it the database's owner (ALTER DATABASE … OWNER TO ${user}) or GRANT CREATE ON SCHEMA public TO ${user}`
      : 'check that state.url names a database of crossforest (or an empty one) and that its user may create tables there';
  return new StateError(`cannot migrate the state store ${where}: ${e.message}`, { object: where, hint, cause: err });
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
    throw openError(err, opts.url, opts.password !== undefined);
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
    throw migrateError(err, where, opts.url);
  }
  return db;
}
