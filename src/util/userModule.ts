// Imports a module an administrator wrote (a rules extension), TypeScript or JavaScript.
// From the sources, tsx already loads .ts; from the compiled bundle (scripts/build.sh) a .ts
// module needs tsx's loader first, registered once and only then, so a JavaScript-only
// installation does not pay for it at every start.
import { pathToFileURL } from 'node:url';
import { RUNNING_FROM_SOURCE } from './sourceTree.ts';

let tsx: Promise<void> | undefined;

export async function importUserModule(path: string): Promise<unknown> {
  if (!RUNNING_FROM_SOURCE && /\.[cm]?ts$/i.test(path)) {
    tsx ??= import('tsx/esm/api').then((api) => void api.register());
    await tsx;
  }
  return import(pathToFileURL(path).href);
}
