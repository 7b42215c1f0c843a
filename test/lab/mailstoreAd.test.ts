// Live tests of the Samba-mode mail stores (dovecot-a-ad, dovecot-b-ad): each forest's
// Dovecot authenticates its users against its AD DC (ldaps, lab CA) by binding as the
// user; homeMDB on the DC decides who has a mailbox, at once (no auth cache). Both hold
// the lab's generated corpus, as the slapd stores do (manifests corpus-a-ad.json, corpus-b-ad.json).
// Brings the DCs up through the lab's own functions (ensureSamba, adMailStoresUp).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ImapFlow } from 'imapflow';
import { Attribute, Change, type Client } from 'ldapts';
import type { ForestId } from '../../lab/forests.ts';
import { adMailStoresStatus, adMailStoresUp } from '../../lab/mailstore/adStores.ts';
import { readCorpusManifest } from '../../lab/mailstore/corpus/corpus.ts';
import { AD_STORES, STORES } from '../../lab/mailstore/stores.ts';
import { ensureSamba, type SambaLab, sambaSkipReason } from '../../lab/samba/testing.ts';
import { readSecret } from '../../lab/secrets.ts';
import { mailStoreSchema } from '../../src/config/organization.ts';
import { openMailSession } from '../../src/mail/connection.ts';
import { adminClient } from '../sync/sambaFixture.ts';

const skip = sambaSkipReason();
let lab: SambaLab;
const open: ImapFlow[] = [];
const ldap: Client[] = [];

/** The store as a project file would describe it (mailStore section), master secret by file. */
function storeConfig(forest: ForestId, imaps: boolean) {
  const s = AD_STORES[forest];
  return mailStoreSchema.parse({
    host: s.host,
    port: imaps ? s.imapsPort : s.imapPort,
    tls: imaps ? 'implicit' : 'starttls',
    caFile: lab.caFile,
    masterUser: 'admin',
    masterPassword: { file: `secrets/mail-${forest}-master.pw` },
    timeoutMs: 10_000,
  });
}

/**
 * A session through the product's own connection code (src/mail/connection.ts): with
 * `ownLogin` as that login/password, else as the master user on `mailbox`'s behalf.
 */
async function session(forest: ForestId, mailbox: string, ownLogin?: { user: string; password: string }, imaps = false): Promise<ImapFlow> {
  const client = await openMailSession(storeConfig(forest, imaps), mailbox, {
    baseDir: lab.ctx.labDir,
    keyPath: `lab.${AD_STORES[forest].name}`,
    ...(ownLogin ? { ownLogin } : {}),
  });
  open.push(client);
  return client;
}

const imap = (forest: ForestId, user: string, password: string, imaps = false): Promise<ImapFlow> =>
  session(forest, user, { user, password }, imaps);

/** The login itself is refused (AUTHENTICATIONFAILED), not the connection or TLS. */
async function refused(login: Promise<ImapFlow>, why: string): Promise<void> {
  await assert.rejects(login, (err: { code?: string }) => err.code === 'CF_ERR_IMAP_AUTH', why);
}

const master = (forest: ForestId): string => readSecret(lab.ctx.labDir, `mail-${forest}-master.pw`);

async function admin(forest: ForestId): Promise<Client> {
  const c = await adminClient(lab, forest);
  ldap.push(c);
  return c;
}

/** DN and UPN of an enabled FORESTB user that is mail-enabled only (targetAddress, no homeMDB). */
async function mailEnabledOnlyUser(c: Client): Promise<{ dn: string; upn: string }> {
  const { searchEntries } = await c.search(lab.dc.b.sitesDn, {
    scope: 'sub',
    // userAccountControl:1.2.840.113556.1.4.803:=2 is ACCOUNTDISABLE: a disabled account could not log in anyway.
    filter: '(&(objectClass=user)(userPrincipalName=*)(targetAddress=*)(!(homeMDB=*))(!(userAccountControl:1.2.840.113556.1.4.803:=2)))',
    attributes: ['userPrincipalName'],
    timeLimit: 30,
  });
  const e = searchEntries[0];
  assert.ok(e, 'the sample organization has mail-enabled-only users in FORESTB');
  return { dn: e.dn, upn: String(e.userPrincipalName) };
}

/** FORESTB's homeMDB value, as the loaded mailbox users carry it (it must name an existing object in AD). */
async function mailboxStoreDn(c: Client): Promise<string> {
  const { searchEntries } = await c.search(lab.dc.b.sitesDn, {
    scope: 'sub',
    filter: '(&(objectClass=user)(homeMDB=*))',
    attributes: ['homeMDB'],
    sizeLimit: 1,
  });
  const v = searchEntries[0]?.homeMDB;
  assert.ok(typeof v === 'string' && v.length > 0, 'FORESTB has mailbox users');
  return v;
}

