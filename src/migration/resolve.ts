// Resolves batch names to source users and plans their target objects, before anything
// starts. Names that are addresses are looked up in the metaverse first (GAL sync knows
// the person and their connector in each forest); sAMAccountName, UPN and DN, which the
// metaverse does not hold, and anything it does not know, are looked up in the source
// directory directly. Target objects (the GAL-sync contact to convert, a user pre-staged
// by an earlier run) are found through the metaverse's target connector or by address.
import type { Client } from 'ldapts';
import type { DirectoryEntry } from '../directory/entry.ts';
import { escapeDnValue, ldapFilter } from '../directory/escape.ts';
import { readEntry, searchEntries } from '../directory/import.ts';
import type { StateStore } from '../state/store.ts';
import { csByMv } from '../sync/connectorSpace.ts';
import { mvIdsByValue } from '../sync/metaverse.ts';
import { aliasOf, lower } from './addresses.ts';
import type { NameEntry } from './nameList.ts';
import type { MigrationSetup } from './setup.ts';
import type { PrestagePlan } from './types.ts';

export const USER_ATTRIBUTES = [
  'objectClass',
  'cn',
  'sn',
  'givenName',
  'displayName',
  'initials',
  'title',
  'company',
  'department',
  'telephoneNumber',
  'physicalDeliveryOfficeName',
  'sAMAccountName',
  'userPrincipalName',
  'mail',
  'proxyAddresses',
  'legacyExchangeDN',
  'homeMDB',
  'msExchHomeServerName',
  'targetAddress',
  'mailNickname',
  'member',
  'userAccountControl',
];
export const DISPLAY_ATTRIBUTES = [
  'cn',
  'sn',
  'givenName',
  'displayName',
  'initials',
  'title',
  'company',
  'department',
  'telephoneNumber',
  'physicalDeliveryOfficeName',
];

export const first = (e: DirectoryEntry | undefined, a: string): string | undefined => e?.attributes[a]?.[0];
export const all = (e: DirectoryEntry | undefined, a: string): string[] => e?.attributes[a] ?? [];
const isUser = (e: DirectoryEntry): boolean => all(e, 'objectClass').some((c) => lower(c) === 'user');

async function collect(client: Client, base: string, filter: string, limit = 5): Promise<DirectoryEntry[]> {
  const out: DirectoryEntry[] = [];
  for await (const e of searchEntries(client, { bases: [base], filter, attributes: USER_ATTRIBUTES })) {
    out.push(e);
    if (out.length >= limit) break;
  }
  return out;
}

/** DNs of the metaverse connectors of `orgId`'s agents for the person with this address. */
async function metaverseConnectors(
  setup: MigrationSetup,
  store: StateStore | undefined,
  address: string,
  orgId: string,
  objectClass: string,
): Promise<string[] | undefined> {
  const agents = Object.entries(setup.project.config.sync?.agents ?? {})
    .filter(([, a]) => a.organization === orgId)
    .map(([id]) => id);
  if (!store || agents.length === 0) return undefined;
  let ids: number[];
  try {
    ids = [
      ...new Set([...(await mvIdsByValue(store, 'mail', address)), ...(await mvIdsByValue(store, 'proxyAddresses', `smtp:${address}`))]),
    ];
  } catch {
    return undefined; // no GAL-sync tables yet
  }
  if (ids.length === 0) return undefined;
  const dns = new Set<string>();
  for (const id of ids)
    for (const cs of await csByMv(store, id))
      if (agents.includes(cs.agent) && cs.state !== 'deleted' && lower(cs.objectClass) === objectClass) dns.add(cs.dn);
  return [...dns];
}

export interface ResolvedSource {
  entry: DirectoryEntry;
  via: 'metaverse' | 'directory';
}

