// The connector spaces in the state store: one query per function, nothing else. The hot
// loop (import, sync) reads and writes many objects at a time (`…s` functions): on
// PostgreSQL every statement is a round trip, so one statement for a batch, not one per
// object, is what keeps a step fast there.

import { normalizeDn } from '../directory/escape.ts';
import type { SqlValue } from '../state/db.ts';
import type { StateStore } from '../state/store.ts';
import type { AttributeValues, CsObject, CsState, PendingOp } from './types.ts';

interface Row {
  id: number;
  agent: string;
  anchor: string;
  dn: string;
  object_class: string;
  attrs: string;
  state: CsState;
  mv_id: number | null;
  provisioned: number;
  pending_op: PendingOp | null;
  pending_attrs: string | null;
  pending_dn: string | null;
  exported: string | null;
}

function toCs(r: Row): CsObject {
  return {
    id: r.id,
    agent: r.agent,
    anchor: r.anchor,
    dn: r.dn,
    objectClass: r.object_class,
    attributes: JSON.parse(r.attrs) as AttributeValues,
    mvId: r.mv_id,
    state: r.state,
    provisioned: r.provisioned === 1,
    pendingOp: r.pending_op,
    pendingAttributes: r.pending_attrs ? (JSON.parse(r.pending_attrs) as AttributeValues) : null,
    pendingDn: r.pending_dn,
    exported: r.exported ? (JSON.parse(r.exported) as AttributeValues) : null,
  };
}

const COLS = 'id, agent, anchor, dn, object_class, attrs, state, mv_id, provisioned, pending_op, pending_attrs, pending_dn, exported';

export async function csById(s: StateStore, id: number): Promise<CsObject | undefined> {
  const r = await s.sql.get<Row>(`SELECT ${COLS} FROM sync_cs_object WHERE id = ?`, [id]);
  return r && toCs(r);
}

export async function csByAnchor(s: StateStore, agent: string, anchor: string): Promise<(CsObject & { hash: string }) | undefined> {
  const r = await s.sql.get<Row & { attrs_hash: string }>(`SELECT ${COLS}, attrs_hash FROM sync_cs_object WHERE agent = ? AND anchor = ?`, [
    agent,
    anchor,
  ]);
  return r && { ...toCs(r), hash: r.attrs_hash };
}

