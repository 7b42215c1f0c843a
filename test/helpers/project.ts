// A project file for live tests: the `crossforest init` example, pointed at the lab's
// data folder, written into a temporary folder of its own (with its own state store).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { exampleProjectFile, withMailServers } from '../../src/config/example.ts';
import { type LoadedProject, loadProject } from '../../src/config/load.ts';
import { testStateYaml } from './state.ts';

export interface TestProject extends LoadedProject {
  dir: string;
  text: string;
}

/** Writes the example config with `.lab/` paths made absolute; `edit` may change the text. */
export function labProject(labDir: string, edit: (text: string) => string = (t) => t): TestProject {
  const dir = mkdtempSync(join(tmpdir(), 'cf-project-'));
  // The state store on the tests' engine (helpers/state.ts), in place of the example's.
  const example = replaceSection(
    labMailServers(labDir, exampleProjectFile()).replaceAll('.lab/', `${labDir}/`),
    'state',
    testStateYaml(dir),
  );
  const text = edit(example);
  const path = join(dir, 'crossforest.yaml');
  writeFileSync(path, text);
  return { ...loadProject(path), dir, text };
}

/**
 * The example with each forest's mail servers as the running lab has them: one (the
 * example as written), or, after `lab up --stores N`, a `mailStores` list from lab.json.
 */
export function labMailServers(labDir: string, text: string): string {
  let info: { forests?: Record<string, { mailStores?: { name: string; homeMDB: string; imapPort: number; imapsPort: number }[] }> };
  try {
    info = JSON.parse(readFileSync(join(labDir, 'lab.json'), 'utf8'));
  } catch {
    return text;
  }
  let out = text;
  for (const org of ['a', 'b'] as const) {
    const stores = info.forests?.[org]?.mailStores ?? [];
    // The example's transport: forest A over IMAP with STARTTLS, forest B over IMAPS.
    out = withMailServers(
      out,
      org,
      stores.map((st) => ({ name: st.name, homeMDB: st.homeMDB, port: org === 'a' ? st.imapPort : st.imapsPort })),
    );
  }
  return out;
}

/**
 * `text` with its top-level `name:` section (down to the next top-level key) replaced by
 * `section`, appended at the end; without `section`, only removed. The example has every
 * section live, so a test that brings its own must take the example's out: YAML refuses a
 * key given twice.
 */
export function replaceSection(text: string, name: string, section = ''): string {
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`${name}:`));
  if (start < 0) return `${text}${section}`;
  let end = start + 1;
  while (end < lines.length && !/^[^\s#]/.test(lines[end] as string)) end++;
  // Comments at column 0 just above the next key belong to it.
  while (end > start + 1 && /^#/.test(lines[end - 1] as string)) end--;
  const rest = [...lines.slice(0, start), ...lines.slice(end)].join('\n');
  return `${rest.endsWith('\n') || rest === '' ? rest : `${rest}\n`}${section}`;
}
