// The lab's mail: forest A's full corpus written straight into Maildir++ (then indexed
// with doveadm), delegate ACLs between A users, and a few INBOX messages for each of
// forest B's mailboxes. Regenerated only when size, seed, the store count or
// CORPUS_VERSION changed; `.lab/corpus-<store key>.json` is the manifest tests and the
// demo compare against. With several stores per forest (`lab up --stores N`) each store
// holds the mailboxes of the users whose homeMDB is its own, and has its own manifest.
// The Samba-mode stores (dovecot-a-ad, dovecot-b-ad: lab/mailstore/adStores.ts) get the
// same corpus for the same sample users (corpus-a-ad.json, corpus-b-ad.json).
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabContext } from '../../context.ts';
import { type SamplePerson, samplePeople } from '../../org/people.ts';
import { run } from '../../proc.ts';
import { doveadm } from '../dovecot.ts';
import { type StoreDef, type StorePaths, servesPerson, userHome } from '../stores.ts';
import { systemUser } from '../systemUser.ts';
import { type Delegation, delegations, writeDelegations } from './acl.ts';
import { type CorpusSizing, type UserManifest, writeMailboxA } from './mailboxA.ts';
import { seedStoreB } from './mailboxB.ts';
import type { Mailbox } from './message.ts';

/** Bump when the generated mail changes, so existing labs regenerate. */
export const CORPUS_VERSION = 1;

export interface CorpusManifest {
  version: number;
  store: string;
  size: number;
  seed: string;
  /** Stores per forest when generated (absent in manifests of older labs: 1). */
  stores?: number;
  /** The homeMDB this store serves; null: every mailbox user of the forest (one store). */
  homeMDB?: string | null;
  sizing: CorpusSizing;
  generatedAt: string;
  seconds: number;
  totals: { users: number; folders: number; messages: number; bytes: number };
  acls: Delegation[];
  users: UserManifest[];
}

/** `.lab/corpus-<key>.json`: corpus-a.json, corpus-b.json for store 1, corpus-a2.json … */
export function corpusManifestPath(labDir: string, store: StoreDef): string {
  return join(labDir, `corpus-${store.key}.json`);
}

export function readCorpusManifest(labDir: string, store: StoreDef): CorpusManifest | null {
  try {
    return JSON.parse(readFileSync(corpusManifestPath(labDir, store), 'utf8')) as CorpusManifest;
  } catch {
    return null;
  }
}

/** Counts from the environment (documented in lab/README.md), defaults for `lab up`. */
export function corpusSizing(env: NodeJS.ProcessEnv = process.env): CorpusSizing {
  const num = (v: string | undefined, d: number): number => {
    const n = v === undefined ? Number.NaN : Number.parseInt(v, 10);
    return Number.isInteger(n) && n >= 0 ? n : d;
  };
  return { meanMessages: num(env.CROSSFOREST_LAB_MESSAGES, 60), bigMailboxMessages: num(env.CROSSFOREST_LAB_BIG_MAILBOX, 3000) };
}

/** Roles by position among the forest's first users (fixed people: see lab/org/people.ts). */
function rolesOf(p: SamplePerson): { showcase: boolean; hoarder: boolean; big: boolean } {
  return { showcase: p.index === 0, hoarder: p.index === 1, big: p.index === 2 };
}

function summary(m: CorpusManifest): Record<string, unknown> {
  return {
    corpus: {
      manifest: m.store,
      users: m.totals.users,
      folders: m.totals.folders,
      messages: m.totals.messages,
      bytes: m.totals.bytes,
      seconds: m.seconds,
    },
  };
}

function wipeMailRoot(paths: StorePaths): void {
  mkdirSync(paths.mailRoot, { recursive: true });
  for (const name of readdirSync(paths.mailRoot)) rmSync(join(paths.mailRoot, name), { recursive: true, force: true });
}

function writeManifest(labDir: string, store: StoreDef, m: CorpusManifest): void {
  const path = corpusManifestPath(labDir, store);
  writeFileSync(`${path}.tmp`, `${JSON.stringify(m, null, 1)}\n`);
  renameSync(`${path}.tmp`, path);
}

