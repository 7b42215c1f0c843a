// Range retrieval, streamed: every value of a large multi-valued attribute (a group's
// member list) slice by slice — `member;range=0-*`, then from where the DC stopped —
// without holding the whole list, for groups of any size.
import type { Client } from 'ldapts';
import { DirectoryError, toDirectoryError } from '../errors.ts';

const RANGE = /^([^;]+);range=(\d+)-(\d+|\*)$/i;

/** AD's default MaxValRange: the most values one read returns. */
export const AD_MAX_VAL_RANGE = 1500;

/**
 * Yields every value of `attribute` on `dn`, slice by slice. Slices are asked for
 * explicitly (`range=0-1499`, `range=1500-2999` …): Windows caps a read at MaxValRange
 * anyway, and Samba, which has no cap, then pages the same way.
 */
export async function* allValues(
  client: Client,
  dn: string,
  attribute: string,
  sliceSize = AD_MAX_VAL_RANGE,
  maxSlices = 100_000,
): AsyncGenerator<string> {
  let low = 0;
  for (let slice = 0; slice < maxSlices; slice++) {
    const ask = `${attribute};range=${low}-${low + sliceSize - 1}`;
    let entry: Awaited<ReturnType<Client['search']>>['searchEntries'][number] | undefined;
    try {
      entry = (await client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: [ask] })).searchEntries[0];
    } catch (err) {
      throw toDirectoryError(err, `read ${ask}`, dn);
    }
    if (!entry) return;
    // Either a ranged key (…;range=low-high or low-*), or the plain attribute when it fits in one slice.
    let done = true;
    let got = false;
    for (const [key, raw] of Object.entries(entry)) {
      const values = (Array.isArray(raw) ? raw : [raw]).map(String);
      if (key.toLowerCase() === attribute.toLowerCase()) {
        got = true;
        yield* values;
        continue;
      }
      const m = RANGE.exec(key);
      if (!m || (m[1] as string).toLowerCase() !== attribute.toLowerCase()) continue;
      got = true;
      yield* values;
      // Advance by what arrived, not by the claimed high bound: Samba claims `4500-5999`
      // for the last 500 values, and answers the next slice with none.
      if (m[3] !== '*' && values.length > 0) {
        low += values.length;
        done = false;
      }
    }
    if (done || !got) return;
  }
  throw new DirectoryError('CF_ERR_AD_RANGE', `${dn}: ${attribute} still not complete after ${maxSlices} range reads`, { object: dn });
}
