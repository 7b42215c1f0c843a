// The mail-store half of the lab, behind the hooks `lab up/down/status` call
// (lab/context.ts MailStoreHooks): two Dovecot instances authenticating against the two
// slapd forests, and forest A's generated corpus.
import type { LabContext, MailStoreStatus } from '../context.ts';
import { FOREST_IDS } from '../forests.ts';
import { readSecret } from '../secrets.ts';
import { dovecotState, resolveBaseDir, startDovecot, stopDovecot, writeDovecotConfig } from './dovecot.ts';
import { ensureCorpus } from './corpus/corpus.ts';
import { STORES, storePaths, type StoreDef, type StorePaths } from './stores.ts';

function status(store: StoreDef, paths: StorePaths, details: Record<string, unknown> = {}): MailStoreStatus {
  const state = dovecotState(paths);
  return {
    name: store.name,
    forest: store.id,
    endpoints: { imap: `${store.host}:${store.imapPort}`, imaps: `${store.host}:${store.imapsPort}` },
    pid: state.pid,
    alive: state.alive,
    dataDir: paths.mailRoot,
    details: { conf: paths.conf, log: paths.logFile, format: store.format, separator: store.separator, prefix: store.prefix, specialUse: store.specialUse, ...details },
  };
}

export async function mailStoresUp(ctx: LabContext): Promise<MailStoreStatus[]> {
  const out: MailStoreStatus[] = [];
  for (const id of FOREST_IDS) {
    const store = STORES[id];
    // Configs are rewritten every time (secrets, TLS paths or this code may have
    // changed); Dovecot reads the LDAP conf only at start, so a change means a restart.
    const { paths, changed } = await writeDovecotConfig(ctx.labDir, store, ctx.forests[id], ctx.tls, {
      masterPassword: readSecret(ctx.labDir, `mail-${id}-master.pw`),
      searchPassword: readSecret(ctx.labDir, `forest-${id}-galsync.pw`),
    });
    const running = dovecotState(paths).alive;
    if (running && changed) {
      ctx.log.info({ store: store.name }, 'config changed: restarting dovecot');
      await stopDovecot(store, paths, ctx.log);
    }
    if (!running || changed) await startDovecot(store, paths, ctx.log);
    const corpus = await ensureCorpus(ctx, store, paths);
    out.push(status(store, paths, corpus));
  }
  return out;
}

export async function mailStoresDown(ctx: LabContext): Promise<void> {
  for (const id of FOREST_IDS) {
    await stopDovecot(STORES[id], resolveBaseDir(storePaths(ctx.labDir, id)), ctx.log);
  }
}

export async function mailStoresStatus(ctx: LabContext): Promise<MailStoreStatus[]> {
  return FOREST_IDS.map((id) => status(STORES[id], resolveBaseDir(storePaths(ctx.labDir, id))));
}
