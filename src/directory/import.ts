// Full import: every entry below the agent's containers, page by page (RFC 2696 paged
// results through ldapts' searchPaginated), as an async iterator so that a forest of
// 100,000 users never sits in memory at once.
import type { Client } from 'ldapts';
import { type DirectoryEntry, toDirectoryEntry } from './entry.ts';
import { toDirectoryError } from './errors.ts';
import { completeRanges, rangedAttribute } from './rangeRetrieval.ts';

export interface SearchSpec {
  /** Containers searched one after another (subtree). */
  bases: string[];
  /** An LDAP filter; callers build it with ldapFilter`` so values are escaped. */
  filter: string;
  /** Attributes to read, in the spelling the caller wants back. */
  attributes: string[];
  /** Attributes whose values are bytes (objectGUID …). */
  binaryAttributes?: string[];
  /** Page size; the server may cap it. Default 500. */
  pageSize?: number;
  /** Server-side time limit per search in seconds (0 = none); the client timeout still applies. */
  timeLimitSeconds?: number;
}

export async function* searchEntries(client: Client, spec: SearchSpec): AsyncGenerator<DirectoryEntry> {
  const names = new Map(spec.attributes.map((a) => [a.toLowerCase(), a]));
  const binary = new Set((spec.binaryAttributes ?? []).map((a) => a.toLowerCase()));
  const explicitBufferAttributes = spec.attributes.filter((a) => binary.has(a.toLowerCase()));
  for (const base of spec.bases) {
    const pages = client.searchPaginated(base, {
      scope: 'sub',
      filter: spec.filter,
      attributes: spec.attributes,
      explicitBufferAttributes,
      paged: { pageSize: spec.pageSize ?? 500 },
      timeLimit: spec.timeLimitSeconds ?? 0,
    });
    try {
      for await (const page of pages) {
        for (const raw of page.searchEntries) {
          const entry = toDirectoryEntry(raw, names);
          if (Object.keys(entry.attributes).some((k) => rangedAttribute(k))) {
            entry.attributes = await completeRanges(client, entry.dn, entry.attributes);
          }
          yield entry;
        }
      }
    } catch (err) {
      // A missing container is the commonest mistake: say which one.
      throw toDirectoryError(err, `search ${spec.filter}`, base);
    }
  }
}

/** Reads one entry by DN, or undefined when it does not exist. */
export async function readEntry(
  client: Client,
  dn: string,
  attributes: string[],
  binaryAttributes: string[] = [],
): Promise<DirectoryEntry | undefined> {
  const names = new Map(attributes.map((a) => [a.toLowerCase(), a]));
  const binary = new Set(binaryAttributes.map((a) => a.toLowerCase()));
  try {
    const res = await client.search(dn, {
      scope: 'base',
      filter: '(objectClass=*)',
      attributes,
      explicitBufferAttributes: attributes.filter((a) => binary.has(a.toLowerCase())),
    });
    const raw = res.searchEntries[0];
    return raw ? toDirectoryEntry(raw, names) : undefined;
  } catch (err) {
    if ((err as { code?: unknown }).code === 32) return undefined;
    throw toDirectoryError(err, 'read', dn);
  }
}
