// Provisioning, export flows and deprovisioning for one metaverse object: in every agent
// with a provisioning container, a contact for each metaverse object whose source
// (mailbox, group) lives in another agent; the contact's attributes kept equal to the
// export flows; a proxy address already used by another object in that forest is never
// written twice (the object is quarantined, with both objects named).
import { randomUUID } from 'node:crypto';
import { formatDn, isWithin, normalizeDn, parseDn } from '../directory/escape.ts';
import type { StateStore } from '../state/store.ts';
import * as cs from './connectorSpace.ts';
import { agentOf, type SyncEngine } from './engine.ts';
import { exportDesired, exportedAttributes } from './flows.ts';
import { mvById } from './metaverse.ts';
import { type RunContext, reportError } from './runContext.ts';
import type { AttributeValues, CsObject, MvObject } from './types.ts';
import { addressKeys, getValues, sameValues } from './values.ts';

export function isSource(engine: SyncEngine, c: CsObject): boolean {
  if (c.provisioned || c.state !== 'normal') return false;
  return agentOf(engine, c.agent).sourceObjectClasses.some((x) => x.toLowerCase() === c.objectClass.toLowerCase());
}

/** Objects the agent may write: those it provisioned, or any inside its provisioning container. */
export function isManaged(engine: SyncEngine, c: Pick<CsObject, 'agent' | 'dn' | 'provisioned'>): boolean {
  const p = agentOf(engine, c.agent).provisioning;
  return c.provisioned || (p !== undefined && isWithin(c.dn, p.container));
}

/** What the directory holds now, as far as we know: imported values, overlaid with an unconfirmed export. */
export function currentValues(c: CsObject, attr: string): string[] {
  if (c.exported && attr in c.exported) return c.exported[attr] as string[];
  return getValues(c.attributes, attr);
}

/** `known`: the metaverse object and all its connectors as they are now (read by the caller). */
export async function provisionMv(
  engine: SyncEngine,
  store: StateStore,
  mvId: number,
  run: RunContext,
  known?: { mv: MvObject; connectors: CsObject[] },
): Promise<void> {
  const mv = known ? known.mv : await mvById(store, mvId);
  if (!mv) return;
  const connectors = known ? known.connectors : await cs.csByMv(store, mvId);
  const sources = connectors.filter((c) => isSource(engine, c));
  for (const agentId of engine.agentIds) {
    const agent = agentOf(engine, agentId);
    if (!agent.provisioning) continue;
    const mine = connectors.filter((c) => c.agent === agentId && c.state !== 'deleted');
    const foreignSource = sources.find((c) => c.agent !== agentId);
    const ownSource = sources.some((c) => c.agent === agentId);
    if (!foreignSource || ownSource) continue;
    if (mine.length === 0) {
      await provisionNew(engine, store, agentId, mv, foreignSource, run);
      continue;
    }
    for (const c of mine) if (isManaged(engine, c)) await updateManaged(engine, store, c, mv, foreignSource, run);
  }
}

function rdnOf(engine: SyncEngine, agentId: string, desired: AttributeValues): { attr: string; value: string } | undefined {
  const attr = agentOf(engine, agentId).provisioning?.rdnAttribute ?? 'cn';
  const value = desired[attr]?.[0];
  return value ? { attr, value } : undefined;
}

/** A DN in the container not used by another object of the agent: `cn=X`, then `cn=X (2)` … */
async function freeDn(
  store: StateStore,
  agentId: string,
  container: string,
  rdn: { attr: string; value: string },
  mvId: number,
): Promise<string> {
  const base = parseDn(container);
  for (let n = 1; n < 1000; n++) {
    const value = n === 1 ? rdn.value : `${rdn.value} (${n})`;
    const dn = formatDn([{ attribute: rdn.attr, value }, ...base]);
    const users = (await cs.csByDn(store, agentId, dn)).filter((o) => o.mvId !== mvId && o.state !== 'deleted');
    if (users.length === 0) return dn;
  }
  throw new Error(`no free DN for ${rdn.value} in ${container}`);
}

/** Addresses of `desired` already used by another object of the agent (not joined to mv). */
async function conflicts(
  store: StateStore,
  agentId: string,
  desired: AttributeValues,
  selfId: number | null,
  mvId: number,
): Promise<{ address: string; dn: string }[]> {
  // Every address in one query.
  const owners = await cs.addressOwnersMany(store, agentId, addressKeys(desired), selfId, mvId);
  return owners.map((o) => ({ address: o.address, dn: o.dn }));
}

function quarantine(run: RunContext, agentId: string, source: CsObject, target: string, found: { address: string; dn: string }[]): void {
  const list = found.map((f) => `${f.address} (used by ${f.dn})`).join('; ');
  reportError(run, {
    agent: agentId,
    dn: target,
    code: 'proxy-conflict',
    reason: `not written: ${source.dn} (agent ${source.agent}) would give ${target} addresses already used in agent ${agentId}: ${list}`,
  });
}

