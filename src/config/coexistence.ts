// The `coexistence:` section: the HTTPS service `crossforest serve` runs while both
// organizations live (GAL find, free/busy, client autoconfiguration). Per organization
// it names the servers that clients are pointed at and the CalDAV server free/busy is
// read from. Every bound has a default so a minimal section works.
import { z } from 'zod';
import { secretRef } from './secret.ts';

const host = z.string().regex(/^[A-Za-z0-9.-]{1,253}$/, 'a host name or IP address such as imap.example.com');
const port = z.number().int().min(1).max(65535);

const mailServer = z.strictObject({
  /** The public name clients connect to (not necessarily what crossforest uses itself). */
  host,
  port,
  /** SSL = implicit TLS (993/465), STARTTLS = upgrade (143/587), plain = none (never on the Internet). */
  socketType: z.enum(['SSL', 'STARTTLS', 'plain']),
});

export const caldavSchema = z.strictObject({
  /** Base URL of the CalDAV server; calendars are under `<url><login>/`. */
  url: z.string().regex(/^https?:\/\/[^\s/]+(:\d+)?(\/\S*)?$/, 'an http(s) URL such as https://cal.example.com/'),
  /** A service account that may read every user's calendars (free/busy only). */
  user: z.string().min(1),
  password: secretRef,
  caFile: z.string().optional(),
  /** Timeout of every CalDAV request, in milliseconds. Default 10,000. */
  timeoutMs: z.number().int().positive().default(10_000),
});

export const coexistenceOrgSchema = z.strictObject({
  imap: mailServer,
  smtp: mailServer,
  /** CalDAV server holding this organization's calendars; without it free/busy says "no data" (4). */
  caldav: caldavSchema.optional(),
});

export const coexistenceSchema = z.strictObject({
  listen: z
    .strictObject({
      host: z.string().min(1).default('127.0.0.1'),
      /** The one port the service uses (the seed's locked-down design: 443 only). */
      port: z.number().int().min(0).max(65535).default(8443),
    })
    .default({ host: '127.0.0.1', port: 8443 }),
  /** PEM certificate and key; the service refuses to start without TLS unless `insecureHttp` (tests only). */
  tls: z.strictObject({ certFile: z.string().min(1), keyFile: z.string().min(1) }).optional(),
  insecureHttp: z.boolean().default(false),
  /** Public host name clients use for Autodiscover/autoconfig (Apple profiles name it). */
  publicHost: host.default('localhost'),
  /** How long "which organization holds this mailbox" answers are reused, in seconds (0 = never). */
  mailboxCacheSeconds: z.number().int().min(0).max(3600).default(60),
  gal: z
    .strictObject({
      /** Results per page (a request may ask for fewer). */
      pageSize: z.number().int().min(1).max(500).default(25),
      /** Most results a search may page through. */
      maxResults: z.number().int().min(1).max(10_000).default(500),
      /** Also hide objects whose showInAddressBook is absent (AD with Exchange address lists). */
      requireShowInAddressBook: z.boolean().default(false),
    })
    .default({ pageSize: 25, maxResults: 500, requireShowInAddressBook: false }),
  freeBusy: z
    .strictObject({
      /** Largest slots per person one request may ask for (window / interval). 14 days at 15 min = 1,344. */
      maxSlots: z.number().int().min(1).max(100_000).default(2_000),
      /** Most addresses in one request. */
      maxAddresses: z.number().int().min(1).max(1_000).default(50),
    })
    .default({ maxSlots: 2_000, maxAddresses: 50 }),
  /**
   * Failed logins (GAL find, free/busy, autodiscover, the dashboard). `perIp`: failures from one
   * client address within `windowSeconds` before it is refused (429) whatever the name: a
   * password spray. `perUser`: failures for one user name *from one address* before each further
   * try from there waits longer (1 s, 2 s, 4 s … up to windowSeconds). Nothing counts per name
   * alone, so an attacker's guesses never lock the real user out from another address.
   */
  loginFailures: z
    .strictObject({
      perIp: z.number().int().min(1).default(20),
      perUser: z.number().int().min(1).default(5),
      windowSeconds: z.number().int().min(1).default(300),
    })
    .default({ perIp: 20, perUser: 5, windowSeconds: 300 }),
  /**
   * The operator dashboard (`/dashboard`): its own logins, not directory users, so it still
   * opens when a directory is the thing that is down. Each password is a secret reference
   * like every other password in the project file; the secret holds a scrypt hash made by
   * `crossforest serve hash-password` (`$scrypt$N=…,r=…,p=…$salt$hash`, recommended) or,
   * for labs, the clear password. Without this section /dashboard is off.
   */
  dashboard: z
    .strictObject({
      operators: z
        .array(
          z.strictObject({
            name: z.string().regex(/^[A-Za-z0-9._@-]{1,64}$/, 'a login name of letters, digits and . _ @ -'),
            password: secretRef,
          }),
        )
        .min(1),
      /** A session ends this long after login, in minutes. */
      sessionMinutes: z
        .number()
        .int()
        .min(1)
        .max(24 * 60)
        .default(480),
      /** The pending-export preview (a full or delta synchronization on a copy of the state store) is stopped after this long, in seconds. */
      previewTimeoutSeconds: z.number().int().min(1).max(3600).default(300),
    })
    .optional(),
  /** Keyed like `organizations` (a, b): the servers clients of that organization use. */
  organizations: z.record(z.string(), coexistenceOrgSchema),
});

export type CoexistenceConfig = z.infer<typeof coexistenceSchema>;
export type CoexistenceOrgConfig = z.infer<typeof coexistenceOrgSchema>;
export type CaldavConfig = z.infer<typeof caldavSchema>;
export type MailServerConfig = z.infer<typeof mailServer>;
export type DashboardConfig = NonNullable<CoexistenceConfig['dashboard']>;
