// One organization ("forest"): its directory and its mail store.
// Glossary: an organization is one of the two merging companies; `role` says which
// side of the merge it is on (source = the acquired company whose mailboxes move).
import { z } from 'zod';
import { ConfigError } from '../util/errors.ts';
import { calendarServerSchema } from './calendar.ts';
import { secretRef } from './secret.ts';

const ldapUrl = z
  .string()
  .regex(/^ldaps?:\/\/[^/\s]+(:\d+)?\/?$/, 'an LDAP URL such as ldap://dc1.example.com:389 or ldaps://dc1.example.com:636');

export const directorySchema = z.strictObject({
  /** ldap:// or ldaps:// URL of one domain controller / directory server. */
  url: ldapUrl,
  /** Base DN that holds the organization's people, groups and contacts. */
  baseDn: z.string().min(3),
  /** The account crossforest binds as; least privilege, as the seed insists. */
  bindDn: z.string().min(3),
  password: secretRef,
  /** Issue STARTTLS on an ldap:// URL before binding. */
  startTls: z.boolean().default(false),
  /** PEM file of the CA that signed the directory's certificate (ldaps:// or STARTTLS). */
  caFile: z.string().optional(),
  /** Accept a certificate that does not verify (lab only). Default false. */
  insecureSkipVerify: z.boolean().default(false),
  /** Timeout of every LDAP operation, in milliseconds. Default 10,000. */
  timeoutMs: z.number().int().positive().default(10_000),
  /** Directory flavour, for the few places where AD and OpenLDAP differ. */
  kind: z.enum(['openldap', 'activedirectory']).default('openldap'),
  /** LDAP filter that selects mailbox-enabled users (Exchange: a homeMDB is set). */
  mailboxFilter: z
    .string()
    .regex(/^\(.*\)$/s, 'an LDAP filter in parentheses')
    .default('(&(objectClass=user)(homeMDB=*))'),
  /** Attribute whose value is the user's IMAP login name. Default userPrincipalName. */
  loginAttribute: z.string().min(1).default('userPrincipalName'),
});

export const mailStoreSchema = z.strictObject({
  host: z.string().min(1),
  /** IMAP port. Default 143 (993 when tls is implicit). */
  port: z.number().int().min(1).max(65535).optional(),
  /** none: plaintext (loopback labs only); starttls: upgrade before login; implicit: IMAPS. */
  tls: z.enum(['none', 'starttls', 'implicit']).default('starttls'),
  caFile: z.string().optional(),
  insecureSkipVerify: z.boolean().default(false),
  /** Administrative account that may open any mailbox (Dovecot master user, Cyrus proxy admin). */
  masterUser: z.string().min(1),
  masterPassword: secretRef,
  /**
   * How the master user logs in on behalf of a user: `separator` logs in as
   * `user<sep>master` (Dovecot), `authzid` uses SASL PLAIN with an authorization id (Cyrus, Exchange).
   */
  impersonation: z.enum(['separator', 'authzid']).default('separator'),
  masterSeparator: z.string().length(1).default('*'),
  /** A mailbox `crossforest check` opens to prove the master user works (any mailbox-enabled user). */
  probeMailbox: z.string().min(1).optional(),
  /** Timeout of every IMAP operation, in milliseconds. Default 30,000. */
  timeoutMs: z.number().int().positive().default(30_000),
  /**
   * Max messages per second this store serves to all copies in the process together
   * (source reads and target appends both count). 0 = unlimited (the default).
   */
  maxMessagesPerSecond: z.number().min(0).default(0),
  /** Max message bytes per second this store serves to all copies in the process together. 0 = unlimited (the default). */
  maxBytesPerSecond: z.number().min(0).default(0),
});

const storeName = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/, 'a short server name such as mbx-a1');

/** One mail server of an organization with many: which users it holds, and its limits. */
export const namedMailStoreSchema = z.strictObject({
  ...mailStoreSchema.shape,
  name: storeName,
  /** The homeMDB (the Exchange mailbox database DN) of the users this server holds. */
  homeMDB: z.string().min(3).optional(),
  /** Or the server's name as msExchHomeServerName ends (`…/cn=Servers/cn=MAIL-A1`: MAIL-A1). */
  serverName: z.string().min(1).optional(),
  /** Mailboxes read from (or written to) this server at once, over every batch and worker. Default: migration.maxConcurrentPerSourceStore. */
  maxConcurrentMailboxes: z.number().int().min(1).max(256).optional(),
});

