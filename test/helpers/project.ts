// A project file for live tests: the `crossforest init` example, pointed at the lab's
// data folder, written into a temporary folder of its own (with its own state store).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exampleProjectFile } from '../../src/config/example.ts';
import { type LoadedProject, loadProject } from '../../src/config/load.ts';

export interface TestProject extends LoadedProject {
  dir: string;
  text: string;
}

/** Writes the example config with `.lab/` paths made absolute; `edit` may change the text. */
export function labProject(labDir: string, edit: (text: string) => string = (t) => t): TestProject {
  const dir = mkdtempSync(join(tmpdir(), 'cf-project-'));
  const text = edit(exampleProjectFile().replaceAll('.lab/', `${labDir}/`));
  const path = join(dir, 'crossforest.yaml');
  writeFileSync(path, text);
  return { ...loadProject(path), dir, text };
}
