// Active Directory returns at most 1,500 (MaxValRange) values of a multi-valued attribute
// per read, under a key such as `member;range=0-1499`; the rest must be asked for as
// `member;range=1500-*` until a key ends in `-*`. OpenLDAP never does this, so there this
// module only sees plain keys. (When the AD connector's streaming reader lands in
// ad/memberRange.ts, this should call it.)
import type { Client } from 'ldapts';
import type { AttributeValues } from './entry.ts';
import { toDirectoryError } from './errors.ts';

const RANGE = /^([^;]+);range=(\d+)-(\d+|\*)$/i;

/** `member;range=0-1499` → `member`; undefined for a key without a range option. */
export function rangedAttribute(key: string): string | undefined {
  return RANGE.exec(key)?.[1];
}

/** Completes every ranged attribute of one entry by further base reads; `maxReads` bounds a misbehaving server. */
export async function completeRanges(client: Client, dn: string, attributes: AttributeValues, maxReads = 10_000): Promise<AttributeValues> {
  const out: AttributeValues = {};
  for (const [key, values] of Object.entries(attributes)) {
    const m = RANGE.exec(key);
    if (!m) {
      out[key] = values;
      continue;
    }
    const attr = m[1] as string;
    const all = [...values];
    let high = m[3] === '*' ? undefined : Number(m[3]);
    for (let reads = 0; high !== undefined && reads < maxReads; reads++) {
      const ask = `${attr};range=${high + 1}-*`;
      let entry: Record<string, unknown> | undefined;
      try {
        entry = (await client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: [ask] })).searchEntries[0];
      } catch (err) {
        throw toDirectoryError(err, `read ${ask}`, dn);
      }
      const slice = Object.entries(entry ?? {})
        .map(([k, v]) => ({ m: RANGE.exec(k), v }))
        .find((x) => x.m?.[1]?.toLowerCase() === attr.toLowerCase());
      if (!slice?.m) break;
      all.push(...(Array.isArray(slice.v) ? slice.v : [slice.v]).map(String));
      const next = slice.m[3] === '*' ? undefined : Number(slice.m[3]);
      high = next !== undefined && next > high ? next : undefined;
    }
    out[attr] = all;
  }
  return out;
}
