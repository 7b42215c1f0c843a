// Lab secrets: one file per secret in <labDir>/secrets/ (mode 0600), random on first
// `lab up`, stable afterwards. The project file refers to them by path, never inline.
import { randomBytes, randomInt, scryptSync } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../src/util/errors.ts';
import { formatPasswordHash, SCRYPT_DEFAULTS } from '../src/util/passwordHash.ts';

export const SECRET_NAMES = [
  'forest-a-admin.pw',
  'forest-a-galsync.pw',
  'mail-a-master.pw',
  'forest-b-admin.pw',
  'forest-b-galsync.pw',
  'mail-b-master.pw',
  'users.pw',
  // The dashboard operator `ops` (coexistence.dashboard.operators): the password to type at
  // /dashboard/login. The project file names its scrypt hash, DASHBOARD_OPERATOR_HASH.
  'dashboard-ops.pw',
] as const;

/** The lab's dashboard operator: its login name, and the hash file beside its password file. */
export const DASHBOARD_OPERATOR = 'ops';
export const DASHBOARD_OPERATOR_HASH = 'dashboard-ops.hash';

export type SecretName = (typeof SECRET_NAMES)[number];
export type LabSecretPaths = Record<SecretName, string>;

// Letters and digits only: the secrets end up in slapd and Dovecot configs and in
// test command lines, where quoting rules differ; 24 of 62 symbols ≈ 143 bits.
const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

function randomSecret(length = 24): string {
  let s = '';
  for (let i = 0; i < length; i++) s += ALPHABET[randomInt(ALPHABET.length)];
  return s;
}

export function secretPaths(labDir: string): LabSecretPaths {
  const dir = join(labDir, 'secrets');
  return Object.fromEntries(SECRET_NAMES.map((n) => [n, join(dir, n)])) as LabSecretPaths;
}

/** Creates the missing secret files (never overwrites one) and returns all paths. */
export function ensureSecrets(labDir: string): LabSecretPaths {
  const paths = secretPaths(labDir);
  mkdirSync(join(labDir, 'secrets'), { recursive: true, mode: 0o700 });
  for (const name of SECRET_NAMES) ensureSecretFile(paths[name]);
  ensureHashFile(paths['dashboard-ops.pw'], join(labDir, 'secrets', DASHBOARD_OPERATOR_HASH));
  return paths;
}

/**
 * Writes the scrypt hash of a password file's first line (what `crossforest serve
 * hash-password` prints) when the hash file is absent or older than the password file.
 */
function ensureHashFile(passwordFile: string, hashFile: string): void {
  let stale = true;
  try {
    stale = statSync(hashFile).mtimeMs < statSync(passwordFile).mtimeMs;
  } catch {
    // absent: write it
  }
  if (!stale) return;
  const password = readFileSync(passwordFile, 'utf8').split('\n', 1)[0] ?? '';
  const { N, r, p } = SCRYPT_DEFAULTS;
  const salt = randomBytes(16);
  const hash = scryptSync(password.normalize('NFC'), salt, 32, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 });
  // Renamed into place: a reader sees the old hash or the new one, never half a line.
  const tmp = `${hashFile}.${process.pid}.tmp`;
  writeFileSync(tmp, `${formatPasswordHash({ N, r, p, salt, hash })}\n`, { mode: 0o600 });
  renameSync(tmp, hashFile);
}

/** Creates one random secret file if absent (never overwrites) and returns its value. */
export function ensureSecretFile(path: string): string {
  try {
    // 'wx': create only if absent, so concurrent callers keep the first value.
    writeFileSync(path, `${randomSecret()}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readFileSync(path, 'utf8').split('\n', 1)[0] ?? '';
}

export function readSecret(labDir: string, name: SecretName): string {
  const path = secretPaths(labDir)[name];
  try {
    const value = readFileSync(path, 'utf8').split('\n', 1)[0] ?? '';
    if (value === '') throw new Error('empty');
    return value;
  } catch (err) {
    throw new LabError(`lab secret ${name} is missing or empty (${path})`, {
      object: path,
      hint: 'run `crossforest lab up` to create the lab secrets',
      cause: err,
    });
  }
}
