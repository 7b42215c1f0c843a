// Export of one agent's pending exports to its directory. Idempotent: an add first looks
// for its DN (a cut-off earlier export may have written it: then it is adopted, never
// added twice); a rename whose old DN is gone but new DN exists counts as done; a delete
// of what is already gone succeeds. Outcomes are recorded in batched transactions (one
// per RECORD_BATCH answers, and at the end): kill -9 loses at most the records of one
// batch of writes, which the next run's DN lookup (or the confirming import) recovers.
// Only the pending ids are held in memory; objects are read RECORD_BATCH at a time, as their turn comes.

import type { DirectoryConnection } from '../directory/connection.ts';
import { DirectoryError } from '../directory/errors.ts';
import { type AttributeChange, addEntry, deleteEntry, modifyEntry, renameEntry } from '../directory/export.ts';
import { readEntry } from '../directory/import.ts';
import type { StateStore } from '../state/store.ts';
import { CrossforestError } from '../util/errors.ts';
import * as cs from './connectorSpace.ts';
import { agentOf, type SyncEngine } from './engine.ts';
import { exportFailureReason } from './exportFailure.ts';
import { openAgentDirectory } from './importRun.ts';
import { type RunContext, reportError } from './runContext.ts';
import type { AttributeValues, CsObject } from './types.ts';
import { getValues, sameValues } from './values.ts';

export class DeleteThresholdError extends CrossforestError {
  readonly deletes: number;
  readonly threshold: number;
  constructor(agentId: string, deletes: number, threshold: number, total: number) {
    super(
      'CF_ERR_SYNC_DELETE_THRESHOLD',
      `export to agent ${agentId} stopped before writing anything: it would delete ${deletes} of ${total} objects, more than the delete threshold (${threshold})`,
      {
        object: `sync.agents.${agentId}`,
        hint: `look at the deletes with \`crossforest sync preview\`; if they are intended, run the export again with --allow-deletes ${deletes}`,
      },
    );
    this.deletes = deletes;
    this.threshold = threshold;
  }
}

/** Directory operations in flight per agent during an export (LDAP message ids on one connection). */
const EXPORT_WINDOW = 8;
/** Outcomes recorded per state-store transaction. */
const RECORD_BATCH = 200;

export interface ExportOptions {
  /** Overrides the agent's delete threshold for this run. */
  allowDeletes?: number;
}

/** Fault injection for the crash tests: SIGKILL ourselves after this many directory writes, before recording them. */
const crashAfter = Number(process.env.CROSSFOREST_TEST_CRASH_AFTER_WRITES ?? '0');
let writes = 0;
function maybeCrash(): void {
  if (crashAfter > 0 && ++writes >= crashAfter) process.kill(process.pid, 'SIGKILL');
}

export async function checkDeleteThreshold(engine: SyncEngine, store: StateStore, agentId: string, opts: ExportOptions): Promise<void> {
  const agent = agentOf(engine, agentId);
  const deletes = await cs.countPendingDeletes(store, agentId);
  const threshold = opts.allowDeletes ?? agent.deleteThreshold;
  if (deletes > threshold) throw new DeleteThresholdError(agentId, deletes, threshold, await cs.countObjects(store, agentId));
}

export async function runExport(
  engine: SyncEngine,
  store: StateStore,
  agentId: string,
  run: RunContext,
  opts: ExportOptions = {},
): Promise<void> {
  const ids = await cs.pendingExportIds(store, agentId);
  if (ids.length === 0) return;
  await checkDeleteThreshold(engine, store, agentId, opts);
  const conn = await openAgentDirectory(engine, agentId);
  // Several operations in flight on one connection (ldapts matches answers by message
  // id): the round trip, not the server, is what limits an export of one object at a time.
  const records: Array<() => Promise<void>> = [];
  const flush = async () => {
    const batch = records.splice(0); // taken now: operations ending meanwhile go to the next batch
    if (batch.length > 0)
      await store.sql.tx(async () => {
        for (const r of batch) await r();
      });
  };
  let done = 0;
  run.progress?.(`export ${agentId}`, 0, ids.length);
  let fatal: unknown;
  // Objects are read RECORD_BATCH at a time, just before their turn (one query, not one
  // per object): only this export writes them meanwhile, and each only once.
  const ahead = new Map<number, Promise<CsObject | undefined>>();
  let next = 0;
  const read = (id: number): Promise<CsObject | undefined> => {
    if (!ahead.has(id) && ids[next] === id) {
      const part = ids.slice(next, next + RECORD_BATCH);
      next += part.length;
      const rows = cs.csByIds(store, part);
      for (const i of part) {
        const c = rows.then((m) => m.get(i));
        c.catch(() => undefined); // awaited (and thrown) at its turn; never unhandled if that turn never comes
        ahead.set(i, c);
      }
    }
    const c = ahead.get(id);
    if (!c) return cs.csById(store, id);
    ahead.delete(id);
    return c;
  };
  const one = async (id: number) => {
    const c = await read(id);
    if (!c || c.pendingOp === null) return; // dealt with since the ids were read
    try {
      records.push(await exportOne(engine, store, conn, c, run));
    } catch (err) {
      const e = err instanceof DirectoryError ? err : undefined;
      // The server is gone: stop, the rest stays pending for the next run.
      if (e && (e.code === 'CF_ERR_LDAP_UNREACHABLE' || e.code === 'CF_ERR_LDAP_TIMEOUT')) fatal ??= err;
      else reportError(run, { agent: agentId, dn: c.dn, code: 'export-failed', reason: exportFailureReason(engine, c, err) });
    }
    if (records.length >= RECORD_BATCH) await flush();
    run.progress?.(`export ${agentId}`, ++done, ids.length);
  };
  try {
    // A sliding window of EXPORT_WINDOW operations: a new one starts as soon as any ends.
    const inFlight = new Set<Promise<void>>();
    for (const id of ids) {
      if (fatal) break;
      const p: Promise<void> = one(id).finally(() => inFlight.delete(p));
      inFlight.add(p);
      if (inFlight.size >= EXPORT_WINDOW) await Promise.race(inFlight);
    }
    await Promise.all(inFlight);
    if (fatal) throw fatal;
  } finally {
    await flush();
    await conn.close();
  }
}