async function provisionNew(
  engine: SyncEngine,
  store: StateStore,
  agentId: string,
  mv: MvObject,
  source: CsObject,
  run: RunContext,
): Promise<void> {
  const p = agentOf(engine, agentId).provisioning;
  if (!p) return;
  const desired = exportDesired(engine, agentId, mv);
  const rdn = rdnOf(engine, agentId, desired);
  if (!rdn) {
    reportError(run, {
      agent: agentId,
      dn: source.dn,
      code: 'provisioning-failed',
      reason: `no ${p.rdnAttribute} for the contact of ${source.dn}: its export flow gave no value`,
    });
    return;
  }
  const found = await conflicts(store, agentId, desired, null, mv.id);
  const dn = await freeDn(store, agentId, p.container, rdn, mv.id);
  if (found.length > 0) {
    quarantine(run, agentId, source, dn, found);
    return;
  }
  const attrs: AttributeValues = { objectClass: [...p.objectClasses] };
  for (const [k, v] of Object.entries(desired)) if (v.length > 0) attrs[k] = v;
  // Joined, not pending synchronization, its add pending: one INSERT, and one for its addresses.
  const id = await cs.insertCs(store, {
    agent: agentId,
    anchor: `pending:${randomUUID()}`,
    dn,
    objectClass: p.objectClasses.at(-1) ?? 'contact',
    attributes: {},
    hash: '',
    provisioned: true,
    runId: null,
    mvId: mv.id,
    syncPending: false,
    pendingOp: 'add',
    pendingAttributes: attrs,
  });
  await cs.replaceAddressesMany(store, [{ csId: id, agent: agentId, addresses: addressKeys(attrs), fresh: true }]);
  run.counts.provisioned++;
}

async function updateManaged(
  engine: SyncEngine,
  store: StateStore,
  c: CsObject,
  mv: MvObject,
  source: CsObject,
  run: RunContext,
): Promise<void> {
  const p = agentOf(engine, c.agent).provisioning;
  if (!p || c.pendingOp === 'delete') return;
  const desired = exportDesired(engine, c.agent, mv);
  const rdn = rdnOf(engine, c.agent, desired);
  const found = await conflicts(store, c.agent, desired, c.id, mv.id);
  if (found.length > 0) {
    quarantine(run, c.agent, source, c.dn, found);
    // Withdraw what was queued before the conflict was known: an unwritten add goes, a
    // written contact keeps its current values until the conflict is resolved.
    if (c.pendingOp === 'add') await cs.deleteCs(store, c.id);
    else await cs.setPendingExport(store, c.id, null, null, null);
    return;
  }
  let newDn: string | null = null;
  if (rdn) {
    const first = parseDn(c.dn)[0];
    const same = first && first.attribute.toLowerCase() === rdn.attr.toLowerCase() && first.value.toLowerCase() === rdn.value.toLowerCase();
    if (!same) newDn = await freeDn(store, c.agent, p.container, rdn, mv.id);
    if (newDn && normalizeDn(newDn) === normalizeDn(c.dn)) newDn = null;
  }
  if (c.pendingOp === 'add') {
    // Not written yet: the pending add simply becomes the new desired state.
    const attrs: AttributeValues = { objectClass: [...p.objectClasses] };
    for (const [k, v] of Object.entries(desired)) if (v.length > 0) attrs[k] = v;
    if (newDn) await cs.setAnchorAndDn(store, c.id, c.anchor, newDn);
    await cs.setPendingExport(store, c.id, 'add', attrs, null);
    await cs.replaceAddresses(store, c.id, c.agent, addressKeys(attrs));
    return;
  }
  const changes: AttributeValues = {};
  for (const attr of exportedAttributes(engine, c.agent)) {
    if (rdn && attr.toLowerCase() === rdn.attr.toLowerCase()) continue; // the RDN changes by rename
    const want = desired[attr] ?? [];
    if (!sameValues(attr, want, currentValues(c, attr))) changes[attr] = want;
  }
  if (Object.keys(changes).length > 0 || newDn) {
    await cs.setPendingExport(store, c.id, 'modify', changes, newDn);
    await cs.replaceAddresses(store, c.id, c.agent, addressKeys({ ...c.attributes, ...changes }));
  } else if (c.pendingOp === 'modify') await cs.setPendingExport(store, c.id, null, null, null);
}

/**
 * The metaverse object is gone (its source left or was filtered): provisioned objects
 * are deleted (or disconnected, as configured); other connectors become disconnectors
 * and are looked at again by the next synchronization.
 */
export async function deprovision(engine: SyncEngine, store: StateStore, connectors: CsObject[], run: RunContext): Promise<void> {
  for (const c of connectors) {
    await cs.setJoin(store, c.id, null);
    if (!isManaged(engine, c)) {
      await cs.setSyncPending(store, c.id, true);
      continue;
    }
    const mode = agentOf(engine, c.agent).provisioning?.deprovision ?? 'delete';
    run.counts.deprovisioned++;
    if (c.pendingOp === 'add') {
      await cs.deleteCs(store, c.id); // never written: nothing to delete in the directory
    } else if (mode === 'delete') {
      await cs.setPendingExport(store, c.id, 'delete', null, null);
    } else {
      await cs.setPendingExport(store, c.id, null, null, null);
      await cs.setState(store, c.id, 'filtered', 'disconnected by deprovisioning');
    }
  }
}