/** Finds the source user a name means: exactly one, or a one-line problem. */
export async function resolveSourceName(
  setup: MigrationSetup,
  client: Client,
  store: StateStore | undefined,
  name: string,
): Promise<ResolvedSource | string> {
  const base = setup.source.directory.baseDn;
  if (/^[A-Za-z][A-Za-z0-9-]*=/.test(name) && name.includes(',')) {
    const e = await readEntry(client, name, USER_ATTRIBUTES).catch(() => undefined);
    if (!e) return `"${name}": no such entry in ${setup.sourceId}`;
    return isUser(e) ? { entry: e, via: 'directory' } : `"${name}": not a user`;
  }
  if (name.includes('@')) {
    const dns = await metaverseConnectors(setup, store, name, setup.sourceId, 'user');
    if (dns && dns.length > 1) return `"${name}": ambiguous in the metaverse (${dns.join('; ')})`;
    if (dns && dns.length === 1) {
      const e = await readEntry(client, dns[0] as string, USER_ATTRIBUTES);
      if (e) return { entry: e, via: 'metaverse' };
    }
  }
  const login = setup.source.directory.loginAttribute;
  const filter = name.includes('@')
    ? ldapFilter`(&(objectClass=user)(|(${login}=${name})(userPrincipalName=${name})(mail=${name})(proxyAddresses=smtp:${name})))`
    : ldapFilter`(&(objectClass=user)(sAMAccountName=${name}))`;
  const found = await collect(client, base, filter);
  if (found.length === 0) return `"${name}": unknown in ${setup.sourceId} (no user with that sAMAccountName, UPN, mail or DN)`;
  if (found.length > 1)
    return `"${name}": ambiguous, ${found.length} users match (${found.map((f) => f.dn).join('; ')}): write the DN instead`;
  return { entry: found[0] as DirectoryEntry, via: 'directory' };
}

/** Names in a directory group (locked at batch creation: the members now, by DN). */
export async function groupMembers(client: Client, groupDn: string): Promise<string[] | string> {
  const g = await readEntry(client, groupDn, ['objectClass', 'member']).catch(() => undefined);
  if (!g) return `group "${groupDn}" does not exist`;
  return all(g, 'member');
}

export interface PlanInput {
  source: DirectoryEntry;
  overrides: NameEntry['overrides'];
  /** Accounts and addresses already planned in this batch (a batch must not plan one twice). */
  taken: Set<string>;
}

