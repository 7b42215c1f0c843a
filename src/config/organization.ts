// One organization ("forest"): its directory and its mail store.
// Glossary: an organization is one of the two merging companies; `role` says which
// side of the merge it is on (source = the acquired company whose mailboxes move).
import { z } from 'zod';
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

export const organizationSchema = z.strictObject({
  displayName: z.string().min(1),
  role: z.enum(['source', 'target']),
  /** The organization's primary SMTP domain (forest-a.test). */
  mailDomain: z.string().regex(/^[a-z0-9.-]+\.[a-z0-9-]+$/i, 'a DNS domain such as example.com'),
  directory: directorySchema,
  mailStore: mailStoreSchema,
});

export type DirectoryConfig = z.infer<typeof directorySchema>;
export type MailStoreConfig = z.infer<typeof mailStoreSchema>;
export type OrganizationConfig = z.infer<typeof organizationSchema>;

export function imapPort(store: MailStoreConfig): number {
  return store.port ?? (store.tls === 'implicit' ? 993 : 143);
}
