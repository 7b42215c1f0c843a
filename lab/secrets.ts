// Lab secrets: one file per secret in <labDir>/secrets/ (mode 0600), random on first
// `lab up`, stable afterwards. The project file refers to them by path, never inline.
import { randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../src/util/errors.ts';

export const SECRET_NAMES = [
  'forest-a-admin.pw',
  'forest-a-galsync.pw',
  'mail-a-master.pw',
  'forest-b-admin.pw',
  'forest-b-galsync.pw',
  'mail-b-master.pw',
  'users.pw',
] as const;

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
  return paths;
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
