// The inventory of one organization before a move: what its directory holds (objects per
// class, mailbox-enabled and mail-enabled users) and what its mail store holds (mailboxes,
// folders, messages, bytes). It is the first thing an administrator hands to management,
// and the input of capacity projection.
import type { ImapFlow } from 'imapflow';
import pLimit from 'p-limit';
import type { LoadedProject } from '../config/load.ts';
import { type OrganizationConfig, type OrgMailStore, orgMailStores, storeOfUser } from '../config/organization.ts';
import { connectDirectory } from '../directory/connection.ts';
import { toDirectoryError } from '../directory/errors.ts';
import { openMailSession } from '../mail/connection.ts';
import type { Logger } from '../util/logger.ts';

export interface MailboxInventory {
  login: string;
  /** The mail server that holds it (from its homeMDB / msExchHomeServerName); null: none matches. */
  server: string | null;
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
  /** The same totals per mail server (the estate's unit of capacity); `(none)`: no server matches. */
  servers: { server: string; mailboxes: number; folders: number; messages: number; bytes: number; unreadable: number }[];
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
  const { objectsByClass, mailEnabledUsers, users } = await censusDirectory(project, id, org);
  const stores = orgMailStores(org, id);
  const limit = pLimit(opts.concurrency ?? 4);
  let done = 0;
  const mailboxes = await Promise.all(
    users.map((u) =>
      limit(async () => {
        const st = storeOfUser(stores, u);
        const m: MailboxInventory = st
          ? await inventoryMailbox(project, st, u.login, opts.logger)
          : {
              login: u.login,
              server: null,
              folders: 0,
              messages: 0,
              bytes: 0,
              error: `homeMDB "${u.homeMDB ?? ''}"${u.homeServerName ? ` (msExchHomeServerName "${u.homeServerName}")` : ''} matches no mail server of ${id} (${stores.map((s) => s.name).join(', ')})`,
            };
        opts.onMailbox?.(++done, users.length, m);
        return m;
      }),
    ),
  );
  const sum = (ms: MailboxInventory[]) => {
    const t = { mailboxes: ms.length, folders: 0, messages: 0, bytes: 0, unreadable: 0 };
    for (const m of ms) {
      t.folders += m.folders;
      t.messages += m.messages;
      t.bytes += m.bytes;
      if (m.error) t.unreadable++;
    }
    return t;
  };
  const names = [...new Set(mailboxes.map((m) => m.server ?? '(none)'))].sort();
  const servers = names.map((server) => ({ server, ...sum(mailboxes.filter((m) => (m.server ?? '(none)') === server)) }));
  return { organization: id, displayName: org.displayName, objectsByClass, mailEnabledUsers, mailboxes, totals: sum(mailboxes), servers };
}

async function censusDirectory(project: LoadedProject, id: string, org: OrganizationConfig) {
  const dir = org.directory;
  const conn = await connectDirectory(dir, { baseDir: project.baseDir, keyPath: `organizations.${id}.directory` });
  const objectsByClass: Record<string, number> = {};
  let usersWithAddress = 0;
  const users: { login: string; homeMDB?: string; homeServerName?: string }[] = [];
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
      attributes: [dir.loginAttribute, 'homeMDB', 'msExchHomeServerName'],
      paged: { pageSize: 500 },
    });
    const one = (v: unknown): string | undefined => (typeof v === 'string' && v ? v : Array.isArray(v) && v[0] ? String(v[0]) : undefined);
    for await (const page of mailboxPages) {
      for (const entry of page.searchEntries) {
        const login = one(entry[dir.loginAttribute]);
        if (login) users.push({ login, homeMDB: one(entry.homeMDB), homeServerName: one(entry.msExchHomeServerName) });
      }
    }
  } catch (err) {
    throw toDirectoryError(err, 'take the directory census', `${dir.url} ${dir.baseDn}`);
  } finally {
    await conn.close();
  }
  // Mail-enabled = has an address but no mailbox (the state of a user after cutover).
  return {
    objectsByClass,
    mailEnabledUsers: Math.max(0, usersWithAddress - users.length),
    users: users.sort((x, y) => (x.login < y.login ? -1 : 1)),
  };
}

export async function inventoryMailbox(
  project: LoadedProject,
  store: OrgMailStore,
  login: string,
  logger?: Logger,
): Promise<MailboxInventory> {
  const result: MailboxInventory = { login, server: store.name, folders: 0, messages: 0, bytes: 0 };
  let client: ImapFlow | undefined;
  try {
    client = await openMailSession(store, login, {
      baseDir: project.baseDir,
      keyPath: store.keyPath,
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
