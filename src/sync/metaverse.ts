// The metaverse in the state store: one query per function.
import type { SqlValue } from '../state/db.ts';
import type { StateStore } from '../state/store.ts';
import type { AttributeValues, MvObject } from './types.ts';

export async function mvById(s: StateStore, id: number): Promise<MvObject | undefined> {
  const r = await s.sql.get<{ id: number; object_type: string; attrs: string }>(
    'SELECT id, object_type, attrs FROM sync_mv_object WHERE id = ?',
    [id],
  );
  return r && { id: r.id, objectType: r.object_type, attributes: JSON.parse(r.attrs) as AttributeValues };
}

export async function createMv(s: StateStore, objectType: string): Promise<number> {
  const now = new Date().toISOString();
  const r = await s.sql.get<{ id: number }>(
    'INSERT INTO sync_mv_object (object_type, created_at, updated_at) VALUES (?, ?, ?) RETURNING id',
    [objectType, now, now],
  );
  return Number(r?.id);
}

/**
 * Stores the attributes and re-indexes the values of `indexed` attributes (lowercased), the
 * values in one multi-row INSERT. `fresh`: the object was just created (no values to remove).
 */
export async function updateMv(
  s: StateStore,
  id: number,
  attrs: AttributeValues,
  indexed: ReadonlySet<string>,
  fresh = false,
): Promise<void> {
  await s.sql.run('UPDATE sync_mv_object SET attrs = ?, updated_at = ? WHERE id = ?', [
    JSON.stringify(attrs),
    new Date().toISOString(),
    id,
  ]);
  if (!fresh) await s.sql.run('DELETE FROM sync_mv_value WHERE mv_id = ?', [id]);
  const rows: SqlValue[][] = [];
  for (const [attr, values] of Object.entries(attrs)) {
    if (!indexed.has(attr.toLowerCase())) continue;
    for (const v of new Set(values.map((x) => x.toLowerCase()))) rows.push([id, attr.toLowerCase(), v]);
  }
  for (let i = 0; i < rows.length; i += 500) {
    const part = rows.slice(i, i + 500);
    await s.sql.run(`INSERT INTO sync_mv_value (mv_id, attr, value) VALUES ${part.map(() => '(?, ?, ?)').join(', ')}`, part.flat());
  }
}

/** Metaverse objects by id (those that exist), one query per 500 ids. */
export async function mvByIds(s: StateStore, ids: readonly number[]): Promise<Map<number, MvObject>> {
  const out = new Map<number, MvObject>();
  const unique = [...new Set(ids)];
  for (let i = 0; i < unique.length; i += 500) {
    const part = unique.slice(i, i + 500);
    const rows = await s.sql.all<{ id: number; object_type: string; attrs: string }>(
      `SELECT id, object_type, attrs FROM sync_mv_object WHERE id IN (${part.map(() => '?').join(', ')})`,
      part,
    );
    for (const r of rows) out.set(r.id, { id: r.id, objectType: r.object_type, attributes: JSON.parse(r.attrs) as AttributeValues });
  }
  return out;
}

export async function deleteMv(s: StateStore, id: number): Promise<void> {
  await s.sql.run('DELETE FROM sync_mv_object WHERE id = ?', [id]);
}

/** Metaverse objects with `value` (lowercased) in attribute `attr`. */
export async function mvIdsByValue(s: StateStore, attr: string, value: string): Promise<number[]> {
  const rows = await s.sql.all<{ mv_id: number }>('SELECT DISTINCT mv_id FROM sync_mv_value WHERE attr = ? AND value = ?', [
    attr.toLowerCase(),
    value.toLowerCase(),
  ]);
  return rows.map((r) => r.mv_id);
}

/** mvIdsByValue for several values of one attribute: one query. */
export async function mvIdsByValues(s: StateStore, attr: string, values: readonly string[]): Promise<number[]> {
  const wanted = [...new Set(values.map((v) => v.toLowerCase()))];
  if (wanted.length === 0) return [];
  const rows = await s.sql.all<{ mv_id: number }>(
    `SELECT DISTINCT mv_id FROM sync_mv_value WHERE attr = ? AND value IN (${wanted.map(() => '?').join(', ')})`,
    [attr.toLowerCase(), ...wanted],
  );
  return rows.map((r) => r.mv_id);
}

export async function countMv(s: StateStore): Promise<number> {
  const r = await s.sql.get<{ n: number }>('SELECT count(*) AS n FROM sync_mv_object');
  return Number(r?.n ?? 0);
}

export async function allMvIds(s: StateStore): Promise<number[]> {
  return (await s.sql.all<{ id: number }>('SELECT id FROM sync_mv_object ORDER BY id')).map((r) => r.id);
}
