// The Dovecot stores of `lab up --directory samba`: dovecot-a-ad and dovecot-b-ad, the
// same mailbox layout as the forests' stores, on their own ports and folders, whose
// users are authenticated by the forest's Samba AD DC (FORESTA 127.0.0.2, FORESTB
// 127.0.0.3) over ldaps, verified with the lab CA. Mailbox-enabled = homeMDB present,
// as on slapd (the one filter in ldapConfig.ts). Each holds the same generated corpus
// as the forest's slapd store (corpus/corpus.ts ensureCorpus: the DCs hold the same
// sample users and UPNs), with its own manifest (.lab/corpus-a-ad.json, corpus-b-ad.json);
// a user given homeMDB later gets an empty mailbox on first login. The slapd stores run
// beside them unchanged.
import { join } from 'node:path';
import type { LabContext, MailStoreStatus } from '../context.ts';
import { FOREST_IDS, type ForestId } from '../forests.ts';
import { withLabLock } from '../lock.ts';
import { SAMBA_DCS } from '../samba/dcs.ts';
import { readSecret } from '../secrets.ts';
import { ensureCorpus } from './corpus/corpus.ts';
import { stopDovecot } from './dovecot.ts';
import { pathsOf, storeStatus, upStore } from './index.ts';
import type { AuthDirectory } from './ldapConfig.ts';
import { AD_STORES } from './stores.ts';

export function authDirectoryOfDc(forest: ForestId, caFile: string): AuthDirectory {
  const dc = SAMBA_DCS[forest];
  return { label: `Samba DC ${dc.realm}`, url: dc.ldapsUrl, searchDn: dc.galsyncDn, base: dc.sitesDn, caFile };
}

function details(ctx: LabContext, forest: ForestId): Record<string, unknown> {
  return {
    directory: SAMBA_DCS[forest].ldapsUrl,
    realm: SAMBA_DCS[forest].realm,
    masterSecretFile: join(ctx.labDir, 'secrets', `mail-${forest}-master.pw`),
  };
}

/**
 * Starts (or keeps) both AD stores with their corpus (generated when missing or stale:
 * size, seed, CORPUS_VERSION, the counts); the DCs must be up (lab/samba sambaUp). Own
 * lock folder: `lab up` holds lab.lock while it calls us, and tests call us directly.
 */
export async function adMailStoresUp(ctx: LabContext): Promise<MailStoreStatus[]> {
  return withLabLock(join(ctx.labDir, 'mailstore-ad-lock'), async () => {
    const out: MailStoreStatus[] = [];
    for (const id of FOREST_IDS) {
      const store = AD_STORES[id];
      // The master user and the search account are the forest's own (same secrets as
      // its slapd store: lab/samba loads galsync with forest-<x>-galsync.pw).
      const paths = await upStore(ctx, store, authDirectoryOfDc(id, ctx.tls.caCert), {
        masterPassword: readSecret(ctx.labDir, `mail-${id}-master.pw`),
        searchPassword: readSecret(ctx.labDir, `forest-${id}-galsync.pw`),
      });
      // The DCs are loaded with one mail store per forest (lab/samba/provision.ts), whatever
      // the slapd forests' --stores: this store serves every mailbox user of its DC.
      const corpus = await ensureCorpus(ctx, store, paths, { stores: 1 });
      out.push(storeStatus(store, paths, { ...details(ctx, id), ...corpus }));
    }
    return out;
  });
}

/** Stops both AD stores (only the PIDs we recorded); returns what was stopped. */
export async function adMailStoresDown(ctx: LabContext): Promise<string[]> {
  const stopped: string[] = [];
  for (const id of FOREST_IDS) {
    if (await stopDovecot(AD_STORES[id], pathsOf(ctx, AD_STORES[id]), ctx.log)) stopped.push(AD_STORES[id].name);
  }
  return stopped;
}

export function adMailStoresStatus(ctx: LabContext): MailStoreStatus[] {
  return FOREST_IDS.map((id) => storeStatus(AD_STORES[id], pathsOf(ctx, AD_STORES[id]), details(ctx, id)));
}
