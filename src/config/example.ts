// The commented example written by `crossforest init`: it matches the lab (lab/README.md),
// so `crossforest lab up && crossforest init && crossforest check` works on a fresh checkout.
import { type ExampleDirectory, exampleSyncSection } from '../sync/exampleConfig.ts';
import { AD_POSTFIX_PORTS, exampleDirectoryBlock } from './exampleDirectory.ts';
import { exampleMigrationSection } from './exampleMigration.ts';

/** The outbound listeners' next hop in the lab, where the Internet would be: nothing listens there. */
export const LAB_INTERNET_PORT = 2599;

/** Which state engine the example names: a SQLite file (the default) or the lab's PostgreSQL. */
export type ExampleState = 'sqlite' | 'postgres';

/**
 * The lab's PostgreSQL state database (lab/postgres/postgres.ts: the `crossforest` role and
 * database on 127.0.0.1:5433, made by `crossforest lab up`; its password in
 * secrets/postgres.pw). Written out here so the config layer does not load the lab.
 */
export const LAB_STATE_URL = 'postgres://crossforest@127.0.0.1:5433/crossforest';
export const LAB_STATE_PASSWORD_FILE = '.lab/secrets/postgres.pw';

function exampleStateBlock(state: ExampleState, directory: ExampleDirectory): string {
  // The Samba lab's project keeps a state file of its own: one beside an OpenLDAP lab project never mixes with it.
  if (state === 'sqlite' && directory === 'samba')
    return 'state:\n  path: crossforest-samba.sqlite    # the state store (SQLite), relative to this file\n';
  if (state === 'sqlite') return 'state:\n  path: crossforest.sqlite          # the state store (SQLite), relative to this file\n';
  return `state:                              # the state store on PostgreSQL: every worker host shares it
  url: ${LAB_STATE_URL}   # postgres://user@host:port/database, never a password
  password: { file: ${LAB_STATE_PASSWORD_FILE} }   # the lab's; the database must exist, crossforest creates its tables
  # poolSize: 10                    # connections each crossforest process keeps
`;
}

/**
 * Where the lab's servers listen in each directory mode (lab/README.md): the slapd forests'
 * Dovecots and Postfixes, or the ones that read the Samba AD DCs (`lab up --directory samba`:
 * dovecot-a-ad / dovecot-b-ad, postfix-a-ad / postfix-b-ad).
 */
const LAB_SHAPES: Record<
  ExampleDirectory,
  {
    imap: Record<'a' | 'b', number>;
    imaps: Record<'a' | 'b', number>;
    smtp: Record<'a' | 'b', number>;
    storeComment: string;
    auditEndpoints: string;
  }
> = {
  openldap: {
    imap: { a: 1431, b: 1432 },
    imaps: { a: 9931, b: 9932 },
    smtp: { a: 2525, b: 2526 },
    storeComment: '',
    auditEndpoints: `    - { organization: a, protocol: smtp, host: 127.0.0.1, port: 2525, tls: starttls }
    - { organization: a, protocol: submission, host: 127.0.0.1, port: 5871, tls: starttls }
    - { organization: a, protocol: pop3, host: 127.0.0.1, port: 1101, tls: starttls }
    - { organization: a, protocol: pop3, host: 127.0.0.1, port: 9951, tls: implicit }
    - { organization: b, protocol: smtp, host: 127.0.0.1, port: 2526, tls: starttls }
    - { organization: b, protocol: submission, host: 127.0.0.1, port: 5872, tls: starttls }
`,
  },
  samba: {
    imap: { a: 1441, b: 1442 },
    imaps: { a: 9941, b: 9942 },
    smtp: { a: AD_POSTFIX_PORTS.a.smtp, b: AD_POSTFIX_PORTS.b.smtp },
    storeComment: "                       # the Dovecot whose users are the DC's (dovecot-<x>-ad)",
    auditEndpoints: `    - { organization: a, protocol: smtp, host: 127.0.0.1, port: ${AD_POSTFIX_PORTS.a.smtp}, tls: starttls }
    - { organization: a, protocol: submission, host: 127.0.0.1, port: ${AD_POSTFIX_PORTS.a.submission}, tls: starttls }
    - { organization: b, protocol: smtp, host: 127.0.0.1, port: ${AD_POSTFIX_PORTS.b.smtp}, tls: starttls }
    - { organization: b, protocol: submission, host: 127.0.0.1, port: ${AD_POSTFIX_PORTS.b.submission}, tls: starttls }
`,
  },
};

