// Synchronization (MIIS "full sync" / "delta sync"): for each connector-space object,
// apply the connector filter, join or project, then recompute every touched metaverse
// object from its connectors and provision/update/deprovision its contacts. Work is
// done in batches, each one transaction: a crash leaves every object either before or
// after its step, and the next run finishes the job (objects stay sync_pending).
import type { StateStore } from '../state/store.ts';
import { filteredBy } from './connectorFilter.ts';
import * as cs from './connectorSpace.ts';
import { agentOf, type SyncEngine } from './engine.ts';
import { computeMv, importContributions } from './flows.ts';
import { findJoin } from './joinRules.ts';
import { allMvIds, createMv, deleteMv, mvById, mvByIds, updateMv } from './metaverse.ts';
import { deprovision, isManaged, isSource, provisionMv } from './provisioning.ts';
import { type RunContext, reportError } from './runContext.ts';
import type { CsObject, MvObject } from './types.ts';
import { getValues, stableJson } from './values.ts';

const BATCH = 500;

interface Pass {
  touched: Set<number>;
  recomputed: Set<number>;
  /** Objects of the current batch that an earlier object's deprovisioning wrote: read again. */
  stale: Set<number>;
  /** Objects done with (sync_pending = 0), written together: before any deprovisioning and at the batch's end. */
  synced: number[];
}

/** Writes the batch's sync_pending = 0 (in order: a later deprovisioning may set it again). */
async function flushSynced(store: StateStore, pass: Pass): Promise<void> {
  const ids = pass.synced.splice(0);
  if (ids.length > 0) await cs.setSyncPendingMany(store, ids, false);
}

/** deprovision, noting that the connectors it writes must be read again if their turn comes in this batch. */
async function deprovisionAll(engine: SyncEngine, store: StateStore, connectors: CsObject[], pass: Pass, run: RunContext): Promise<void> {
  await flushSynced(store, pass);
  for (const o of connectors) pass.stale.add(o.id);
  await deprovision(engine, store, connectors, run);
}

export async function runSync(engine: SyncEngine, store: StateStore, mode: 'full' | 'delta', run: RunContext): Promise<number> {
  // Deleted objects come first: their disconnection frees their person's place in the agent,
  // so an object that replaced one joins the person instead of projecting a second one (a
  // GAL contact the migration turned into the mailbox user: the contact is gone, the user
  // carries its addresses). Objects we may write (GAL contacts) come last: by then every
  // source has projected, so a contact found in the container joins its person instead of
  // looking like a stray. Only ids and DNs are held here; each batch's objects are read when
  // the batch runs.
  const heads = mode === 'full' ? await cs.allCsHeads(store) : await cs.pendingSyncHeads(store);
  const managed = (h: cs.CsHead) => isManaged(engine, h);
  const live = heads.filter((h) => !h.deleted);
  const ordered = [...heads.filter((h) => h.deleted), ...live.filter((h) => !managed(h)), ...live.filter(managed)];
  // touched: metaverse objects to provision afterwards; recomputed: already up to date.
  const pass: Pass = { touched: new Set<number>(), recomputed: new Set<number>(), stale: new Set<number>(), synced: [] };
  const touched = pass.touched;
  let done = 0;
  run.progress?.('sync', 0, ordered.length);
  for (let i = 0; i < ordered.length; i += BATCH) {
    await store.sql.tx(async () => {
      const slice = ordered.slice(i, i + BATCH);
      const read = await cs.csByIds(
        store,
        slice.map((h) => h.id),
      );
      pass.stale.clear();
      for (const head of slice) {
        // Read again when an earlier object of this batch changed it.
        const c = pass.stale.has(head.id) ? await cs.csById(store, head.id) : read.get(head.id);
        if (c) await syncOne(engine, store, c, pass, run);
      }
      await flushSynced(store, pass);
    });
    done += Math.min(BATCH, ordered.length - i);
    run.progress?.('sync', done, ordered.length);
  }
  if (mode === 'full') {
    // The first pass filled the metaverse: statistics for the second pass's plans.
    await cs.refreshStatistics(store, ['sync_mv_object', 'sync_mv_value', 'sync_cs_object']);
    // A full sync re-evaluates every metaverse object (config changes reach them all).
    for (const id of await allMvIds(store)) touched.add(id);
  }
  const mvIds = [...touched].sort((a, b) => a - b);
  for (let i = 0; i < mvIds.length; i += BATCH) {
    await store.sql.tx(async () => {
      // Read together: what one metaverse object's provisioning writes is its own (its
      // connectors, its new contacts), never another's of the batch.
      const slice = mvIds.slice(i, i + BATCH);
      const mvs = await mvByIds(store, slice);
      const connectors = await cs.csByMvs(store, slice);
      for (const id of slice) {
        const known = { mv: mvs.get(id), connectors: connectors.get(id) ?? [] };
        // Recomputed when its last connector was synchronized above: only the others now.
        const mv = pass.recomputed.has(id) ? known.mv : await recompute(engine, store, id, pass, run, known);
        if (mv) await provisionMv(engine, store, id, run, { mv, connectors: known.connectors });
      }
    });
  }
  return ordered.length;
}