async function generateA(ctx: LabContext, store: StoreDef, paths: StorePaths, sizing: CorpusSizing): Promise<CorpusManifest> {
  const t0 = performance.now();
  wipeMailRoot(paths);
  const colleagues: Mailbox[] = [];
  for (const p of samplePeople('a', Math.min(ctx.size, 200), ctx.seed))
    if (p.mail) colleagues.push({ name: p.displayName, address: p.mail });
  const users: UserManifest[] = [];
  const served = new Set<string>();
  for (const person of samplePeople('a', ctx.size, ctx.seed, ctx.stores)) {
    if (!servesPerson(store, person)) continue;
    served.add(person.upn);
    users.push(
      writeMailboxA({
        store,
        home: userHome(ctx.labDir, store.key, person.upn),
        person,
        roles: rolesOf(person),
        sizing,
        seed: ctx.seed,
        colleagues,
      }),
    );
  }
  const mail = systemUser('mail');
  await run('chown', ['-R', `${mail.uid}:${mail.gid}`, paths.mailRoot], { what: `lab corpus ${store.key.toUpperCase()}` });
  // Index everything now: first SELECTs are fast and the count quota is right.
  await doveadm(paths, ['index', '-A', '*'], { what: `dovecot store ${store.key.toUpperCase()}: doveadm index`, timeoutMs: 600_000 });
  // The delegations whose owner (the manager) lives here; a delegate may be on another store.
  const acls = delegations([...samplePeople('a', Math.min(ctx.size, 20), ctx.seed, ctx.stores)]).filter((d) => served.has(d.owner));
  await writeDelegations(paths, store, acls);
  const m = manifest(
    ctx,
    store,
    sizing,
    t0,
    users,
    users.reduce((n, u) => n + u.folders.length, 0),
    acls,
  );
  ctx.log.info({ store: store.name, ...m.totals, seconds: m.seconds }, 'corpus generated');
  return m;
}

async function generateB(ctx: LabContext, store: StoreDef, paths: StorePaths, sizing: CorpusSizing): Promise<CorpusManifest> {
  const t0 = performance.now();
  wipeMailRoot(paths);
  const users = await seedStoreB(ctx, store, paths);
  const m = manifest(ctx, store, sizing, t0, users, users.length, []);
  ctx.log.info({ store: store.name, ...m.totals, seconds: m.seconds }, 'corpus generated');
  return m;
}

function manifest(
  ctx: LabContext,
  store: StoreDef,
  sizing: CorpusSizing,
  t0: number,
  users: UserManifest[],
  folders: number,
  acls: Delegation[],
): CorpusManifest {
  return {
    version: CORPUS_VERSION,
    store: store.name,
    size: ctx.size,
    seed: ctx.seed,
    stores: ctx.stores,
    homeMDB: store.homeMDB ?? null,
    sizing,
    generatedAt: new Date().toISOString(),
    seconds: Math.round(performance.now() - t0) / 1000,
    totals: {
      users: users.length,
      folders,
      messages: users.reduce((n, u) => n + u.messages, 0),
      bytes: users.reduce((n, u) => n + u.bytes, 0),
    },
    acls,
    users,
  };
}

/** How the directory behind a store spreads its users (ensureCorpus). */
export interface CorpusOptions {
  /**
   * Mail stores per forest the directory's homeMDB values are spread over: the slapd
   * forests follow `lab up --stores N` (ctx.stores, the default); the Samba DCs are always
   * loaded with one (every mailbox user's homeMDB is the forest's mailboxStoreDn), so their
   * stores pass 1 and hold every mailbox user of the forest.
   */
  stores?: number;
}

/** Makes sure the store holds the corpus for ctx.size/ctx.seed; returns a summary for lab.json. */
export async function ensureCorpus(
  labCtx: LabContext,
  store: StoreDef,
  paths: StorePaths,
  opts: CorpusOptions = {},
): Promise<Record<string, unknown>> {
  const ctx: LabContext = { ...labCtx, stores: opts.stores ?? labCtx.stores };
  const sizing = corpusSizing();
  const have = readCorpusManifest(ctx.labDir, store);
  const fresh =
    have !== null &&
    have.version === CORPUS_VERSION &&
    have.size === ctx.size &&
    have.seed === ctx.seed &&
    (have.stores ?? 1) === ctx.stores &&
    have.sizing.meanMessages === sizing.meanMessages &&
    have.sizing.bigMailboxMessages === sizing.bigMailboxMessages &&
    existsSync(paths.mailRoot);
  if (fresh) return summary(have);
  // Remove the manifest first: a crash mid-generation must not leave a "fresh" marker.
  rmSync(corpusManifestPath(ctx.labDir, store), { force: true });
  const m = store.id === 'a' ? await generateA(ctx, store, paths, sizing) : await generateB(ctx, store, paths, sizing);
  writeManifest(ctx.labDir, store, m);
  return summary(m);
}
