// Fixed facts of the two lab forests (lab/README.md): other code and tests rely on them.

export type ForestId = 'a' | 'b';
export const FOREST_IDS: readonly ForestId[] = ['a', 'b'];

export interface ForestInfo {
  id: ForestId;
  /** Human name used in legacyExchangeDN (`/o=ForestA/…`) and the company attribute. */
  orgName: string;
  suffix: string;
  host: '127.0.0.1';
  ldapPort: number;
  ldapsPort: number;
  ldapUrl: string;
  ldapsUrl: string;
  adminDn: string;
  galsyncDn: string;
  mailDomain: string;
  /** Base of the per-site user OUs. */
  sitesDn: string;
  groupsDn: string;
  contactsDn: string;
  galContactsDn: string;
  serviceAccountsDn: string;
  /** The `homeMDB` of the forest's mail store 1 (every mailbox user's with one store; mailboxStoreDnOf for the others). */
  mailboxStoreDn: string;
}

/**
 * The `homeMDB` of mail store `store` (1 to 4) of a forest (`lab up --stores N`): shaped like
 * Exchange's (a mailbox database DN in the configuration partition). Store 1's is the
 * forest's `mailboxStoreDn` (`CN=Mailbox Store A,…,CN=MAIL-A,…`); store k ≥ 2 is
 * `CN=Mailbox Store A<k>,…,CN=MAIL-A<k>,…` on the same path.
 */
export function mailboxStoreDnOf(id: ForestId, store = 1): string {
  if (!Number.isInteger(store) || store < 1) throw new RangeError(`mail store number must be 1 or more, got ${store}`);
  const tag = `${id.toUpperCase()}${store === 1 ? '' : String(store)}`;
  return (
    `CN=Mailbox Store ${tag},CN=First Storage Group,CN=InformationStore,CN=MAIL-${tag},` +
    `CN=Servers,CN=Exchange Administrative Group (FYDIBOHF23SPDLT),CN=Administrative Groups,CN=Forest${id.toUpperCase()},` +
    `CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=forest-${id},DC=test`
  );
}

function forest(id: ForestId, ldapPort: number, ldapsPort: number): ForestInfo {
  const suffix = `dc=forest-${id},dc=test`;
  const orgName = `Forest${id.toUpperCase()}`;
  return {
    id,
    orgName,
    suffix,
    host: '127.0.0.1',
    ldapPort,
    ldapsPort,
    ldapUrl: `ldap://127.0.0.1:${ldapPort}`,
    ldapsUrl: `ldaps://127.0.0.1:${ldapsPort}`,
    adminDn: `cn=admin,${suffix}`,
    galsyncDn: `cn=galsync,ou=Service Accounts,${suffix}`,
    mailDomain: `forest-${id}.test`,
    sitesDn: `ou=Sites,${suffix}`,
    groupsDn: `ou=Groups,${suffix}`,
    contactsDn: `ou=Contacts,${suffix}`,
    galContactsDn: `ou=GAL Contacts,${suffix}`,
    serviceAccountsDn: `ou=Service Accounts,${suffix}`,
    // Shaped like Exchange's homeMDB (a DN in the configuration partition): store 1's.
    mailboxStoreDn: mailboxStoreDnOf(id, 1),
  };
}

export const FORESTS: Record<ForestId, ForestInfo> = {
  a: forest('a', 3891, 6361),
  b: forest('b', 3892, 6362),
};
