// Rules extensions: TypeScript or JavaScript modules the administrator writes and names
// by path in the project file, loaded at run time (MIIS: the extension DLL with
// MapAttributesForImport / MapAttributesForExport). A module default-exports
// defineRulesExtension({ import: { rule(cs) {…} }, export: { rule(mv) {…} } }).
// Rules are synchronous and pure: they see one object's values and return new ones.
import { isAbsolute, resolve } from 'node:path';
import type { ExtensionRef, SyncConfig } from '../config/sync.ts';
import { ConfigError, CrossforestError } from '../util/errors.ts';
import { importUserModule } from '../util/userModule.ts';
import type { AttributeValues } from './types.ts';
import { getValues } from './values.ts';

/** Read-only view of one object's attributes, by name (case-insensitive). */
export interface EntryView {
  /** The DN (connector-space objects) or undefined (metaverse objects). */
  readonly dn: string | undefined;
  readonly objectClass: string | undefined;
  /** All values of an attribute; [] when absent. */
  values(attribute: string): string[];
  /** The first value, or undefined. */
  value(attribute: string): string | undefined;
  isPresent(attribute: string): boolean;
}

/** What a rule returns: the new values (a string or list), or undefined/[] for "no value". */
export type RuleResult = string | readonly string[] | undefined;

export interface RulesExtension {
  import?: Record<string, (cs: EntryView) => RuleResult>;
  export?: Record<string, (mv: EntryView) => RuleResult>;
}

/** Identity helper that gives an extension module its types. */
export function defineRulesExtension(ext: RulesExtension): RulesExtension {
  return ext;
}

export function entryView(attrs: AttributeValues, dn?: string, objectClass?: string): EntryView {
  return {
    dn,
    objectClass,
    values: (a) => [...getValues(attrs, a)],
    value: (a) => getValues(attrs, a)[0],
    isPresent: (a) => getValues(attrs, a).length > 0,
  };
}

export function toValues(r: RuleResult): string[] {
  if (r === undefined || r === null) return [];
  return (typeof r === 'string' ? [r] : [...r]).filter((v) => typeof v === 'string' && v !== '');
}

/** Loaded modules by resolved path. */
export type ExtensionRegistry = Map<string, RulesExtension>;

function refsOf(cfg: SyncConfig): { ref: ExtensionRef; key: string }[] {
  const out: { ref: ExtensionRef; key: string }[] = [];
  for (const [id, a] of Object.entries(cfg.agents)) {
    const lists = { importFlows: a.importFlows, exportFlows: a.exportFlows, joinRules: a.joinRules };
    for (const [list, items] of Object.entries(lists)) {
      items.forEach((f, i) => {
        if (f.extension) out.push({ ref: f.extension, key: `sync.agents.${id}.${list}.${i}.extension` });
      });
    }
  }
  return out;
}

export function extensionPath(ref: ExtensionRef, baseDir: string): string {
  return isAbsolute(ref.path) ? ref.path : resolve(baseDir, ref.path);
}

/** Loads every module the config names, and checks every named rule exists, before any run starts. */
export async function loadRulesExtensions(cfg: SyncConfig, baseDir: string): Promise<ExtensionRegistry> {
  const registry: ExtensionRegistry = new Map();
  for (const { ref, key } of refsOf(cfg)) {
    const path = extensionPath(ref, baseDir);
    let ext = registry.get(path);
    if (!ext) {
      try {
        const mod = (await importUserModule(path)) as { default?: RulesExtension };
        ext = mod.default;
      } catch (err) {
        throw new ConfigError(`${key}: cannot load rules extension ${path}: ${(err as Error).message}`, {
          object: key,
          hint: 'fix the path (relative to the project file) or the module; it must default-export defineRulesExtension({...})',
          cause: err,
        });
      }
      if (!ext || typeof ext !== 'object') {
        throw new ConfigError(`${key}: ${path} has no default export`, {
          object: key,
          hint: 'export default defineRulesExtension({ import: {...}, export: {...} })',
        });
      }
      registry.set(path, ext);
    }
    const direction = key.includes('.exportFlows.') ? 'export' : 'import';
    if (typeof ext[direction]?.[ref.rule] !== 'function') {
      const known = Object.keys(ext[direction] ?? {});
      throw new ConfigError(
        `${key}: ${path} has no ${direction} rule "${ref.rule}"${known.length ? ` (it has: ${known.join(', ')})` : ''}`,
        {
          object: key,
          hint: `add ${direction}: { ${ref.rule}(entry) { … } } to the module, or fix the rule name`,
        },
      );
    }
  }
  return registry;
}

/** Runs one rule; a throwing rule becomes a per-object error, never a crashed run. */
export function runRule(
  registry: ExtensionRegistry,
  ref: ExtensionRef,
  baseDir: string,
  direction: 'import' | 'export',
  view: EntryView,
): string[] {
  const fn = registry.get(extensionPath(ref, baseDir))?.[direction]?.[ref.rule];
  if (!fn) throw new CrossforestError('CF_ERR_SYNC_RULE', `rules extension ${ref.path} has no ${direction} rule ${ref.rule} loaded`);
  try {
    return toValues(fn(view));
  } catch (err) {
    throw new CrossforestError('CF_ERR_SYNC_RULE', `rules extension ${ref.path} rule ${ref.rule} failed: ${(err as Error).message}`, {
      object: view.dn,
      cause: err,
    });
  }
}
