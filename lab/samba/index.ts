// `lab up --directory samba`: two Samba AD DCs, FORESTA on 127.0.0.2 and FORESTB on
// 127.0.0.3, each in <labDir>/samba-<x>/ with its own smb.conf, started and stopped by
// PID. Provisioned + schema-extended + loaded folders come from the provisioning cache
// (cache.ts) whenever one matches; a second `up` with the DCs running does nothing
// but a liveness check.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LabContext } from '../context.ts';
import { FOREST_IDS, type ForestId } from '../forests.ts';
import { withLabLock } from '../lock.ts';
import { ORGANIZATION_VERSION, type OrganizationCounts } from '../org/organization.ts';
import { readSecret } from '../secrets.ts';
import { cacheKey, pruneCache, restoreFromCache, sambaCacheRoot } from './cache.ts';
import { sambaInstalled, sambaState, sambaVersion, startSamba, stopSamba } from './daemon.ts';
import { SAMBA_DCS, type SambaDc, sambaPaths } from './dcs.ts';
import { AD_LOADER_VERSION } from './organization.ts';
import { buildDc } from './provision.ts';
import { SCHEMA_EXTENSION_VERSION } from './schema.ts';
import { ensureSambaSecret, sambaSecretPath } from './secrets.ts';
import { writeSmbConf } from './smbConf.ts';
import { ensureDcCertificate } from './tls.ts';

export type { SambaDc };
export { SAMBA_DCS, sambaInstalled };

/** `<labDir>/samba-<x>/loaded.json`: what the DC folder holds. */
export interface SambaLoaded {
  key: string;
  size: number;
  seed: string;
  sambaVersion: string;
  counts: OrganizationCounts;
  /** Seconds spent provisioning / loading when the cache entry was built. */
  provisionSeconds: number;
  loadSeconds: number;
  entriesPerSecond: number;
  /** True when this folder was copied from the cache rather than built now. */
  fromCache: boolean;
  restoredAt: string;
}

export interface SambaStatus {
  name: string;
  forest: ForestId;
  realm: string;
  baseDn: string;
  endpoints: { ldap: string; ldaps: string };
  pid: number | null;
  alive: boolean;
  dataDir: string;
  /** Administrator UPN and the file holding its password. */
  adminUpn: string;
  adminSecretFile: string;
  galsyncDn: string;
  caFile: string;
  loaded: SambaLoaded | null;
}

function readLoaded(labDir: string, forest: ForestId): SambaLoaded | null {
  const p = sambaPaths(labDir, forest);
  try {
    return existsSync(p.samLdb) ? (JSON.parse(readFileSync(p.loadedFile, 'utf8')) as SambaLoaded) : null;
  } catch {
    return null;
  }
}

function status(ctx: LabContext, dc: SambaDc): SambaStatus {
  const p = sambaPaths(ctx.labDir, dc.forest);
  const s = sambaState(p);
  return {
    name: `samba-${dc.forest}`,
    forest: dc.forest,
    realm: dc.realm,
    baseDn: dc.baseDn,
    endpoints: { ldap: dc.ldapUrl, ldaps: dc.ldapsUrl },
    pid: s.pid,
    alive: s.alive,
    dataDir: p.dir,
    adminUpn: dc.adminUpn,
    adminSecretFile: sambaSecretPath(ctx.labDir, dc.adminSecret),
    galsyncDn: dc.galsyncDn,
    caFile: ctx.tls.caCert,
    loaded: readLoaded(ctx.labDir, dc.forest),
  };
}

