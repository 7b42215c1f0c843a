// The inventory of one organization before a move: what its directory holds (objects per
// class, mailbox-enabled and mail-enabled users) and what its mail store holds (mailboxes,
// folders, messages, bytes). It is the first thing an administrator hands to management,
// and the input of capacity projection.
import type { ImapFlow } from 'imapflow';
import pLimit from 'p-limit';
import type { LoadedProject } from '../config/load.ts';
import type { OrganizationConfig } from '../config/organization.ts';
import { connectDirectory } from '../directory/connection.ts';
import { toDirectoryError } from '../directory/errors.ts';
import { openMailSession } from '../mail/connection.ts';
import type { Logger } from '../util/logger.ts';

export interface MailboxInventory {
  login: string;
  folders: number;
  messages: number;
  bytes: number;
  error?: string;
}

export interface OrganizationInventory {
  organization: string;
  displayName: string;
  /** Directory objects by their most specific class (user, group, contact, organizationalUnit, other). */
  objectsByClass: Record<string, number>;
  mailEnabledUsers: number;
  mailboxes: MailboxInventory[];
  totals: { mailboxes: number; folders: number; messages: number; bytes: number; unreadable: number };
}

const CLASS_ORDER = ['user', 'group', 'contact', 'organizationalUnit'];

export interface InventoryOptions {
  logger?: Logger;
  /** Mail sessions opened at once. Default 4. */
  concurrency?: number;
  /** Called after each mailbox, for progress output. */
  onMailbox?: (done: number, total: number, mailbox: MailboxInventory) => void;
}

export async function inventoryOrganization(
  project: LoadedProject,
  id: string,
  opts: InventoryOptions = {},
): Promise<OrganizationInventory> {
  const org = project.config.organizations[id];
  if (!org) throw new Error(`unknown organization ${id}`);
  const { objectsByClass, mailEnabledUsers, logins } = await censusDirectory(project, id, org);
  const limit = pLimit(opts.concurrency ?? 4);
  let done = 0;
  const mailboxes = await Promise.all(
    logins.map((login) =>
      limit(async () => {
        const m = await inventoryMailbox(project, id, org, login, opts.logger);
        opts.onMailbox?.(++done, logins.length, m);
        return m;
      }),
    ),
  );
  const totals = { mailboxes: mailboxes.length, folders: 0, messages: 0, bytes: 0, unreadable: 0 };
  for (const m of mailboxes) {
    totals.folders += m.folders;
    totals.messages += m.messages;
    totals.bytes += m.bytes;
    if (m.error) totals.unreadable++;
  }
  return { organization: id, displayName: org.displayName, objectsByClass, mailEnabledUsers, mailboxes, totals };
}

async function censusDirectory(project: LoadedProject, id: string, org: OrganizationConfig) {
  const dir = org.directory;
  const conn = await connectDirectory(dir, { baseDir: project.baseDir, keyPath: `organizations.${id}.directory` });
  const objectsByClass: Record<string, number> = {};
  let usersWithAddress = 0;
  const logins: string[] = [];
  try {
    const pages = conn.client.searchPaginated(dir.baseDn, {
      scope: 'sub',
      filter: '(objectClass=*)',
      attributes: ['objectClass', 'mail', 'targetAddress', dir.loginAttribute],
      paged: { pageSize: 500 },
    });
    for await (const page of pages) {
      for (const entry of page.searchEntries) {
        const classes = ([] as unknown[]).concat(entry.objectClass ?? []).map(String);
        const cls = CLASS_ORDER.find((c) => classes.some((x) => x.toLowerCase() === c.toLowerCase())) ?? 'other';
        objectsByClass[cls] = (objectsByClass[cls] ?? 0) + 1;
        if (cls === 'user' && (present(entry.mail) || present(entry.targetAddress))) usersWithAddress++;
      }
    }
    const mailboxPages = conn.client.searchPaginated(dir.baseDn, {
      scope: 'sub',
      filter: dir.mailboxFilter,
      attributes: [dir.loginAttribute],
      paged: { pageSize: 500 },
    });
    for await (const page of mailboxPages) {
      for (const entry of page.searchEntries) {
        const login = entry[dir.loginAttribute];
        if (typeof login === 'string' && login) logins.push(login);
      }
    }
  } catch (err) {
    throw toDirectoryError(err, 'take the directory census', `${dir.url} ${dir.baseDn}`);
  } finally {
    await conn.close();
  }
  // Mail-enabled = has an address but no mailbox (the state of a user after cutover).
  const mailEnabledUsers = Math.max(0, usersWithAddress - logins.length);
  return { objectsByClass, mailEnabledUsers, logins: logins.sort() };
}

export async function inventoryMailbox(
  project: LoadedProject,
  id: string,
  org: OrganizationConfig,
  login: string,
  logger?: Logger,
): Promise<MailboxInventory> {
  const result: MailboxInventory = { login, folders: 0, messages: 0, bytes: 0 };
  let client: ImapFlow | undefined;
  try {
    client = await openMailSession(org.mailStore, login, {
      baseDir: project.baseDir,
      keyPath: `organizations.${id}.mailStore`,
      ...(logger ? { logger } : {}),
    });
    const folders = await client.list({ statusQuery: { messages: true, size: true } });
    for (const f of folders) {
      if (f.flags.has('\\Noselect') || f.flags.has('\\NonExistent')) continue;
      result.folders++;
      const messages = f.status?.messages ?? 0;
      result.messages += messages;
      if (typeof f.status?.size === 'number') result.bytes += f.status.size;
      else if (messages > 0) result.bytes += await folderBytes(client, f.path);
    }
  } catch (err) {
    result.error = (err as Error).message;
  } finally {
    await client?.logout().catch(() => client?.close());
  }
  return result;
}

/** ldapts returns a requested attribute the entry lacks as an empty array. */
function present(v: unknown): boolean {
  return Array.isArray(v) ? v.length > 0 : v !== undefined && v !== '';
}

/** Sum of RFC822.SIZE when the server has no STATUS=SIZE. */
async function folderBytes(client: ImapFlow, path: string): Promise<number> {
  const lock = await client.getMailboxLock(path, { readOnly: true });
  try {
    let bytes = 0;
    for await (const msg of client.fetch('1:*', { size: true })) bytes += msg.size ?? 0;
    return bytes;
  } finally {
    lock.release();
  }
}
