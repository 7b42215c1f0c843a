// Applies the numbered plain-SQL migrations, each in its own transaction, recording them in
// schema_migration. Each engine has its own folder (./migrations/sqlite, ./migrations/postgres:
// the same tables in each dialect, numbered alike). A database newer than this code (a
// migration we do not know) is refused rather than used half-understood.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type Database from 'better-sqlite3';
import { StateError } from '../util/errors.ts';
import { sourcePath } from '../util/sourceTree.ts';
import type { SqlDb } from './db.ts';

const MIGRATIONS_ROOT = sourcePath('src', 'state', 'migrations');
export const migrationsDir = (engine: SqlDb['engine']): string => join(MIGRATIONS_ROOT, engine);
const MIGRATIONS_DIR = migrationsDir('sqlite');

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export function listMigrations(dir = MIGRATIONS_DIR): Migration[] {
  const seen = new Map<number, string>();
  return readdirSync(dir)
    .filter((f) => /^\d{3}_[a-z0-9_]+\.sql$/.test(f))
    .sort()
    .map((file) => {
      const version = Number(file.slice(0, 3));
      const clash = seen.get(version);
      if (clash) throw new StateError(`two migrations share version ${version}: ${clash} and ${file}`, { object: file });
      seen.set(version, file);
      return { version, name: file.replace(/\.sql$/, ''), sql: readFileSync(join(dir, file), 'utf8') };
    });
}

const SCHEMA_MIGRATION = `CREATE TABLE IF NOT EXISTS schema_migration (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`;

/**
 * Refuses a store that records migrations this code does not know: a newer crossforest
 * wrote them. Checked before anything is written, so the store is left as it was.
 */
function refuseNewer(applied: ReadonlySet<number>, migrations: readonly Migration[], store: string, fix: string): void {
  const known = new Set(migrations.map((m) => m.version));
  const unknown = [...applied].filter((v) => !known.has(v)).sort((x, y) => x - y);
  if (unknown.length > 0) {
    const found = Math.max(...applied);
    const knows = migrations.length > 0 ? Math.max(...known) : 0;
    throw new StateError(
      `state store ${store} has schema version ${found}, this crossforest knows versions up to ${knows}: migrations this crossforest does not know (${unknown.join(', ')})`,
      {
        object: store,
        hint: `it was written by a newer crossforest: upgrade crossforest (to the version that wrote schema ${found} or later) and run it again, or ${fix}; nothing was changed`,
      },
    );
  }
}

export function migrate(db: Database.Database, file: string, migrations = listMigrations()): number[] {
  db.exec(SCHEMA_MIGRATION);
  const applied = new Set((db.prepare('SELECT version FROM schema_migration').all() as { version: number }[]).map((r) => r.version));
  refuseNewer(applied, migrations, file, 'point state.path at another file');
  const done: number[] = [];
  const record = db.prepare('INSERT INTO schema_migration (version, name, applied_at) VALUES (?, ?, ?)');
  for (const m of migrations) {
    if (applied.has(m.version)) continue;
    db.transaction(() => {
      db.exec(m.sql);
      record.run(m.version, m.name, new Date().toISOString());
    })();
    done.push(m.version);
  }
  return done;
}

/**
 * The same on the async surface (the PostgreSQL engine; SQLite moves here once opening a
 * store is async). `lock` runs first in the one transaction that applies everything, so two
 * hosts starting at once migrate one after the other (PostgreSQL: an advisory lock).
 */
export async function migrateDb(db: SqlDb, store: string, migrations: readonly Migration[], lock?: string): Promise<number[]> {
  return db.tx(async () => {
    if (lock) await db.exec(lock);
    await db.exec(SCHEMA_MIGRATION);
    const applied = new Set((await db.all<{ version: number }>('SELECT version FROM schema_migration')).map((r) => Number(r.version)));
    refuseNewer(applied, migrations, store, 'point state.url at another database');
    const done: number[] = [];
    for (const m of migrations) {
      if (applied.has(m.version)) continue;
      await db.exec(m.sql);
      await db.run('INSERT INTO schema_migration (version, name, applied_at) VALUES (?, ?, ?)', [
        m.version,
        m.name,
        new Date().toISOString(),
      ]);
      done.push(m.version);
    }
    return done;
  });
}
