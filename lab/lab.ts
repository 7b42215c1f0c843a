// The lab's orchestration: `up` (idempotent: start what is missing, reload data only
// when size/seed/generator changed), `down` (stop exactly our PIDs), `status`, `reset`.
// The directory half lives here; the mail stores are reached through the small hook
// interface of context.ts, loaded from lab/mailstore/index.ts when that module exists.
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Logger } from 'pino';
import { LabError } from '../src/util/errors.ts';
import { silentLogger } from '../src/util/logger.ts';
import type { LabContext, MailStoreHooks, MailStoreStatus } from './context.ts';
import { loadForest, slapdPaths, slapdState, startSlapd, stopSlapd, writeSlapdConfig } from './directory/slapd.ts';
import { FOREST_IDS, FORESTS, type ForestId, type ForestInfo } from './forests.ts';
import { withLabLock } from './lock.ts';
import { adMailStoresDown, adMailStoresStatus, adMailStoresUp } from './mailstore/adStores.ts';
import * as mailStoreHooks from './mailstore/index.ts';
import { type ForestMailStore, forestMailStores, MAX_STORES, validStoreCount } from './mailstore/stores.ts';
import { ORGANIZATION_VERSION, type OrganizationCounts } from './org/organization.ts';
import { DEFAULT_SEED, DEFAULT_SIZE } from './org/people.ts';
import { defaultLabDir } from './paths.ts';
import { adPostfixDown, adPostfixStatus, adPostfixUp } from './postfix/adPostfix.ts';
import { postfixDown, postfixLabStatus, postfixUp } from './postfix/postfix.ts';
import { type PostgresStatus, postgresDown, postgresStatus, postgresUp } from './postgres/postgres.ts';
import { portOpen } from './process.ts';
import { radicaleDown, radicaleStatus, radicaleUp } from './radicale/radicale.ts';
import { type SambaStatus, sambaDown, sambaStatus, sambaUp } from './samba/index.ts';
import { ensureSecrets, type LabSecretPaths, readSecret, secretPaths } from './secrets.ts';
import { ensureLabCertificates, type LabCertificates, labCertificatePaths } from './tls.ts';

export interface LabOptions {
  /** Default: $CROSSFOREST_LAB_DIR or `.lab/` at the project root. */
  labDir?: string;
  /** Users per forest. Default: what is loaded already, else 50. */
  size?: number;
  /** Sample-organization seed. Default: what is loaded already, else `crossforest`. */
  seed?: string;
  /** Dovecot mail stores per forest, 1 to 4. Default: as the lab was last started, else 1. */
  stores?: number;
  /** Also start/stop the Dovecot mail stores (lab/mailstore). Default true. */
  mailStores?: boolean;
  /** `samba` also runs the two Samba AD DCs (lab/samba); `openldap` stops them. Default: as before. */
  directory?: 'openldap' | 'samba';
  log?: Logger;
  /** One human line per step (the CLI prints these on stderr). */
  onProgress?: (line: string) => void;
}

/** What is loaded into one forest's databases (`.lab/slapd/<id>/loaded.json`). */
export interface LoadedData {
  version: number;
  size: number;
  seed: string;
  /** Mail stores per forest the users' homeMDB were spread over; absent (older labs) = 1. */
  stores?: number;
  counts: OrganizationCounts;
  loadSeconds: number;
  loadedAt: string;
}

export interface ForestRecord extends ForestInfo {
  pid: number | null;
  alive: boolean;
  conf: string;
  dataDir: string;
  accesslogDir: string;
  logFile: string;
  loaded: LoadedData | null;
  /**
   * The forest's Dovecot servers (`lab up --stores N`), always listed, store 1 first:
   * name, key (folders dovecot/<key>/, mail-<key>/), ports, the homeMDB of the users it
   * serves and its mail root. One entry with one store.
   */
  mailStores: ForestMailStore[];
}

