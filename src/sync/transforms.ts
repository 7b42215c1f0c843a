// Declared transforms of an attribute flow (or a join rule), applied in order to the
// list of values: lowercase, uppercase, regex replace, split, join, constant, prefix
// (X500:), keep (filter by pattern), first.
import type { TransformConfig } from '../config/sync.ts';

export function applyTransforms(values: readonly string[], transforms: readonly TransformConfig[]): string[] {
  let out = [...values];
  for (const t of transforms) {
    if ('lowercase' in t) out = out.map((v) => v.toLowerCase());
    else if ('uppercase' in t) out = out.map((v) => v.toUpperCase());
    else if ('replace' in t) {
      const re = new RegExp(t.replace.pattern, t.replace.flags.includes('u') ? t.replace.flags : `${t.replace.flags}u`);
      out = out.map((v) => v.replace(re, t.replace.with));
    } else if ('split' in t) out = out.flatMap((v) => v.split(t.split)).map((v) => v.trim());
    else if ('join' in t) out = out.length === 0 ? [] : [out.join(t.join)];
    else if ('constant' in t) out = Array.isArray(t.constant) ? [...t.constant] : [t.constant];
    else if ('prefix' in t) out = out.map((v) => `${t.prefix}${v}`);
    else if ('keep' in t) {
      const re = new RegExp(t.keep, 'iu');
      out = out.filter((v) => re.test(v));
    } else if ('first' in t) out = out.slice(0, 1);
  }
  return out.filter((v) => v !== '');
}
