// Import (full or delta) of one management agent into its connector space. Entries are
// written in batches, one transaction each. A full import ends with obsoletion: what it
// did not see is marked deleted. A delta import reads entries changed since the stored
// entryCSN watermark and deletes from the accesslog (or a full-import diff).
import { createHash } from 'node:crypto';
import type { Client } from 'ldapts';
import type { AgentConfig } from '../config/sync.ts';
import { connectDirectory } from '../directory/connection.ts';
import { changedSince, deletedSince, generalizedTime, readContextCsn } from '../directory/delta.ts';
import type { DirectoryEntry } from '../directory/entry.ts';
import { ldapFilter, normalizeDn } from '../directory/escape.ts';
import { type SearchSpec, searchEntries } from '../directory/import.ts';
import type { StateStore } from '../state/store.ts';
import { runAdImport } from './adImport.ts';
import * as cs from './connectorSpace.ts';
import { agentOf, type SyncEngine } from './engine.ts';
import { type RunContext, reportError } from './runContext.ts';
import { getWatermark, setWatermark } from './runHistory.ts';
import type { AttributeValues, CsObject } from './types.ts';
import { addressKeys, getValues, sameValues, stableJson } from './values.ts';

const BATCH = 500;
/** The tables a full import fills. */
export const CS_TABLES = ['sync_cs_object', 'sync_cs_address'];

export function agentOrganization(engine: SyncEngine, agentId: string) {
  const agent = agentOf(engine, agentId);
  const org = engine.project.config.organizations[agent.organization];
  if (!org) throw new Error(`organization ${agent.organization} vanished from the config`);
  return { agent, org, keyPath: `organizations.${agent.organization}.directory` };
}

export async function openAgentDirectory(engine: SyncEngine, agentId: string) {
  const { org, keyPath } = agentOrganization(engine, agentId);
  return connectDirectory(org.directory, { baseDir: engine.baseDir, keyPath });
}

export function searchSpec(agent: AgentConfig): SearchSpec {
  const classes = agent.objectClasses.map((c) => ldapFilter`(objectClass=${c})`).join('');
  const attributes = [...new Set([...agent.attributes, agent.anchor, 'objectClass'])];
  return {
    bases: agent.containers,
    filter: `(|${classes})`,
    attributes,
    binaryAttributes: agent.binaryAttributes,
    pageSize: agent.pageSize,
  };
}

function objectClassOf(agent: AgentConfig, attrs: AttributeValues): string | undefined {
  const have = new Set(getValues(attrs, 'objectClass').map((c) => c.toLowerCase()));
  return agent.objectClasses.find((c) => have.has(c.toLowerCase()));
}

function hashOf(dn: string, attrs: AttributeValues): string {
  return createHash('sha1').update(dn).update('\0').update(stableJson(attrs)).digest('base64');
}

/**
 * Records one batch of entries in one transaction (nested in the caller's, if any). The
 * batch's objects are read with one query (by anchor, then the unknown ones by DN), new
 * objects are inserted together and the address index written together at the end:
 * a handful of statements per batch, and one UPDATE per known object that was seen.
 */
