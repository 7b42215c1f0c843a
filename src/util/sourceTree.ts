// Where crossforest's own files are: the checkout's root, found from wherever this code runs —
// src/util/ under tsx, or the compiled bundle in dist/ (scripts/build.sh). Files that are not
// code (SQL migrations, dashboard assets, the lab's schema and launchers) are read from the
// source tree in both cases, so one copy of each exists.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

function findRoot(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); ; dir = dirname(dir)) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'src', 'cli', 'main.ts'))) return dir;
    if (dirname(dir) === dir) throw new Error(`crossforest's source tree was not found above ${fileURLToPath(import.meta.url)}`);
  }
}

/** The checkout's root directory (where package.json and src/ are). */
export const SOURCE_ROOT = findRoot();

/** A file of the source tree by its path from the root: `sourcePath('src', 'state', 'migrations')`. */
export const sourcePath = (...segments: string[]): string => join(SOURCE_ROOT, ...segments);

/** True when this code runs from the TypeScript sources (tsx), false from the compiled bundle. */
export const RUNNING_FROM_SOURCE = import.meta.url.endsWith('.ts');
