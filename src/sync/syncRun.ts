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
import { allMvIds, createMv, deleteMv, mvById, updateMv } from './metaverse.ts';
import { deprovision, isManaged, isSource, provisionMv } from './provisioning.ts';
import { type RunContext, reportError } from './runContext.ts';
import type { CsObject } from './types.ts';
import { getValues, stableJson } from './values.ts';

const BATCH = 500;

interface Pass {
  touched: Set<number>;
  recomputed: Set<number>;
}

export async function runSync(engine: SyncEngine, store: StateStore, mode: 'full' | 'delta', run: RunContext): Promise<number> {
  // Objects we may write (GAL contacts) come last: by then every source has projected,
  // so a contact found in the container joins its person instead of looking like a stray.
  // Only ids and DNs are held here; each object is read when its batch runs.
  const heads = mode === 'full' ? await cs.allCsHeads(store) : await cs.pendingSyncHeads(store);
  const managed = (h: cs.CsHead) => isManaged(engine, h);
  const ordered = [...heads.filter((h) => !managed(h)), ...heads.filter(managed)];
  // touched: metaverse objects to provision afterwards; recomputed: already up to date.
  const pass: Pass = { touched: new Set<number>(), recomputed: new Set<number>() };
  const touched = pass.touched;
  let done = 0;
  run.progress?.('sync', 0, ordered.length);
  for (let i = 0; i < ordered.length; i += BATCH) {
    await store.sql.tx(async () => {
      for (const head of ordered.slice(i, i + BATCH)) {
        const c = await cs.csById(store, head.id); // read now: an earlier object of this batch may have changed it
        if (c) await syncOne(engine, store, c, pass, run);
      }
    });
    done += Math.min(BATCH, ordered.length - i);
    run.progress?.('sync', done, ordered.length);
  }
  if (mode === 'full') {
    // A full sync re-evaluates every metaverse object (config changes reach them all).
    for (const id of await allMvIds(store)) touched.add(id);
  }
  const mvIds = [...touched].sort((a, b) => a - b);
  for (let i = 0; i < mvIds.length; i += BATCH) {
    await store.sql.tx(async () => {
      for (const id of mvIds.slice(i, i + BATCH)) {
        // Recomputed when its last connector was synchronized above: only the others now.
        const alive = pass.recomputed.has(id) ? (await mvById(store, id)) !== undefined : await recompute(engine, store, id, pass, run);
        if (alive) await provisionMv(engine, store, id, run);
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
    await cs.setSyncPending(store, c.id, false);
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
  await cs.setSyncPending(store, c.id, false);
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
    await cs.setJoin(store, c.id, j.mvId);
    await cs.setState(store, c.id, 'normal', null);
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
  const mvId = await createMv(store, engine.cfg.metaverse.objectType);
  await cs.setJoin(store, c.id, mvId);
  await cs.setState(store, c.id, 'normal', null);
  run.counts.projections++;
  touched.add(mvId);
  await recompute(engine, store, mvId, pass, run);
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
    await deprovision(engine, store, others, run);
    await deleteMv(store, mvId);
    touched.delete(mvId);
  } else {
    touched.add(mvId);
    pass.recomputed.delete(mvId); // it lost a connector: recompute it in the second pass
  }
}

/** Recomputes the metaverse object from its connectors; false when it has none left (deleted). */
async function recompute(engine: SyncEngine, store: StateStore, mvId: number, pass: Pass, run: RunContext): Promise<boolean> {
  const mv = await mvById(store, mvId);
  if (!mv) return false;
  pass.recomputed.add(mvId);
  const connectors = (await cs.csByMv(store, mvId)).filter((c) => c.state === 'normal' && !isManaged(engine, c));
  if (connectors.length === 0) {
    await deprovision(engine, store, await cs.csByMv(store, mvId), run);
    await deleteMv(store, mvId);
    return false;
  }
  const inputs = [];
  for (const c of connectors) {
    try {
      inputs.push({ cs: c, isSource: isSource(engine, c), values: importContributions(engine, c) });
    } catch (err) {
      reportError(run, { agent: c.agent, dn: c.dn, code: 'flow-failed', reason: (err as Error).message });
      return false; // leave the metaverse object as it was
    }
  }
  const attrs = computeMv(engine, inputs);
  if (stableJson(attrs) !== stableJson(mv.attributes)) await updateMv(store, mvId, attrs, engine.indexed);
  return true;
}
