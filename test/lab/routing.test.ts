// Live: the lab's Postfix routes by the directory, as the migration's cutover needs.
// A mailbox-enabled user's addresses (mail and smtp: proxies) are delivered over LMTP
// to their own Dovecot; a mail-enabled user (targetAddress, no homeMDB) is forwarded to
// its targetAddress, across organizations; an address the directory does not know falls
// to the lab's catch-all sink. The test works on users of its own and removes them.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { Client } from 'ldapts';
import nodemailer from 'nodemailer';
import { FORESTS, type ForestId } from '../../lab/forests.ts';
import type { LabInfo } from '../../lab/lab.ts';
import { STORES } from '../../lab/mailstore/stores.ts';
import { POSTFIX_LAB } from '../../lab/postfix/postfix.ts';
import { ensureLab, labSecret } from '../helpers/lab.ts';

const tag = `rt${process.pid}`;
let lab: LabInfo;
const created: { forest: ForestId; dn: string }[] = [];

function person(forest: ForestId, sam: string, opts: { mailbox: boolean; targetAddress?: string; alias?: string }) {
  const f = FORESTS[forest];
  const mail = `${sam}@${f.mailDomain}`;
  return {
    dn: `cn=${sam},ou=Atlanta,${f.sitesDn}`,
    attributes: {
      objectClass: ['top', 'person', 'organizationalPerson', 'user', 'securityPrincipal', 'crossforestMailRecipient'],
      cn: sam,
      sn: sam,
      sAMAccountName: sam,
      userPrincipalName: `${sam}@${f.mailDomain}`,
      mail,
      proxyAddresses: [`SMTP:${mail}`, ...(opts.alias ? [`smtp:${opts.alias}@${f.mailDomain}`] : [])],
      userPassword: labSecret(lab, 'users.pw'),
      ...(opts.mailbox ? { homeMDB: f.mailboxStoreDn } : {}),
      ...(opts.targetAddress ? { targetAddress: `SMTP:${opts.targetAddress}` } : {}),
    },
  };
}

async function admin(forest: ForestId): Promise<Client> {
  const c = new Client({ url: FORESTS[forest].ldapUrl, timeout: 10_000 });
  await c.bind(FORESTS[forest].adminDn, labSecret(lab, `forest-${forest}-admin.pw`));
  return c;
}

async function add(forest: ForestId, p: ReturnType<typeof person>): Promise<void> {
  const c = await admin(forest);
  try {
    await c.add(p.dn, p.attributes);
    created.push({ forest, dn: p.dn });
  } finally {
    await c.unbind();
  }
}

async function send(port: number, to: string, subject: string): Promise<string> {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  const info = await t.sendMail({ from: 'someone@internet.test', to, subject, text: 'routing test\r\n' });
  t.close();
  return info.messageId;
}

/** Waits until a message with this Message-ID is in the INBOX of `login` on `forest`'s store. */
async function waitForInbox(forest: ForestId, login: string, messageId: string): Promise<boolean> {
  const store = STORES[forest];
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    const client = new ImapFlow({
      host: '127.0.0.1',
      port: store.imapPort,
      secure: false,
      doSTARTTLS: false,
      auth: { user: `${login}*admin`, pass: labSecret(lab, `mail-${forest}-master.pw`) },
      logger: false,
    });
    await client.connect();
    try {
      await client.mailboxOpen('INBOX', { readOnly: true });
      const found = await client.search({ header: { 'message-id': messageId } }, { uid: true });
      if (found && found.length > 0) return true;
    } finally {
      await client.logout();
    }
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

before(async () => {
  lab = await ensureLab();
});

after(async () => {
  for (const { forest, dn } of created.reverse()) {
    const c = await admin(forest);
    await c.del(dn).catch(() => {});
    await c.unbind();
  }
});

test('a mailbox user gets mail sent to their primary address and to an smtp: alias', async () => {
  await add('a', person('a', `${tag}-box`, { mailbox: true, alias: `${tag}-alias` }));
  const a = POSTFIX_LAB.a;
  const id1 = await send(a.smtpPort, `${tag}-box@forest-a.test`, 'to the primary address');
  const id2 = await send(a.smtpPort, `${tag}-alias@forest-a.test`, 'to an alias');
  assert.equal(await waitForInbox('a', `${tag}-box@forest-a.test`, id1), true, 'primary address delivered over LMTP');
  assert.equal(await waitForInbox('a', `${tag}-box@forest-a.test`, id2), true, 'alias delivered to the same mailbox');
});

test('mail to a cut-over forest-A address is forwarded by targetAddress to the forest-B mailbox', async () => {
  // The state after a migration's cutover: B holds the mailbox, A keeps a mail-enabled user.
  await add('b', person('b', `${tag}-moved`, { mailbox: true }));
  await add('a', person('a', `${tag}-moved`, { mailbox: false, targetAddress: `${tag}-moved@forest-b.test` }));
  const id = await send(POSTFIX_LAB.a.smtpPort, `${tag}-moved@forest-a.test`, 'to the old address');
  assert.equal(await waitForInbox('b', `${tag}-moved@forest-b.test`, id), true, 'arrived in the B mailbox');
});
