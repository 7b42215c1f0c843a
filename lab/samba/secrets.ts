// The DCs' Administrator passwords: <labDir>/secrets/samba-<x>-admin.pw (0600), random
// once, like the other lab secrets. AD's default policy wants three character classes,
// so every class is forced in (the lab also turns complexity off, but the provisioning
// step sets this password before it can).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { LabError } from '../../src/util/errors.ts';
import { PASSWORD_CLASSES, strongPassword } from '../../src/util/password.ts';

// Letters and digits, as the lab always made them: safe in a shell word and a URL.
const strongSecret = (length = 24): string =>
  strongPassword(length, [PASSWORD_CLASSES.upper, PASSWORD_CLASSES.lower, PASSWORD_CLASSES.digit]);

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
