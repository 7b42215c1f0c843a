// Reads and validates crossforest.yaml. Every problem is reported with its key path,
// its line in the file and what was expected; all problems at once, not the first only.
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { type Document, isMap, isPair, isScalar, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from '../util/errors.ts';
import { type ProjectConfig, projectSchema } from './schema.ts';

export interface LoadedProject {
  config: ProjectConfig;
  /** Absolute path of the project file. */
  path: string;
  /** Folder of the project file: relative paths in it are resolved against this. */
  baseDir: string;
}

export interface ConfigProblem {
  path: string;
  line: number | undefined;
  message: string;
}

export function loadProject(file: string): LoadedProject {
  const path = resolve(file);
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    const missing = (err as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ConfigError(`project file ${path} ${missing ? 'does not exist' : 'cannot be read'}`, {
      object: path,
      hint: missing ? 'run `crossforest init` to write a commented example, or pass --config <file>' : 'check its permissions',
    });
  }
  return { config: parseProject(text, path), path, baseDir: dirname(path) };
}

/** Parses and validates project-file text; `name` is used in messages only. */
export function parseProject(text: string, name = 'crossforest.yaml'): ProjectConfig {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => ({
      path: '(syntax)',
      line: e.linePos?.[0]?.line,
      message: e.message.split('\n')[0] ?? e.message,
    }));
    throw configErrorFrom(name, problems);
  }
  const result = projectSchema.safeParse(doc.toJS() ?? {});
  if (!result.success)
    throw configErrorFrom(
      name,
      result.error.issues.flatMap((i) => describeIssue(i, doc, lines)),
    );
  return result.data;
}

function configErrorFrom(name: string, problems: ConfigProblem[]): ConfigError {
  const lines = problems.map((p) => `  ${name}${p.line ? `:${p.line}` : ''}  ${p.path}: ${p.message}`);
  const err = new ConfigError(
    `${name} is not valid (${problems.length} problem${problems.length === 1 ? '' : 's'}):\n${lines.join('\n')}`,
    {
      object: name,
      hint: 'fix the keys above; `crossforest init --print` shows a complete, commented example',
    },
  );
  (err as ConfigError & { problems: ConfigProblem[] }).problems = problems;
  return err;
}

function describeIssue(issue: z.core.$ZodIssue, doc: Document, lines: LineCounter): ConfigProblem[] {
  const path = issue.path.map(String);
  if (issue.code === 'unrecognized_keys') {
    return issue.keys.map((key) => ({
      path: [...path, key].join('.'),
      line: lineOfKey(doc, lines, path, key),
      message: `unknown key "${key}"${suggest(key, path)}`,
    }));
  }
  let message = issue.message;
  if (issue.code !== 'custom' && doc.getIn(path) === undefined && !doc.hasIn(path)) message = 'required key is missing';
  else if (issue.code === 'invalid_union') message = 'not one of the accepted forms; see the configuration reference in README.md';
  return [{ path: path.join('.') || '(top)', line: lineOfPath(doc, lines, path), message }];
}

function lineOfPath(doc: Document, lines: LineCounter, path: string[]): number | undefined {
  // A missing key has no node: report the line of its nearest existing parent.
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

function lineOfKey(doc: Document, lines: LineCounter, parent: string[], key: string): number | undefined {
  const map = parent.length === 0 ? doc.contents : doc.getIn(parent, true);
  if (isMap(map)) {
    for (const item of map.items) {
      if (isPair(item) && isScalar(item.key) && String(item.key.value) === key && item.key.range) {
        return lines.linePos(item.key.range[0]).line;
      }
    }
  }
  return lineOfPath(doc, lines, parent);
}

/** "did you mean …" for a typo of a sibling key that the schema knows. */
function suggest(key: string, parent: string[]): string {
  const known = knownKeys(parent);
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of known) {
    const d = editDistance(key.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) {
      best = candidate;
      bestDistance = d;
    }
  }
  return best ? ` (did you mean "${best}"?)` : '';
}

function knownKeys(parent: string[]): string[] {
  // Walk the zod schema along the path; records (organizations) consume one segment.
  let schema: unknown = projectSchema;
  for (const segment of parent) {
    schema = unwrap(schema);
    const def = (schema as { def?: { type?: string; shape?: Record<string, unknown>; valueType?: unknown } }).def;
    if (def?.type === 'object' && def.shape) schema = def.shape[segment];
    else if (def?.type === 'record') schema = def.valueType;
    else return [];
  }
  const def = (unwrap(schema) as { def?: { type?: string; shape?: Record<string, unknown> } }).def;
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : [];
}

function unwrap(schema: unknown): unknown {
  let s = schema as { def?: { type?: string; innerType?: unknown; in?: unknown } } | undefined;
  while (s?.def && (s.def.type === 'default' || s.def.type === 'optional' || s.def.type === 'pipe' || s.def.type === 'prefault')) {
    s = (s.def.innerType ?? s.def.in) as typeof s;
  }
  return s;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length]!;
}