describe('mail stores on the Samba AD forests (dovecot-a-ad, dovecot-b-ad)', { skip }, () => {
  before(async () => {
    lab = await ensureSamba();
    await adMailStoresUp(lab.ctx);
  });
  after(async () => {
    await Promise.all(open.map((c) => c.logout().catch(() => c.close())));
    await Promise.all(ldap.map((c) => c.unbind().catch(() => {})));
  });

  test('both stores run, reported with their ports and their DC', () => {
    const st = adMailStoresStatus(lab.ctx);
    assert.deepEqual(
      st.map((s) => [s.name, s.alive, s.endpoints.imap, s.details?.directory]),
      [
        ['dovecot-a-ad', true, '127.0.0.1:1441', 'ldaps://127.0.0.2:636'],
        ['dovecot-b-ad', true, '127.0.0.1:1442', 'ldaps://127.0.0.3:636'],
      ],
    );
  });

  test('a FORESTA user logs in with the DC password (STARTTLS and imaps) and selects INBOX', async () => {
    const c = await imap('a', 'jmuller@forest-a.test', lab.usersPassword);
    const box = await c.mailboxOpen('INBOX');
    assert.equal(box.path, 'INBOX');
    // Store A's layout: `.` separator, `INBOX.` prefix, Exchange special-use names.
    const list = await c.list();
    assert.ok(
      list.some((m) => m.path === 'INBOX.Sent Items' && m.specialUse === '\\Sent'),
      JSON.stringify(list.map((m) => m.path)),
    );
    const s = await imap('a', 'JMuller@Forest-A.test', lab.usersPassword, true);
    assert.equal((await s.mailboxOpen('INBOX')).path, 'INBOX', 'login name in another case: the DC matches UPNs case-insensitively');
  });

  test('both hold the generated corpus: their own manifests, the same mail as the slapd stores, on the server', async () => {
    const a = readCorpusManifest(lab.ctx.labDir, AD_STORES.a);
    const b = readCorpusManifest(lab.ctx.labDir, AD_STORES.b);
    assert.ok(a && b, 'adMailStoresUp writes corpus-a-ad.json and corpus-b-ad.json');
    assert.deepEqual([a.store, a.size, a.seed, b.store], ['dovecot-a-ad', lab.ctx.size, lab.ctx.seed, 'dovecot-b-ad']);
    assert.ok(a.totals.messages > 0 && b.totals.messages > 0 && a.acls.length > 0, JSON.stringify([a.totals, b.totals]));
    // The DC holds every mailbox user on one store: the same corpus as a one-store slapd lab's.
    const slapd = readCorpusManifest(lab.ctx.labDir, STORES.a);
    if (slapd && slapd.size === a.size && slapd.seed === a.seed && (slapd.stores ?? 1) === 1) assert.deepEqual(a.totals, slapd.totals);
    // What the manifest says is what the server holds (INBOX left out: the routing tests deliver there).
    const showcase = a.users.find((u) => u.roles.includes('showcase'));
    assert.ok(showcase, 'the showcase user (jmuller) has a mailbox');
    const c = await session('a', showcase.upn);
    const folders = showcase.folders.filter((f) => f.name !== 'INBOX' && /^[\x20-\x7e]+$/.test(f.name) && !f.name.includes('/'));
    assert.ok(folders.length >= 5, JSON.stringify(folders.map((f) => f.name)));
    for (const f of folders) {
      const st = await c.status(f.name, { messages: true });
      assert.equal(st === false ? 'no STATUS answer' : st.messages, f.messages, f.name);
    }
  });

  test('a wrong password is refused', async () => {
    await refused(imap('a', 'jmuller@forest-a.test', `${lab.usersPassword}x`), 'wrong password');
    await refused(imap('a', 'nobody@forest-a.test', lab.usersPassword), 'unknown user');
  });

  test('master login user*admin works on both stores; a wrong master password does not', async () => {
    const a = await session('a', 'jmuller@forest-a.test');
    assert.equal((await a.mailboxOpen('INBOX')).path, 'INBOX');
    const bUser = (
      await (
        await admin('b')
      ).search(lab.dc.b.sitesDn, {
        scope: 'sub',
        filter: '(&(objectClass=user)(homeMDB=*)(userPrincipalName=*))',
        attributes: ['userPrincipalName'],
        sizeLimit: 1,
      })
    ).searchEntries[0];
    assert.ok(bUser);
    const b = await session('b', String(bUser.userPrincipalName));
    assert.equal((await b.mailboxOpen('INBOX')).path, 'INBOX');
    await refused(imap('a', 'jmuller@forest-a.test*admin', `${master('a')}x`), 'wrong master password');
  });

  test('a FORESTB user without homeMDB cannot log in; setting homeMDB on the DC lets them in at once', async () => {
    const c = await admin('b');
    const user = await mailEnabledOnlyUser(c);
    const storeDn = await mailboxStoreDn(c);
    await refused(imap('b', user.upn, lab.usersPassword), 'no homeMDB: no login');
    await refused(session('b', user.upn), 'no homeMDB: not even as master');
    try {
      await c.modify(user.dn, new Change({ operation: 'add', modification: new Attribute({ type: 'homeMDB', values: [storeDn] }) }));
      const s = await imap('b', user.upn, lab.usersPassword);
      assert.equal((await s.mailboxOpen('INBOX')).path, 'INBOX', 'homeMDB set: an (empty) mailbox on first login');
    } finally {
      await c.modify(user.dn, new Change({ operation: 'delete', modification: new Attribute({ type: 'homeMDB', values: [] }) }));
    }
    await refused(imap('b', user.upn, lab.usersPassword), 'homeMDB removed: no login again');
  });
});
