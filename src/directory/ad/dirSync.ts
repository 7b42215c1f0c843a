// Delta import with DirSync: the first run (empty cookie) returns every object under
// the naming context and a cookie; later runs with the stored cookie return only what
// changed since, deletes as tombstones (isDeleted=TRUE, DN under CN=Deleted Objects)
// and renames/moves as the same objectGUID with a new DN. Pages come as the server
// sends them (maxBytes), each with the cookie to store once the page is applied.
import type { Client } from 'ldapts';
import { DirectoryError, toDirectoryError } from '../errors.ts';
import { AD_BINARY_ATTRIBUTES, attributeNames, toAdChange, withAnchorAttributes } from './adEntry.ts';
import { DIRSYNC_FLAGS, DirSyncControl } from './controls.ts';
import type { AdChange } from './types.ts';

export interface DirSyncOptions {
  /** The naming context root (DirSync refuses any other base). */
  baseDn: string;
  filter: string;
  attributes: string[];
  /** Cookie of the previous run (base64 or bytes); absent/empty = full first run. */
  cookie?: Buffer | string;
  /** DIRSYNC_FLAGS; default OBJECT_SECURITY (works for least-privilege accounts). */
  flags?: number;
  /** Response size bound in bytes; 0 = the DC's default. */
  maxBytes?: number;
  /** Guard against a server that always says "more". Default 100,000 pages. */
  maxPages?: number;
}

export interface DirSyncPage {
  changes: AdChange[];
  /** Store this (base64) once `changes` are applied: the next run starts here. */
  cookie: string;
  /** More pages follow in this run. */
  more: boolean;
}

/** True when the DC refused DirSync for lack of rights: the caller falls back to uSNChanged. */
export function isDirSyncDenied(err: unknown): boolean {
  return err instanceof DirectoryError && err.code === 'CF_ERR_AD_DIRSYNC_DENIED';
}

function denied(err: unknown, base: string): DirectoryError | undefined {
  const code = (err as { code?: unknown }).code;
  // insufficientAccessRights (50); some DCs answer unwillingToPerform (53) or operationsError (1).
  if (code !== 50 && code !== 53 && code !== 1) return undefined;
  return new DirectoryError('CF_ERR_AD_DIRSYNC_DENIED', `the DC refused DirSync on ${base}: ${(err as Error).message}`, {
    object: base,
    ldapCode: code,
    hint: 'grant the sync account "Replicating Directory Changes" on the domain root, or let crossforest fall back to uSNChanged polling',
    cause: err,
  });
}

/**
 * An attribute listed without values is "cleared" in Windows' DirSync answers but
 * "unchanged" in Samba's: read the object (by its GUID, so a concurrent rename does not
 * matter) and report as cleared only what really has no value now.
 */
async function resolveEmptied(client: Client, change: AdChange): Promise<AdChange> {
  const { emptied, ...rest } = change;
  if (!emptied || rest.deleted) return rest;
  let current: Awaited<ReturnType<Client['search']>>['searchEntries'][number] | undefined;
  try {
    current = (await client.search(`<GUID=${change.guid}>`, { scope: 'base', filter: '(objectClass=*)', attributes: emptied }))
      .searchEntries[0];
  } catch (err) {
    if ((err as { code?: unknown }).code === 32) return rest; // deleted meanwhile: the next run reports the tombstone
    throw toDirectoryError(err, `re-read ${emptied.join(', ')}`, change.dn);
  }
  const present = new Set(Object.keys(current ?? {}).map((k) => k.toLowerCase()));
  const attributes = { ...rest.attributes };
  for (const name of emptied) if (!present.has(name.toLowerCase())) attributes[name] = [];
  return { ...rest, attributes };
}

export async function* dirSync(client: Client, opts: DirSyncOptions): AsyncGenerator<DirSyncPage> {
  const attributes = withAnchorAttributes(opts.attributes);
  const names = attributeNames(attributes);
  let cookie = typeof opts.cookie === 'string' ? Buffer.from(opts.cookie, 'base64') : (opts.cookie ?? Buffer.alloc(0));
  const maxPages = opts.maxPages ?? 100_000;
  for (let page = 0; page < maxPages; page++) {
    const control = new DirSyncControl({ flags: opts.flags ?? DIRSYNC_FLAGS.OBJECT_SECURITY, maxBytes: opts.maxBytes ?? 0, cookie });
    let entries: Awaited<ReturnType<Client['search']>>['searchEntries'];
    try {
      // searchReferences (CN=Configuration …) are returned beside the entries and never chased.
      ({ searchEntries: entries } = await client.search(
        opts.baseDn,
        { scope: 'sub', filter: opts.filter, attributes, explicitBufferAttributes: AD_BINARY_ATTRIBUTES },
        control,
      ));
    } catch (err) {
      throw denied(err, opts.baseDn) ?? toDirectoryError(err, 'DirSync search', opts.baseDn);
    }
    const response = control.response;
    if (!response) {
      throw new DirectoryError('CF_ERR_AD_DIRSYNC', `${opts.baseDn}: the server answered a DirSync search without a DirSync control`, {
        object: opts.baseDn,
        hint: 'this directory is not Active Directory (or a proxy strips controls): use the OpenLDAP delta or a full import',
      });
    }
    cookie = response.cookie;
    const changes: AdChange[] = [];
    for (const e of entries) changes.push(await resolveEmptied(client, toAdChange(e, names)));
    yield { changes, cookie: cookie.toString('base64'), more: response.moreResults };
    if (!response.moreResults) return;
  }
  throw new DirectoryError('CF_ERR_AD_DIRSYNC', `${opts.baseDn}: DirSync still reports more results after ${maxPages} pages`, {
    object: opts.baseDn,
  });
}