async function syncOne(engine: SyncEngine, store: StateStore, c: CsObject, pass: Pass, run: RunContext): Promise<void> {
  const touched = pass.touched;
  const agent = agentOf(engine, c.agent);
  if (c.state === 'deleted') {
    if (c.mvId !== null) await disconnect(engine, store, c, pass, run);
    await cs.deleteCs(store, c.id);
    return;
  }
  if (c.pendingOp === 'add' || c.anchor.startsWith('pending:')) {
    pass.synced.push(c.id);
    return; // not in the directory yet
  }
  const reason = filteredBy(agent.connectorFilter, c.objectClass, c.attributes);
  if (reason) {
    if (c.mvId !== null) await disconnect(engine, store, c, pass, run);
    await cs.setState(store, c.id, 'filtered', reason);
    run.counts.filtered++;
  } else if (c.mvId !== null) {
    if (c.state !== 'normal') await cs.setState(store, c.id, 'normal', null);
    touched.add(c.mvId);
    await recompute(engine, store, c.mvId, pass, run);
  } else if (c.provisioned) {
    // One we provisioned and then disconnected (deprovision: disconnect): left alone.
  } else {
    await joinOrProject(engine, store, c, pass, run);
  }
  pass.synced.push(c.id);
}

async function joinOrProject(engine: SyncEngine, store: StateStore, c: CsObject, pass: Pass, run: RunContext): Promise<void> {
  const touched = pass.touched;
  const agent = agentOf(engine, c.agent);
  const hasConnector = async (mvId: number) => (await cs.csByMv(store, mvId)).some((o) => o.agent === c.agent && o.id !== c.id);
  const j = await findJoin(engine, store, c, hasConnector);
  if (j.kind === 'ambiguous') {
    const names: string[] = [];
    for (const id of j.mvIds) names.push(await describeMv(store, id));
    await cs.setState(store, c.id, 'error', 'ambiguous-join');
    reportError(run, {
      agent: c.agent,
      dn: c.dn,
      code: 'ambiguous-join',
      reason: `join rule ${j.rule + 1} (${agent.joinRules[j.rule]?.cs} → ${agent.joinRules[j.rule]?.mv}) matches ${j.mvIds.length} metaverse objects: ${names.join('; ')}; not joined, nothing written for it`,
    });
    return;
  }
  if (j.kind === 'join') {
    await cs.setJoinAndState(store, c.id, j.mvId, 'normal', null);
    run.counts.joins++;
    touched.add(j.mvId);
    await recompute(engine, store, j.mvId, pass, run); // index its values now: later objects of this run join against them
    return;
  }
  if (isManaged(engine, c)) {
    // A stray in the container we own (nobody sources it any more): remove it.
    await cs.setPendingExport(store, c.id, 'delete', null, null);
    await cs.setState(store, c.id, 'normal', 'stray in the provisioning container');
    run.counts.deprovisioned++;
    return;
  }
  const projects = agent.projection ?? agent.objectClasses;
  if (!projects.some((p) => p.toLowerCase() === c.objectClass.toLowerCase())) return;
  const objectType = engine.cfg.metaverse.objectType;
  const mvId = await createMv(store, objectType);
  await cs.setJoinAndState(store, c.id, mvId, 'normal', null);
  run.counts.projections++;
  touched.add(mvId);
  // Just made: no attributes yet, and c (as now joined) its only connector.
  await recompute(engine, store, mvId, pass, run, {
    mv: { id: mvId, objectType, attributes: {} },
    connectors: [{ ...c, mvId, state: 'normal' }],
    fresh: true,
  });
}

