// Import of a management agent whose directory is Active Directory (kind:
// activedirectory). Anchor: objectGUID (a GUID string; a rename or move keeps it).
// - Full import: the paged search of the agent's containers (import.ts), with the
//   delta watermark taken BEFORE it, so a change made during the search is read again
//   by the next delta (harmless) instead of being missed.
// - Delta import: DirSync from the stored cookie; where the DC refuses DirSync (the
//   account lacks "Replicating Directory Changes"), uSNChanged polling with Show Deleted
//   from the stored USN of the same DC (invocationId). Deletes arrive as tombstones;
//   renames and moves as the same objectGUID under a new DN, so the connector-space
//   object keeps its join and only its DN changes. A changed object is read again whole
//   (by objectGUID, `member` completed by range retrieval): DirSync sends only what
//   changed, and a connector-space object always holds the full set.
// - Each page of changes and the watermark that follows it are stored in one
//   transaction: a crash re-reads at most one page.
// Searches from the domain root return a continuation reference to CN=Configuration
// (and the DNS partitions); ldapts hands those back beside the entries and we never chase them.
import { type Client, OrFilter } from 'ldapts';
import type { AgentConfig } from '../config/sync.ts';
import { AD_BINARY_ATTRIBUTES } from '../directory/ad/adEntry.ts';
import { dirSync, isDirSyncDenied } from '../directory/ad/dirSync.ts';
import { guidFilter } from '../directory/ad/guid.ts';
import type { AdChange, AdWatermark } from '../directory/ad/types.ts';
import { readUsnState, usnChanges } from '../directory/ad/usnPoll.ts';
import { type DirectoryEntry, toDirectoryEntry } from '../directory/entry.ts';
import { toDirectoryError } from '../directory/errors.ts';
import { isWithin } from '../directory/escape.ts';
import { searchEntries } from '../directory/import.ts';
import { completeRanges, rangedAttribute } from '../directory/rangeRetrieval.ts';
import type { StateStore } from '../state/store.ts';
import { AD_WATERMARK_KIND, formatAdWatermark, parseAdWatermark } from './adWatermark.ts';
import * as cs from './connectorSpace.ts';
import type { SyncEngine } from './engine.ts';
import {
  agentOrganization,
  CS_TABLES,
  fullDiffDeletes,
  importStream,
  openAgentDirectory,
  type runImport,
  searchSpec,
  storeBatch,
} from './importRun.ts';
import type { RunContext } from './runContext.ts';
import { getWatermark, setWatermark } from './runHistory.ts';

/** Objects re-read per search (an OR of objectGUID equalities). */
const REREAD_CHUNK = 100;
/** uSNChanged changes applied per transaction. */
const USN_BATCH = 500;
/**
 * A filter no object matches: a DirSync search with it and no cookie costs nothing and
 * answers with a cookie for "now". The cookie holds the DC's USN vector, not the
 * filter, so the delta searches with the agent's own filter continue from it.
 */
const MATCH_NOTHING = '(&(objectClass=contact)(cn=crossforest-watermark-probe-no-such-object))';
/**
 * DirSync without OBJECT_SECURITY: it needs "Replicating Directory Changes", and an
 * account without it is refused outright (→ uSNChanged). With OBJECT_SECURITY an account
 * lacking the right is not refused but, on Samba, silently sees nothing: deltas would
 * then miss every change.
 */
const FLAGS = 0;

interface AdRun {
  engine: SyncEngine;
  store: StateStore;
  client: Client;
  agentId: string;
  agent: AgentConfig;
  baseDn: string;
  runId: number;
  run: RunContext;
}

export const runAdImport: typeof runImport = async (engine, store, agentId, mode, runId, run) => {
  const { agent, org } = agentOrganization(engine, agentId);
  const conn = await openAgentDirectory(engine, agentId);
  const r: AdRun = { engine, store, client: conn.client, agentId, agent, baseDn: org.directory.baseDn, runId, run };
  try {
    const text = await getWatermark(store, agentId, AD_WATERMARK_KIND);
    const stored = parseAdWatermark(text);
    if (text !== undefined && !stored) run.logger.warn({ agent: agentId }, 'stored AD watermark is damaged: full import');
    if (mode === 'full' || !stored) return await fullImport(r);
    const done = stored.kind === 'dirsync' ? await dirSyncDelta(r, stored.cookie) : await usnDelta(r, stored);
    if (!done) return await fullImport(r);
    // For accounts that cannot read CN=Deleted Objects (tombstones invisible to them).
    if (agent.deltaDeletes === 'full-diff') await fullDiffDeletes(store, conn.client, searchSpec(agent), agent, agentId, run);
  } finally {
    await conn.close();
  }
};

/** The watermark for "now": a DirSync cookie, or the USN state where DirSync is refused. */
async function currentWatermark(r: AdRun): Promise<AdWatermark> {
  try {
    let cookie = '';
    for await (const page of dirSync(r.client, { baseDn: r.baseDn, filter: MATCH_NOTHING, attributes: ['cn'], flags: FLAGS }))
      cookie = page.cookie;
    return { kind: 'dirsync', cookie };
  } catch (err) {
    if (!isDirSyncDenied(err)) throw err;
    r.run.logger.info({ agent: r.agentId }, 'DirSync not permitted for this account: delta imports poll uSNChanged');
    return { kind: 'usn', ...(await readUsnState(r.client)) };
  }
}

async function fullImport(r: AdRun): Promise<void> {
  const mark = await currentWatermark(r);
  await importStream(r.engine, r.store, r.agentId, searchEntries(r.client, searchSpec(r.agent)), r.runId, r.run);
  await r.store.sql.tx(async () => {
    r.run.counts.importDeletes += await cs.markUnseenDeleted(r.store, r.agentId, r.runId);
    await setWatermark(r.store, r.agentId, AD_WATERMARK_KIND, formatAdWatermark(mark));
  });
  await cs.refreshStatistics(r.store, CS_TABLES);
}

