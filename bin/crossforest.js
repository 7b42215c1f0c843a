#!/usr/bin/env node
// Runs the TypeScript sources through tsx, so that `crossforest` works straight from a checkout
// (Node 20 has no type stripping). There is no compiled dist/: the lab's SQL migrations,
// dashboard assets and schema files are read from the source tree, and one way to run keeps
// one thing to test.
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { register } = await import('tsx/esm/api');
register();
await import(pathToFileURL(join(root, 'src', 'cli', 'main.ts')).href);