/** The content of `.lab/lab.json`: what runs where. Tests read it. */
export interface LabInfo {
  version: 1;
  labDir: string;
  size: number;
  seed: string;
  /** Dovecot mail stores per forest (`--stores`); absent in lab.json of older labs = 1. */
  stores: number;
  updatedAt: string;
  forests: Record<ForestId, ForestRecord>;
  /**
   * Every process of the mail side: the Dovecot stores (dovecot-a and dovecot-b first, then
   * dovecot-a2, dovecot-b2 … with --stores), Radicale, Postfix.
   */
  mailStores: MailStoreStatus[];
  /** Null when lab/mailstore is not present or was skipped. */
  mailStoresError?: string;
  /** The Samba AD DCs, when the lab runs them (`lab up --directory samba`). */
  samba?: SambaStatus[];
  /**
   * With the DCs: their Dovecot stores (dovecot-a-ad, dovecot-b-ad; lab/mailstore/adStores.ts),
   * then their Postfix pair (postfix-a-ad, postfix-b-ad; lab/postfix/adPostfix.ts).
   * Kept apart from `mailStores`, whose consumers expect one Dovecot per forest.
   */
  adMailStores?: MailStoreStatus[];
  /** The lab's PostgreSQL cluster: the shared state engine for many worker hosts (`init --state postgres`). */
  postgres?: PostgresStatus;
  secrets: LabSecretPaths;
  tls: LabCertificates;
}

export interface LabUpResult extends LabInfo {
  /** What this run did (`loaded forest A (50 users) in 0.1 s`, `started slapd …`); empty = nothing to do. */
  actions: string[];
}

export function labInfoPath(labDir: string): string {
  return join(labDir, 'lab.json');
}

/** Reads `.lab/lab.json` as last written, or null. */
export function readLabInfo(labDir: string = defaultLabDir()): LabInfo | null {
  try {
    const info = JSON.parse(readFileSync(labInfoPath(labDir), 'utf8')) as LabInfo;
    // lab.json of a lab started before --stores: one store per forest.
    return { ...info, stores: info.stores ?? 1 };
  } catch {
    return null;
  }
}

function writeLabInfo(info: LabInfo): void {
  const path = labInfoPath(info.labDir);
  const tmp = `${path}.tmp-${process.pid}`;
  writeFileSync(tmp, `${JSON.stringify(info, null, 2)}\n`);
  renameSync(tmp, path);
}

function loadedMarker(labDir: string, id: ForestId): string {
  return join(slapdPaths(labDir, FORESTS[id]).dir, 'loaded.json');
}

function readLoaded(labDir: string, id: ForestId): LoadedData | null {
  try {
    const data = JSON.parse(readFileSync(loadedMarker(labDir, id), 'utf8')) as LoadedData;
    return existsSync(join(slapdPaths(labDir, FORESTS[id]).dataDir, 'data.mdb')) ? data : null;
  } catch {
    return null;
  }
}

// Static: the lab is bundled with the CLI (scripts/build.sh), where a path computed at run
// time would point into dist/.
async function loadMailStoreHooks(_log: Logger): Promise<MailStoreHooks | null> {
  return mailStoreHooks;
}

function resolved(opts: LabOptions): { labDir: string; log: Logger; progress: (l: string) => void } {
  const log = opts.log ?? silentLogger;
  return {
    labDir: opts.labDir ?? defaultLabDir(),
    log,
    progress: (line) => {
      log.info(line);
      opts.onProgress?.(line);
    },
  };
}

function context(labDir: string, size: number, seed: string, tls: LabCertificates, log: Logger, stores = 1): LabContext {
  return { labDir, size, seed, stores, forests: FORESTS, secrets: secretPaths(labDir), tls, log };
}

function validate(size: number, seed: string, stores: number): void {
  if (!validStoreCount(stores)) {
    throw new LabError(`lab stores must be a whole number from 1 to ${MAX_STORES}, got ${stores}`, {
      hint: 'pass --stores N (Dovecot servers per forest), e.g. --stores 2',
    });
  }
  if (!Number.isInteger(size) || size < 1 || size > 1_000_000) {
    throw new LabError(`lab size must be a whole number from 1 to 1000000, got ${size}`, {
      hint: 'pass --size N (users per forest), e.g. --size 50',
    });
  }
  if (seed.length === 0 || seed.length > 200) throw new LabError('lab seed must be 1 to 200 characters', { hint: 'pass --seed S' });
}

function forestRecord(labDir: string, f: ForestInfo, stores: number): ForestRecord {
  const paths = slapdPaths(labDir, f);
  const state = slapdState(paths);
  return {
    ...f,
    pid: state.pid,
    alive: state.alive,
    conf: paths.conf,
    dataDir: paths.dataDir,
    accesslogDir: paths.accesslogDir,
    logFile: paths.logFile,
    loaded: readLoaded(labDir, f.id),
    mailStores: forestMailStores(labDir, f.id, stores),
  };
}

