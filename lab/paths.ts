// Where the lab lives: `.lab/` at the project root, or $CROSSFOREST_LAB_DIR.
import { resolve } from 'node:path';
import { SOURCE_ROOT } from '../src/util/sourceTree.ts';

export const PROJECT_ROOT = SOURCE_ROOT;

export function defaultLabDir(): string {
  const env = process.env.CROSSFOREST_LAB_DIR;
  return env ? resolve(env) : resolve(PROJECT_ROOT, '.lab');
}
