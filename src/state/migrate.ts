// Applies the numbered plain-SQL migrations in ./migrations, each in its own
// transaction, recording them in schema_migration. A database newer than this code
// (a migration we do not know) is refused rather than used half-understood.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type Database from 'better-sqlite3';
import { StateError } from '../util/errors.ts';

const MIGRATIONS_DIR = join(fileURLToPath(new URL('.', import.meta.url)), 'migrations');

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

export function migrate(db: Database.Database, file: string, migrations = listMigrations()): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migration (
    version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`);
  const applied = new Set((db.prepare('SELECT version FROM schema_migration').all() as { version: number }[]).map((r) => r.version));
  const known = new Set(migrations.map((m) => m.version));
  const unknown = [...applied].filter((v) => !known.has(v));
  if (unknown.length > 0) {
    throw new StateError(`state store ${file} has migrations this crossforest does not know (${unknown.join(', ')})`, {
      object: file,
      hint: 'it was written by a newer crossforest: upgrade crossforest, or point state.path at another file',
    });
  }
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
