// Delta import on OpenLDAP: what changed since a watermark, without syncrepl (ldapts has
// no intermediate responses). Changes: entries whose entryCSN is at or above the suffix's
// contextCSN read before the previous pass. Deletes: the accesslog overlay's auditDelete
// records (reqEntryUUID) since the previous pass. Both re-read their boundary on purpose:
// applying the same change twice is harmless, missing one is not.
import type { Client } from 'ldapts';
import type { DirectoryEntry } from './entry.ts';
import { toDirectoryError } from './errors.ts';
import { ldapFilter } from './escape.ts';
import { type SearchSpec, searchEntries } from './import.ts';

/** The suffix's contextCSN (the newest change the server holds), or undefined if it has none yet. */
export async function readContextCsn(client: Client, suffix: string): Promise<string | undefined> {
  try {
    const res = await client.search(suffix, { scope: 'base', filter: '(objectClass=*)', attributes: ['contextCSN'] });
    const raw = res.searchEntries[0]?.contextCSN;
    const list = (Array.isArray(raw) ? raw : raw === undefined ? [] : [raw]).map(String).sort();
    return list.at(-1);
  } catch (err) {
    throw toDirectoryError(err, 'read contextCSN', suffix);
  }
}

/** Entries below the bases changed at or after `csn`. */
export function changedSince(client: Client, spec: SearchSpec, csn: string): AsyncGenerator<DirectoryEntry> {
  return searchEntries(client, { ...spec, filter: `(&${spec.filter}${ldapFilter`(entryCSN>=${csn})`})` });
}

export interface DeletedEntry {
  /** entryUUID of the deleted entry: the connector-space anchor on OpenLDAP. */
  uuid: string;
  dn: string;
  /** reqStart of the accesslog record (generalized time with a sequence fraction). */
  at: string;
}

/** Deletes recorded in the accesslog database at or after `since` (a generalized time). */
export async function* deletedSince(client: Client, accesslogBase: string, since: string, pageSize = 500): AsyncGenerator<DeletedEntry> {
  const filter = ldapFilter`(&(objectClass=auditDelete)(reqResult=0)(reqStart>=${since}))`;
  try {
    for await (const page of client.searchPaginated(accesslogBase, {
      scope: 'one',
      filter,
      attributes: ['reqEntryUUID', 'reqDN', 'reqStart'],
      paged: { pageSize },
    })) {
      for (const e of page.searchEntries) {
        const uuid = first(e.reqEntryUUID);
        if (uuid) yield { uuid, dn: first(e.reqDN) ?? '', at: first(e.reqStart) ?? since };
      }
    }
  } catch (err) {
    throw toDirectoryError(err, 'read deletes from the accesslog', accesslogBase);
  }
}

function first(v: unknown): string | undefined {
  const x = Array.isArray(v) ? v[0] : v;
  return x === undefined ? undefined : String(x);
}

/** Generalized time (seconds) of a Date, for accesslog filters: 20261128113543Z. */
export function generalizedTime(d: Date): string {
  return `${d.toISOString().replace(/[-:T]/g, '').slice(0, 14)}Z`;
}
