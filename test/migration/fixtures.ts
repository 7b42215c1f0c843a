// Live-test fixtures for migration batches: dedicated forest-A users with mailboxes
// (sAMAccountName cfm-*, so the sample users stay untouched), a GAL-sync-like contact in
// forest B, a project file on the lab with its own state store and reports folder, and
// clean-up of everything created (both forests, both mail homes).
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Client } from 'ldapts';
import nodemailer from 'nodemailer';
import type { LabInfo } from '../../lab/lab.ts';
import { orgMailStores } from '../../src/config/organization.ts';
import { setAcl } from '../../src/mail/acl.ts';
import { type MigrationSetup, migrationSetup } from '../../src/migration/setup.ts';
import { openProjectState, type StateStore } from '../../src/state/store.ts';
import { ensureLab, labSecret } from '../helpers/lab.ts';
import { labProject, type TestProject } from '../helpers/project.ts';
import { onWire } from '../helpers/wire.ts';
import { session as mailSession, message, populate } from '../mail/fixtures.ts';

export const run = promisify(execFile);

export interface MigLab {
  info: LabInfo;
  project: TestProject;
  setup: MigrationSetup;
  store: StateStore;
  users: { sam: string; upn: string; mail: string; dn: string; password: string }[];
}

/** A fresh project (own state store, own reports folder) on the lab, with a fast retry interval. */
export async function migLab(edit: (t: string) => string = (t) => t): Promise<MigLab> {
  const info = await ensureLab();
  const project = labProject(info.labDir, (t) =>
    edit(t.replace('defaults: { retryIntervalSeconds: 5,', 'defaults: { retryIntervalSeconds: 0.5,')),
  );
  return { info, project, setup: migrationSetup(project), store: await openProjectState(project), users: [] };
}

export async function admin<T>(lab: MigLab, org: 'a' | 'b', fn: (c: Client) => Promise<T>): Promise<T> {
  const f = lab.info.forests[org];
  const c = new Client({ url: f.ldapUrl, timeout: 10_000, connectTimeout: 10_000 });
  try {
    await c.bind(f.adminDn, labSecret(lab.info, `forest-${org}-admin.pw`));
    return await fn(c);
  } finally {
    await c.unbind().catch(() => {});
  }
}

/** A forest-A user with a mailbox (homeMDB), addresses, legacyExchangeDN, and `messages` in INBOX (+2 in a folder). */
export async function sourceUser(
  lab: MigLab,
  tag: string,
  messages = 5,
  opts: { server?: string; homeMDB?: string } = {},
): Promise<MigLab['users'][number]> {
  const f = lab.info.forests.a;
  // On the named mail server of the project (its homeMDB), else the forest's first one.
  const server = opts.server ? orgMailStores(lab.project.config.organizations.a!, 'a').find((s) => s.name === opts.server) : undefined;
  if (opts.server && !server?.homeMDB) throw new Error(`no mail server ${opts.server} with a homeMDB in the test project`);
  const sam = `cfm-${tag}-${randomBytes(3).toString('hex')}`;
  const upn = `${sam}@${f.mailDomain}`;
  const mail = `${sam}.mail@${f.mailDomain}`;
  const dn = `cn=${sam},${f.sitesDn}`;
  const password = randomBytes(12).toString('hex');
  await admin(lab, 'a', (c) =>
    c.add(dn, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user', 'securityPrincipal', 'crossforestMailRecipient'],
      cn: sam,
      sn: tag,
      givenName: 'Test',
      displayName: `Test ${tag}`,
      sAMAccountName: sam,
      userPrincipalName: upn,
      mail,
      proxyAddresses: [`SMTP:${mail}`, `smtp:${upn}`, `X400:c=US;a= ;p=ForestA;o=Exchange;s=${sam}`],
      legacyExchangeDN: `/o=ForestA/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=${sam}`,
      mailNickname: sam,
      homeMDB: opts.homeMDB ?? server?.homeMDB ?? f.mailboxStoreDn,
      userPassword: password,
    }),
  );
  const u = { sam, upn, mail, dn, password };
  lab.users.push(u);
  if (messages > 0) {
    await populate(
      lab as never,
      'a',
      upn,
      'INBOX',
      Array.from({ length: messages }, (_, i) => ({ raw: message({ subject: `${tag} ${i}` }), flags: i % 2 ? ['\\Seen'] : [] })),
      opts.server,
    );
    await populate(
      lab as never,
      'a',
      upn,
      'INBOX.Projects',
      [{ raw: message({ subject: `${tag} project` }), flags: ['\\Flagged'] }, { raw: message({ subject: `${tag} project 2` }) }],
      opts.server,
    );
  }
  return u;
}

/** A contact in forest B's ou=GAL Contacts, as GAL sync provisions it for a source user. */
export async function galContact(lab: MigLab, u: MigLab['users'][number]): Promise<string> {
  const f = lab.info.forests.b;
  const dn = `cn=${u.sam},${f.galContactsDn}`;
  await admin(lab, 'b', (c) =>
    c.add(dn, {
      objectClass: ['top', 'contact'],
      cn: u.sam,
      displayName: `Test ${u.sam}`,
      mail: u.mail,
      targetAddress: `SMTP:${u.mail}`,
      proxyAddresses: [
        `SMTP:${u.mail}`,
        `smtp:galonly-${u.sam}@forest-a.test`,
        `X500:/o=ForestA/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=${u.sam}`,
      ],
    }),
  );
  return dn;
}

