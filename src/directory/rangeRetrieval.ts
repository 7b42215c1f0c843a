// Active Directory returns at most 1,500 (MaxValRange) values of a multi-valued attribute
// per read, under a key such as `member;range=0-1499`. An imported entry with such a key
// is completed by reading the attribute again slice by slice (ad/memberRange.ts streams
// the slices). OpenLDAP never does this, so there this module only sees plain keys.
import type { Client } from 'ldapts';
import { allValues } from './ad/memberRange.ts';
import type { AttributeValues } from './entry.ts';

/** `member;range=0-1499` → `member`; undefined for a key without a range option. */
export function rangedAttribute(key: string): string | undefined {
  return /^([^;]+);range=\d+-(\d+|\*)$/i.exec(key)?.[1];
}

export async function completeRanges(client: Client, dn: string, attributes: AttributeValues): Promise<AttributeValues> {
  const out: AttributeValues = {};
  for (const [key, values] of Object.entries(attributes)) {
    const attr = rangedAttribute(key);
    if (!attr) {
      out[key] = values;
      continue;
    }
    const all: string[] = [];
    for await (const v of allValues(client, dn, attr)) all.push(v);
    out[attr] = all;
  }
  return out;
}