/** Positional placeholders for `n` values: `?, ?, …`. */
export function marks(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

/** Values per statement for the IN lists and multi-row INSERTs (far below either engine's limit). */
const CHUNK = 500;

function chunks<T>(items: readonly T[], size = CHUNK): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** The agent's objects with these anchors, by anchor (one query per 500 anchors). */
export async function csByAnchors(
  s: StateStore,
  agent: string,
  anchors: readonly string[],
): Promise<Map<string, CsObject & { hash: string }>> {
  const out = new Map<string, CsObject & { hash: string }>();
  for (const part of chunks([...new Set(anchors)])) {
    const rows = await s.sql.all<Row & { attrs_hash: string }>(
      `SELECT ${COLS}, attrs_hash FROM sync_cs_object WHERE agent = ? AND anchor IN (${marks(part.length)})`,
      [agent, ...part],
    );
    for (const r of rows) out.set(r.anchor, { ...toCs(r), hash: r.attrs_hash });
  }
  return out;
}

/** The agent's objects at these DNs, by normalized DN, each list in id order. */
export async function csByDns(s: StateStore, agent: string, dns: readonly string[]): Promise<Map<string, (CsObject & { hash: string })[]>> {
  const out = new Map<string, (CsObject & { hash: string })[]>();
  for (const part of chunks([...new Set(dns.map(normalizeDn))])) {
    const rows = await s.sql.all<Row & { attrs_hash: string; dn_norm: string }>(
      `SELECT ${COLS}, attrs_hash, dn_norm FROM sync_cs_object WHERE agent = ? AND dn_norm IN (${marks(part.length)}) ORDER BY id`,
      [agent, ...part],
    );
    for (const r of rows) {
      const list = out.get(r.dn_norm) ?? [];
      list.push({ ...toCs(r), hash: r.attrs_hash });
      out.set(r.dn_norm, list);
    }
  }
  return out;
}

/** Objects by id (those that exist), one query per 500 ids. */
export async function csByIds(s: StateStore, ids: readonly number[]): Promise<Map<number, CsObject>> {
  const out = new Map<number, CsObject>();
  for (const part of chunks([...new Set(ids)])) {
    const rows = await s.sql.all<Row>(`SELECT ${COLS} FROM sync_cs_object WHERE id IN (${marks(part.length)})`, part);
    for (const r of rows) out.set(r.id, toCs(r));
  }
  return out;
}

/** The connectors of these metaverse objects, by metaverse id, each list in id order (as csByMv). */
export async function csByMvs(s: StateStore, mvIds: readonly number[]): Promise<Map<number, CsObject[]>> {
  const out = new Map<number, CsObject[]>();
  for (const part of chunks([...new Set(mvIds)])) {
    const rows = await s.sql.all<Row>(`SELECT ${COLS} FROM sync_cs_object WHERE mv_id IN (${marks(part.length)}) ORDER BY id`, part);
    for (const r of rows) {
      const o = toCs(r);
      const list = out.get(o.mvId as number) ?? [];
      list.push(o);
      out.set(o.mvId as number, list);
    }
  }
  return out;
}

export async function csByDn(s: StateStore, agent: string, dn: string): Promise<CsObject[]> {
  const rows = await s.sql.all<Row>(`SELECT ${COLS} FROM sync_cs_object WHERE agent = ? AND dn_norm = ?`, [agent, normalizeDn(dn)]);
  return rows.map(toCs);
}

export async function csByMv(s: StateStore, mvId: number): Promise<CsObject[]> {
  return (await s.sql.all<Row>(`SELECT ${COLS} FROM sync_cs_object WHERE mv_id = ? ORDER BY id`, [mvId])).map(toCs);
}

export interface NewCs {
  agent: string;
  anchor: string;
  dn: string;
  objectClass: string;
  attributes: AttributeValues;
  hash: string;
  provisioned: boolean;
  runId: number | null;
  /** Joined at once (provisioning); default none. */
  mvId?: number | null;
  /** Flagged for synchronization; default yes. */
  syncPending?: boolean;
  /** The pending export it starts with (provisioning: an add); default none. */
  pendingOp?: PendingOp | null;
  pendingAttributes?: AttributeValues | null;
}

const INSERT_COLS =
  'agent, anchor, dn, dn_norm, object_class, attrs, attrs_hash, provisioned, seen_run, imported_at, sync_pending, mv_id, pending_op, pending_attrs';

function insertValues(c: NewCs, now: string): SqlValue[] {
  return [
    c.agent,
    c.anchor,
    c.dn,
    normalizeDn(c.dn),
    c.objectClass,
    JSON.stringify(c.attributes),
    c.hash,
    c.provisioned ? 1 : 0,
    c.runId,
    now,
    c.syncPending === false ? 0 : 1,
    c.mvId ?? null,
    c.pendingOp ?? null,
    c.pendingAttributes ? JSON.stringify(c.pendingAttributes) : null,
  ];
}

/**
 * New objects in one multi-row INSERT per 500; their ids, in the order given (ids ascend
 * in that order, as one INSERT each would give them). Anchors are unique per agent.
 */
export async function insertCsMany(s: StateStore, objects: readonly NewCs[]): Promise<number[]> {
  const now = new Date().toISOString();
  const ids: number[] = [];
  const row = `(${marks(14)})`;
  for (const part of chunks(objects, 200)) {
    const rows = await s.sql.all<{ id: number; agent: string; anchor: string }>(
      `INSERT INTO sync_cs_object (${INSERT_COLS}) VALUES ${part.map(() => row).join(', ')} RETURNING id, agent, anchor`,
      part.flatMap((c) => insertValues(c, now)),
    );
    // RETURNING's row order is not promised by either engine: match by (agent, anchor).
    const byKey = new Map(rows.map((r) => [`${r.agent}\0${r.anchor}`, Number(r.id)]));
    for (const c of part) ids.push(byKey.get(`${c.agent}\0${c.anchor}`) as number);
  }
  return ids;
}

export async function insertCs(s: StateStore, c: NewCs): Promise<number> {
  const r = await s.sql.get<{ id: number }>(
    `INSERT INTO sync_cs_object (${INSERT_COLS}) VALUES (${marks(14)}) RETURNING id`,
    insertValues(c, new Date().toISOString()),
  );
  return Number(r?.id);
}

/** What an import writes besides the entry itself: an adopted add's anchor and export, a confirmation. */
export interface ImportedExtras {
  /** The anchor learnt (an add we exported, adopted by DN). */
  anchor?: string;
  /** The pending export is done (an adopted add). */
  clearPendingExport?: boolean;
  /** What awaits confirmation now (null: confirmed). */
  exported?: AttributeValues | null;
}

/** Records an imported entry; flags it for synchronization only when something changed. One statement. */
export async function updateImported(
  s: StateStore,
  id: number,
  dn: string,
  objectClass: string,
  attrs: AttributeValues,
  hash: string,
  runId: number | null,
  changed: boolean,
  extras: ImportedExtras = {},
): Promise<void> {
  const sets: string[] = [];
  const params: SqlValue[] = [];
  if (extras.anchor !== undefined) {
    sets.push('anchor = ?');
    params.push(extras.anchor);
  }
  if (extras.clearPendingExport) sets.push('pending_op = NULL, pending_attrs = NULL, pending_dn = NULL');
  if (extras.exported !== undefined) {
    sets.push('exported = ?');
    params.push(extras.exported ? JSON.stringify(extras.exported) : null);
  }
  await s.sql.run(
    `UPDATE sync_cs_object SET ${sets.map((x) => `${x}, `).join('')}dn = ?, dn_norm = ?, object_class = ?, attrs = ?, attrs_hash = ?, seen_run = ?, imported_at = ?,
         state = CASE WHEN state = 'deleted' THEN 'normal' ELSE state END,
         sync_pending = CASE WHEN ? = 1 THEN 1 ELSE sync_pending END
       WHERE id = ?`,
    [...params, dn, normalizeDn(dn), objectClass, JSON.stringify(attrs), hash, runId, new Date().toISOString(), changed ? 1 : 0, id],
  );
}

export async function setAnchorAndDn(s: StateStore, id: number, anchor: string, dn: string): Promise<void> {
  await s.sql.run('UPDATE sync_cs_object SET anchor = ?, dn = ?, dn_norm = ? WHERE id = ?', [anchor, dn, normalizeDn(dn), id]);
}

export async function markDeleted(s: StateStore, id: number): Promise<void> {
  await s.sql.run("UPDATE sync_cs_object SET state = 'deleted', sync_pending = 1 WHERE id = ?", [id]);
}

/** Full-import obsoletion: what this run did not see is gone (except adds not yet exported). */
export async function markUnseenDeleted(s: StateStore, agent: string, runId: number): Promise<number> {
  const res = await s.sql.run(
    `UPDATE sync_cs_object SET state = 'deleted', sync_pending = 1
       WHERE agent = ? AND (seen_run IS NULL OR seen_run <> ?) AND state <> 'deleted' AND (pending_op IS NULL OR pending_op <> 'add')
         AND anchor NOT LIKE 'pending:%'`,
    [agent, runId],
  );
  return res.changes;
}

/** What ordering a synchronization needs of an object, without its attributes. */
export interface CsHead {
  id: number;
  agent: string;
  dn: string;
  provisioned: boolean;
  /** Gone from its directory (the import saw it deleted): synchronized first. */
  deleted: boolean;
}

type HeadRow = { id: number; agent: string; dn: string; provisioned: number; state: string };

function heads(rows: HeadRow[]): CsHead[] {
  return rows.map((r) => ({ id: r.id, agent: r.agent, dn: r.dn, provisioned: r.provisioned === 1, deleted: r.state === 'deleted' }));
}

export async function pendingSyncHeads(s: StateStore): Promise<CsHead[]> {
  return heads(await s.sql.all<HeadRow>('SELECT id, agent, dn, provisioned, state FROM sync_cs_object WHERE sync_pending = 1 ORDER BY id'));
}

export async function allCsHeads(s: StateStore): Promise<CsHead[]> {
  return heads(await s.sql.all<HeadRow>('SELECT id, agent, dn, provisioned, state FROM sync_cs_object ORDER BY id'));
}

export async function setJoin(s: StateStore, id: number, mvId: number | null): Promise<void> {
  await s.sql.run('UPDATE sync_cs_object SET mv_id = ? WHERE id = ?', [mvId, id]);
}

/** setJoin and setState in one statement. */
export async function setJoinAndState(
  s: StateStore,
  id: number,
  mvId: number | null,
  state: CsState,
  reason: string | null,
): Promise<void> {
  await s.sql.run('UPDATE sync_cs_object SET mv_id = ?, state = ?, state_reason = ? WHERE id = ?', [mvId, state, reason, id]);
}

export async function setState(s: StateStore, id: number, state: CsState, reason: string | null): Promise<void> {
  await s.sql.run('UPDATE sync_cs_object SET state = ?, state_reason = ? WHERE id = ?', [state, reason, id]);
}

export async function setSyncPending(s: StateStore, id: number, pending: boolean): Promise<void> {
  await s.sql.run('UPDATE sync_cs_object SET sync_pending = ? WHERE id = ?', [pending ? 1 : 0, id]);
}

/** setSyncPending for many objects: one statement per 500. */
export async function setSyncPendingMany(s: StateStore, ids: readonly number[], pending: boolean): Promise<void> {
  for (const part of chunks(ids))
    await s.sql.run(`UPDATE sync_cs_object SET sync_pending = ? WHERE id IN (${marks(part.length)})`, [pending ? 1 : 0, ...part]);
}

export async function setPendingExport(
  s: StateStore,
  id: number,
  op: PendingOp | null,
  attrs: AttributeValues | null,
  newDn: string | null,
): Promise<void> {
  await s.sql.run('UPDATE sync_cs_object SET pending_op = ?, pending_attrs = ?, pending_dn = ? WHERE id = ?', [
    op,
    attrs ? JSON.stringify(attrs) : null,
    newDn,
    id,
  ]);
}

/** After a successful export: the pending export is gone, what was written awaits confirmation. */
export async function recordExported(
  s: StateStore,
  id: number,
  exported: AttributeValues | null,
  dn: string,
  opts: { syncPending?: boolean } = {},
): Promise<void> {
  const pending = opts.syncPending === undefined ? '' : `, sync_pending = ${opts.syncPending ? 1 : 0}`;
  await s.sql.run(
    `UPDATE sync_cs_object SET pending_op = NULL, pending_attrs = NULL, pending_dn = NULL, exported = ?, dn = ?, dn_norm = ?${pending} WHERE id = ?`,
    [exported ? JSON.stringify(exported) : null, dn, normalizeDn(dn), id],
  );
}

export async function pendingExports(s: StateStore, agent: string): Promise<CsObject[]> {
  return (await s.sql.all<Row>(`SELECT ${COLS} FROM sync_cs_object WHERE agent = ? AND pending_op IS NOT NULL ORDER BY id`, [agent])).map(
    toCs,
  );
}

/** Ids of an agent's pending exports in id order: export holds only these and reads each object as it goes. */
export async function pendingExportIds(s: StateStore, agent: string): Promise<number[]> {
  const rows = await s.sql.all<{ id: number }>('SELECT id FROM sync_cs_object WHERE agent = ? AND pending_op IS NOT NULL ORDER BY id', [
    agent,
  ]);
  return rows.map((r) => r.id);
}

/** How many deletes are pending for the agent (the delete threshold's count). */
export async function countPendingDeletes(s: StateStore, agent: string): Promise<number> {
  const r = await s.sql.get<{ n: number }>("SELECT count(*) AS n FROM sync_cs_object WHERE agent = ? AND pending_op = 'delete'", [agent]);
  return Number(r?.n ?? 0);
}

export async function countObjects(s: StateStore, agent: string): Promise<number> {
  const r = await s.sql.get<{ n: number }>("SELECT count(*) AS n FROM sync_cs_object WHERE agent = ? AND state <> 'deleted'", [agent]);
  return Number(r?.n ?? 0);
}

export async function deleteCs(s: StateStore, id: number): Promise<void> {
  await s.sql.run('DELETE FROM sync_cs_object WHERE id = ?', [id]);
}

export async function replaceAddresses(s: StateStore, csId: number, agent: string, addresses: string[]): Promise<void> {
  await s.sql.run('DELETE FROM sync_cs_address WHERE cs_id = ?', [csId]);
  await insertAddresses(s, [{ csId, agent, addresses }]);
}

/**
 * replaceAddresses for many objects: one DELETE per 500 objects (only for those that may
 * have some: `fresh` ones were just inserted) and one multi-row INSERT per 500 addresses.
 */
export async function replaceAddressesMany(
  s: StateStore,
  objects: readonly { csId: number; agent: string; addresses: readonly string[]; fresh?: boolean }[],
): Promise<void> {
  for (const part of chunks(objects.filter((o) => !o.fresh).map((o) => o.csId)))
    await s.sql.run(`DELETE FROM sync_cs_address WHERE cs_id IN (${marks(part.length)})`, part);
  await insertAddresses(s, objects);
}

async function insertAddresses(
  s: StateStore,
  objects: readonly { csId: number; agent: string; addresses: readonly string[] }[],
): Promise<void> {
  const rows = objects.flatMap((o) => o.addresses.map((a) => [o.csId, o.agent, a] as const));
  for (const part of chunks(rows))
    await s.sql.run(`INSERT INTO sync_cs_address (cs_id, agent, address) VALUES ${part.map(() => '(?, ?, ?)').join(', ')}`, part.flat());
}

/** Other objects of the agent that answer to any of `addresses`, except those joined to `mvId`: in address order. */
export async function addressOwnersMany(
  s: StateStore,
  agent: string,
  addresses: readonly string[],
  exceptCsId: number | null,
  mvId: number,
): Promise<{ address: string; id: number; dn: string }[]> {
  if (addresses.length === 0) return [];
  const out: { address: string; id: number; dn: string }[] = [];
  for (const part of chunks([...new Set(addresses)])) {
    const rows = await s.sql.all<{ address: string; id: number; dn: string }>(
      `SELECT a.address, c.id, c.dn FROM sync_cs_address a JOIN sync_cs_object c ON c.id = a.cs_id
         WHERE a.agent = ? AND a.address IN (${marks(part.length)}) AND c.state <> 'deleted' AND c.id IS DISTINCT FROM ? AND (c.mv_id IS NULL OR c.mv_id <> ?)`,
      [agent, ...part, exceptCsId, mvId],
    );
    out.push(...rows);
  }
  const order = new Map(addresses.map((a, i) => [a, i]));
  return out.sort((x, y) => (order.get(x.address) as number) - (order.get(y.address) as number));
}

/** After a bulk load (a full import, a full sync): fresh planner statistics, where the engine needs them. */
export async function refreshStatistics(s: StateStore, tables: readonly string[]): Promise<void> {
  const sql = s.sql.dialect.analyze(tables);
  if (sql) await s.sql.exec(sql);
}

export function liveAnchors(s: StateStore, agent: string): Promise<{ id: number; anchor: string }[]> {
  return s.sql.all<{ id: number; anchor: string }>("SELECT id, anchor FROM sync_cs_object WHERE agent = ? AND state <> 'deleted'", [agent]);
}