export const organizationSchema = z
  .strictObject({
    displayName: z.string().min(1),
    role: z.enum(['source', 'target']),
    /** The organization's primary SMTP domain (forest-a.test). */
    mailDomain: z.string().regex(/^[a-z0-9.-]+\.[a-z0-9-]+$/i, 'a DNS domain such as example.com'),
    directory: directorySchema,
    /** The one mail server (small organizations): every mailbox user is on it. */
    mailStore: mailStoreSchema.optional(),
    /** Every mail server; each user's is found from the directory (homeMDB, or msExchHomeServerName). */
    mailStores: z.array(namedMailStoreSchema).min(1).optional(),
    /** The CalDAV/CardDAV server: calendars, tasks and contacts move with the mailbox when both organizations have one. */
    calendar: calendarServerSchema.optional(),
  })
  .superRefine((o, ctx) => {
    if (!o.mailStore === !o.mailStores)
      ctx.addIssue({
        code: 'custom',
        path: o.mailStore ? ['mailStores'] : ['mailStore'],
        message: o.mailStore
          ? 'give mailStore (one server) or mailStores (a list), not both'
          : 'the organization needs its mail server: mailStore (one) or mailStores (a list with name and homeMDB each)',
      });
    const stores = o.mailStores ?? [];
    const seen = new Map<string, number>();
    const homes = new Map<string, number>();
    stores.forEach((st, i) => {
      const key = st.name.toLowerCase();
      if (seen.has(key))
        ctx.addIssue({
          code: 'custom',
          path: ['mailStores', i, 'name'],
          message: `the server name ${st.name} is given twice (mailStores[${seen.get(key)}] and mailStores[${i}]): each server once, with its own name`,
        });
      seen.set(key, i);
      if (stores.length > 1 && !st.homeMDB && !st.serverName)
        ctx.addIssue({
          code: 'custom',
          path: ['mailStores', i],
          message: `server ${st.name}: with several servers each needs homeMDB (or serverName), so crossforest knows whose mailboxes it holds`,
        });
      if (st.homeMDB) {
        const h = st.homeMDB.toLowerCase();
        if (homes.has(h))
          ctx.addIssue({
            code: 'custom',
            path: ['mailStores', i, 'homeMDB'],
            message: `the homeMDB of ${st.name} is also the homeMDB of mailStores[${homes.get(h)}]: one mailbox database lives on one server`,
          });
        homes.set(h, i);
      }
    });
  });

export type DirectoryConfig = z.infer<typeof directorySchema>;
export type MailStoreConfig = z.infer<typeof mailStoreSchema>;
export type NamedMailStoreConfig = z.infer<typeof namedMailStoreSchema>;
export type OrganizationConfig = z.infer<typeof organizationSchema>;

/** A mail server of an organization, with where it is written in the project file. */
export interface OrgMailStore extends NamedMailStoreConfig {
  /** organizations.a.mailStore or organizations.a.mailStores[1], for messages. */
  keyPath: string;
}

/** Every mail server of the organization (a single `mailStore` is one, named after the organization). */
export function orgMailStores(org: OrganizationConfig, orgId: string): OrgMailStore[] {
  if (org.mailStores) return org.mailStores.map((st, i) => ({ ...st, keyPath: `organizations.${orgId}.mailStores[${i}]` }));
  return [{ ...(org.mailStore as MailStoreConfig), name: orgId, keyPath: `organizations.${orgId}.mailStore` }];
}

/**
 * The server named `name`, or the only one; with several and no name, a ConfigError that
 * lists them and names the option (`flag`) to choose with.
 */
export function pickMailStore(org: OrganizationConfig, orgId: string, name: string | undefined, flag: string): OrgMailStore {
  const stores = orgMailStores(org, orgId);
  const list = stores.map((st) => st.name).join(', ');
  if (name === undefined) {
    if (stores.length === 1) return stores[0] as OrgMailStore;
    throw new ConfigError(`organization ${orgId} has ${stores.length} mail servers: which one?`, {
      object: `organizations.${orgId}.mailStores`,
      hint: `give ${flag} with one of: ${list}`,
    });
  }
  const hit = stores.find((st) => st.name.toLowerCase() === name.toLowerCase());
  if (!hit)
    throw new ConfigError(`organization ${orgId} has no mail server named "${name}"`, {
      object: `organizations.${orgId}.mailStores`,
      hint: `one of: ${list}`,
    });
  return hit;
}

/** The last CN of msExchHomeServerName (`/o=Org/ou=…/cn=Servers/cn=MAIL-A1` → MAIL-A1), or the value. */
export function serverNameOf(value: string): string {
  const m = /cn=([^/]+)$/i.exec(value.trim());
  return (m?.[1] ?? value).trim();
}

/**
 * The server that holds a user, from the directory: by homeMDB, else by msExchHomeServerName.
 * An organization with one server holds everyone; undefined: no server matches (the caller
 * says which value it found).
 */
export function storeOfUser(
  stores: readonly OrgMailStore[],
  user: { homeMDB?: string | undefined; homeServerName?: string | undefined },
): OrgMailStore | undefined {
  if (stores.length === 1 && !stores[0]?.homeMDB && !stores[0]?.serverName) return stores[0];
  const home = user.homeMDB?.toLowerCase();
  if (home) {
    const hit = stores.find((st) => st.homeMDB?.toLowerCase() === home);
    if (hit) return hit;
  }
  if (user.homeServerName) {
    const name = serverNameOf(user.homeServerName).toLowerCase();
    const hit = stores.find((st) => st.serverName?.toLowerCase() === name);
    if (hit) return hit;
  }
  return undefined;
}

export function imapPort(store: MailStoreConfig): number {
  return store.port ?? (store.tls === 'implicit' ? 993 : 143);
}
