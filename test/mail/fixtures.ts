// Live-test fixtures for the copy engine: dedicated mailbox users in each forest (so
// tests never disturb the sample mailboxes or each other), a project file on the lab,
// fast source population (MULTIAPPEND), and readers that look at what is really on a
// server (every message hashed), independent of the copy state.
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ImapFlow } from 'imapflow';
import { Client } from 'ldapts';
import type { LabInfo } from '../../lab/lab.ts';
import { defaultMailCopyOptions, type MailCopyOptions } from '../../src/config/mail.ts';
import { orgMailStores } from '../../src/config/organization.ts';
import { openMailSession } from '../../src/mail/connection.ts';
import { projectCopyEndpoints } from '../../src/mail/endpoint.ts';
import { createAppender } from '../../src/mail/rawAppend.ts';
import type { CopyMailboxInput } from '../../src/mail/types.ts';
import { unbindWire } from '../../src/mail/wire.ts';
import type { StateStore } from '../../src/state/store.ts';
import { ensureLab, labSecret } from '../helpers/lab.ts';
import { labProject, type TestProject } from '../helpers/project.ts';
import { openTestStore } from '../helpers/state.ts';

const run = promisify(execFile);

export interface MailLab {
  info: LabInfo;
  project: TestProject;
}

let pending: Promise<MailLab> | undefined;
export function mailLab(): Promise<MailLab> {
  pending ??= ensureLab().then((info) => ({ info, project: labProject(info.labDir) }));
  return pending;
}

/** Creates a mailbox-enabled user (homeMDB set) in forest a or b; returns the login (UPN). */
export async function createMailboxUser(lab: MailLab, org: 'a' | 'b', tag: string): Promise<string> {
  const f = lab.info.forests[org];
  const sam = `cft-${tag}-${randomBytes(3).toString('hex')}`;
  const upn = `${sam}@${f.mailDomain}`;
  const client = new Client({ url: f.ldapUrl, timeout: 10_000, connectTimeout: 10_000 });
  try {
    await client.bind(f.adminDn, labSecret(lab.info, `forest-${org}-admin.pw`));
    await client.add(`cn=${sam},${f.sitesDn}`, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user', 'securityPrincipal', 'crossforestMailRecipient'],
      cn: sam,
      sn: tag,
      sAMAccountName: sam,
      userPrincipalName: upn,
      mail: upn,
      homeMDB: f.mailboxStoreDn,
      userPassword: randomBytes(12).toString('hex'),
    });
  } finally {
    await client.unbind();
  }
  created.push({ org, sam, upn });
  return upn;
}

const created: { org: 'a' | 'b'; sam: string; upn: string }[] = [];

/**
 * Removes the users this process created (directory entry and mail home), so the lab's
 * directory keeps only its sample organization for the other capabilities' tests.
 */
export async function removeCreatedUsers(lab: MailLab): Promise<void> {
  for (const org of ['a', 'b'] as const) {
    const mine = created.filter((u) => u.org === org);
    if (!mine.length) continue;
    await removeUsers(
      lab,
      org,
      mine.map((u) => u.sam),
    );
  }
  created.length = 0;
}

/** Deletes users by sAMAccountName (only names this code creates: cft-*, cfb-*, cfbench-*). */
export async function removeUsers(lab: MailLab, org: 'a' | 'b', sams: string[]): Promise<void> {
  const f = lab.info.forests[org];
  const client = new Client({ url: f.ldapUrl, timeout: 10_000, connectTimeout: 10_000 });
  try {
    await client.bind(f.adminDn, labSecret(lab.info, `forest-${org}-admin.pw`));
    for (const sam of sams) {
      if (!/^(cft|cfb|cfbench|cftest)-[a-z0-9-]+$/.test(sam)) throw new Error(`refusing to remove ${sam}: not a copy-engine test user`);
      await client.del(`cn=${sam},${f.sitesDn}`).catch(() => {});
      rmSync(join(lab.info.labDir, `mail-${org}`, `${sam}@${f.mailDomain}`), { recursive: true, force: true });
    }
  } finally {
    await client.unbind();
  }
}

/** A master-user session on the organization's first mail server (or the one named). */
export function session(lab: MailLab, org: 'a' | 'b', user: string, server?: string): Promise<ImapFlow> {
  const stores = orgMailStores(lab.project.config.organizations[org]!, org);
  return openMailSession(stores.find((s) => s.name === server) ?? stores[0]!, user, {
    baseDir: lab.project.baseDir,
    keyPath: `organizations.${org}.mailStore`,
  });
}

export interface TestMessage {
  raw: Buffer;
  flags?: string[];
  date?: Date;
}