function classFilter(agent: AgentConfig): string {
  // Object class names are schema names (letters, digits, hyphens): nothing to escape.
  return `(|${agent.objectClasses.map((c) => `(objectClass=${c})`).join('')})`;
}

/** False when DirSync is no longer permitted: the caller runs a full import (which sets a USN watermark). */
async function dirSyncDelta(r: AdRun, cookie: string): Promise<boolean> {
  // `name` changes on every rename and move: without it a move alone would not be reported.
  const attributes = [...new Set([...r.agent.attributes, 'name', 'objectClass'])];
  let done = 0;
  r.run.progress?.(`import ${r.agentId}`, 0);
  try {
    for await (const page of dirSync(r.client, { baseDn: r.baseDn, filter: classFilter(r.agent), attributes, cookie, flags: FLAGS })) {
      await applyChanges(r, page.changes, { kind: 'dirsync', cookie: page.cookie });
      done += page.changes.length;
      r.run.progress?.(`import ${r.agentId}`, done);
    }
    return true;
  } catch (err) {
    if (!isDirSyncDenied(err)) throw err;
    r.run.logger.warn({ agent: r.agentId }, 'the DC no longer permits DirSync: full import, then uSNChanged polling');
    return false;
  }
}

/** False when the DC is not the one the USN belongs to (another DC, or a restore): full import. */
async function usnDelta(r: AdRun, stored: Extract<AdWatermark, { kind: 'usn' }>): Promise<boolean> {
  const now = await readUsnState(r.client);
  if (now.invocationId !== stored.invocationId) {
    r.run.logger.warn({ agent: r.agentId, was: stored.invocationId, now: now.invocationId }, 'USN watermark of another DC: full import');
    return false;
  }
  let batch: AdChange[] = [];
  const changes = usnChanges(r.client, {
    baseDn: r.baseDn,
    filter: classFilter(r.agent),
    attributes: ['name'],
    sinceUsn: stored.highestUsn,
    pageSize: r.agent.pageSize,
  });
  // Paged results are not in USN order: the new watermark is stored only at the end.
  for await (const c of changes) {
    batch.push(c);
    if (batch.length >= USN_BATCH) {
      await applyChanges(r, batch, stored);
      batch = [];
    }
  }
  await applyChanges(r, batch, { kind: 'usn', ...now });
  return true;
}

function inScope(agent: AgentConfig, dn: string): boolean {
  return agent.containers.some((c) => isWithin(dn, c));
}

/** Applies one page of changes and stores `mark` with it, in one transaction. */
async function applyChanges(r: AdRun, changes: AdChange[], mark: AdWatermark): Promise<void> {
  const gone = new Set<string>();
  const wanted: string[] = [];
  for (const c of changes) {
    // A tombstone, or moved out of the agent's containers: gone for this agent.
    if (c.deleted || !inScope(r.agent, c.dn)) gone.add(c.guid);
    else wanted.push(c.guid);
  }
  const entries: DirectoryEntry[] = [];
  for (let i = 0; i < wanted.length; i += REREAD_CHUNK) {
    for (const e of await readByGuid(r, wanted.slice(i, i + REREAD_CHUNK))) {
      if (inScope(r.agent, e.dn)) entries.push(e);
      else gone.add(String(e.attributes[r.agent.anchor]?.[0])); // moved out meanwhile
    }
  }
  await r.store.sql.tx(async () => {
    await storeBatch(r.engine, r.store, r.agentId, entries, r.runId, r.run);
    const known = await cs.csByAnchors(r.store, r.agentId, [...gone]);
    for (const guid of gone) {
      const c = known.get(guid);
      if (c && c.state !== 'deleted') {
        await cs.markDeleted(r.store, c.id);
        r.run.counts.importDeletes++;
      }
    }
    await setWatermark(r.store, r.agentId, AD_WATERMARK_KIND, formatAdWatermark(mark));
  });
  await cs.refreshStatistics(r.store, CS_TABLES);
}

/**
 * The current state of objects by objectGUID, with every imported attribute and
 * `member` complete. One deleted meanwhile is simply absent: the next delta brings its tombstone.
 */
async function readByGuid(r: AdRun, guids: string[]): Promise<DirectoryEntry[]> {
  if (guids.length === 0) return [];
  const spec = searchSpec(r.agent);
  const names = new Map(spec.attributes.map((a) => [a.toLowerCase(), a]));
  const binary = new Set([...(spec.binaryAttributes ?? []), ...AD_BINARY_ATTRIBUTES].map((a) => a.toLowerCase()));
  let raw: Awaited<ReturnType<Client['search']>>;
  try {
    raw = await r.client.search(r.baseDn, {
      scope: 'sub',
      // Filter objects carry the GUID bytes; a filter string would mangle bytes ≥ 0x80 (see guid.ts).
      filter: new OrFilter({ filters: guids.map((g) => guidFilter(g)) }),
      attributes: spec.attributes,
      explicitBufferAttributes: spec.attributes.filter((a) => binary.has(a.toLowerCase())),
    });
  } catch (err) {
    throw toDirectoryError(err, `re-read ${guids.length} changed objects by objectGUID`, r.baseDn);
  }
  const out: DirectoryEntry[] = [];
  for (const e of raw.searchEntries) {
    const entry = toDirectoryEntry(e, names);
    if (Object.keys(entry.attributes).some((k) => rangedAttribute(k))) {
      entry.attributes = await completeRanges(r.client, entry.dn, entry.attributes);
    }
    out.push(entry);
  }
  return out;
}
