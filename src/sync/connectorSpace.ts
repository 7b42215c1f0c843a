// The connector spaces in the state store: one query per function, nothing else.

import { normalizeDn } from '../directory/escape.ts';
import type { StateStore } from '../state/store.ts';
import { sql } from './sql.ts';
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

export function csById(s: StateStore, id: number): CsObject | undefined {
  const r = sql(s, `SELECT ${COLS} FROM sync_cs_object WHERE id = ?`).get(id) as Row | undefined;
  return r && toCs(r);
}

export function csByAnchor(s: StateStore, agent: string, anchor: string): (CsObject & { hash: string }) | undefined {
  const r = sql(s, `SELECT ${COLS}, attrs_hash FROM sync_cs_object WHERE agent = ? AND anchor = ?`).get(agent, anchor) as
    | (Row & { attrs_hash: string })
    | undefined;
  return r && { ...toCs(r), hash: r.attrs_hash };
}

export function csByDn(s: StateStore, agent: string, dn: string): CsObject[] {
  const rows = sql(s, `SELECT ${COLS} FROM sync_cs_object WHERE agent = ? AND dn_norm = ?`).all(agent, normalizeDn(dn)) as Row[];
  return rows.map(toCs);
}

export function csByMv(s: StateStore, mvId: number): CsObject[] {
  return (sql(s, `SELECT ${COLS} FROM sync_cs_object WHERE mv_id = ? ORDER BY id`).all(mvId) as Row[]).map(toCs);
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

export function insertCs(s: StateStore, c: NewCs): number {
  const res = sql(
    s,
    `INSERT INTO sync_cs_object (agent, anchor, dn, dn_norm, object_class, attrs, attrs_hash, provisioned, seen_run, imported_at, sync_pending)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1)`,
  ).run(
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
  );
  return Number(res.lastInsertRowid);
}

/** Records an imported entry; flags it for synchronization only when something changed. */
export function updateImported(
  s: StateStore,
  id: number,
  dn: string,
  objectClass: string,
  attrs: AttributeValues,
  hash: string,
  runId: number | null,
  changed: boolean,
): void {
  sql(
    s,
    `UPDATE sync_cs_object SET dn = ?, dn_norm = ?, object_class = ?, attrs = ?, attrs_hash = ?, seen_run = ?, imported_at = ?,
         state = CASE WHEN state = 'deleted' THEN 'normal' ELSE state END,
         sync_pending = CASE WHEN ? THEN 1 ELSE sync_pending END
       WHERE id = ?`,
  ).run(dn, normalizeDn(dn), objectClass, JSON.stringify(attrs), hash, runId, new Date().toISOString(), changed ? 1 : 0, id);
}

export function setAnchorAndDn(s: StateStore, id: number, anchor: string, dn: string): void {
  sql(s, 'UPDATE sync_cs_object SET anchor = ?, dn = ?, dn_norm = ? WHERE id = ?').run(anchor, dn, normalizeDn(dn), id);
}

export function markDeleted(s: StateStore, id: number): void {
  sql(s, "UPDATE sync_cs_object SET state = 'deleted', sync_pending = 1 WHERE id = ?").run(id);
}

/** Full-import obsoletion: what this run did not see is gone (except adds not yet exported). */
export function markUnseenDeleted(s: StateStore, agent: string, runId: number): number {
  return sql(
    s,
    `UPDATE sync_cs_object SET state = 'deleted', sync_pending = 1
       WHERE agent = ? AND (seen_run IS NULL OR seen_run <> ?) AND state <> 'deleted' AND (pending_op IS NULL OR pending_op <> 'add')
         AND anchor NOT LIKE 'pending:%'`,
  ).run(agent, runId).changes;
}

/** What ordering a synchronization needs of an object, without its attributes. */
export interface CsHead {
  id: number;
  agent: string;
  dn: string;
  provisioned: boolean;
}

function heads(rows: { id: number; agent: string; dn: string; provisioned: number }[]): CsHead[] {
  return rows.map((r) => ({ id: r.id, agent: r.agent, dn: r.dn, provisioned: r.provisioned === 1 }));
}

export function pendingSyncHeads(s: StateStore): CsHead[] {
  return heads(sql(s, 'SELECT id, agent, dn, provisioned FROM sync_cs_object WHERE sync_pending = 1 ORDER BY id').all() as never);
}

export function allCsHeads(s: StateStore): CsHead[] {
  return heads(sql(s, 'SELECT id, agent, dn, provisioned FROM sync_cs_object ORDER BY id').all() as never);
}

export function setJoin(s: StateStore, id: number, mvId: number | null): void {
  sql(s, 'UPDATE sync_cs_object SET mv_id = ? WHERE id = ?').run(mvId, id);
}

export function setState(s: StateStore, id: number, state: CsState, reason: string | null): void {
  sql(s, 'UPDATE sync_cs_object SET state = ?, state_reason = ? WHERE id = ?').run(state, reason, id);
}

export function setSyncPending(s: StateStore, id: number, pending: boolean): void {
  sql(s, 'UPDATE sync_cs_object SET sync_pending = ? WHERE id = ?').run(pending ? 1 : 0, id);
}

export function setPendingExport(
  s: StateStore,
  id: number,
  op: PendingOp | null,
  attrs: AttributeValues | null,
  newDn: string | null,
): void {
  sql(s, 'UPDATE sync_cs_object SET pending_op = ?, pending_attrs = ?, pending_dn = ? WHERE id = ?').run(
    op,
    attrs ? JSON.stringify(attrs) : null,
    newDn,
    id,
  );
}

/** After a successful export: the pending export is gone, what was written awaits confirmation. */
export function recordExported(s: StateStore, id: number, exported: AttributeValues | null, dn: string): void {
  sql(
    s,
    'UPDATE sync_cs_object SET pending_op = NULL, pending_attrs = NULL, pending_dn = NULL, exported = ?, dn = ?, dn_norm = ? WHERE id = ?',
  ).run(exported ? JSON.stringify(exported) : null, dn, normalizeDn(dn), id);
}

export function clearExported(s: StateStore, id: number): void {
  sql(s, 'UPDATE sync_cs_object SET exported = NULL WHERE id = ?').run(id);
}

export function pendingExports(s: StateStore, agent: string): CsObject[] {
  return (sql(s, `SELECT ${COLS} FROM sync_cs_object WHERE agent = ? AND pending_op IS NOT NULL ORDER BY id`).all(agent) as Row[]).map(
    toCs,
  );
}

/** Ids of an agent's pending exports in id order: export holds only these and reads each object as it goes. */
export function pendingExportIds(s: StateStore, agent: string): number[] {
  const rows = sql(s, 'SELECT id FROM sync_cs_object WHERE agent = ? AND pending_op IS NOT NULL ORDER BY id').all(agent) as {
    id: number;
  }[];
  return rows.map((r) => r.id);
}

/** How many deletes are pending for the agent (the delete threshold's count). */
export function countPendingDeletes(s: StateStore, agent: string): number {
  return (sql(s, "SELECT count(*) AS n FROM sync_cs_object WHERE agent = ? AND pending_op = 'delete'").get(agent) as { n: number }).n;
}

export function countObjects(s: StateStore, agent: string): number {
  return (sql(s, "SELECT count(*) AS n FROM sync_cs_object WHERE agent = ? AND state <> 'deleted'").get(agent) as { n: number }).n;
}

export function deleteCs(s: StateStore, id: number): void {
  sql(s, 'DELETE FROM sync_cs_object WHERE id = ?').run(id);
}

export function replaceAddresses(s: StateStore, csId: number, agent: string, addresses: string[]): void {
  sql(s, 'DELETE FROM sync_cs_address WHERE cs_id = ?').run(csId);
  const ins = sql(s, 'INSERT INTO sync_cs_address (cs_id, agent, address) VALUES (?, ?, ?)');
  for (const a of addresses) ins.run(csId, agent, a);
}

/** Other objects of the agent that answer to `address`, except those joined to `mvId`. */
export function addressOwners(
  s: StateStore,
  agent: string,
  address: string,
  exceptCsId: number | null,
  mvId: number,
): { id: number; dn: string }[] {
  return sql(
    s,
    `SELECT c.id, c.dn FROM sync_cs_address a JOIN sync_cs_object c ON c.id = a.cs_id
       WHERE a.agent = ? AND a.address = ? AND c.state <> 'deleted' AND c.id IS NOT ? AND (c.mv_id IS NULL OR c.mv_id <> ?)`,
  ).all(agent, address, exceptCsId, mvId) as { id: number; dn: string }[];
}

export function liveAnchors(s: StateStore, agent: string): { id: number; anchor: string }[] {
  return sql(s, "SELECT id, anchor FROM sync_cs_object WHERE agent = ? AND state <> 'deleted'").all(agent) as {
    id: number;
    anchor: string;
  }[];
}
