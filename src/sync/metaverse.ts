// The metaverse in the state store: one query per function.
import type { StateStore } from '../state/store.ts';
import { sql } from './sql.ts';
import type { AttributeValues, MvObject } from './types.ts';

export function mvById(s: StateStore, id: number): MvObject | undefined {
  const r = sql(s, 'SELECT id, object_type, attrs FROM sync_mv_object WHERE id = ?').get(id) as
    | { id: number; object_type: string; attrs: string }
    | undefined;
  return r && { id: r.id, objectType: r.object_type, attributes: JSON.parse(r.attrs) as AttributeValues };
}

export function createMv(s: StateStore, objectType: string): number {
  const now = new Date().toISOString();
  return Number(
    sql(s, 'INSERT INTO sync_mv_object (object_type, created_at, updated_at) VALUES (?, ?, ?)').run(objectType, now, now).lastInsertRowid,
  );
}

/** Stores the attributes and re-indexes the values of `indexed` attributes (lowercased). */
export function updateMv(s: StateStore, id: number, attrs: AttributeValues, indexed: ReadonlySet<string>): void {
  sql(s, 'UPDATE sync_mv_object SET attrs = ?, updated_at = ? WHERE id = ?').run(JSON.stringify(attrs), new Date().toISOString(), id);
  sql(s, 'DELETE FROM sync_mv_value WHERE mv_id = ?').run(id);
  const ins = sql(s, 'INSERT INTO sync_mv_value (mv_id, attr, value) VALUES (?, ?, ?)');
  for (const [attr, values] of Object.entries(attrs)) {
    if (!indexed.has(attr.toLowerCase())) continue;
    for (const v of new Set(values.map((x) => x.toLowerCase()))) ins.run(id, attr.toLowerCase(), v);
  }
}

export function deleteMv(s: StateStore, id: number): void {
  sql(s, 'DELETE FROM sync_mv_object WHERE id = ?').run(id);
}

/** Metaverse objects with `value` (lowercased) in attribute `attr`. */
export function mvIdsByValue(s: StateStore, attr: string, value: string): number[] {
  return (
    sql(s, 'SELECT DISTINCT mv_id FROM sync_mv_value WHERE attr = ? AND value = ?').all(attr.toLowerCase(), value.toLowerCase()) as {
      mv_id: number;
    }[]
  ).map((r) => r.mv_id);
}

export function countMv(s: StateStore): number {
  return (sql(s, 'SELECT count(*) AS n FROM sync_mv_object').get() as { n: number }).n;
}

export function allMvIds(s: StateStore): number[] {
  return (sql(s, 'SELECT id FROM sync_mv_object ORDER BY id').all() as { id: number }[]).map((r) => r.id);
}
