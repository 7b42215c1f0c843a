// The same sample organization as the slapd forests (lab/org: samplePeople and the
// group/contact generator), mapped onto Active Directory objects: users with
// sAMAccountName, userPrincipalName, proxyAddresses, legacyExchangeDN and a password
// (unicodePwd), groups with member DNs, contacts. What AD fills in itself
// (objectGUID, objectSid, objectCategory, instanceType) is never sent, and the
// slapd-only pieces (SSHA userPassword, the crossforest auxiliary class) are dropped.

import type { LdifEntry, LdifValue } from '../directory/ldif.ts';
import type { ForestId } from '../forests.ts';
import { newCounts, type OrganizationCounts, sampleOrganization } from '../org/organization.ts';
import { SAMBA_DCS, toSambaDn } from './dcs.ts';

/** Bump when the mapping or the provisioning changes: part of the provisioning cache key (3: galsync reads CN=Deleted Objects). */
export const AD_LOADER_VERSION = 3;

/**
 * Forest A only: 5,000 mail-less contacts in their own OU, so a test can build (and
 * drop) a 5,000-member group in a second instead of creating and deleting 5,000
 * objects (~50 s on Samba) every run. Mail-less, so no GAL filter ever picks them.
 */
export const RANGE_FIXTURE_SIZE = 5000;
export function rangeFixtureDn(forest: ForestId): string {
  return `OU=Range Fixture,${SAMBA_DCS[forest].baseDn}`;
}

/**
 * Load phases: objects of a phase may be added concurrently; a phase starts only when
 * the one before is complete (OUs before their children, users before the groups
 * that list them; groups one by one because "All Staff" nests the site groups).
 */
export type AdPhase = 'container' | 'user' | 'group' | 'contact';

export interface AdEntry {
  dn: string;
  phase: AdPhase;
  attrs: Record<string, string[] | Buffer[]>;
}

export interface AdOrganizationInput {
  forest: ForestId;
  size: number;
  seed: string;
  usersPassword: string;
  galsyncPassword: string;
}

/** AD's unicodePwd: the password in double quotes, UTF-16LE (MS-ADTS 3.1.1.3.1.5). */
export function unicodePwd(password: string): Buffer {
  return Buffer.from(`"${password}"`, 'utf16le');
}

const USER_ATTRS = [
  'cn',
  'sn',
  'givenName',
  'displayName',
  'sAMAccountName',
  'userPrincipalName',
  'mail',
  'mailNickname',
  'proxyAddresses',
  'legacyExchangeDN',
  'homeMDB',
  'targetAddress',
  'msExchHideFromAddressLists',
  'otherMailbox',
  'textEncodedORAddress',
  'userAccountControl',
  'title',
  'company',
  'telephoneNumber',
  'physicalDeliveryOfficeName',
] as const;
const GROUP_ATTRS = [
  'cn',
  'displayName',
  'description',
  'groupType',
  'sAMAccountName',
  'mail',
  'mailNickname',
  'proxyAddresses',
  'legacyExchangeDN',
  'member',
] as const;
const CONTACT_ATTRS = [
  'cn',
  'displayName',
  'givenName',
  'sn',
  'mail',
  'targetAddress',
  'proxyAddresses',
  'company',
  'description',
] as const;
const DN_VALUED = new Set(['member', 'homeMDB']);

