// A directory entry as the sync engine sees it: a DN and string values per attribute.
// Binary attributes arrive as Buffers (ldapts `explicitBufferAttributes`) and are turned
// into text here, once: objectGUID becomes its GUID string, anything else base64.
import type { Entry } from 'ldapts';
import { guidToString } from './ad/guid.ts';

export type AttributeValues = Record<string, string[]>;

export interface DirectoryEntry {
  dn: string;
  attributes: AttributeValues;
}

/**
 * Converts an ldapts entry. `names` maps lowercased attribute names to the spelling the
 * caller asked for, so that `proxyaddresses` from one server and `proxyAddresses` from
 * another land in the same key. Range-retrieval keys (`member;range=0-1499`) keep their
 * suffix here; see rangeRetrieval.ts.
 */
export function toDirectoryEntry(entry: Entry, names: Map<string, string>): DirectoryEntry {
  const attributes: AttributeValues = {};
  for (const [key, raw] of Object.entries(entry)) {
    if (key === 'dn') continue;
    const [base = key, ...opts] = key.split(';');
    const lower = base.toLowerCase();
    const name = (names.get(lower) ?? base) + (opts.length > 0 ? `;${opts.join(';')}` : '');
    const list = Array.isArray(raw) ? raw : [raw];
    const values = list.map((v) => (Buffer.isBuffer(v) ? binaryToText(lower, v) : String(v)));
    if (values.length === 0) continue;
    const existing = attributes[name];
    attributes[name] = existing ? existing.concat(values) : values;
  }
  return { dn: entry.dn, attributes };
}

function binaryToText(attr: string, v: Buffer): string {
  if (attr === 'objectguid' && v.length === 16) return guidToString(v);
  return v.toString('base64');
}
