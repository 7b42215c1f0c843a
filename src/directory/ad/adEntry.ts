// One AD search entry → AdChange: objectGUID (and objectSid) decoded from bytes, other
// binary values base64, tombstones recognised by isDeleted.
import type { Entry } from 'ldapts';
import { DirectoryError } from '../errors.ts';
import { guidToString } from './guid.ts';
import { sidToString } from './sid.ts';
import type { AdChange } from './types.ts';

/** Binary attributes we always ask ldapts to hand over as Buffers. */
export const AD_BINARY_ATTRIBUTES = ['objectGUID', 'objectSid', 'parentGUID', 'msDS-ConsistencyGuid'];

function text(attr: string, v: Buffer | string): string {
  if (typeof v === 'string') return v;
  const lower = attr.toLowerCase();
  if ((lower === 'objectguid' || lower === 'parentguid' || lower === 'msds-consistencyguid') && v.length === 16) return guidToString(v);
  if (lower === 'objectsid') return sidToString(v);
  return v.toString('base64');
}

/** `names` maps lower-cased attribute names to the caller's spelling. */
export function toAdChange(entry: Entry, names: Map<string, string>): AdChange {
  const attributes: Record<string, string[]> = {};
  let guid: string | undefined;
  let deleted = false;
  const emptied: string[] = [];
  for (const [key, raw] of Object.entries(entry)) {
    if (key === 'dn') continue;
    const [base = key, ...opts] = key.split(';');
    const lower = base.toLowerCase();
    const list = (Array.isArray(raw) ? raw : [raw]) as (Buffer | string)[];
    const values = list.map((v) => text(base, v));
    if (lower === 'objectguid') guid = values[0];
    if (lower === 'isdeleted') deleted = values[0]?.toUpperCase() === 'TRUE';
    // DirSync on Samba lists unchanged requested attributes with no values: see dirSync.ts.
    if (values.length === 0) {
      emptied.push((names.get(lower) ?? base) + (opts.length ? `;${opts.join(';')}` : ''));
      continue;
    }
    const name = (names.get(lower) ?? base) + (opts.length ? `;${opts.join(';')}` : '');
    attributes[name] = (attributes[name] ?? []).concat(values);
  }
  if (!guid) {
    throw new DirectoryError('CF_ERR_AD_NO_GUID', `AD returned ${entry.dn} without an objectGUID`, {
      object: entry.dn,
      hint: 'request objectGUID (as a binary attribute) in every AD search; the connector anchors on it',
    });
  }
  // A tombstone's RDN is mangled to `name\0ADEL:<guid>` even when isDeleted was not asked for.
  if (/\\0ADEL:/i.test(entry.dn)) deleted = true;
  return { guid, dn: entry.dn, deleted, attributes, ...(emptied.length ? { emptied } : {}) };
}

export function attributeNames(attributes: string[]): Map<string, string> {
  return new Map(attributes.map((a) => [a.toLowerCase(), a]));
}

/** The attributes an AD delta always needs besides the caller's. */
export function withAnchorAttributes(attributes: string[]): string[] {
  const want = new Set(attributes.map((a) => a.toLowerCase()));
  return [...attributes, ...['objectGUID', 'isDeleted'].filter((a) => !want.has(a.toLowerCase()))];
}
