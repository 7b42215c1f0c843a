// A secret in the project file is a reference, never a value: `{ env: NAME }` or
// `{ file: path }` (relative to the project file). Resolved only when a connection is
// made, so a config can be validated and printed without ever holding a password.
import { readFileSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../util/errors.ts';

export const secretRef = z.union([
  z.strictObject({ env: z.string().min(1).describe('name of an environment variable holding the secret') }),
  z.strictObject({ file: z.string().min(1).describe('path of a file holding the secret (first line), relative to the project file') }),
]);

export type SecretRef = z.infer<typeof secretRef>;

/** Where the secret comes from, for messages: never the secret itself. */
export function describeSecret(ref: SecretRef): string {
  return 'env' in ref ? `environment variable ${ref.env}` : `file ${ref.file}`;
}

export function resolveSecret(ref: SecretRef, baseDir: string, keyPath: string): string {
  if ('env' in ref) {
    const value = process.env[ref.env];
    if (value === undefined || value === '') {
      throw new ConfigError(`${keyPath}: environment variable ${ref.env} is not set`, {
        object: keyPath,
        hint: `export ${ref.env}=… before running, or point ${keyPath} at a file with { file: … }`,
      });
    }
    return value;
  }
  const path = isAbsolute(ref.file) ? ref.file : resolve(baseDir, ref.file);
  try {
    const text = readFileSync(path, 'utf8');
    const first = text.split(/\r?\n/, 1)[0] ?? '';
    if (first === '') throw new Error('empty');
    return first;
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read or is empty';
    throw new ConfigError(`${keyPath}: secret file ${path} ${why}`, {
      object: keyPath,
      hint: 'create the file with the secret on its first line (mode 0600), or run `crossforest lab up` for the lab secrets',
    });
  }
}

/** Reads a file the project file names (a CA certificate …), with an error naming the key. */
export function readReferencedFile(path: string, baseDir: string, keyPath: string): Buffer {
  const full = isAbsolute(path) ? path : resolve(baseDir, path);
  try {
    return readFileSync(full);
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : 'cannot be read';
    throw new ConfigError(`${keyPath}: file ${full} ${why}`, {
      object: keyPath,
      hint: 'fix the path (relative to the project file), or run `crossforest lab up` for the lab certificates',
    });
  }
}
