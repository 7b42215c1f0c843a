// Comparing attribute values the way a directory does: case-insensitive for the
// attributes the engine writes (addresses, names), order-insensitive for multi-values.
// Exports compare through these so that a value the directory merely re-spells is not
// exported again and again (the `exported-change-not-reimported` loop).
import type { AttributeValues } from './types.ts';

/** Attributes whose values compare exactly (everything else: case-insensitively). */
const CASE_EXACT = new Set(['userpassword']);

export function valueKey(attribute: string, value: string): string {
  const v = value.normalize('NFC').trim().replace(/\s+/g, ' ');
  return CASE_EXACT.has(attribute.toLowerCase()) ? v : v.toLowerCase();
}

/** Same set of values? proxyAddresses is the exception: `SMTP:` vs `smtp:` marks the primary and must count. */
export function sameValues(attribute: string, a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  const x = a ?? [];
  const y = b ?? [];
  if (x.length !== y.length) return false;
  const key = (v: string) => (attribute.toLowerCase() === 'proxyaddresses' ? proxyKey(v) : valueKey(attribute, v));
  const set = new Set(x.map(key));
  return y.every((v) => set.has(key(v))) && set.size === new Set(y.map(key)).size;
}

/** proxyAddresses compare case-insensitively except for the prefix's case (primary vs secondary). */
function proxyKey(v: string): string {
  const i = v.indexOf(':');
  return i < 0 ? v.toLowerCase() : `${v.slice(0, i)}:${v.slice(i + 1).toLowerCase()}`;
}

/** Removes duplicates (by valueKey), keeping the first spelling. */
export function uniqueValues(attribute: string, values: readonly string[]): string[] {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const v of values) {
    const k = attribute.toLowerCase() === 'proxyaddresses' ? proxyKey(v) : valueKey(attribute, v);
    if (!seen.has(k)) {
      seen.add(k);
      out.push(v);
    }
  }
  return out;
}

const lowerKeys = new WeakMap<AttributeValues, Map<string, string[]>>();

/** Case-insensitive attribute lookup (directories spell names as they like). */
export function getValues(attrs: AttributeValues, name: string): string[] {
  const direct = attrs[name];
  if (direct) return direct;
  let byLower = lowerKeys.get(attrs);
  if (!byLower) {
    // Attribute sets are not changed after they are built: index their names once.
    byLower = new Map(Object.entries(attrs).map(([k, v]) => [k.toLowerCase(), v]));
    lowerKeys.set(attrs, byLower);
  }
  return byLower.get(name.toLowerCase()) ?? [];
}

/** The addresses an object answers to, for conflict detection: `smtp:x`, `x500:y` …, lowercased. */
export function addressKeys(attrs: AttributeValues): string[] {
  const keys = new Set<string>();
  for (const m of getValues(attrs, 'mail')) if (m) keys.add(`smtp:${m.toLowerCase()}`);
  for (const p of getValues(attrs, 'proxyAddresses')) {
    const i = p.indexOf(':');
    if (i > 0) keys.add(`${p.slice(0, i).toLowerCase()}:${p.slice(i + 1).toLowerCase()}`);
  }
  return [...keys];
}

export function stableJson(attrs: AttributeValues): string {
  const sorted: AttributeValues = {};
  for (const k of Object.keys(attrs).sort()) sorted[k] = attrs[k] as string[];
  return JSON.stringify(sorted);
}
