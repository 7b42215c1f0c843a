// Export: add, modify, delete and rename one entry, each failure a DirectoryError that
// names the DN and keeps the server's own words (e.g. "Entry Already Exists",
// "Insufficient Access", "Object class violation") and its LDAP result code.
import { Attribute, Change, type Client } from 'ldapts';
import type { AttributeValues } from './entry.ts';
import { DirectoryError, toDirectoryError } from './errors.ts';
import { ldapResultName } from './resultCodes.ts';

export interface AttributeChange {
  attribute: string;
  /** replace with `values` (empty = remove the attribute). */
  values: string[];
}

/** A failed write: the DN, the result name and code, and the server's diagnostic text. */
function wrap(err: unknown, action: string, dn: string): DirectoryError {
  const e = toDirectoryError(err, action, dn);
  if (e.ldapCode === undefined) return e; // unreachable, timeout, TLS: already clear
  const diagnostic = ((err as Error).message ?? '').replace(/\s*Code: 0x[0-9a-f]+$/i, '').trim();
  return new DirectoryError(
    'CF_ERR_LDAP_EXPORT',
    `cannot ${action} ${dn}: ${ldapResultName(e.ldapCode)} (LDAP ${e.ldapCode})${diagnostic ? `: ${diagnostic}` : ''}`,
    {
      object: dn,
      ldapCode: e.ldapCode,
      cause: err,
      ...(e.ldapCode === 50
        ? { hint: 'the sync account may write only in its provisioning container: check the ACLs and provisioning.container' }
        : {}),
    },
  );
}

/** Adds `dn`; empty attributes are left out. Buffer values (AD's unicodePwd) go as they are. */
export async function addEntry(client: Client, dn: string, attributes: AttributeValues | Record<string, Buffer[]>): Promise<void> {
  const attrs = Object.entries(attributes)
    .filter(([, v]) => v.length > 0)
    .map(([type, values]) => new Attribute({ type, values }));
  try {
    await client.add(dn, attrs);
  } catch (err) {
    throw wrap(err, 'add', dn);
  }
}

/**
 * Sets an Active Directory password (unicodePwd, MS-ADTS 3.1.1.3.1.5: the password in double
 * quotes, UTF-16LE), an administrative reset by replace. The DC takes it only over TLS.
 */
export async function setAdPassword(client: Client, dn: string, password: string): Promise<void> {
  const value = Buffer.from(`"${password}"`, 'utf16le');
  try {
    await client.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'unicodePwd', values: [value] }) }));
  } catch (err) {
    throw wrap(err, 'set the password of', dn);
  }
}

export async function modifyEntry(client: Client, dn: string, changes: AttributeChange[]): Promise<void> {
  if (changes.length === 0) return;
  const mods = changes.map(
    (c) => new Change({ operation: 'replace', modification: new Attribute({ type: c.attribute, values: c.values }) }),
  );
  try {
    await client.modify(dn, mods);
  } catch (err) {
    throw wrap(err, `modify ${changes.map((c) => c.attribute).join(', ')} of`, dn);
  }
}

export async function deleteEntry(client: Client, dn: string): Promise<void> {
  try {
    await client.del(dn);
  } catch (err) {
    // Already gone is what we wanted: a re-run after a cut-off export must not fail here.
    if ((err as { code?: unknown }).code === 32) return;
    throw wrap(err, 'delete', dn);
  }
}

/** Renames/moves `dn` to `newDn` (deleteOldRdn). newDn must come from escape.ts's formatDn. */
export async function renameEntry(client: Client, dn: string, newDn: string): Promise<void> {
  try {
    await client.modifyDN(dn, newDn);
  } catch (err) {
    throw wrap(err, `rename to ${newDn}, from`, dn);
  }
}
