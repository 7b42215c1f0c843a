// The connector spaces in the state store: one query per function, nothing else.

import { normalizeDn } from '../directory/escape.ts';
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
}

export async function insertCs(s: StateStore, c: NewCs): Promise<number> {
  const r = await s.sql.get<{ id: number }>(
    `INSERT INTO sync_cs_object (agent, anchor, dn, dn_norm, object_class, attrs, attrs_hash, provisioned, seen_run, imported_at, sync_pending)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1) RETURNING id`,
    [
      c.agent,
      c.anchor,
      c.dn,
      normalizeDn(c.dn),
      c.objectClass,
      JSON.stringify(c.attributes),
      c.hash,
      c.provisioned ? 1 : 0,
      c.runId,
      new Date().toISOString(),
    ],
  );
  return Number(r?.id);
}

/** Records an imported entry; flags it for synchronization only when something changed. */
export async function updateImported(
  s: StateStore,
  id: number,
  dn: string,
  objectClass: string,
  attrs: AttributeValues,
  hash: string,
  runId: number | null,
  changed: boolean,
): Promise<void> {
  await s.sql.run(
    `UPDATE sync_cs_object SET dn = ?, dn_norm = ?, object_class = ?, attrs = ?, attrs_hash = ?, seen_run = ?, imported_at = ?,
         state = CASE WHEN state = 'deleted' THEN 'normal' ELSE state END,
         sync_pending = CASE WHEN ? = 1 THEN 1 ELSE sync_pending END
       WHERE id = ?`,
    [dn, normalizeDn(dn), objectClass, JSON.stringify(attrs), hash, runId, new Date().toISOString(), changed ? 1 : 0, id],
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
}

type HeadRow = { id: number; agent: string; dn: string; provisioned: number };

function heads(rows: HeadRow[]): CsHead[] {
  return rows.map((r) => ({ id: r.id, agent: r.agent, dn: r.dn, provisioned: r.provisioned === 1 }));
}

export async function pendingSyncHeads(s: StateStore): Promise<CsHead[]> {
  return heads(await s.sql.all<HeadRow>('SELECT id, agent, dn, provisioned FROM sync_cs_object WHERE sync_pending = 1 ORDER BY id'));
}

export async function allCsHeads(s: StateStore): Promise<CsHead[]> {
  return heads(await s.sql.all<HeadRow>('SELECT id, agent, dn, provisioned FROM sync_cs_object ORDER BY id'));
}

export async function setJoin(s: StateStore, id: number, mvId: number | null): Promise<void> {
  await s.sql.run('UPDATE sync_cs_object SET mv_id = ? WHERE id = ?', [mvId, id]);
}

export async function setState(s: StateStore, id: number, state: CsState, reason: string | null): Promise<void> {
  await s.sql.run('UPDATE sync_cs_object SET state = ?, state_reason = ? WHERE id = ?', [state, reason, id]);
}

export async function setSyncPending(s: StateStore, id: number, pending: boolean): Promise<void> {
  await s.sql.run('UPDATE sync_cs_object SET sync_pending = ? WHERE id = ?', [pending ? 1 : 0, id]);
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
export async function recordExported(s: StateStore, id: number, exported: AttributeValues | null, dn: string): Promise<void> {
  await s.sql.run(
    'UPDATE sync_cs_object SET pending_op = NULL, pending_attrs = NULL, pending_dn = NULL, exported = ?, dn = ?, dn_norm = ? WHERE id = ?',
    [exported ? JSON.stringify(exported) : null, dn, normalizeDn(dn), id],
  );
}

export async function clearExported(s: StateStore, id: number): Promise<void> {
  await s.sql.run('UPDATE sync_cs_object SET exported = NULL WHERE id = ?', [id]);
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
  for (const a of addresses) await s.sql.run('INSERT INTO sync_cs_address (cs_id, agent, address) VALUES (?, ?, ?)', [csId, agent, a]);
}

/** Other objects of the agent that answer to `address`, except those joined to `mvId`. */
export function addressOwners(
  s: StateStore,
  agent: string,
  address: string,
  exceptCsId: number | null,
  mvId: number,
): Promise<{ id: number; dn: string }[]> {
  return s.sql.all<{ id: number; dn: string }>(
    `SELECT c.id, c.dn FROM sync_cs_address a JOIN sync_cs_object c ON c.id = a.cs_id
       WHERE a.agent = ? AND a.address = ? AND c.state <> 'deleted' AND c.id IS DISTINCT FROM ? AND (c.mv_id IS NULL OR c.mv_id <> ?)`,
    [agent, address, exceptCsId, mvId],
  );
}

export function liveAnchors(s: StateStore, agent: string): Promise<{ id: number; anchor: string }[]> {
  return s.sql.all<{ id: number; anchor: string }>("SELECT id, anchor FROM sync_cs_object WHERE agent = ? AND state <> 'deleted'", [agent]);
}
