// The DCs' Administrator passwords: <labDir>/secrets/samba-<x>-admin.pw (0600), random
// once, like the other lab secrets. AD's default policy wants three character classes,
// so every class is forced in (the lab also turns complexity off, but the provisioning
// step sets this password before it can).
import { randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../../src/util/errors.ts';

const CLASSES = ['ABCDEFGHJKLMNPQRSTUVWXYZ', 'abcdefghijkmnopqrstuvwxyz', '23456789'] as const;

function strongSecret(length = 24): string {
  const all = CLASSES.join('');
  const chars = CLASSES.map((c) => c[randomInt(c.length)] as string);
  while (chars.length < length) chars.push(all[randomInt(all.length)] as string);
  // Fisher–Yates, so the forced characters are not always first.
  for (let i = chars.length - 1; i > 0; i--) {
    const j = randomInt(i + 1);
    [chars[i], chars[j]] = [chars[j] as string, chars[i] as string];
  }
  return chars.join('');
}

export function sambaSecretPath(labDir: string, name: string): string {
  return join(labDir, 'secrets', name);
}

/** Creates the secret file if absent (never overwrites) and returns its value. */
export function ensureSambaSecret(labDir: string, name: string): string {
  mkdirSync(join(labDir, 'secrets'), { recursive: true, mode: 0o700 });
  try {
    writeFileSync(sambaSecretPath(labDir, name), `${strongSecret()}\n`, { flag: 'wx', mode: 0o600 });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return readSambaSecret(labDir, name);
}

export function readSambaSecret(labDir: string, name: string): string {
  const path = sambaSecretPath(labDir, name);
  try {
    const v = readFileSync(path, 'utf8').split('\n', 1)[0] ?? '';
    if (v === '') throw new Error('empty');
    return v;
  } catch (err) {
    throw new LabError(`lab secret ${name} is missing or empty (${path})`, {
      object: path,
      hint: 'run `crossforest lab up --directory samba`',
      cause: err,
    });
  }
}