function values(v: LdifEntry['attrs'][string]): string[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? (v as readonly LdifValue[]) : [v as LdifValue];
  return list.map((x) => (typeof x === 'boolean' ? (x ? 'TRUE' : 'FALSE') : Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

function pick(e: LdifEntry, names: readonly string[], forest: ForestId): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const n of names) {
    const vs = values(e.attrs[n]);
    if (vs.length > 0) out[n] = DN_VALUED.has(n) ? vs.map((d) => toSambaDn(d, forest)) : vs;
  }
  return out;
}

function classesOf(e: LdifEntry): Set<string> {
  return new Set(values(e.attrs.objectClass).map((c) => c.toLowerCase()));
}

/**
 * The Exchange configuration containers that homeMDB points into: in AD a DN-valued
 * attribute must name an existing object (else "Referenced object not found").
 */
export function exchangeContainers(forest: ForestId, mailboxStoreDn: string): AdEntry[] {
  const dn = toSambaDn(mailboxStoreDn, forest);
  const rdns = dn.split(/,(?=CN=|DC=)/i);
  const servicesAt = rdns.findIndex((r) => /^CN=Services$/i.test(r));
  const chain: AdEntry[] = [];
  for (let i = servicesAt - 1; i >= 0; i--) {
    const cn = (rdns[i] ?? '').replace(/^CN=/i, '');
    chain.push({ dn: rdns.slice(i).join(','), phase: 'container', attrs: { objectClass: ['top', 'container'], cn: [cn] } });
  }
  return chain;
}

/** AD objects of one forest's sample organization, parents first, lazily. */
export function* adOrganization(
  input: AdOrganizationInput,
  mailboxStoreDn: string,
  counts: OrganizationCounts = newCounts(),
): Generator<AdEntry> {
  const { forest } = input;
  const dc = SAMBA_DCS[forest];
  yield* exchangeContainers(forest, mailboxStoreDn);
  const userPwd = unicodePwd(input.usersPassword);
  for (const e of sampleOrganization(input, counts)) {
    const dn = toSambaDn(e.dn, forest);
    const classes = classesOf(e);
    if (classes.has('dcobject')) continue; // the domain root exists from provisioning
    if (classes.has('organizationalunit')) {
      const attrs: Record<string, string[]> = { objectClass: ['top', 'organizationalUnit'], ou: values(e.attrs.ou) };
      const description = values(e.attrs.description);
      if (description.length) attrs.description = description;
      yield { dn, phase: 'container', attrs };
    } else if (classes.has('organizationalrole')) {
      // slapd's galsync is a bare DN with a password; in AD it is a user account.
      yield {
        dn: dc.galsyncDn,
        phase: 'container',
        attrs: {
          objectClass: ['top', 'person', 'organizationalPerson', 'user'],
          cn: ['galsync'],
          sAMAccountName: ['galsync'],
          userPrincipalName: [dc.galsyncUpn],
          description: values(e.attrs.description),
          // NORMAL_ACCOUNT | DONT_EXPIRE_PASSWORD: a service account.
          userAccountControl: ['66048'],
          unicodePwd: [unicodePwd(input.galsyncPassword)],
        },
      };
    } else if (classes.has('user')) {
      yield {
        dn,
        phase: 'user',
        attrs: { objectClass: ['top', 'person', 'organizationalPerson', 'user'], ...pick(e, USER_ATTRS, forest), unicodePwd: [userPwd] },
      };
    } else if (classes.has('group')) {
      yield { dn, phase: 'group', attrs: { objectClass: ['top', 'group'], ...pick(e, GROUP_ATTRS, forest) } };
    } else if (classes.has('contact')) {
      yield {
        dn,
        phase: 'contact',
        attrs: { objectClass: ['top', 'person', 'organizationalPerson', 'contact'], ...pick(e, CONTACT_ATTRS, forest) },
      };
    }
  }
  if (forest === 'a') {
    const ou = rangeFixtureDn(forest);
    yield {
      dn: ou,
      phase: 'container',
      attrs: {
        objectClass: ['top', 'organizationalUnit'],
        ou: ['Range Fixture'],
        description: ['members for range-retrieval tests; no mail'],
      },
    };
    for (let i = 0; i < RANGE_FIXTURE_SIZE; i++)
      yield { dn: `CN=member ${i},${ou}`, phase: 'contact', attrs: { objectClass: ['top', 'contact'], cn: [`member ${i}`] } };
  }
}