/**
 * `directory`: the lab's slapd forests (default) or its Samba AD DCs; `state`: the state
 * store in a SQLite file beside the project file (default) or in the lab's PostgreSQL.
 */
export function exampleProjectFile(directory: ExampleDirectory = 'openldap', state: ExampleState = 'sqlite'): string {
  const lab = LAB_SHAPES[directory];
  return `# crossforest project file. Secrets are never written here: each password is a
# reference to a file ({ file: path }, relative to this file) or an environment variable ({ env: NAME }).
project: forest-a-into-forest-b

${exampleStateBlock(state, directory)}
organizations:
  a:                                # the source: the acquired company
    displayName: Forest A
    role: source
    mailDomain: forest-a.test
${exampleDirectoryBlock('a', directory)}    mailStore:${lab.storeComment}
      host: 127.0.0.1
      port: ${lab.imap.a}
      tls: starttls                 # none | starttls | implicit
      caFile: .lab/tls/ca.crt
      masterUser: admin
      masterPassword: { file: .lab/secrets/mail-a-master.pw }
      impersonation: separator      # user*admin (Dovecot); authzid for Cyrus/Exchange
      maxMessagesPerSecond: 0       # this store's limit for all copies at once (reads and appends count); 0 = unlimited
      maxBytesPerSecond: 0          # likewise in message bytes per second
${probe('a')}${calendarBlock('a')}
  b:                                # the target
    displayName: Forest B
    role: target
    mailDomain: forest-b.test
${exampleDirectoryBlock('b', directory)}    mailStore:${lab.storeComment}
      host: 127.0.0.1
      port: ${lab.imaps.b}
      tls: implicit
      caFile: .lab/tls/ca.crt
      masterUser: admin
      masterPassword: { file: .lab/secrets/mail-b-master.pw }
      maxMessagesPerSecond: 0       # as for a (and maxBytesPerSecond): 0 = unlimited
${probe('b')}${calendarBlock('b')}${exampleSyncSection('examples/rules', directory)}mail:                               # \`crossforest mailbox copy\`: how mailboxes are copied (all optional)
  exclude: []                       # globs over source folders, segments joined by /: [Calendar, "Old Mail/**"]
  renames: []                       # [{ from: Old Mail, to: Archive/Old Mail }]; special-use folders map by use
  badItemLimit: 10                  # skipped messages allowed before the copy fails
  largeItemLimit: 0                 # messages over maxMessageBytes allowed to be skipped
  maxMessageBytes: 52428800
  retryIntervalMs: 2000             # doubled per retry; retries: 5
  concurrency: 4                    # folders at once, each on its own connections
  maxMessagesPerSecond: 0           # 0 = unlimited; maxBytesPerSecond likewise
  deleteOnTarget: false             # report source deletions, do not apply them
${exampleMigrationSection(directory)}coexistence:                        # \`crossforest serve\`: GAL find, free/busy, client autoconfiguration
  listen: { host: 127.0.0.1, port: 8443 }   # one port, TLS only
  tls: { certFile: .lab/tls/server.crt, keyFile: .lab/tls/server.key }
  publicHost: localhost
  mailboxCacheSeconds: 60           # "which org holds this mailbox" answers are reused this long
  freeBusy: { maxSlots: 2000, maxAddresses: 50 }
  loginFailures: { perIp: 20, perUser: 5, windowSeconds: 300 }
  dashboard:                        # /dashboard: the operators' migration view (its own logins, not directory users)
    operators:                      # each password file's first line: a hash from \`crossforest serve hash-password\`
      - { name: ops, password: { file: .lab/secrets/dashboard-ops.hash } }   # the lab: log in with .lab/secrets/dashboard-ops.pw
    sessionMinutes: 480
    previewTimeoutSeconds: 300      # the pending-export preview is stopped after this long
  organizations:                    # what clients are pointed at, per organization
    a:
      imap: { host: 127.0.0.1, port: ${lab.imaps.a}, socketType: SSL }
      smtp: { host: 127.0.0.1, port: 465, socketType: SSL }
      caldav: { url: http://127.0.0.1:5231/, user: freebusy, password: { file: .lab/secrets/radicale-a-freebusy.pw } }
    b:
      imap: { host: 127.0.0.1, port: ${lab.imaps.b}, socketType: SSL }
      smtp: { host: 127.0.0.1, port: 587, socketType: STARTTLS }
      caldav: { url: http://127.0.0.1:5232/, user: freebusy, password: { file: .lab/secrets/radicale-b-freebusy.pw } }

transport:                          # \`crossforest relay\`: the mail-flow policy relay (src/transport/README.md)
  policy:                           # per remote domain; \`*\` = everyone else. Seed defaults: OOF, auto-replies,
    '*': { onBlock: reject }        #   auto-forwards blocked; NDRs and delivery reports allowed; read-receipt requests stripped
    partner.example: { partner: true }   # a business partner: everything allowed
  listeners:                        # the lab: each Postfix's relayhost is its outbound listener (10025, 10026);
                                    #   mail from the Internet comes in through the inbound one, in front of the MX
    - { name: a-outbound, direction: outbound, listen: { host: 127.0.0.1, port: 10025 }, nextHop: { host: 127.0.0.1, port: ${LAB_INTERNET_PORT} } }
    - { name: a-inbound, direction: inbound, listen: { host: 127.0.0.1, port: 10125 }, nextHop: { host: 127.0.0.1, port: ${lab.smtp.a} } }
    - { name: b-outbound, direction: outbound, listen: { host: 127.0.0.1, port: 10026 }, nextHop: { host: 127.0.0.1, port: ${LAB_INTERNET_PORT} } }
    - { name: b-inbound, direction: inbound, listen: { host: 127.0.0.1, port: 10126 }, nextHop: { host: 127.0.0.1, port: ${lab.smtp.b} } }
                                    # outbound nextHop: your Internet smart host. The lab has no Internet (nothing
                                    #   listens on ${LAB_INTERNET_PORT}): mail the relay lets out is deferred and waits in Postfix's queue
audit:                              # \`crossforest audit\`: TLS, cleartext auth, open relay (own servers only)
  caFile: .lab/tls/ca.crt
  endpoints:                        # IMAP and LDAP of each organization and coexistence.listen are audited without being listed
${lab.auditEndpoints}  ownedHosts: []                    # non-loopback hosts of yours the open-relay test may probe
`;
}

