// The provisioning cache: a provisioned, schema-extended and loaded DC folder is kept
// outside the lab folder (it survives `lab reset`), keyed by everything that decides
// its content: Samba's version, our schema extension and AD mapping versions, the
// sample organization's version, size and seed, and a digest of the passwords baked
// into it. A second `up` (or a reset) copies it instead of provisioning again.
import { createHash } from 'node:crypto';
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import type { ForestId } from '../forests.ts';

export const CACHE_ENTRIES_KEPT = 6;

export interface CacheKeyInput {
  forest: ForestId;
  sambaVersion: string;
  schemaVersion: number;
  loaderVersion: number;
  organizationVersion: number;
  size: number;
  seed: string;
  /** The Administrator, users and galsync passwords (only their digest enters the key). */
  passwords: string[];
}

export function sambaCacheRoot(): string {
  const env = process.env.CROSSFOREST_CACHE_DIR;
  if (env) return resolve(env, 'samba');
  const xdg = process.env.XDG_CACHE_HOME;
  return join(xdg ? resolve(xdg) : join(homedir(), '.cache'), 'crossforest', 'samba');
}

export function cacheKey(k: CacheKeyInput): string {
  const secrets = createHash('sha256').update(k.passwords.join('\0')).digest('hex');
  const { passwords: _omit, ...rest } = k;
  return createHash('sha256')
    .update(JSON.stringify({ ...rest, secrets }))
    .digest('hex')
    .slice(0, 20);
}

export function cacheEntryDir(forest: ForestId, key: string): string {
  return join(sambaCacheRoot(), `${forest}-${key}`);
}

/** Copies a cached DC folder to `dest` (which must not exist). False when not cached. */
export function restoreFromCache(forest: ForestId, key: string, dest: string): boolean {
  const src = cacheEntryDir(forest, key);
  if (!existsSync(join(src, 'private', 'sam.ldb'))) return false;
  // Sockets (private/ldapi, ncalrpc) belong to a running samba and cannot be copied.
  cpSync(src, dest, { recursive: true, preserveTimestamps: true, verbatimSymlinks: true, filter: (from) => !lstatSync(from).isSocket() });
  return true;
}

/** Drops the oldest cache entries beyond CACHE_ENTRIES_KEPT (and stale build folders). */
export function pruneCache(): void {
  const root = sambaCacheRoot();
  if (!existsSync(root)) return;
  const entries = readdirSync(root)
    .filter((n) => /^[ab]-[0-9a-f]{20}$/.test(n))
    .map((n) => ({ n, t: statSync(join(root, n)).mtimeMs }))
    .sort((x, y) => y.t - x.t);
  for (const e of entries.slice(CACHE_ENTRIES_KEPT)) {
    rmSync(join(root, e.n), { recursive: true, force: true });
    rmSync(join(root, `${e.n}.json`), { force: true });
  }
  for (const n of readdirSync(root)) {
    if (n.startsWith('build-') && Date.now() - statSync(join(root, n)).mtimeMs > 3_600_000)
      rmSync(join(root, n), { recursive: true, force: true });
  }
}

export function ensureCacheRoot(): string {
  const root = sambaCacheRoot();
  mkdirSync(root, { recursive: true });
  return root;
}
