// The whole sample organization of one forest as a stream of LDIF entries, parents
// first: suffix, OUs, service account, users, groups, contacts. Memory stays bounded:
// users stream through; groups keep at most MAX_GROUP_MEMBERS member DNs each.

import type { LdifEntry } from '../directory/ldif.ts';
import { sshaHash } from '../directory/ssha.ts';
import { FORESTS, type ForestId } from '../forests.ts';
import { SITES } from './names.ts';
import { companyOf, escapeDnValue, legacyExchangeDnFor, type SamplePerson, samplePeople, siteDn } from './people.ts';
import { deterministicGuid } from './prng.ts';

/** Bump when the generated content changes: `lab up` then reloads existing data. */
export const ORGANIZATION_VERSION = 1;
export const MAX_GROUP_MEMBERS = 2000;

export interface OrganizationCounts {
  entries: number;
  users: number;
  mailboxes: number;
  mailEnabledUsers: number;
  usersWithoutMail: number;
  hiddenUsers: number;
  groups: number;
  contacts: number;
  crossForestContacts: number;
}

export interface OrganizationInput {
  forest: ForestId;
  size: number;
  seed: string;
  usersPassword: string;
  galsyncPassword: string;
  /** Mail stores per forest (`lab up --stores N`): spreads the mailbox users' homeMDB. Default 1. */
  stores?: number;
}

const SECURITY_GLOBAL = -2147483646;
const DISTRIBUTION_UNIVERSAL = 8;

export function newCounts(): OrganizationCounts {
  return {
    entries: 0,
    users: 0,
    mailboxes: 0,
    mailEnabledUsers: 0,
    usersWithoutMail: 0,
    hiddenUsers: 0,
    groups: 0,
    contacts: 0,
    crossForestContacts: 0,
  };
}

function ou(dn: string, name: string, description?: string): LdifEntry {
  return { dn, attrs: { objectClass: ['top', 'organizationalUnit'], ou: name, description } };
}

export function userEntry(p: SamplePerson, passwordHash: string): LdifEntry {
  const f = FORESTS[p.forest];
  return {
    dn: p.dn,
    attrs: {
      objectClass: ['top', 'person', 'organizationalPerson', 'user', 'securityPrincipal', 'crossforestMailRecipient'],
      cn: p.cn,
      sn: p.sn,
      givenName: p.givenName,
      displayName: p.displayName,
      sAMAccountName: p.sam,
      userPrincipalName: p.upn,
      mail: p.mail,
      mailNickname: p.mailNickname,
      proxyAddresses: p.proxyAddresses,
      legacyExchangeDN: p.legacyExchangeDN,
      homeMDB: p.homeMDB,
      targetAddress: p.targetAddress,
      msExchHideFromAddressLists: p.hidden ? true : undefined,
      otherMailbox: p.otherMailbox,
      textEncodedORAddress: p.textEncodedORAddress,
      objectGUID: p.objectGUID,
      objectCategory: `CN=Person,CN=Schema,CN=Configuration,DC=forest-${p.forest},DC=test`,
      instanceType: 4,
      userAccountControl: p.userAccountControl,
      title: p.title,
      company: p.company,
      telephoneNumber: p.phone,
      physicalDeliveryOfficeName: p.office,
      showInAddressBook:
        p.mail && !p.hidden
          ? `CN=Default Global Address List,CN=All Global Address Lists,CN=Address Lists Container,CN=${f.orgName},CN=Microsoft Exchange,CN=Services,CN=Configuration,DC=forest-${p.forest},DC=test`
          : undefined,
      userPassword: passwordHash,
    },
  };
}

interface GroupDraft {
  cn: string;
  mailLocal: string | null;
  /** Full mail when it is not `<local>@domain` (the "Atlanta/sales" case). */
  mail?: string;
  members: string[];
  description: string;
  groupType: number;
}

function groupEntry(forest: ForestId, seed: string, g: GroupDraft): LdifEntry {
  const f = FORESTS[forest];
  const sam = g.cn
    .normalize('NFKD')
    .replace(/[^A-Za-z0-9]/g, '')
    .slice(0, 20);
  const mail = g.mail ?? (g.mailLocal ? `${g.mailLocal}@${f.mailDomain}` : null);
  return {
    dn: `cn=${escapeDnValue(g.cn)},${f.groupsDn}`,
    attrs: {
      objectClass: ['top', 'group', 'securityPrincipal', 'crossforestMailRecipient'],
      cn: g.cn,
      displayName: g.cn,
      description: g.description,
      groupType: g.groupType,
      sAMAccountName: sam,
      mail,
      mailNickname: mail ? sam : null,
      proxyAddresses: mail ? [`SMTP:${mail}`] : null,
      legacyExchangeDN: mail ? legacyExchangeDnFor(forest, sam) : null,
      objectGUID: deterministicGuid(seed, forest, 'group', g.cn),
      member: g.members,
    },
  };
}

function contactEntry(
  forest: ForestId,
  seed: string,
  c: { cn: string; mail: string; givenName?: string; sn?: string; company: string; description: string },
): LdifEntry {
  const f = FORESTS[forest];
  return {
    dn: `cn=${escapeDnValue(c.cn)},${f.contactsDn}`,
    attrs: {
      objectClass: ['top', 'contact'],
      cn: c.cn,
      displayName: c.cn,
      givenName: c.givenName,
      sn: c.sn,
      mail: c.mail,
      targetAddress: `SMTP:${c.mail}`,
      proxyAddresses: [`SMTP:${c.mail}`],
      company: c.company,
      description: c.description,
      objectGUID: deterministicGuid(seed, forest, 'contact', c.cn),
    },
  };
}

