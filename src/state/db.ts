// The state store's SQL surface, async so that one interface serves both engines: SQLite
// (better-sqlite3, one host) today and PostgreSQL (`pg`, many hosts; issue 12) next.
// Repositories (one module per capability) use only this: `all`, `get`, `run`, `exec` and
// `tx`, with positional `?` parameters (the PostgreSQL engine numbers them `$1…`), plain
// values (booleans as 0/1, instants as ISO text) and `RETURNING` for new ids.
//
// Why our own thin layer and not a query builder (kysely, knex): the repositories are
// hand-written SQL already, tuned for the sync engine's hot loop; what they need from a
// library is a connection, and that is better-sqlite3 and `pg` themselves. What is ours is
// the transaction scope below, which neither driver gives in an async form.
//
// Transactions: `tx(fn)` runs fn in one transaction; a `tx` inside it (the same async call
// chain, tracked with AsyncLocalStorage) is a SAVEPOINT. SQLite has one connection, so while
// a transaction is open every statement from outside it waits (a mutex): otherwise another
// request's statement would run inside the open transaction and commit or roll back with it.
import { AsyncLocalStorage } from 'node:async_hooks';
import type Database from 'better-sqlite3';

export type SqlValue = string | number | bigint | null | Buffer;

export interface RunResult {
  /** Rows the statement changed. */
  changes: number;
}

/** SQL that differs between the engines, written once here so repositories stay portable. */
export interface Dialect {
  /** The length of the JSON array in text column `column`, or of its member `key`. */
  jsonArrayLength(column: string, key?: string): string;
  /**
   * The statement that refreshes the planner's statistics of `tables` after a bulk load, or
   * undefined where none is needed. PostgreSQL plans from statistics that autovacuum only
   * gathers later (a fresh store has none); SQLite's planner does well without them.
   */
  analyze(tables: readonly string[]): string | undefined;
}

export const DIALECTS: Record<'sqlite' | 'postgres', Dialect> = {
  sqlite: {
    jsonArrayLength: (column, key) => (key ? `json_array_length(${column}, '$.${key}')` : `json_array_length(${column})`),
    analyze: () => undefined,
  },
  postgres: {
    jsonArrayLength: (column, key) => (key ? `json_array_length((${column}::json)->'${key}')` : `json_array_length(${column}::json)`),
    analyze: (tables) => `ANALYZE ${tables.join(', ')}`,
  },
};

export interface SqlDb {
  readonly engine: 'sqlite' | 'postgres';
  readonly dialect: Dialect;
  all<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T[]>;
  get<T = Record<string, unknown>>(sql: string, params?: readonly SqlValue[]): Promise<T | undefined>;
  run(sql: string, params?: readonly SqlValue[]): Promise<RunResult>;
  /** Statements without parameters, `;`-separated (migrations, pragmas). */
  exec(sql: string): Promise<void>;
  /** fn in one transaction: committed when it resolves, rolled back when it throws. */
  tx<T>(fn: () => Promise<T>): Promise<T>;
  close(): Promise<void>;
}

interface Scope {
  depth: number;
}

/** The SQLite engine over one better-sqlite3 connection. */
export function sqliteDb(db: Database.Database): SqlDb {
  const statements = new Map<string, Database.Statement>();
  const prepare = (sql: string): Database.Statement => {
    let st = statements.get(sql);
    if (!st) {
      st = db.prepare(sql);
      statements.set(sql, st);
    }
    return st;
  };
  const scope = new AsyncLocalStorage<Scope>();
  // The open top-level transaction, if any: statements from outside it wait for it. The
  // check and the statement run in one continuation (no await between them), so nothing
  // can open a transaction in the gap.
  let open: Promise<void> | undefined;
  const when = async <T>(statement: () => T): Promise<T> => {
    if (!scope.getStore()) while (open) await open;
    return statement();
  };
  let savepoints = 0;

  return {
    engine: 'sqlite',
    dialect: DIALECTS.sqlite,
    all: <T>(sql: string, params: readonly SqlValue[] = []) => when(() => prepare(sql).all(...params) as T[]),
    get: <T>(sql: string, params: readonly SqlValue[] = []) => when(() => prepare(sql).get(...params) as T | undefined),
    run: (sql, params = []) =>
      when(() => {
        const st = prepare(sql);
        // A RETURNING statement is a reader in better-sqlite3; `run` reports the changes.
        return { changes: st.reader ? st.all(...params).length : st.run(...params).changes };
      }),
    exec: (sql) => when(() => void db.exec(sql)),
    async tx<T>(fn: () => Promise<T>): Promise<T> {
      const outer = scope.getStore();
      if (outer) {
        const name = `sp${++savepoints}`;
        db.exec(`SAVEPOINT ${name}`);
        try {
          const out = await scope.run({ depth: outer.depth + 1 }, fn);
          db.exec(`RELEASE ${name}`);
          return out;
        } catch (err) {
          db.exec(`ROLLBACK TO ${name}; RELEASE ${name}`);
          throw err;
        }
      }
      while (open) await open;
      let done!: () => void;
      open = new Promise<void>((r) => (done = r));
      try {
        db.exec('BEGIN IMMEDIATE');
        try {
          const out = await scope.run({ depth: 1 }, fn);
          db.exec('COMMIT');
          return out;
        } catch (err) {
          if (db.inTransaction) db.exec('ROLLBACK');
          throw err;
        }
      } finally {
        open = undefined;
        done();
      }
    },
    close: () => when(() => void db.close()),
  };
}
