// Bench mailboxes on the lab: fixed-name source users in forest A filled once with a
// generated corpus (so the bench never mutates the sample mailboxes), fresh target users
// in forest B for every tool and run.
import { randomBytes } from 'node:crypto';
import { Client } from 'ldapts';
import type { LabInfo } from '../../lab/lab.ts';
import { labSecret } from '../../test/helpers/lab.ts';
import { type MailLab, message, populate, session } from '../../test/mail/fixtures.ts';

async function withAdmin<T>(info: LabInfo, org: 'a' | 'b', fn: (c: Client) => Promise<T>): Promise<T> {
  const f = info.forests[org];
  const c = new Client({ url: f.ldapUrl, timeout: 10_000, connectTimeout: 10_000 });
  try {
    await c.bind(f.adminDn, labSecret(info, `forest-${org}-admin.pw`));
    return await fn(c);
  } finally {
    await c.unbind();
  }
}

/** Creates the user unless it exists (on the mail server of `homeMDB`, default the forest's first); returns its login. */
export async function ensureUser(info: LabInfo, org: 'a' | 'b', sam: string, homeMDB?: string): Promise<string> {
  const f = info.forests[org];
  const upn = `${sam}@${f.mailDomain}`;
  await withAdmin(info, org, async (c) => {
    const { searchEntries } = await c.search(f.sitesDn, { filter: `(sAMAccountName=${sam})`, attributes: ['dn'] });
    if (searchEntries.length) return;
    await c.add(`cn=${sam},${f.sitesDn}`, {
      objectClass: ['top', 'person', 'organizationalPerson', 'user', 'securityPrincipal', 'crossforestMailRecipient'],
      cn: sam,
      sn: sam,
      sAMAccountName: sam,
      userPrincipalName: upn,
      mail: upn,
      homeMDB: homeMDB ?? f.mailboxStoreDn,
      userPassword: randomBytes(12).toString('hex'),
    });
  });
  return upn;
}

export const freshTarget = (info: LabInfo, tag: string): Promise<string> =>
  ensureUser(info, 'b', `cfb-${tag}-${randomBytes(3).toString('hex')}`);

/** Folder plan of a bench mailbox: share of messages per folder (names as store A writes them). */
const PLAN: [string, number][] = [
  ['INBOX', 0.5],
  ['INBOX.Sent Items', 0.17],
  ['INBOX.Archive', 0.1],
  ['INBOX.Deleted Items', 0.05],
  ['INBOX.Projects', 0.05],
  ['INBOX.Projects.Phoenix', 0.05],
  ['INBOX.Receipts', 0.04],
  ['INBOX.Überweisungen', 0.04],
];

/** Fills a source mailbox with `n` messages (~`avg` bytes) unless it already holds them. */
export async function ensureCorpus(
  lab: MailLab,
  upn: string,
  n: number,
  avg: number,
  server?: string,
): Promise<{ messages: number; bytes: number }> {
  const c = await session(lab, 'a', upn, server);
  const st = await c.status('INBOX', { messages: true });
  const list = await c.list({ statusQuery: { messages: true, size: true } });
  await c.logout();
  const have = list.reduce((a, l) => a + (l.status?.messages ?? 0), 0);
  if (have < n * 0.9 || !st) {
    let seed = 0;
    for (const [folder, share] of PLAN) {
      const count = Math.round(n * share);
      const msgs = Array.from({ length: count }, (_, i) => {
        seed++;
        // Sizes: mostly 2–12 KB, one in 40 around 100 KB: ~avg on the whole.
        const size = seed % 40 === 0 ? avg * 10 : Math.round(avg * (0.25 + ((seed * 7919) % 100) / 100));
        return {
          raw: message({ size }),
          flags: i % 3 ? ['\\Seen'] : i % 5 ? [] : ['\\Seen', '$Forwarded'],
          date: new Date(Date.UTC(2018, 0, 1) + seed * 3_600_000),
        };
      });
      for (let i = 0; i < msgs.length; i += 500) await populate(lab, 'a', upn, folder, msgs.slice(i, i + 500), server);
    }
  }
  const c2 = await session(lab, 'a', upn, server);
  const l2 = await c2.list({ statusQuery: { messages: true, size: true } });
  await c2.logout();
  return {
    messages: l2.reduce((a, l) => a + (l.status?.messages ?? 0), 0),
    bytes: l2.reduce((a, l) => a + Number((l.status as { size?: number } | undefined)?.size ?? 0), 0),
  };
}

/** Source folders relative to the personal prefix (mbsync's Patterns). */
export async function sourceFolders(lab: MailLab, upn: string): Promise<string[]> {
  const c = await session(lab, 'a', upn);
  const l = await c.list();
  await c.logout();
  return l.map((x) => (x.path === 'INBOX' ? 'INBOX' : x.path.replace(/^INBOX\./, '')));
}
