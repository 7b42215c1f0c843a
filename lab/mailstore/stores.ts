// The two lab mail stores as fixed facts (lab/README.md): ports, storage format,
// hierarchy separator, personal-namespace prefix and the special-use folder names.
// Store A looks like a Cyrus/Exchange-era server (Maildir++, `.`, `INBOX.` prefix,
// Exchange folder names); store B like a modern Dovecot (sdbox, `/`, no prefix), so
// copying by special-use flag and separator translation are both exercised.
import { join } from 'node:path';
import { type ForestId, mailboxStoreDnOf } from '../forests.ts';

export type SpecialUse = '\\Sent' | '\\Drafts' | '\\Trash' | '\\Junk' | '\\Archive';

export interface StoreDef {
  id: ForestId;
  /** Process/instance name, also the `name` reported to lab.json. */
  name: string;
  /**
   * Folder key under the lab dir (`dovecot/<key>/`, `mail-<key>/`) and Dovecot's
   * instance_name suffix: `a`/`b`, or `a-ad`/`b-ad` for the stores of the Samba DCs.
   */
  key: string;
  host: '127.0.0.1';
  imapPort: number;
  imapsPort: number;
  /** LMTP port Postfix delivers to (loopback only). */
  lmtpPort: number;
  /** POP3 with STLS offered, and POP3 over implicit TLS; absent: no POP3 (only store A has it). */
  pop3Port?: number | undefined;
  pop3sPort?: number | undefined;
  /**
   * Plaintext authentication before TLS (Dovecot's disable_plaintext_auth = no). The lab
   * stores allow it (absent = true): the migration engine and the audit tests need it. A
   * store made with `false` shows what the audit passes (test/audit/pop3.test.ts).
   */
  plaintextAuth?: boolean | undefined;
  format: 'maildir' | 'sdbox';
  separator: '.' | '/';
  /** Personal namespace prefix as clients see it (`INBOX.` or empty). */
  prefix: string;
  /** Folder name (below the prefix) for each special use. */
  specialUse: Record<SpecialUse, string>;
  /** Extra default folders an Exchange-like store has (Calendar, Contacts …). */
  extraFolders: readonly string[];
  /**
   * Serve only the users whose homeMDB is this DN (passdb, userdb and iterate filters),
   * as each server of an organization with several does (`lab up --stores N`, N ≥ 2).
   * Absent: every mailbox-enabled user (`homeMDB=*`), as the one store of a forest.
   */
  homeMDB?: string | undefined;
}

export const STORES: Record<ForestId, StoreDef> = {
  a: {
    id: 'a',
    name: 'dovecot-a',
    key: 'a',
    host: '127.0.0.1',
    imapPort: 1431,
    imapsPort: 9931,
    lmtpPort: 2401,
    // The audit's POP3 checks (STLS, USER/SASL before TLS, pop3s certificate) have a real server.
    pop3Port: 1101,
    pop3sPort: 9951,
    format: 'maildir',
    separator: '.',
    prefix: 'INBOX.',
    specialUse: {
      '\\Sent': 'Sent Items',
      '\\Drafts': 'Drafts',
      '\\Trash': 'Deleted Items',
      '\\Junk': 'Junk E-mail',
      '\\Archive': 'Archive',
    },
    extraFolders: ['Calendar', 'Contacts', 'Tasks', 'Notes'],
  },
  b: {
    id: 'b',
    name: 'dovecot-b',
    key: 'b',
    host: '127.0.0.1',
    imapPort: 1432,
    imapsPort: 9932,
    lmtpPort: 2402,
    format: 'sdbox',
    separator: '/',
    prefix: '',
    specialUse: {
      '\\Sent': 'Sent',
      '\\Drafts': 'Drafts',
      '\\Trash': 'Trash',
      '\\Junk': 'Junk',
      '\\Archive': 'Archive',
    },
    extraFolders: [],
  },
};

