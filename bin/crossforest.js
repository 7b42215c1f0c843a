#!/usr/bin/env node
// Starts crossforest: the compiled bundle (dist/crossforest.mjs, made by scripts/build.sh,
// which scripts/setup.sh runs) when it is newer than every source file, else the TypeScript
// sources through tsx — so a checkout being edited never runs stale code, and an installed
// one does not transpile its whole import graph at every start. CROSSFOREST_FROM_SOURCE=1
// forces the sources.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const bundle = join(root, 'dist', 'crossforest.mjs');

/** The newest modification time under `dir` (TypeScript files only), in ms. */
function newest(dir) {
  let max = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) max = Math.max(max, newest(p));
    else if (e.name.endsWith('.ts')) max = Math.max(max, statSync(p).mtimeMs);
  }
  return max;
}

function bundleIsFresh() {
  if (process.env.CROSSFOREST_FROM_SOURCE === '1' || !existsSync(bundle)) return false;
  const built = statSync(bundle).mtimeMs;
  return (
    built >= newest(join(root, 'src')) && built >= newest(join(root, 'lab')) && built >= statSync(join(root, 'package-lock.json')).mtimeMs
  );
}

if (bundleIsFresh()) {
  await import(pathToFileURL(bundle).href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
}
