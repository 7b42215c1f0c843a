// Shared by every live test file: bring the lab up once per process and return what
// lab.json says. Fast (~0.1 s) when the lab already runs; safe when several test files
// call it at once (labUp takes a lock file).
import { type LabInfo, type LabOptions, labUp } from '../../lab/lab.ts';
import { readSecret, type SecretName } from '../../lab/secrets.ts';

let pending: Promise<LabInfo> | undefined;

/** Starts the lab if needed (keeping whatever size/seed is loaded) and returns its info. */
export function ensureLab(opts: Pick<LabOptions, 'size' | 'seed' | 'mailStores'> = {}): Promise<LabInfo> {
  pending ??= labUp(opts).then(({ actions: _actions, ...info }) => info);
  return pending;
}

/** A lab secret (admin / galsync / users password) by name. */
export function labSecret(info: LabInfo, name: SecretName): string {
  return readSecret(info.labDir, name);
}
