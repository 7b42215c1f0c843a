// Where the lab lives: `.lab/` at the project root, or $CROSSFOREST_LAB_DIR.
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const PROJECT_ROOT = resolve(fileURLToPath(new URL('..', import.meta.url)));

export function defaultLabDir(): string {
  const env = process.env.CROSSFOREST_LAB_DIR;
  return env ? resolve(env) : resolve(PROJECT_ROOT, '.lab');
}
