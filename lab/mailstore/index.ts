// The mail-store half of the lab, behind the hooks `lab up/down/status` call
// (lab/context.ts MailStoreHooks): one Dovecot per forest (or `--stores N` per forest,
// each serving the users whose homeMDB is its own) authenticating against the two slapd
// forests, and the generated corpus of the users each store serves.
import { rmSync } from 'node:fs';
import type { LabContext, MailStoreStatus } from '../context.ts';
import { FOREST_IDS } from '../forests.ts';
import { readSecret } from '../secrets.ts';
import { corpusManifestPath, ensureCorpus } from './corpus/corpus.ts';
import { type DovecotSecrets, dovecotState, resolveBaseDir, startDovecot, stopDovecot, writeDovecotConfig } from './dovecot.ts';
import { type AuthDirectory, authDirectoryOfForest } from './ldapConfig.ts';
import { clientPorts, forestStore, MAX_STORES, type StoreDef, type StorePaths, storePaths } from './stores.ts';

export function storeStatus(store: StoreDef, paths: StorePaths, details: Record<string, unknown> = {}): MailStoreStatus {
  const state = dovecotState(paths);
  return {
    name: store.name,
    forest: store.id,
    // imap, imaps, and pop3/pop3s on the stores that have them (store A).
    endpoints: Object.fromEntries(Object.entries(clientPorts(store)).map(([proto, port]) => [proto, `${store.host}:${port}`])),
    pid: state.pid,
    alive: state.alive,
    dataDir: paths.mailRoot,
    details: {
      conf: paths.conf,
      log: paths.logFile,
      format: store.format,
      separator: store.separator,
      prefix: store.prefix,
      specialUse: store.specialUse,
      ...details,
    },
  };
}

/** Writes one store's config and (re)starts it when it is down or its config changed. */
export async function upStore(ctx: LabContext, store: StoreDef, directory: AuthDirectory, secrets: DovecotSecrets): Promise<StorePaths> {
  // Configs are rewritten every time (secrets, TLS paths or this code may have
  // changed); Dovecot reads the LDAP conf only at start, so a change means a restart.
  const { paths, changed } = await writeDovecotConfig(ctx.labDir, store, directory, ctx.tls, secrets);
  const running = dovecotState(paths).alive;
  if (running && changed) {
    ctx.log.info({ store: store.name }, 'config changed: restarting dovecot');
    await stopDovecot(store, paths, ctx.log);
  }
  if (!running || changed) await startDovecot(store, paths, ctx.log);
  return paths;
}

/** The running-or-not paths of a store (base_dir resolved as at `up`). */
export function pathsOf(ctx: LabContext, store: StoreDef): StorePaths {
  return resolveBaseDir(storePaths(ctx.labDir, store.key));
}

/** Every store of the lab's `stores` per forest, ordered store 1 of A, of B, then store 2 of A … */
function labStores(stores: number): StoreDef[] {
  const out: StoreDef[] = [];
  for (let k = 1; k <= stores; k++) for (const id of FOREST_IDS) out.push(forestStore(id, k, stores));
  return out;
}

/** Stores k > stores (up to MAX_STORES): what a smaller `--stores` leaves over. */
function extraStores(stores: number): StoreDef[] {
  const out: StoreDef[] = [];
  for (let k = stores + 1; k <= MAX_STORES; k++) for (const id of FOREST_IDS) out.push(forestStore(id, k, k));
  return out;
}

function storeDetails(store: StoreDef): Record<string, unknown> {
  return store.homeMDB === undefined ? {} : { homeMDB: store.homeMDB };
}

/**
 * Starts (or keeps) ctx.stores Dovecot servers per forest, each with the corpus of the
 * users it serves, and stops the ones a smaller store count leaves over. The first two
 * entries are always dovecot-a and dovecot-b (readers look a forest's store up by forest).
 */
export async function mailStoresUp(ctx: LabContext): Promise<MailStoreStatus[]> {
  const out: MailStoreStatus[] = [];
  for (const store of labStores(ctx.stores)) {
    const id = store.id;
    const paths = await upStore(ctx, store, authDirectoryOfForest(ctx.forests[id]), {
      masterPassword: readSecret(ctx.labDir, `mail-${id}-master.pw`),
      searchPassword: readSecret(ctx.labDir, `forest-${id}-galsync.pw`),
    });
    const corpus = await ensureCorpus(ctx, store, paths);
    out.push(storeStatus(store, paths, { ...storeDetails(store), ...corpus }));
  }
  for (const store of extraStores(ctx.stores)) {
    if (await stopDovecot(store, pathsOf(ctx, store), ctx.log)) ctx.log.info({ store: store.name }, 'not in --stores any more: stopped');
    // Its users are back on the other stores: a later `--stores` regenerates its mail.
    rmSync(corpusManifestPath(ctx.labDir, store), { force: true });
  }
  return out;
}

/** Stops every forest store that runs (1 to MAX_STORES), whatever the store count. */
export async function mailStoresDown(ctx: LabContext): Promise<void> {
  for (const store of labStores(MAX_STORES)) await stopDovecot(store, pathsOf(ctx, store), ctx.log);
}

/** The ctx.stores stores per forest, and any other that still runs. */
export async function mailStoresStatus(ctx: LabContext): Promise<MailStoreStatus[]> {
  const listed = labStores(ctx.stores).map((store) => storeStatus(store, pathsOf(ctx, store), storeDetails(store)));
  const stray = extraStores(ctx.stores)
    .map((store) => storeStatus(store, pathsOf(ctx, store), storeDetails(store)))
    .filter((st) => st.alive);
  return [...listed, ...stray];
}
