// Live: the Samba-mode Postfix pair (postfix-a-ad, postfix-b-ad) routes by the forest's AD
// DC, read over verified ldaps as galsync: a mailbox user's addresses (mail and an smtp:
// proxy) reach their INBOX on dovecot-a-ad over LMTP; a targetAddress set on a FORESTA user
// (who still has a mailbox: targetAddress wins) sends their mail to the FORESTB mailbox on
// dovecot-b-ad, through postfix-b-ad. Brings the whole Samba-mode mail path up itself
// (ensureSamba, adMailStoresUp, adPostfixUp), without `lab up --directory samba`.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { Attribute, Change, type Client } from 'ldapts';
import nodemailer from 'nodemailer';
import type { ForestId } from '../../lab/forests.ts';
import { adMailStoresUp } from '../../lab/mailstore/adStores.ts';
import { AD_STORES } from '../../lab/mailstore/stores.ts';
import { adPostfixDir, adPostfixStatus, adPostfixUp } from '../../lab/postfix/adPostfix.ts';
import { POSTFIX_AD_LAB } from '../../lab/postfix/postfix.ts';
import { ensureSamba, type SambaLab, sambaSkipReason } from '../../lab/samba/testing.ts';
import { readSecret } from '../../lab/secrets.ts';
import { adminClient } from '../sync/sambaFixture.ts';

const skip = sambaSkipReason();
const run = `rtad${process.pid}-${Date.now().toString(36)}`;
let lab: SambaLab;
const ldap: Client[] = [];

interface AdUser {
  dn: string;
  upn: string;
  mail: string;
  /** An `smtp:` proxy address other than mail (the sample users have sam@domain). */
  alias: string;
}

async function admin(forest: ForestId): Promise<Client> {
  const c = await adminClient(lab, forest);
  ldap.push(c);
  return c;
}

/** Enabled mailbox users (homeMDB, no targetAddress) of the sample organization on a DC, in DN order. */
async function mailboxUsers(forest: ForestId): Promise<AdUser[]> {
  const c = await admin(forest);
  const { searchEntries } = await c.search(lab.dc[forest].sitesDn, {
    scope: 'sub',
    filter:
      '(&(objectClass=user)(homeMDB=*)(mail=*)(userPrincipalName=*)(!(targetAddress=*))(!(userAccountControl:1.2.840.113556.1.4.803:=2)))',
    attributes: ['userPrincipalName', 'mail', 'proxyAddresses'],
    timeLimit: 30,
  });
  return searchEntries
    .map((e) => {
      const mail = String(e.mail);
      const proxies = ([] as unknown[]).concat(e.proxyAddresses ?? []).map(String);
      const alias = proxies.find((p) => p.startsWith('smtp:') && p.slice(5).toLowerCase() !== mail.toLowerCase())?.slice(5) ?? '';
      return { dn: e.dn, upn: String(e.userPrincipalName), mail, alias };
    })
    .filter((u) => u.alias !== '')
    .sort((x, y) => x.dn.localeCompare(y.dn));
}

async function send(port: number, to: string, subject: string): Promise<string> {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  try {
    const info = await t.sendMail({ from: 'someone@internet.test', to, subject, text: `Samba-mode routing test ${run}\r\n` });
    return info.messageId;
  } finally {
    t.close();
  }
}

/**
 * Polls the INBOX of `login` on dovecot-<forest>-ad (as the master user) until a message with
 * this Message-ID is there, or the deadline passes; returns its Subject, or null.
 */
async function waitForInbox(forest: ForestId, login: string, messageId: string, timeoutMs = 30_000): Promise<string | null> {
  const store = AD_STORES[forest];
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const client = new ImapFlow({
      host: store.host,
      port: store.imapPort,
      secure: false,
      doSTARTTLS: false,
      auth: { user: `${login}*admin`, pass: readSecret(lab.ctx.labDir, `mail-${forest}-master.pw`) },
      logger: false,
    });
    await client.connect();
    try {
      await client.mailboxOpen('INBOX', { readOnly: true });
      const found = await client.search({ header: { 'message-id': messageId } }, { uid: true });
      const uid = found ? found[0] : undefined;
      if (uid !== undefined) {
        const msg = await client.fetchOne(String(uid), { envelope: true }, { uid: true });
        return msg ? (msg.envelope?.subject ?? '') : '';
      }
    } finally {
      await client.logout();
    }
    if (Date.now() > deadline) return null;
    await new Promise((r) => setTimeout(r, 300));
  }
}

/** The end of an AD Postfix's log, for a failure message. */
function logAbout(forest: ForestId): string {
  try {
    return readFileSync(join(adPostfixDir(lab.ctx.labDir, forest), 'postfix.log'), 'utf8')
      .trim()
      .split('\n')
      .slice(-8)
      .join('\n');
  } catch {
    return 'no log';
  }
}