function forestRecords(labDir: string, stores: number): Record<ForestId, ForestRecord> {
  return { a: forestRecord(labDir, FORESTS.a, stores), b: forestRecord(labDir, FORESTS.b, stores) };
}

async function upForest(
  labDir: string,
  f: ForestInfo,
  size: number,
  seed: string,
  stores: number,
  tls: LabCertificates,
  log: Logger,
  progress: (l: string) => void,
): Promise<string[]> {
  const actions: string[] = [];
  const paths = slapdPaths(labDir, f);
  const loaded = readLoaded(labDir, f.id);
  // The store count decides the users' homeMDB: a change reloads, like size and seed.
  const fresh =
    loaded !== null &&
    loaded.size === size &&
    loaded.seed === seed &&
    (loaded.stores ?? 1) === stores &&
    loaded.version === ORGANIZATION_VERSION;
  const running = slapdState(paths).alive;
  const name = `forest ${f.id.toUpperCase()}`;
  if (!fresh) {
    if (running) {
      progress(
        `${name}: stopping slapd to reload (${loaded ? `had size ${loaded.size}, seed ${loaded.seed}, ${loaded.stores ?? 1} mail store(s)` : 'no data'})`,
      );
      await stopSlapd(paths, f, log);
    }
    await writeSlapdConfig(labDir, f, tls, readSecret(labDir, `forest-${f.id}-admin.pw`));
    progress(
      `${name}: generating and loading ${size.toLocaleString('en-US')} users (seed ${seed}${stores > 1 ? `, mailboxes on ${stores} stores` : ''})`,
    );
    rmSync(loadedMarker(labDir, f.id), { force: true });
    const t0 = performance.now();
    const counts = await loadForest(
      paths,
      f,
      {
        forest: f.id,
        size,
        seed,
        usersPassword: readSecret(labDir, 'users.pw'),
        galsyncPassword: readSecret(labDir, `forest-${f.id}-galsync.pw`),
        stores,
      },
      log,
    );
    const loadSeconds = Math.round(performance.now() - t0) / 1000;
    const data: LoadedData = {
      version: ORGANIZATION_VERSION,
      size,
      seed,
      ...(stores > 1 ? { stores } : {}),
      counts,
      loadSeconds,
      loadedAt: new Date().toISOString(),
    };
    writeFileSync(loadedMarker(labDir, f.id), `${JSON.stringify(data, null, 2)}\n`);
    actions.push(`loaded ${name}: ${counts.entries.toLocaleString('en-US')} entries in ${loadSeconds} s`);
    progress(actions[actions.length - 1] ?? '');
  } else if (!existsSync(paths.conf)) {
    await writeSlapdConfig(labDir, f, tls, readSecret(labDir, `forest-${f.id}-admin.pw`));
  }
  if (!slapdState(paths).alive) {
    const pid = await startSlapd(paths, f, log);
    actions.push(`started slapd ${name} (pid ${pid}) on ${f.ldapUrl} and ${f.ldapsUrl}`);
    progress(actions[actions.length - 1] ?? '');
  } else if (!(await portOpen(f.host, f.ldapPort)) || !(await portOpen(f.host, f.ldapsPort))) {
    throw new LabError(`slapd ${name} runs (pid ${slapdState(paths).pid}) but does not answer on ${f.ldapUrl} / ${f.ldapsUrl}`, {
      object: paths.conf,
      hint: `see ${paths.logFile}; run \`crossforest lab reset\``,
    });
  }
  return actions;
}