export async function storeBatch(
  engine: SyncEngine,
  store: StateStore,
  agentId: string,
  entries: DirectoryEntry[],
  runId: number,
  run: RunContext,
): Promise<void> {
  const agent = agentOf(engine, agentId);
  const items = entries.map((e) => {
    const anchor = getValues(e.attributes, agent.anchor)[0];
    const objectClass = objectClassOf(agent, e.attributes);
    if (!anchor || !objectClass) return { e, anchor, objectClass: undefined };
    const attrs: AttributeValues = {};
    for (const [k, v] of Object.entries(e.attributes))
      if (k.toLowerCase() !== agent.anchor.toLowerCase() || agent.attributes.includes(k)) attrs[k] = v;
    return { e, anchor, objectClass, attrs, hash: hashOf(e.dn, attrs) };
  });
  await store.sql.tx(async () => {
    const anchors = items.flatMap((i) => (i.objectClass && i.anchor ? [i.anchor] : []));
    const known = await cs.csByAnchors(store, agentId, anchors);
    const unknownDns = items.flatMap((i) => (i.objectClass && i.anchor && !known.has(i.anchor) ? [i.e.dn] : []));
    // Pending adds (anchor `pending:…`) at the DNs of entries we do not know by anchor.
    const pendingAt = new Map<string, (CsObject & { hash: string })[]>();
    for (const [dn, list] of await cs.csByDns(store, agentId, unknownDns)) {
      const pending = list.filter((o) => o.anchor.startsWith('pending:'));
      if (pending.length > 0) pendingAt.set(dn, pending);
    }
    const inserts: { item: cs.NewCs; addresses: string[] }[] = [];
    const addresses = new Map<number, { csId: number; agent: string; addresses: string[]; fresh?: boolean }>();
    const flushInserts = async () => {
      const ids = await cs.insertCsMany(
        store,
        inserts.map((x) => x.item),
      );
      inserts.forEach((x, n) => {
        const csId = ids[n] as number;
        addresses.set(csId, { csId, agent: agentId, addresses: x.addresses, fresh: true });
      });
      inserts.length = 0;
    };
    // An anchor seen twice in one batch: the second is read again, after what the first wrote.
    const done = new Set<string>();
    for (const i of items) {
      const { e, anchor, objectClass } = i;
      if (!anchor || !objectClass || !i.attrs || i.hash === undefined) {
        reportError(run, {
          agent: agentId,
          dn: e.dn,
          code: 'no-anchor',
          reason: `entry has no ${anchor ? 'imported object class' : agent.anchor}; skipped`,
        });
        continue;
      }
      const { attrs, hash } = i;
      run.counts.imported++;
      let existing: (CsObject & { hash: string }) | undefined;
      if (done.has(anchor)) {
        await flushInserts();
        existing = await cs.csByAnchor(store, agentId, anchor);
      } else existing = known.get(anchor);
      done.add(anchor);
      const extras: cs.ImportedExtras = {};
      if (!existing) {
        // An add we exported learns its anchor here; one whose export was cut off after
        // the server took it is adopted the same way (found by DN), never added twice.
        const key = normalizeDn(e.dn);
        const candidates = pendingAt.get(key);
        const pending = candidates?.shift();
        if (candidates?.length === 0) pendingAt.delete(key);
        if (pending) {
          extras.anchor = anchor;
          existing = { ...pending, anchor, dn: e.dn };
          if (pending.pendingOp === 'add') {
            extras.clearPendingExport = true;
            extras.exported = pending.pendingAttributes;
            existing = { ...existing, pendingOp: null, pendingAttributes: null, pendingDn: null, exported: pending.pendingAttributes };
          }
        }
      }
      if (!existing) {
        inserts.push({
          item: { agent: agentId, anchor, dn: e.dn, objectClass, attributes: attrs, hash, provisioned: false, runId },
          addresses: addressKeys(attrs),
        });
        run.counts.importAdds++;
        continue;
      }
      const changed = existing.hash !== hash || existing.state === 'deleted';
      if (changed) {
        addresses.set(existing.id, { csId: existing.id, agent: agentId, addresses: addressKeys(attrs) });
        run.counts.importUpdates++;
      }
      // Only a changed entry can confirm (or contradict) an export: boundary re-reads are not news.
      if (existing.exported && changed) extras.exported = confirm(agentId, e.dn, existing.exported, attrs, run);
      await cs.updateImported(store, existing.id, e.dn, objectClass, attrs, hash, runId, changed, extras);
    }
    await flushInserts();
    await cs.replaceAddressesMany(store, [...addresses.values()]);
  });
}

/**
 * The confirming import: what we exported should now be what we read. A value the
 * directory re-spelled (not equal even ignoring case and order) is reported once as
 * `exported-change-not-reimported` and remembered, so it is not exported again forever.
 * Returns what still awaits confirmation (null: everything was confirmed).
 */
function confirm(
  agentId: string,
  dn: string,
  exported: AttributeValues,
  imported: AttributeValues,
  run: RunContext,
): AttributeValues | null {
  const sticky: AttributeValues = {};
  for (const [attr, values] of Object.entries(exported)) {
    if (attr.toLowerCase() === 'objectclass') continue;
    if (!sameValues(attr, values, getValues(imported, attr))) {
      sticky[attr] = values;
      reportError(run, {
        agent: agentId,
        dn,
        code: 'exported-change-not-reimported',
        reason: `${attr}: exported [${values.join(', ')}] but the directory holds [${getValues(imported, attr).join(', ')}]; not exported again until the metaverse value changes`,
      });
    }
  }
  return Object.keys(sticky).length === 0 ? null : sticky;
}