/** Plans the target object of one source user, checking the target directory for conflicts. */
export async function planTarget(
  setup: MigrationSetup,
  client: Client,
  store: StateStore | undefined,
  p: PlanInput,
): Promise<PrestagePlan | string> {
  const src = p.source;
  const mail = first(src, 'mail') as string;
  const tdom = setup.target.mailDomain;
  const base = setup.target.directory.baseDn;
  const display: Record<string, string[]> = {};
  for (const a of DISPLAY_ATTRIBUTES) if (src.attributes[a]?.length) display[a] = src.attributes[a] as string[];
  const common = {
    sourceLegacyExchangeDn: first(src, 'legacyExchangeDN') ?? null,
    sourceProxies: all(src, 'proxyAddresses'),
    display,
  };
  // A user pre-staged before (an earlier run, another batch removed): adopt it.
  const mine = (await collect(client, base, ldapFilter`(&(objectClass=user)(proxyAddresses=smtp:${mail}))`)).filter(isUser);
  if (mine.length > 1)
    return `"${mail}": ${mine.length} users in ${setup.targetId} already carry this address (${mine.map((m) => m.dn).join('; ')})`;
  if (mine.length === 1) {
    const u = mine[0] as DirectoryEntry;
    const sam = first(u, 'sAMAccountName') ?? aliasOf(mail);
    return {
      ...common,
      targetDn: u.dn,
      contactDn: null,
      existingUser: true,
      targetSam: sam,
      targetLogin: first(u, setup.target.directory.loginAttribute) ?? `${sam}@${tdom}`,
      targetPrimary: first(u, 'mail') ?? `${aliasOf(mail)}@${tdom}`,
      targetLegacyExchangeDn: first(u, 'legacyExchangeDN') ?? `${setup.config.targetLegacyExchangeDnPrefix}${sam}`,
    };
  }
  // The GAL-sync contact of this person, if any: metaverse first, then by address.
  let contacts = await metaverseConnectors(setup, store, mail, setup.targetId, 'contact');
  if (!contacts || contacts.length === 0) {
    contacts = (
      await collect(
        client,
        base,
        ldapFilter`(&(objectClass=contact)(|(mail=${mail})(targetAddress=SMTP:${mail})(proxyAddresses=smtp:${mail})))`,
      )
    ).map((c) => c.dn);
  }
  if (contacts.length > 1)
    return `"${mail}": ${contacts.length} contacts in ${setup.targetId} carry this address (${contacts.join('; ')}): remove the extra ones`;
  const contactDn = contacts[0] ?? null;
  const free = async (filter: string, key: string): Promise<boolean> => {
    if (p.taken.has(lower(key))) return false;
    const hits = (await collect(client, base, filter)).filter((h) => lower(h.dn) !== lower(contactDn ?? ''));
    return hits.length === 0;
  };
  // Every address of the person goes onto the new user: one already on another object would be delivered twice or misrouted.
  const addresses = [
    mail,
    ...all(src, 'proxyAddresses')
      .filter((a) => /^smtp:/i.test(a))
      .map((a) => a.slice(5)),
  ];
  const clash = (
    await collect(
      client,
      base,
      `(|${[...new Set(addresses.map(lower))].map((a) => ldapFilter`(mail=${a})(proxyAddresses=smtp:${a})`).join('')})`,
    )
  ).find((h) => lower(h.dn) !== lower(contactDn ?? ''));
  if (clash) {
    const taken = addresses.find((a) =>
      [...all(clash, 'proxyAddresses').map((x) => lower(x.replace(/^smtp:/i, ''))), lower(first(clash, 'mail') ?? '')].includes(lower(a)),
    );
    return `"${mail}": address ${taken ?? mail} is already on ${clash.dn} in ${setup.targetId}: remove it there, or move that object's mailbox instead`;
  }
  const samBase = p.overrides.targetSam ?? first(src, 'sAMAccountName') ?? aliasOf(mail);
  const suffixed = !p.overrides.targetSam && setup.config.nameConflicts === 'suffix';
  let sam: string | undefined;
  let holder: string | undefined;
  for (const c of suffixed ? [samBase, `${samBase}-${setup.sourceId}`] : [samBase]) {
    const hits = p.taken.has(lower(`sam:${c}`))
      ? [{ dn: 'another user of this batch' }]
      : (await collect(client, base, ldapFilter`(|(sAMAccountName=${c})(userPrincipalName=${`${c}@${tdom}`}))`)).filter(
          (h) => lower(h.dn) !== lower(contactDn ?? ''),
        );
    if (hits.length === 0) {
      sam = c;
      break;
    }
    holder ??= hits[0]?.dn;
  }
  if (!sam)
    return `"${mail}": account name ${samBase} is taken in ${setup.targetId} by ${holder}: give targetSam in a CSV${suffixed ? '' : ', or set migration.nameConflicts: suffix'}`;
  const alias = aliasOf(mail);
  let primary: string | undefined;
  const primaries = p.overrides.targetPrimary
    ? [p.overrides.targetPrimary]
    : setup.config.nameConflicts === 'suffix'
      ? [`${alias}@${tdom}`, `${alias}.${setup.sourceId}@${tdom}`]
      : [`${alias}@${tdom}`];
  for (const c of primaries) {
    if (await free(ldapFilter`(|(mail=${c})(proxyAddresses=smtp:${c}))`, `addr:${c}`)) {
      primary = c;
      break;
    }
  }
  if (!primary) return `"${mail}": address ${alias}@${tdom} is taken in ${setup.targetId}: give targetPrimary in a CSV`;
  const cn = first(src, 'cn') ?? sam;
  let dn = `cn=${escapeDnValue(cn)},${setup.config.targetContainer}`;
  if (p.taken.has(lower(dn)) || (await readEntry(client, dn, ['objectClass'])))
    dn = `cn=${escapeDnValue(`${cn} (${sam})`)},${setup.config.targetContainer}`;
  if (p.taken.has(lower(dn)) || (await readEntry(client, dn, ['objectClass']))) return `"${mail}": ${dn} exists in ${setup.targetId}`;
  p.taken.add(`sam:${lower(sam)}`);
  p.taken.add(`addr:${lower(primary)}`);
  p.taken.add(lower(dn));
  return {
    ...common,
    targetDn: dn,
    contactDn,
    existingUser: false,
    targetSam: sam,
    targetLogin: `${sam}@${tdom}`,
    targetPrimary: primary,
    targetLegacyExchangeDn: `${setup.config.targetLegacyExchangeDnPrefix}${sam}`,
  };
}
