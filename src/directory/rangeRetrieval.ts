// Active Directory returns at most 1,500 (MaxValRange) values of a multi-valued attribute
// per read; the rest must be asked for as `member;range=1500-*` until a key ends in `-*`.
// OpenLDAP never does this, so on OpenLDAP this module only ever sees plain keys.
import type { Client } from 'ldapts';
import type { AttributeValues } from './entry.ts';
import { toDirectoryError } from './errors.ts';

export interface RangeKey {
  attribute: string;
  low: number;
  /** undefined when the key ends in `-*` (the last slice). */
  high: number | undefined;
}

/** Parses `member;range=0-1499` → {attribute: member, low: 0, high: 1499}; undefined for other keys. */
export function parseRangeKey(key: string): RangeKey | undefined {
  const m = /^([^;]+);range=(\d+)-(\d+|\*)$/i.exec(key);
  if (!m) return undefined;
  const low = Number(m[2]);
  const high = m[3] === '*' ? undefined : Number(m[3]);
  if (high !== undefined && high < low) return undefined;
  return { attribute: m[1] as string, low, high };
}

/**
 * Completes every ranged attribute of one entry by further base reads, then renames the
 * keys to the bare attribute. `maxRounds` bounds a misbehaving server.
 */
export async function completeRanges(client: Client, dn: string, attributes: AttributeValues, maxRounds = 10_000): Promise<AttributeValues> {
  const out: AttributeValues = {};
  for (const [key, values] of Object.entries(attributes)) {
    const range = parseRangeKey(key);
    if (!range) {
      out[key] = values;
      continue;
    }
    const all = [...values];
    let next = range.high;
    let rounds = 0;
    while (next !== undefined && rounds++ < maxRounds) {
      const ask = `${range.attribute};range=${next + 1}-*`;
      let res: Awaited<ReturnType<Client['search']>>;
      try {
        res = await client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: [ask] });
      } catch (err) {
        throw toDirectoryError(err, `read ${ask}`, dn);
      }
      const entry = res.searchEntries[0];
      const slice = entry && Object.keys(entry).map(parseRangeKey).find((r) => r?.attribute.toLowerCase() === range.attribute.toLowerCase());
      if (!entry || !slice) break;
      const raw = entry[`${slice.attribute};range=${slice.low}-${slice.high ?? '*'}`];
      const got = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String);
      all.push(...got);
      next = slice.high;
    }
    out[range.attribute] = (out[range.attribute] ?? []).concat(all);
  }
  return out;
}