/** Starts the lab (idempotent). Quick when everything already runs with the same size and seed. */
export async function labUp(opts: LabOptions = {}): Promise<LabUpResult> {
  const { labDir, log, progress } = resolved(opts);
  mkdirSync(labDir, { recursive: true });
  return withLabLock(labDir, async () => {
    const previous = readLabInfo(labDir);
    const size = opts.size ?? previous?.size ?? DEFAULT_SIZE;
    const seed = opts.seed ?? previous?.seed ?? DEFAULT_SEED;
    const stores = opts.stores ?? previous?.stores ?? 1;
    validate(size, seed, stores);
    const tls = await ensureLabCertificates(labDir);
    const secrets = ensureSecrets(labDir);
    const perForest = await Promise.all(FOREST_IDS.map((id) => upForest(labDir, FORESTS[id], size, seed, stores, tls, log, progress)));
    const actions = perForest.flat();

    let mailStores: MailStoreStatus[] = [];
    const hooks = opts.mailStores === false ? null : await loadMailStoreHooks(log);
    if (hooks) {
      progress(stores > 1 ? `mail stores: starting (${stores} per forest)` : 'mail stores: starting');
      mailStores = await hooks.mailStoresUp(context(labDir, size, seed, tls, log.child({ scope: 'mailstore' }), stores));
    }
    if (opts.mailStores !== false)
      mailStores.push(...(await radicaleUp(context(labDir, size, seed, tls, log.child({ scope: 'radicale' })))));
    if (hooks) {
      // Postfix routes by the directory and delivers to Dovecot over LMTP: after the mail stores.
      progress('postfix: starting');
      await postfixUp(labDir, stores);
      mailStores.push(...postfixLabStatus(labDir));
    }
    progress('postgres: starting');
    const postgres = await postgresUp({ labDir });
    let samba: SambaStatus[] | undefined;
    let adMailStores: MailStoreStatus[] | undefined;
    const sambaCtx = context(labDir, size, seed, tls, log.child({ scope: 'samba' }));
    if (opts.directory === 'samba' || (opts.directory === undefined && previous?.samba?.length)) {
      progress('Samba AD DCs: starting');
      const r = await sambaUp(sambaCtx);
      actions.push(...r.actions);
      samba = r.dcs;
      // Each DC's own Dovecot (dovecot-<x>-ad): users authenticated by the DC.
      if (opts.mailStores !== false) {
        adMailStores = await adMailStoresUp({ ...sambaCtx, log: log.child({ scope: 'mailstore' }) });
        // Their Postfix pair routes by the DCs and delivers to those stores: after them.
        progress('postfix (Samba mode): starting');
        adMailStores.push(...(await adPostfixUp({ ...sambaCtx, log: log.child({ scope: 'postfix' }) })));
      }
    } else if (opts.directory === 'openldap') {
      actions.push(...(await adPostfixDown(sambaCtx)).map((d) => `stopped ${d}`));
      actions.push(...(await adMailStoresDown(sambaCtx)).map((d) => `stopped ${d}`));
      actions.push(...(await sambaDown(sambaCtx)).map((d) => `stopped ${d}`));
    }
    const info: LabInfo = {
      version: 1,
      labDir,
      size,
      seed,
      stores,
      updatedAt: new Date().toISOString(),
      forests: forestRecords(labDir, stores),
      mailStores,
      ...(samba ? { samba } : {}),
      ...(adMailStores ? { adMailStores } : {}),
      postgres,
      secrets,
      tls,
    };
    writeLabInfo(info);
    return { ...info, actions };
  });
}

