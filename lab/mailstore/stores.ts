// The two lab mail stores as fixed facts (lab/README.md): ports, storage format,
// hierarchy separator, personal-namespace prefix and the special-use folder names.
// Store A looks like a Cyrus/Exchange-era server (Maildir++, `.`, `INBOX.` prefix,
// Exchange folder names); store B like a modern Dovecot (sdbox, `/`, no prefix), so
// copying by special-use flag and separator translation are both exercised.
import { join } from 'node:path';
import type { ForestId } from '../forests.ts';

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
 * (lab/mailstore/adStores.ts). No corpus: a mailbox is created on first login.
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

/** Home folder of one user (Dovecot's `home`), named by the login (userPrincipalName). */
export function userHome(labDir: string, id: ForestId, upn: string): string {
  return join(storePaths(labDir, id).mailRoot, upn.toLowerCase());
}