async function upDc(ctx: LabContext, dc: SambaDc, version: string, actions: string[]): Promise<void> {
  const log = ctx.log.child({ scope: `samba-${dc.forest}` });
  const p = sambaPaths(ctx.labDir, dc.forest);
  const adminPassword = ensureSambaSecret(ctx.labDir, dc.adminSecret);
  const usersPassword = readSecret(ctx.labDir, 'users.pw');
  const galsyncPassword = readSecret(ctx.labDir, `forest-${dc.forest}-galsync.pw`);
  const key = cacheKey({
    forest: dc.forest,
    sambaVersion: version,
    schemaVersion: SCHEMA_EXTENSION_VERSION,
    loaderVersion: AD_LOADER_VERSION,
    organizationVersion: ORGANIZATION_VERSION,
    size: ctx.size,
    seed: ctx.seed,
    passwords: [adminPassword, usersPassword, galsyncPassword],
  });
  const loaded = readLoaded(ctx.labDir, dc.forest);
  const name = `Samba DC ${dc.realm}`;
  if (loaded?.key !== key) {
    if (await stopSamba(dc, p, log)) actions.push(`stopped ${name} to reload`);
    rmSync(p.dir, { recursive: true, force: true });
    let fromCache = restoreFromCache(dc.forest, key, p.dir);
    let built: Awaited<ReturnType<typeof buildDc>> | null = null;
    if (!fromCache) {
      built = await buildDc({
        dc,
        key,
        size: ctx.size,
        seed: ctx.seed,
        adminPassword,
        usersPassword,
        galsyncPassword,
        labTls: ctx.tls,
        log,
      });
      actions.push(
        `provisioned ${name} in ${built.provisionSeconds} s, loaded ${built.counts.users} users (${built.counts.entries} entries) in ${built.loadSeconds} s (${built.entriesPerSecond}/s)`,
      );
      fromCache = false;
      if (!restoreFromCache(dc.forest, key, p.dir)) throw new Error(`cache entry for ${name} vanished`);
    } else {
      actions.push(`restored ${name} from the provisioning cache (${sambaCacheRoot()})`);
    }
    const previous = built ? null : readCachedMeta(dc.forest, key);
    const meta: SambaLoaded = {
      key,
      size: ctx.size,
      seed: ctx.seed,
      sambaVersion: version,
      counts: built?.counts ?? previous?.counts ?? ({} as OrganizationCounts),
      provisionSeconds: built?.provisionSeconds ?? previous?.provisionSeconds ?? 0,
      loadSeconds: built?.loadSeconds ?? previous?.loadSeconds ?? 0,
      entriesPerSecond: built?.entriesPerSecond ?? previous?.entriesPerSecond ?? 0,
      fromCache,
      restoredAt: new Date().toISOString(),
    };
    if (built) writeCachedMeta(dc.forest, key, meta);
    writeFileSync(p.loadedFile, `${JSON.stringify(meta, null, 2)}\n`);
  }
  if (!sambaState(p).alive) {
    const cert = await ensureDcCertificate(dc, p.tlsDir, ctx.tls);
    writeSmbConf(dc, p.dir, { tls: cert });
    const pid = await startSamba(dc, p, log);
    actions.push(`started ${name} (pid ${pid}) on ${dc.ldapUrl} and ${dc.ldapsUrl}`);
  }
}

function metaPath(forest: ForestId, key: string): string {
  return join(sambaCacheRoot(), `${forest}-${key}.json`);
}

function readCachedMeta(forest: ForestId, key: string): SambaLoaded | null {
  try {
    return JSON.parse(readFileSync(metaPath(forest, key), 'utf8')) as SambaLoaded;
  } catch {
    return null;
  }
}

function writeCachedMeta(forest: ForestId, key: string, meta: SambaLoaded): void {
  writeFileSync(metaPath(forest, key), `${JSON.stringify(meta, null, 2)}\n`);
}

function requireSamba(): void {
  if (!sambaInstalled()) {
    throw new Error(
      'Samba AD DC is not installed (samba, samba-tool): run scripts/setup.sh as root, or apt-get install samba samba-ad-dc samba-ad-provision samba-dsdb-modules',
    );
  }
}

/** Starts both DCs (idempotent). Returns what this call did, and the status of each DC. */
export async function sambaUp(ctx: LabContext): Promise<{ actions: string[]; dcs: SambaStatus[] }> {
  requireSamba();
  const version = await sambaVersion();
  const actions: string[] = [];
  // Own lock folder: `lab up` already holds lab.lock while it calls us, and tests call
  // us directly; the two DCs' fixed addresses must never be claimed twice at once.
  await withLabLock(join(ctx.labDir, 'samba-lock'), async () => {
    // Settle both before failing: a rejected sibling must not leave the other DC's build running.
    const results = await Promise.allSettled(FOREST_IDS.map((id) => upDc(ctx, SAMBA_DCS[id], version, actions)));
    const failed = results.find((r) => r.status === 'rejected');
    if (failed) throw failed.reason;
  });
  pruneCache();
  return { actions, dcs: FOREST_IDS.map((id) => status(ctx, SAMBA_DCS[id])) };
}

/** Stops both DCs (only the PIDs we recorded). Returns what was stopped. */
export async function sambaDown(ctx: LabContext): Promise<string[]> {
  const stopped: string[] = [];
  for (const id of FOREST_IDS) {
    const dc = SAMBA_DCS[id];
    const p = sambaPaths(ctx.labDir, id);
    const pid = sambaState(p).pid;
    if (await stopSamba(dc, p, ctx.log)) stopped.push(`Samba DC ${dc.realm} (pid ${pid})`);
  }
  return stopped;
}

export async function sambaStatus(ctx: LabContext): Promise<SambaStatus[]> {
  return FOREST_IDS.map((id) => status(ctx, SAMBA_DCS[id]));
}