/** Stops the mail stores and both slapd (only the PIDs we recorded). Returns what was stopped. */
export async function labDown(opts: LabOptions = {}): Promise<string[]> {
  const { labDir, log, progress } = resolved(opts);
  if (!existsSync(labDir)) return [];
  return withLabLock(labDir, async () => {
    const stopped: string[] = [];
    const previous = readLabInfo(labDir);
    const hooks = opts.mailStores === false ? null : await loadMailStoreHooks(log);
    if (hooks) {
      progress('mail stores: stopping');
      // Every store (1 to 4 per forest) that runs, whatever the store count.
      await hooks.mailStoresDown(
        context(
          labDir,
          previous?.size ?? DEFAULT_SIZE,
          previous?.seed ?? DEFAULT_SEED,
          labCertificatePaths(labDir),
          log.child({ scope: 'mailstore' }),
          previous?.stores ?? 1,
        ),
      );
      stopped.push('mail stores');
    }
    if (opts.mailStores !== false) await postfixDown(labDir);
    if (opts.mailStores !== false)
      await radicaleDown(
        context(
          labDir,
          previous?.size ?? DEFAULT_SIZE,
          previous?.seed ?? DEFAULT_SEED,
          labCertificatePaths(labDir),
          log.child({ scope: 'radicale' }),
        ),
      );
    stopped.push(
      ...(await adPostfixDown(context(labDir, DEFAULT_SIZE, DEFAULT_SEED, labCertificatePaths(labDir), log.child({ scope: 'postfix' })))),
    );
    stopped.push(
      ...(await adMailStoresDown(
        context(
          labDir,
          previous?.size ?? DEFAULT_SIZE,
          previous?.seed ?? DEFAULT_SEED,
          labCertificatePaths(labDir),
          log.child({ scope: 'mailstore' }),
        ),
      )),
    );
    stopped.push(
      ...(await sambaDown(
        context(
          labDir,
          previous?.size ?? DEFAULT_SIZE,
          previous?.seed ?? DEFAULT_SEED,
          labCertificatePaths(labDir),
          log.child({ scope: 'samba' }),
        ),
      )),
    );
    stopped.push(...(await postgresDown({ labDir })));
    for (const id of FOREST_IDS) {
      const f = FORESTS[id];
      const pid = slapdState(slapdPaths(labDir, f)).pid;
      if (await stopSlapd(slapdPaths(labDir, f), f, log)) {
        stopped.push(`slapd forest ${id.toUpperCase()} (pid ${pid})`);
        progress(`stopped slapd forest ${id.toUpperCase()} (pid ${pid})`);
      }
    }
    if (previous) {
      writeLabInfo({
        ...previous,
        updatedAt: new Date().toISOString(),
        forests: forestRecords(labDir, previous.stores),
        mailStores: [],
        ...(previous.postgres ? { postgres: postgresStatus({ labDir }) } : {}),
      });
    }
    return stopped;
  });
}

/** What runs where, checked live (pid alive, owned by our config). */
export async function labStatus(opts: LabOptions = {}): Promise<LabInfo> {
  const { labDir, log } = resolved(opts);
  const previous = readLabInfo(labDir);
  const size = previous?.size ?? DEFAULT_SIZE;
  const seed = previous?.seed ?? DEFAULT_SEED;
  const stores = previous?.stores ?? 1;
  const tls = labCertificatePaths(labDir);
  let mailStores: MailStoreStatus[] = [];
  let mailStoresError: string | undefined;
  const hooks = opts.mailStores === false || !existsSync(labDir) ? null : await loadMailStoreHooks(log);
  if (hooks) {
    try {
      mailStores = await hooks.mailStoresStatus(context(labDir, size, seed, tls, log.child({ scope: 'mailstore' }), stores));
      mailStores.push(...(await radicaleStatus(context(labDir, size, seed, tls, log.child({ scope: 'radicale' })))));
      mailStores.push(...postfixLabStatus(labDir));
    } catch (err) {
      mailStoresError = err instanceof Error ? err.message : String(err);
    }
  }
  return {
    version: 1,
    labDir,
    size,
    seed,
    stores,
    updatedAt: previous?.updatedAt ?? '',
    forests: forestRecords(labDir, stores),
    mailStores,
    ...(mailStoresError ? { mailStoresError } : {}),
    ...(previous?.samba?.length ? { samba: await sambaStatus(context(labDir, size, seed, tls, log.child({ scope: 'samba' }))) } : {}),
    ...(previous?.adMailStores?.length
      ? {
          adMailStores: [
            ...adMailStoresStatus(context(labDir, size, seed, tls, log.child({ scope: 'mailstore' }))),
            ...adPostfixStatus(labDir),
          ],
        }
      : {}),
    ...(previous?.postgres ? { postgres: postgresStatus({ labDir }) } : {}),
    secrets: secretPaths(labDir),
    tls,
  };
}

/** Down, wipe everything but the secrets and TLS material (project files keep working), up. */
export async function labReset(opts: LabOptions = {}): Promise<LabUpResult> {
  const { labDir, progress } = resolved(opts);
  await labDown(opts);
  if (existsSync(labDir)) {
    const previous = readLabInfo(labDir);
    for (const name of readdirSync(labDir)) {
      if (name === 'secrets' || name === 'tls' || name === 'lab.lock') continue;
      rmSync(join(labDir, name), { recursive: true, force: true });
    }
    progress(`wiped ${labDir} (kept secrets/ and tls/)`);
    return labUp({
      ...opts,
      size: opts.size ?? previous?.size,
      seed: opts.seed ?? previous?.seed,
      stores: opts.stores ?? previous?.stores,
      directory: opts.directory ?? (previous?.samba?.length ? 'samba' : undefined),
    });
  }
  return labUp(opts);
}
