// The mail-store half of the lab, behind the hooks `lab up/down/status` call
// (lab/context.ts MailStoreHooks): two Dovecot instances authenticating against the two
// slapd forests, and forest A's generated corpus.
import type { LabContext, MailStoreStatus } from '../context.ts';
import { FOREST_IDS } from '../forests.ts';
import { readSecret } from '../secrets.ts';
import { ensureCorpus } from './corpus/corpus.ts';
import { type DovecotSecrets, dovecotState, resolveBaseDir, startDovecot, stopDovecot, writeDovecotConfig } from './dovecot.ts';
import { type AuthDirectory, authDirectoryOfForest } from './ldapConfig.ts';
import { clientPorts, STORES, type StoreDef, type StorePaths, storePaths } from './stores.ts';

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

export async function mailStoresUp(ctx: LabContext): Promise<MailStoreStatus[]> {
  const out: MailStoreStatus[] = [];
  for (const id of FOREST_IDS) {
    const store = STORES[id];
    const paths = await upStore(ctx, store, authDirectoryOfForest(ctx.forests[id]), {
      masterPassword: readSecret(ctx.labDir, `mail-${id}-master.pw`),
      searchPassword: readSecret(ctx.labDir, `forest-${id}-galsync.pw`),
    });
    const corpus = await ensureCorpus(ctx, store, paths);
    out.push(storeStatus(store, paths, corpus));
  }
  return out;
}

export async function mailStoresDown(ctx: LabContext): Promise<void> {
  for (const id of FOREST_IDS) await stopDovecot(STORES[id], pathsOf(ctx, STORES[id]), ctx.log);
}

export async function mailStoresStatus(ctx: LabContext): Promise<MailStoreStatus[]> {
  return FOREST_IDS.map((id) => storeStatus(STORES[id], pathsOf(ctx, STORES[id])));
}