/** Gives `delegate` rights on `owner`'s folder in store A (the seed's delegate, Myth 3). */
export async function delegate(lab: MigLab, owner: string, folder: string, delegateLogin: string, rights = 'lrwsi'): Promise<void> {
  await onWire(await mailSession(lab as never, 'a', owner), (w) => setAcl(w, folder, delegateLogin, rights));
}

export const session = (lab: MigLab, org: 'a' | 'b', user: string) => mailSession(lab as never, org, user);

/** True when the store logs the master user in as `user` (the mailbox is served). */
export async function canLogin(l: MigLab, org: 'a' | 'b', user: string): Promise<boolean> {
  try {
    await (await session(l, org, user)).logout();
    return true;
  } catch {
    return false;
  }
}

/** Reads an entry's attributes (admin bind); undefined when absent. */
export async function entry(lab: MigLab, org: 'a' | 'b', dn: string): Promise<Record<string, string[]> | undefined> {
  return admin(lab, org, async (c) => {
    try {
      const r = await c.search(dn, { scope: 'base', attributes: ['*'] });
      const e = r.searchEntries[0];
      if (!e) return undefined;
      return Object.fromEntries(
        Object.entries(e)
          .filter(([k]) => k !== 'dn')
          .map(([k, v]) => [k, (Array.isArray(v) ? v : [v]).map(String)]),
      );
    } catch {
      return undefined;
    }
  });
}

/** Writes a names file in the project folder. */
export function namesFile(lab: MigLab, lines: string[], ext = 'txt'): string {
  const p = join(lab.project.dir, `names-${randomBytes(3).toString('hex')}.${ext}`);
  writeFileSync(p, `${lines.join('\n')}\n`);
  return p;
}

export function doveadmConf(lab: MigLab, org: 'a' | 'b'): string {
  const conf = (
    lab.info.mailStores.find((s) => s.forest === org && String((s.details as { conf?: string }).conf ?? '').includes('dovecot'))?.details as
      | { conf?: string }
      | undefined
  )?.conf;
  if (!conf) throw new Error(`no Dovecot conf for ${org}`);
  return conf;
}

/** Everything created: forest-A users, their forest-B users and contacts, mail homes. */
export async function removeAll(lab: MigLab): Promise<void> {
  const sams = lab.users.map((u) => u.sam);
  for (const s of sams) if (!/^cfm-[a-z0-9-]+$/.test(s)) throw new Error(`refusing to remove ${s}`);
  await admin(lab, 'a', async (c) => {
    for (const s of sams) await c.del(`cn=${s},${lab.info.forests.a.sitesDn}`).catch(() => {});
  });
  await admin(lab, 'b', async (c) => {
    for (const s of sams) {
      for (const dn of [`cn=${s},ou=Sites,${lab.info.forests.b.suffix}`, `cn=${s},${lab.info.forests.b.galContactsDn}`])
        await c.del(dn).catch(() => {});
    }
  });
  for (const s of sams) {
    rmSync(join(lab.info.labDir, 'mail-a', `${s}@forest-a.test`), { recursive: true, force: true });
    rmSync(join(lab.info.labDir, 'mail-b', `${s}@forest-b.test`), { recursive: true, force: true });
  }
  lab.users.length = 0;
  await lab.store.close();
}

export const tmp = (): string => mkdtempSync(join(tmpdir(), 'cf-mig-'));

const CLI = join(import.meta.dirname, '..', '..', 'bin', 'crossforest.js');

/** Runs `crossforest -c <project> …` as a real process (env added to this one's). */
export function cli(
  l: MigLab,
  args: string[],
  env: Record<string, string> = {},
): Promise<{ code: number | null; signal: string | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, [CLI, '-c', l.project.path, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (err += d));
    p.on('close', (code, signal) => resolve({ code, signal, out, err }));
  });
}

/** Sends a short message to `to` over SMTP at a lab Postfix port, or with `lmtp` straight into a Dovecot (mail already routed to that store); returns its Message-ID. */
export async function sendMessage(port: number, to: string, subject: string, opts: { lmtp?: boolean } = {}): Promise<string> {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true, lmtp: Boolean(opts.lmtp) });
  try {
    return (await t.sendMail({ from: 'partner@internet.test', to, subject, text: `${subject}\r\n` })).messageId;
  } finally {
    t.close();
  }
}

/** Messages in every personal folder of `user` (read as the master user). */
export async function messageCount(l: MigLab, org: 'a' | 'b', user: string): Promise<number> {
  const c = await session(l, org, user);
  try {
    return (await c.list({ statusQuery: { messages: true } }))
      .filter((x) => !x.path.startsWith('shared'))
      .reduce((a, x) => a + (x.status?.messages ?? 0), 0);
  } finally {
    await c.logout();
  }
}

/** Copies of the message with this Message-ID in the INBOX of `login` (read as the master user). */
export async function inboxCopies(l: MigLab, org: 'a' | 'b', login: string, messageId: string): Promise<number> {
  const c = await session(l, org, login);
  try {
    await c.mailboxOpen('INBOX', { readOnly: true });
    return ((await c.search({ header: { 'message-id': messageId } }, { uid: true })) || []).length;
  } finally {
    await c.logout();
  }
}

/** Waits (15 s at most) until the message is in the INBOX; returns the copies there then (0: it never came). */
export async function waitForMessage(l: MigLab, org: 'a' | 'b', login: string, messageId: string, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const n = await inboxCopies(l, org, login, messageId);
    if (n > 0 || Date.now() > deadline) return n;
    await new Promise((r) => setTimeout(r, 300));
  }
}
