// The connector filter: objects that must not enter the metaverse (the seed: anything
// without an Internet address; hidden objects). The first matching rule's reason is kept.
import type { ConnectorFilterRule } from '../config/sync.ts';
import type { AttributeValues } from './types.ts';
import { getValues } from './values.ts';

export function filteredBy(rules: readonly ConnectorFilterRule[], objectClass: string, attrs: AttributeValues): string | undefined {
  for (const r of rules) {
    if (r.objectClasses && !r.objectClasses.some((c) => c.toLowerCase() === objectClass.toLowerCase())) continue;
    const values = getValues(attrs, r.attribute).filter((v) => v.trim() !== '');
    let hit = false;
    if (r.when === 'absent') hit = values.length === 0;
    else if (r.when === 'present') hit = values.length > 0;
    else if (r.when === 'equals') hit = values.some((v) => v.toLowerCase() === (r.value ?? '').toLowerCase());
    else {
      const re = new RegExp(r.value ?? '', 'iu');
      hit = values.some((v) => re.test(v));
    }
    if (hit) return r.reason;
  }
  return undefined;
}