/** Writes one pending export; returns what to record in the state store once it is done. */
async function exportOne(
  engine: SyncEngine,
  store: StateStore,
  conn: DirectoryConnection,
  c: CsObject,
  run: RunContext,
): Promise<() => Promise<void>> {
  const agent = agentOf(engine, c.agent);
  const client = conn.client;
  if (c.pendingOp === 'delete') {
    await deleteEntry(client, c.dn);
    maybeCrash();
    run.counts.exportDeletes++;
    return () => cs.deleteCs(store, c.id);
  }
  if (c.pendingOp === 'add') {
    const attrs = c.pendingAttributes ?? {};
    try {
      await addEntry(client, c.dn, attrs);
      maybeCrash();
    } catch (err) {
      if ((err as DirectoryError).ldapCode !== 68) throw err;
      // Already there: written by an export that was cut off (adopt it and bring it up to
      // date), or another object with our DN (refuse; never overwrite a stranger).
      const there = await readEntry(client, c.dn, [...Object.keys(attrs), agent.anchor], agent.binaryAttributes);
      if (!there || !isOurs(attrs, there.attributes)) {
        throw new CrossforestError(
          'CF_ERR_SYNC_DN_CONFLICT',
          `cannot add ${c.dn}: another object already has this DN (its mail/targetAddress differ)`,
          {
            object: c.dn,
            hint: 'rename or remove the other object, or change the RDN export flow',
          },
        );
      }
      await modifyEntry(
        client,
        c.dn,
        diff(attrs, there.attributes).filter((ch) => ch.attribute.toLowerCase() !== 'objectclass'),
      );
    }
    // The anchor (entryUUID) is learnt from the confirming import, which adopts the entry by DN.
    run.counts.exportAdds++;
    return () => cs.recordExported(store, c.id, attrs, c.dn, { syncPending: false });
  }
  // modify, with or without a rename
  let dn = c.dn;
  if (c.pendingDn) {
    try {
      await renameEntry(client, c.dn, c.pendingDn);
      maybeCrash();
    } catch (err) {
      const moved =
        (await readEntry(client, c.dn, ['objectClass'])) === undefined &&
        (await readEntry(client, c.pendingDn, ['objectClass'])) !== undefined;
      if (!moved) throw err;
    }
    dn = c.pendingDn;
    run.counts.exportRenames++;
  }
  const changes = Object.entries(c.pendingAttributes ?? {}).map(([attribute, values]) => ({ attribute, values }));
  await modifyEntry(client, dn, changes);
  if (changes.length > 0) maybeCrash();
  if (changes.length > 0) run.counts.exportUpdates++;
  return () => cs.recordExported(store, c.id, { ...(c.exported ?? {}), ...(c.pendingAttributes ?? {}) }, dn);
}

/** Is the entry at our DN the one we meant to add? Same targetAddress (or mail when there is none). */
function isOurs(wanted: AttributeValues, there: AttributeValues): boolean {
  for (const attr of ['targetAddress', 'mail']) {
    const w = getValues(wanted, attr);
    if (w.length > 0) return sameValues(attr, w, getValues(there, attr));
  }
  return false;
}

function diff(wanted: AttributeValues, there: AttributeValues): AttributeChange[] {
  return Object.entries(wanted)
    .filter(([attr, values]) => !sameValues(attr, values, getValues(there, attr)))
    .map(([attribute, values]) => ({ attribute, values }));
}