describe('mail routing on the Samba AD forests (postfix-a-ad, postfix-b-ad)', { skip }, () => {
  before(async () => {
    lab = await ensureSamba();
    await adMailStoresUp(lab.ctx);
    await adPostfixUp(lab.ctx);
  });
  after(async () => {
    await Promise.all(ldap.map((c) => c.unbind().catch(() => {})));
  });

  test('both run, with their ports and the DC each reads; a second up changes nothing', async () => {
    const st = adPostfixStatus(lab.ctx.labDir);
    assert.deepEqual(
      st.map((s) => [s.name, s.alive, s.endpoints.smtp, s.endpoints.submission, s.details?.directory, s.details?.lmtp]),
      [
        ['postfix-a-ad', true, '127.0.0.1:2545', '127.0.0.1:5891', 'ldaps://127.0.0.2:636', '127.0.0.1:2411'],
        ['postfix-b-ad', true, '127.0.0.1:2546', '127.0.0.1:5892', 'ldaps://127.0.0.3:636', '127.0.0.1:2412'],
      ],
    );
    const again = await adPostfixUp(lab.ctx);
    assert.deepEqual(
      again.map((s) => s.pid),
      st.map((s) => s.pid),
      'idempotent: the same master PIDs',
    );
    // The bind password is only in the 0640 root:postfix map files, never in main.cf or the status.
    const pw = lab.galsyncPassword('a');
    const conf = join(adPostfixDir(lab.ctx.labDir, 'a'), 'conf');
    assert.ok(!JSON.stringify(again).includes(pw), 'no secret in the status');
    assert.ok(!readFileSync(join(conf, 'main.cf'), 'utf8').includes(pw), 'no secret in main.cf');
    const map = readFileSync(join(conf, 'ldap-mailbox.cf'), 'utf8');
    assert.match(map, /^server_host = ldaps:\/\/127\.0\.0\.2:636$/m);
    assert.match(map, /^tls_require_cert = yes$/m);
    assert.match(map, /^bind_dn = CN=galsync,OU=Service Accounts,DC=foresta,DC=test$/m);
    assert.equal(statSync(join(conf, 'ldap-mailbox.cf')).mode & 0o777, 0o640);
  });

  test('mail to a FORESTA mailbox user (mail and an smtp: proxy) lands in their INBOX on dovecot-a-ad', async () => {
    const [user] = await mailboxUsers('a');
    assert.ok(user, 'FORESTA has mailbox users with an smtp: alias');
    const s1 = `${run} to mail ${user.mail}`;
    const s2 = `${run} to alias ${user.alias}`;
    const id1 = await send(POSTFIX_AD_LAB.a.smtpPort, user.mail, s1);
    // In capitals: Postfix folds the case, and the `smtp:` filter finds any case of the type.
    const id2 = await send(POSTFIX_AD_LAB.a.smtpPort, user.alias.toUpperCase(), s2);
    assert.equal(await waitForInbox('a', user.upn, id1), s1, `delivered to ${user.upn} by mail\n${logAbout('a')}`);
    assert.equal(await waitForInbox('a', user.upn, id2), s2, `delivered to ${user.upn} by smtp: alias\n${logAbout('a')}`);
  });

  test('targetAddress on a FORESTA mailbox user forwards their mail to a FORESTB mailbox on dovecot-b-ad', async () => {
    // Not the user of the test above: a different mailbox, so nothing else lands in either.
    const aUser = (await mailboxUsers('a'))[1];
    const [bUser] = await mailboxUsers('b');
    assert.ok(aUser && bUser, 'mailbox users on both DCs');
    const c = await admin('a');
    try {
      await c.modify(
        aUser.dn,
        new Change({ operation: 'replace', modification: new Attribute({ type: 'targetAddress', values: [`SMTP:${bUser.mail}`] }) }),
      );
      const subject = `${run} forwarded ${aUser.mail} -> ${bUser.mail}`;
      const id = await send(POSTFIX_AD_LAB.a.smtpPort, aUser.mail, subject);
      assert.equal(await waitForInbox('b', bUser.upn, id), subject, `arrived in the FORESTB mailbox\n${logAbout('a')}\n${logAbout('b')}`);
      assert.equal(await waitForInbox('a', aUser.upn, id, 0), null, 'not in the FORESTA mailbox: targetAddress wins over homeMDB');
    } finally {
      await c.modify(aUser.dn, new Change({ operation: 'delete', modification: new Attribute({ type: 'targetAddress', values: [] }) }));
    }
    const back = await c.search(aUser.dn, { scope: 'base', attributes: ['targetAddress'] });
    assert.deepEqual([back.searchEntries[0]?.targetAddress ?? []].flat(), [], 'targetAddress restored (removed)');
  });
});