// The lab's first sample users are fixed whatever --size and --seed (lab/org/people.ts).
const LAB_PROBE = { a: 'jmuller@forest-a.test', b: 'sodegard@forest-b.test' } as const;

/** The lab's Radicale of the organization (5231, 5232) and its migration service account. */
function calendarBlock(org: 'a' | 'b'): string {
  return `    calendar:                       # CalDAV/CardDAV: calendars, tasks and contacts move with the mailbox
      url: http://127.0.0.1:${org === 'a' ? 5231 : 5232}       # the lab's Radicale (http on loopback only)
      user: calmigrate              # reads (source) or writes (target) every user's collections
      password: { file: .lab/secrets/radicale-${org}-calmigrate.pw }
`;
}

function probe(org: 'a' | 'b'): string {
  return `      probeMailbox: ${LAB_PROBE[org]}   # any mailbox-enabled user; check opens it as the master user\n`;
}

/** One mail server of a lab forest with several (`lab up --stores N`), for the example. */
export interface ExampleMailServer {
  name: string;
  homeMDB: string;
  /** The port the example's transport uses (forest A: IMAP with STARTTLS; B: IMAPS). */
  port: number;
}

/**
 * The example project file with organization `org`'s single `mailStore` turned into a
 * `mailStores` list, one entry per server: the same settings, its own name, port and
 * homeMDB (each user's server is found by homeMDB). The probe mailbox stays on the first,
 * where the lab's sample user lives.
 */
export function withMailServers(text: string, org: 'a' | 'b', servers: readonly ExampleMailServer[]): string {
  if (servers.length < 2) return text;
  const lines = text.split('\n');
  const orgLine = lines.findIndex((l) => l.startsWith(`  ${org}:`));
  const head = lines.findIndex((l, i) => i > orgLine && l === '    mailStore:');
  if (orgLine < 0 || head < 0) throw new Error(`the example has no mailStore for organization ${org}`);
  let end = head + 1;
  while (end < lines.length && (lines[end] as string).startsWith('      ')) end++;
  const body = lines.slice(head + 1, end);
  const entries = servers.flatMap((s, i) => [
    `      - name: ${s.name}`,
    `        homeMDB: "${s.homeMDB}"       # the mailbox database of the users this server holds`,
    ...body
      .filter((l) => i === 0 || !l.trimStart().startsWith('probeMailbox:'))
      .map((l) => `  ${l.replace(/^( {6}port: )\d+/, `$1${s.port}`)}`),
  ]);
  return [
    ...lines.slice(0, head),
    "    mailStores:                     # every mail server; a user's is found from its homeMDB",
    ...entries,
    ...lines.slice(end),
  ].join('\n');
}