async function describeMv(store: StateStore, mvId: number): Promise<string> {
  const conns = await cs.csByMv(store, mvId);
  const mail = getValues((await mvById(store, mvId))?.attributes ?? {}, 'mail')[0];
  return `${conns.map((o) => `${o.dn} (agent ${o.agent})`).join(', ') || `metaverse object ${mvId}`}${mail ? ` [mail ${mail}]` : ''}`;
}

/** Removes the link of `c`; the metaverse object goes when its last source (or last connector) goes. */
async function disconnect(engine: SyncEngine, store: StateStore, c: CsObject, pass: Pass, run: RunContext): Promise<void> {
  const touched = pass.touched;
  const mvId = c.mvId;
  if (mvId === null) return;
  const wasSource = isSource(engine, { ...c, state: 'normal' });
  await cs.setJoin(store, c.id, null);
  run.counts.disconnects++;
  const others = await cs.csByMv(store, mvId);
  const lastSource = wasSource && !others.some((o) => isSource(engine, o));
  const unmanaged = others.filter((o) => !isManaged(engine, o));
  if (others.length === 0 || lastSource || unmanaged.length === 0) {
    await deprovisionAll(engine, store, others, pass, run);
    await deleteMv(store, mvId);
    touched.delete(mvId);
  } else {
    touched.add(mvId);
    pass.recomputed.delete(mvId); // it lost a connector: recompute it in the second pass
  }
}

/**
 * Recomputes the metaverse object from its connectors; the object as it is now, or
 * undefined when it has none left (deleted) or a flow failed. `known`: the object and all
 * its connectors as they are (read by the caller), `fresh` when it was just created.
 */
async function recompute(
  engine: SyncEngine,
  store: StateStore,
  mvId: number,
  pass: Pass,
  run: RunContext,
  known?: { mv: MvObject | undefined; connectors: CsObject[]; fresh?: boolean },
): Promise<MvObject | undefined> {
  const mv = known ? known.mv : await mvById(store, mvId);
  if (!mv) return undefined;
  pass.recomputed.add(mvId);
  const all = known ? known.connectors : await cs.csByMv(store, mvId);
  const connectors = all.filter((c) => c.state === 'normal' && !isManaged(engine, c));
  if (connectors.length === 0) {
    await deprovisionAll(engine, store, all, pass, run);
    await deleteMv(store, mvId);
    return undefined;
  }
  const inputs = [];
  for (const c of connectors) {
    try {
      inputs.push({ cs: c, isSource: isSource(engine, c), values: importContributions(engine, c) });
    } catch (err) {
      reportError(run, { agent: c.agent, dn: c.dn, code: 'flow-failed', reason: (err as Error).message });
      return undefined; // leave the metaverse object as it was
    }
  }
  const attrs = computeMv(engine, inputs);
  if (stableJson(attrs) === stableJson(mv.attributes)) return mv;
  await updateMv(store, mvId, attrs, engine.indexed, known?.fresh === true);
  return { ...mv, attributes: attrs };
}
