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
  host: '127.0.0.1';
  imapPort: number;
  imapsPort: number;
  /** LMTP port Postfix delivers to (loopback only). */
  lmtpPort: number;
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
    host: '127.0.0.1',
    imapPort: 1431,
    imapsPort: 9931,
    lmtpPort: 2401,
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

export function storePaths(labDir: string, id: ForestId): StorePaths {
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