/**
 * The stores of `lab up --directory samba`: the same mailbox layout as the forest's
 * store, their own ports and folders, users authenticated by the forest's Samba DC
 * (lab/mailstore/adStores.ts), with the same generated corpus (corpus-a-ad.json,
 * corpus-b-ad.json).
 */
export const AD_STORES: Record<ForestId, StoreDef> = {
  a: {
    ...STORES.a,
    name: 'dovecot-a-ad',
    key: 'a-ad',
    imapPort: 1441,
    imapsPort: 9941,
    lmtpPort: 2411,
    pop3Port: undefined,
    pop3sPort: undefined,
  },
  b: { ...STORES.b, name: 'dovecot-b-ad', key: 'b-ad', imapPort: 1442, imapsPort: 9942, lmtpPort: 2412 },
};

/** `lab up --stores N`: N Dovecot servers per forest, N from 1 to MAX_STORES. */
export const MAX_STORES = 4;

/**
 * Ports of stores 2…4 of each forest (store 1 is STORES[x]), clear of every port the lab
 * and the tests use (IMAP 143x/144x/1451, IMAPS 993x/994x/995x/9961, LMTP 240x/241x/2421,
 * POP3 110x). Last digit 1 = forest A, 2 = forest B:
 *   store 2: IMAP 1461/1462, IMAPS 9971/9972, LMTP 2431/2432
 *   store 3: IMAP 1471/1472, IMAPS 9981/9982, LMTP 2441/2442
 *   store 4: IMAP 1481/1482, IMAPS 9991/9992, LMTP 2451/2452
 */
export const EXTRA_STORE_PORTS: Record<ForestId, readonly { imapPort: number; imapsPort: number; lmtpPort: number }[]> = {
  a: [
    { imapPort: 1461, imapsPort: 9971, lmtpPort: 2431 },
    { imapPort: 1471, imapsPort: 9981, lmtpPort: 2441 },
    { imapPort: 1481, imapsPort: 9991, lmtpPort: 2451 },
  ],
  b: [
    { imapPort: 1462, imapsPort: 9972, lmtpPort: 2432 },
    { imapPort: 1472, imapsPort: 9982, lmtpPort: 2442 },
    { imapPort: 1482, imapsPort: 9992, lmtpPort: 2452 },
  ],
};

/** Checks a store count (`--stores`): a whole number from 1 to MAX_STORES. */
export function validStoreCount(n: number): boolean {
  return Number.isInteger(n) && n >= 1 && n <= MAX_STORES;
}

/**
 * Mail store `k` (1-based) of a forest whose lab runs `count` stores per forest. Store 1
 * is STORES[id] (name dovecot-a, key a, the same ports and folders); with count ≥ 2 it
 * serves only its own homeMDB. Store k ≥ 2 (dovecot-a2, key a2, folders dovecot/a2/ and
 * mail-a2/) has the layout of the forest's store 1 (format, separator, prefix,
 * special-use names), the same master user and ACL plugin, no POP3, its own ports and
 * homeMDB (mailboxStoreDnOf).
 */
export function forestStore(id: ForestId, k: number, count: number): StoreDef {
  if (!validStoreCount(k)) throw new RangeError(`mail store number must be 1 to ${MAX_STORES}, got ${k}`);
  const base = STORES[id];
  if (k === 1) return count > 1 ? { ...base, homeMDB: mailboxStoreDnOf(id, 1) } : base;
  const ports = EXTRA_STORE_PORTS[id][k - 2];
  if (!ports) throw new RangeError(`no ports for mail store ${k} of forest ${id}`);
  return {
    ...base,
    name: `${base.name}${k}`,
    key: `${base.key}${k}`,
    ...ports,
    pop3Port: undefined,
    pop3sPort: undefined,
    homeMDB: mailboxStoreDnOf(id, k),
  };
}

/** The `count` mail stores of a forest, store 1 first. */
export function forestStores(id: ForestId, count: number): StoreDef[] {
  return Array.from({ length: count }, (_, i) => forestStore(id, i + 1, count));
}