export async function importStream(
  engine: SyncEngine,
  store: StateStore,
  agentId: string,
  entries: AsyncIterable<DirectoryEntry>,
  runId: number,
  run: RunContext,
): Promise<void> {
  let batch: DirectoryEntry[] = [];
  let done = 0;
  run.progress?.(`import ${agentId}`, 0);
  for await (const e of entries) {
    batch.push(e);
    if (batch.length >= BATCH) {
      await storeBatch(engine, store, agentId, batch, runId, run);
      done += batch.length;
      run.progress?.(`import ${agentId}`, done);
      batch = [];
    }
  }
  if (batch.length > 0) await storeBatch(engine, store, agentId, batch, runId, run);
}

export async function runImport(
  engine: SyncEngine,
  store: StateStore,
  agentId: string,
  mode: 'full' | 'delta',
  runId: number,
  run: RunContext,
): Promise<void> {
  const { agent, org } = agentOrganization(engine, agentId);
  // Active Directory: objectGUID anchors, DirSync / uSNChanged deltas, tombstones (adImport.ts).
  if (org.directory.kind === 'activedirectory') return runAdImport(engine, store, agentId, mode, runId, run);
  const conn = await openAgentDirectory(engine, agentId);
  try {
    const watermark = await getWatermark(store, agentId, 'entryCSN');
    const full = mode === 'full' || watermark === undefined;
    // Read the watermarks before reading data: a change made meanwhile is read again next time.
    const csn = await readContextCsn(conn.client, org.directory.baseDn);
    const logSince = generalizedTime(new Date(Date.now() - 120_000));
    const spec = searchSpec(agent);
    if (full) {
      await importStream(engine, store, agentId, searchEntries(conn.client, spec), runId, run);
      await store.sql.tx(async () => {
        run.counts.importDeletes += await cs.markUnseenDeleted(store, agentId, runId);
        if (csn) await setWatermark(store, agentId, 'entryCSN', csn);
        await setWatermark(store, agentId, 'accesslog', logSince);
      });
      await cs.refreshStatistics(store, CS_TABLES);
      return;
    }
    await importStream(engine, store, agentId, changedSince(conn.client, spec, watermark), runId, run);
    if (agent.deltaDeletes === 'accesslog') await importDeletes(store, conn.client, agent, agentId, run);
    else await fullDiffDeletes(store, conn.client, spec, agent, agentId, run);
    if (csn) await store.sql.tx(() => setWatermark(store, agentId, 'entryCSN', csn));
  } finally {
    await conn.close();
  }
}

async function importDeletes(store: StateStore, client: Client, agent: AgentConfig, agentId: string, run: RunContext): Promise<void> {
  const since = (await getWatermark(store, agentId, 'accesslog')) ?? generalizedTime(new Date(Date.now() - 120_000));
  let newest = since;
  const gone: string[] = [];
  for await (const d of deletedSince(client, agent.accesslogBase, since)) {
    gone.push(d.uuid);
    if (d.at > newest) newest = d.at;
  }
  await store.sql.tx(async () => {
    const known = await cs.csByAnchors(store, agentId, gone);
    for (const uuid of new Set(gone)) {
      const c = known.get(uuid);
      if (c && c.state !== 'deleted') {
        await cs.markDeleted(store, c.id);
        run.counts.importDeletes++;
      }
    }
    // Keep the second of the newest delete: records in the same second are read again (harmless).
    await setWatermark(store, agentId, 'accesslog', `${newest.slice(0, 14)}Z`);
  });
}

/** Deletes by difference: read only the anchors of everything in scope; what is missing is gone. */
export async function fullDiffDeletes(
  store: StateStore,
  client: Client,
  spec: SearchSpec,
  agent: AgentConfig,
  agentId: string,
  run: RunContext,
): Promise<void> {
  const seen = new Set<string>();
  for await (const e of searchEntries(client, { ...spec, attributes: [agent.anchor, 'objectClass'] })) {
    const a = getValues(e.attributes, agent.anchor)[0];
    if (a) seen.add(a);
  }
  await store.sql.tx(async () => {
    for (const { id, anchor } of await cs.liveAnchors(store, agentId)) {
      if (!seen.has(anchor) && !anchor.startsWith('pending:')) {
        await cs.markDeleted(store, id);
        run.counts.importDeletes++;
      }
    }
  });
}
