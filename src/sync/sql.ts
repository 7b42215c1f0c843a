// Prepared statements, compiled once per database: the engine runs the same few dozen
// queries hundreds of thousands of times in a full sync.
import type Database from 'better-sqlite3';
import type { StateStore } from '../state/store.ts';

const cache = new WeakMap<Database.Database, Map<string, Database.Statement>>();

export function sql(store: StateStore, text: string): Database.Statement {
  let m = cache.get(store.db);
  if (!m) {
    m = new Map();
    cache.set(store.db, m);
  }
  let st = m.get(text);
  if (!st) {
    st = store.db.prepare(text);
    m.set(text, st);
  }
  return st;
}