/** How many contacts in ou=Contacts point at real users of the other forest. */
export function crossForestContactCount(size: number): number {
  return Math.min(500, Math.max(3, Math.ceil(size / 10)));
}

export function* sampleOrganization(input: OrganizationInput, counts: OrganizationCounts = newCounts()): Generator<LdifEntry> {
  const { forest, size, seed } = input;
  const f = FORESTS[forest];
  const emit = (e: LdifEntry): LdifEntry => {
    counts.entries++;
    return e;
  };

  yield emit({ dn: f.suffix, attrs: { objectClass: ['top', 'dcObject', 'organization'], dc: `forest-${forest}`, o: companyOf(forest) } });
  yield emit(ou(f.sitesDn, 'Sites', 'users, one OU per site'));
  for (const s of SITES[forest]) yield emit(ou(siteDn(forest, s.name), s.name));
  yield emit(ou(f.groupsDn, 'Groups'));
  yield emit(ou(f.contactsDn, 'Contacts', 'contacts created by hand over the years'));
  yield emit(ou(f.galContactsDn, 'GAL Contacts', 'provisioned by crossforest GAL sync'));
  yield emit(ou(f.serviceAccountsDn, 'Service Accounts'));
  yield emit({
    dn: f.galsyncDn,
    attrs: {
      objectClass: ['top', 'organizationalRole', 'simpleSecurityObject'],
      cn: 'galsync',
      description: 'crossforest GAL sync: reads everything, writes only under ou=GAL Contacts',
      userPassword: sshaHash(input.galsyncPassword),
    },
  });

  const siteGroups = new Map<string, GroupDraft>(
    SITES[forest].map((s) => [
      s.name,
      {
        cn: `All ${s.name}`,
        mailLocal: `all.${s.name
          .normalize('NFKD')
          .replace(/[^A-Za-z]/g, '')
          .toLowerCase()}`,
        members: [],
        description: `everyone at ${s.name}`,
        groupType: SECURITY_GLOBAL,
      },
    ]),
  );
  const sales: GroupDraft =
    forest === 'a'
      ? {
          cn: 'Atlanta Sales',
          mailLocal: null,
          mail: `Atlanta/sales@${f.mailDomain}`,
          members: [],
          description: "distribution list from the Exchange 5.5 days: its address still has a '/'",
          groupType: DISTRIBUTION_UNIVERSAL,
        }
      : { cn: 'Sales', mailLocal: 'sales', members: [], description: 'sales distribution list', groupType: DISTRIBUTION_UNIVERSAL };
  const noMailGroup: GroupDraft = {
    cn: 'Printer Operators',
    mailLocal: null,
    members: [],
    description: 'security group without mail',
    groupType: SECURITY_GLOBAL,
  };

  for (const p of samplePeople(forest, size, seed, input.stores ?? 1)) {
    counts.users++;
    if (p.hasMailbox) counts.mailboxes++;
    if (p.mailKind === 'mail-enabled') counts.mailEnabledUsers++;
    if (p.mailKind === 'none') counts.usersWithoutMail++;
    if (p.hidden) counts.hiddenUsers++;
    yield emit(userEntry(p, sshaHash(input.usersPassword)));
    const g = siteGroups.get(p.site);
    if (g && g.members.length < MAX_GROUP_MEMBERS) g.members.push(p.dn);
    if (p.mail && p.title.includes('Sales') && sales.members.length < MAX_GROUP_MEMBERS) sales.members.push(p.dn);
    if (p.mailKind === 'none' && noMailGroup.members.length < MAX_GROUP_MEMBERS) noMailGroup.members.push(p.dn);
  }

  const groups = [...siteGroups.values(), sales, noMailGroup];
  const allStaff: GroupDraft = {
    cn: 'All Staff',
    mailLocal: 'all.staff',
    description: 'nested: the site groups',
    members: [...siteGroups.values()].map((g) => `cn=${escapeDnValue(g.cn)},${f.groupsDn}`),
    groupType: SECURITY_GLOBAL,
  };
  for (const g of [...groups, allStaff]) {
    counts.groups++;
    yield emit(groupEntry(forest, seed, g));
  }

  // Contacts that already point at real users of the other forest (same mail): the
  // GAL sync must join these instead of provisioning duplicates.
  const other: ForestId = forest === 'a' ? 'b' : 'a';
  const wanted = crossForestContactCount(size);
  let made = 0;
  for (const p of samplePeople(other, size, seed)) {
    if (made >= wanted) break;
    if (!p.hasMailbox || p.hidden || p.index % 3 !== 0 || !p.mail) continue;
    counts.contacts++;
    counts.crossForestContacts++;
    made++;
    yield emit(
      contactEntry(forest, seed, {
        cn: p.cn,
        mail: p.mail,
        givenName: p.givenName,
        sn: p.sn,
        company: p.company,
        description: `colleague at ${companyOf(other)}`,
      }),
    );
  }
  if (forest === 'b') {
    counts.contacts++;
    counts.crossForestContacts++;
    yield emit(
      contactEntry(forest, seed, {
        cn: 'Atlanta Sales (Forest A)',
        mail: 'Atlanta/sales@forest-a.test',
        company: companyOf('a'),
        description: "hand-made contact for forest A's old DL; the '/' is real",
      }),
    );
  }
  const partners = [
    { cn: 'Ingrid Partner', givenName: 'Ingrid', sn: 'Partner', mail: 'ingrid@partner.example' },
    { cn: 'Łódź Logistics Desk', mail: 'desk@lodz-logistics.example' },
    { cn: 'Outside Counsel', mail: 'counsel@law.example' },
  ];
  for (const c of partners) {
    counts.contacts++;
    yield emit(contactEntry(forest, seed, { ...c, company: 'Partner', description: 'external partner' }));
  }
}