/**
 * True when this store holds the person's mailbox: mailbox-enabled and, on one of several
 * stores, with the store's homeMDB (distinguishedNameMatch ignores case, so do we).
 */
export function servesPerson(store: StoreDef, p: { hasMailbox: boolean; homeMDB: string | null }): boolean {
  return p.hasMailbox && (store.homeMDB === undefined || p.homeMDB?.toLowerCase() === store.homeMDB.toLowerCase());
}

/** One forest mail store as lab.json lists it (`forests.<x>.mailStores`). */
export interface ForestMailStore {
  /** Process name: dovecot-a, dovecot-a2 … */
  name: string;
  /** Folder key: dovecot/<key>/, mail-<key>/. */
  key: string;
  host: '127.0.0.1';
  imapPort: number;
  imapsPort: number;
  lmtpPort: number;
  /** The homeMDB of the users this store serves. */
  homeMDB: string;
  /** `.lab/mail-<key>/`: one home per user. */
  mailRoot: string;
}

/** What lab.json says of a forest's `count` stores (always a list, one entry for one store). */
export function forestMailStores(labDir: string, id: ForestId, count: number): ForestMailStore[] {
  return forestStores(id, count).map((s, i) => ({
    name: s.name,
    key: s.key,
    host: s.host,
    imapPort: s.imapPort,
    imapsPort: s.imapsPort,
    lmtpPort: s.lmtpPort,
    homeMDB: s.homeMDB ?? mailboxStoreDnOf(id, i + 1),
    mailRoot: storePaths(labDir, s.key).mailRoot,
  }));
}

/** The ports a store's clients connect to (IMAP, IMAPS, and POP3/POP3S where it has them), labelled. */
export function clientPorts(store: StoreDef): { imap: number; imaps: number; pop3?: number; pop3s?: number } {
  return {
    imap: store.imapPort,
    imaps: store.imapsPort,
    ...(store.pop3Port !== undefined ? { pop3: store.pop3Port } : {}),
    ...(store.pop3sPort !== undefined ? { pop3s: store.pop3sPort } : {}),
  };
}

export interface StorePaths {
  /** `.lab/dovecot/<id>/`: config, logs, state. */
  dir: string;
  conf: string;
  ldapConf: string;
  masterUsers: string;
  /** Dovecot's base_dir (sockets, master.pid). Kept short: unix socket paths max 108 bytes. */
  baseDir: string;
  stateDir: string;
  logFile: string;
  /** Where the detached `dovecot -F` writes stdout/stderr (start-up failures). */
  consoleLog: string;
  /** `.lab/mail-<id>/`: one home per user, named by userPrincipalName. */
  mailRoot: string;
  /** acl_shared_dict file: which users shared what with whom. */
  sharedDict: string;
}

/** `id` is a forest (its OpenLDAP store) or any StoreDef `key` (`a-ad` …). */
export function storePaths(labDir: string, id: ForestId | string): StorePaths {
  const dir = join(labDir, 'dovecot', id);
  return {
    dir,
    conf: join(dir, 'dovecot.conf'),
    ldapConf: join(dir, 'dovecot-ldap.conf.ext'),
    masterUsers: join(dir, 'master-users'),
    baseDir: join(dir, 'run'),
    stateDir: join(dir, 'state'),
    logFile: join(dir, 'dovecot.log'),
    consoleLog: join(dir, 'console.log'),
    mailRoot: join(labDir, `mail-${id}`),
    sharedDict: join(labDir, `mail-${id}`, 'shared-mailboxes.db'),
  };
}

/** Home folder of one user (Dovecot's `home`), named by the login (userPrincipalName); `id` as in storePaths. */
export function userHome(labDir: string, id: ForestId | string, upn: string): string {
  return join(storePaths(labDir, id).mailRoot, upn.toLowerCase());
}