let serial = 0;
/** A small RFC 5322 message; `body` repeated to reach roughly `size` bytes. */
export function message(o: { subject?: string; messageId?: string | null; size?: number; from?: string } = {}): Buffer {
  serial++;
  const id = o.messageId === undefined ? `<t${serial}.${randomBytes(6).toString('hex')}@test.example>` : o.messageId;
  const head = [
    `From: ${o.from ?? 'Tester <tester@test.example>'}`,
    'To: someone@forest-a.test',
    `Subject: ${o.subject ?? `Test ${serial}`}`,
    'Date: Mon, 02 Mar 2020 10:00:00 +0100',
    ...(id ? [`Message-ID: ${id}`] : []),
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=utf-8',
    '',
  ];
  let body = `Hello ${serial} ${randomBytes(8).toString('hex')}\r\n`;
  while (o.size && head.join('\r\n').length + body.length < o.size) body += 'The quick brown fox jumps over the lazy dog. Ünïcödé ✓\r\n';
  return Buffer.from(`${head.join('\r\n')}\r\n${body}`);
}

/** Appends messages to a folder (created if missing), 50 per MULTIAPPEND. */
export async function populate(
  lab: MailLab,
  org: 'a' | 'b',
  user: string,
  folder: string,
  messages: TestMessage[],
  server?: string,
): Promise<void> {
  const c = await session(lab, org, user, server);
  if (folder !== 'INBOX') await c.mailboxCreate(folder).catch(() => {});
  const wire = unbindWire(c, org, 60_000);
  try {
    const ap = createAppender(wire, folder, { depth: 4, batch: 50 });
    const answers: Promise<unknown>[] = [];
    for (const m of messages) {
      const { answer } = await ap.append(m.flags ?? [], m.date ?? new Date('2021-05-04T03:02:01Z'), m.raw.length, (send) => send(m.raw));
      answers.push(
        answer.then((r) => {
          if (!r.ok) throw new Error(`populate ${folder}: ${r.text}`);
        }),
      );
    }
    await ap.drain();
    await Promise.all(answers);
  } finally {
    wire.close();
  }
}

export interface SeenMessage {
  uid: number;
  sha: string;
  flags: string;
  date: number;
  size: number;
}

/** Every message of a folder as it is on the server (full bytes hashed), by UID. */
export async function readFolder(c: ImapFlow, folder: string): Promise<SeenMessage[]> {
  await c.mailboxOpen(folder, { readOnly: true });
  const out: SeenMessage[] = [];
  for await (const m of c.fetch('1:*', { uid: true, flags: true, internalDate: true, source: true }, { uid: true })) {
    out.push({
      uid: m.uid,
      sha: createHash('sha256')
        .update(m.source ?? Buffer.alloc(0))
        .digest('hex'),
      flags: [...(m.flags ?? [])]
        .filter((f) => f !== '\\Recent')
        .sort()
        .join(' '),
      date: m.internalDate ? new Date(m.internalDate).getTime() : 0,
      size: m.source?.length ?? 0,
    });
  }
  return out;
}

/** What a folder holds, order-free: "sha|flags|date" sorted, for exact comparison. */
export const contentKey = (ms: SeenMessage[], withFlags = true): string[] =>
  ms.map((m) => `${m.sha}|${withFlags ? m.flags : ''}|${m.date}`).sort();

export async function folderPaths(c: ImapFlow): Promise<string[]> {
  return (await c.list()).filter((l) => !l.flags.has('\\Noselect') && !l.flags.has('\\NonExistent')).map((l) => l.path);
}

export function freshStore(): Promise<StateStore> {
  return openTestStore(mkdtempSync(join(tmpdir(), 'cf-mail-')), 'state.sqlite');
}

/** The input of copyMailbox from a → b for two users, with options overridden. */
export function copyInput(
  lab: MailLab,
  store: StateStore,
  sourceUser: string,
  targetUser: string,
  options: Partial<MailCopyOptions> = {},
): CopyMailboxInput {
  const ep = projectCopyEndpoints(lab.project, sourceUser, targetUser, { from: 'a', to: 'b' });
  return {
    ...ep,
    options: { ...defaultMailCopyOptions({ retryIntervalMs: 200 }), ...options },
    sourceMailbox: sourceUser,
    targetMailbox: targetUser,
    store,
  };
}

/** Kicks a user's IMAP connections on a lab store (what a server restart does to a client). */
export async function kick(lab: MailLab, org: 'a' | 'b', user: string): Promise<void> {
  const conf = (lab.info.mailStores.find((s) => s.forest === org)?.details as { conf?: string } | undefined)?.conf;
  if (!conf) throw new Error(`no Dovecot conf for store ${org} in lab.json`);
  await run('doveadm', ['-c', conf, 'kick', user]);
}
