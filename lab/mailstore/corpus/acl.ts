// Delegate access between forest-A users (seed Myth 3: moving a manager without the
// assistant breaks delegation): the assistant may read and file the manager's INBOX and
// Calendar, a colleague may read the Calendar. Written with `doveadm acl set`, which
// also updates acl_shared_dict so the delegate sees `shared.<manager>.…`.
import type { SamplePerson } from '../../org/people.ts';
import { doveadm } from '../dovecot.ts';
import type { StoreDef, StorePaths } from '../stores.ts';

export interface Delegation {
  owner: string;
  /** Folder below the personal prefix ('INBOX' or e.g. 'Calendar'). */
  folder: string;
  grantee: string;
  /** doveadm right names (lookup, read, write, write-seen, insert …). */
  rights: string[];
  /** The same rights as IMAP ACL letters (RFC 4314), as GETACL shows them. */
  imapRights: string;
}

const ASSISTANT = ['lookup', 'read', 'write', 'write-seen', 'insert'];
const READER = ['lookup', 'read'];

/** Manager = user 0, assistant = user 3, calendar reader = user 5 (when they have mailboxes). */
export function delegations(firstUsers: readonly SamplePerson[]): Delegation[] {
  const at = (i: number) => firstUsers.find((p) => p.index === i && p.hasMailbox);
  const manager = at(0);
  const assistant = at(3);
  const reader = at(5);
  const out: Delegation[] = [];
  if (manager && assistant) {
    for (const folder of ['INBOX', 'Calendar'])
      out.push({ owner: manager.upn, folder, grantee: assistant.upn, rights: ASSISTANT, imapRights: 'lrwsi' });
  }
  if (manager && reader) out.push({ owner: manager.upn, folder: 'Calendar', grantee: reader.upn, rights: READER, imapRights: 'lr' });
  return out;
}

export async function writeDelegations(paths: StorePaths, store: StoreDef, list: readonly Delegation[]): Promise<void> {
  for (const d of list) {
    const mailbox = d.folder === 'INBOX' ? 'INBOX' : `${store.prefix}${d.folder}`;
    await doveadm(paths, ['acl', 'set', '-u', d.owner, mailbox, `user=${d.grantee}`, ...d.rights], {
      what: `dovecot store ${store.id.toUpperCase()}: doveadm acl set`,
    });
  }
}
