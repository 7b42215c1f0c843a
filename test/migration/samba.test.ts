// The migration pipeline on the lab's Samba AD forests (issue 13): pre-stage creates AD
// users with AD's own classes and attributes (read back from the DC), a GAL-sync contact
// becomes the user, copy and cutover run against the Dovecots that authenticate against the
// DCs, the source becomes a mail-enabled user, and bad input is refused before any write.
// Containers of the test's own (sambaSyncFixture: OU=<tag> under each forest's Sites and
// GAL Contacts), so the sample organization stays untouched.
import assert from 'node:assert/strict';
import { existsSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { Attribute, Change, type Client } from 'ldapts';
import nodemailer from 'nodemailer';
import { adMailStoresUp } from '../../lab/mailstore/adStores.ts';
import { adPostfixUp } from '../../lab/postfix/adPostfix.ts';
import { POSTFIX_AD_LAB } from '../../lab/postfix/postfix.ts';
import { sambaSkipReason } from '../../lab/samba/testing.ts';
import { loadProject } from '../../src/config/load.ts';
import { readEntry } from '../../src/directory/import.ts';
import { openMailSession } from '../../src/mail/connection.ts';
import { initialPasswordOf, rollbackMailbox } from '../../src/migration/batchOps.ts';
import { mailboxesOf } from '../../src/migration/batchStore.ts';
import { BatchRefusedError, createBatch } from '../../src/migration/createBatch.ts';
import { reportsDir } from '../../src/migration/report.ts';
import { USER_ATTRIBUTES } from '../../src/migration/resolve.ts';
import { batchOrThrow, runBatch } from '../../src/migration/runner.ts';
import { type MigrationSetup, migrationSetup, sourceMailStore, targetMailStore } from '../../src/migration/setup.ts';
import { runErrors } from '../../src/sync/runHistory.ts';
import { type SambaSyncFixture, sambaSyncFixture, values } from '../sync/sambaFixture.ts';

const skip = sambaSkipReason();
let fx: SambaSyncFixture;
let setup: MigrationSetup;
let sourceHome: string;

const has = (list: readonly string[], v: string): boolean => list.some((x) => x.toLowerCase() === v.toLowerCase());

interface AdUser {
  sam: string;
  upn: string;
  mail: string;
  dn: string;
  password: string;
  legacyDn: string;
}

/** A mailbox user in forest A (enabled, with a password) and `messages` in its INBOX on dovecot-a-ad. */
async function sourceUser(tag: string, messages: number): Promise<AdUser> {
  const sam = `${fx.tag.slice(-5)}${tag}`.slice(0, 20);
  const u: AdUser = {
    sam,
    upn: `${sam}@forest-a.test`,
    mail: `${sam}.mail@forest-a.test`,
    dn: `CN=${sam},${fx.sites.a}`,
    password: `Pw-${Math.random().toString(36).slice(2)}-9Q`,
    legacyDn: `/o=ForestA/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=${sam}`,
  };
  await fx.a.add(u.dn, [
    new Attribute({ type: 'objectClass', values: ['top', 'person', 'organizationalPerson', 'user'] }),
    new Attribute({ type: 'sAMAccountName', values: [sam] }),
    new Attribute({ type: 'userPrincipalName', values: [u.upn] }),
    new Attribute({ type: 'givenName', values: ['Test'] }),
    new Attribute({ type: 'sn', values: [tag] }),
    new Attribute({ type: 'displayName', values: [`Test ${tag}`] }),
    new Attribute({ type: 'mail', values: [u.mail] }),
    new Attribute({ type: 'mailNickname', values: [sam] }),
    new Attribute({ type: 'proxyAddresses', values: [`SMTP:${u.mail}`, `smtp:${u.upn}`] }),
    new Attribute({ type: 'legacyExchangeDN', values: [u.legacyDn] }),
    new Attribute({ type: 'homeMDB', values: [sourceHome] }),
    new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${u.password}"`, 'utf16le')] }),
    new Attribute({ type: 'userAccountControl', values: ['512'] }),
  ]);
  const store = sourceMailStore(setup, undefined);
  const c = await openMailSession(store, u.upn, { baseDir: fx.project.baseDir, keyPath: store.keyPath });
  try {
    for (let i = 0; i < messages; i++)
      await c.append(
        'INBOX',
        `From: a@forest-a.test\r\nTo: ${u.mail}\r\nSubject: ${tag} ${i}\r\nMessage-ID: <${tag}-${i}-${fx.tag}@forest-a.test>\r\n\r\nbody ${i}\r\n`,
        i % 2 ? ['\\Seen'] : [],
      );
  } finally {
    await c.logout().catch(() => c.close());
  }
  return u;
}

/** The mail store of a side: the source's, or the batch's target store. */
const storeOf = (side: 'source' | 'target') => (side === 'source' ? sourceMailStore(setup, undefined) : targetMailStore(setup, 'store-b'));

async function inboxCount(side: 'source' | 'target', login: string): Promise<number> {
  const store = storeOf(side);
  const c = await openMailSession(store, login, { baseDir: fx.project.baseDir, keyPath: store.keyPath });
  try {
    const s = await c.status('INBOX', { messages: true });
    return s ? (s.messages ?? 0) : 0;
  } finally {
    await c.logout().catch(() => c.close());
  }
}
const targetMessages = (login: string) => inboxCount('target', login);

/** Logs in to a side's store as the user itself (not the master user). */
async function loginWorks(user: string, password: string, side: 'source' | 'target' = 'target'): Promise<boolean> {
  const store = storeOf(side);
  try {
    const c = await openMailSession(store, user, { baseDir: fx.project.baseDir, keyPath: store.keyPath, ownLogin: { user, password } });
    await c.logout().catch(() => c.close());
    return true;
  } catch {
    return false;
  }
}

/** Mail to an old address through forest A's Postfix (which reads its DC), waited for in the target INBOX until it holds `expected`. */
async function mailToOldAddress(address: string, text: string, targetLogin: string, expected: number): Promise<void> {
  const smtp = nodemailer.createTransport({ host: '127.0.0.1', port: POSTFIX_AD_LAB.a.smtpPort, secure: false, ignoreTLS: true });
  await smtp.sendMail({ from: 'someone@forest-a.test', to: address, subject: `after cutover ${fx.tag}`, text });
  smtp.close();
  const deadline = Date.now() + 30_000;
  while ((await targetMessages(targetLogin)) < expected && Date.now() < deadline) await new Promise((r) => setTimeout(r, 300));
  assert.equal(await targetMessages(targetLogin), expected, `the message to ${address} reached the target mailbox`);
}

const names = (list: readonly string[]): { file: string } => {
  const file = `${fx.dir}/names-${Math.random().toString(36).slice(2)}.txt`;
  writeFileSync(file, `${list.join('\n')}\n`);
  return { file };
};

async function read(c: Client, dn: string): Promise<Record<string, string[]> | undefined> {
  return (await readEntry(c, dn, USER_ATTRIBUTES))?.attributes;
}

describe('migration on the Samba AD forests', { skip }, () => {
  before(async () => {
    fx = await sambaSyncFixture({
      edit: (doc, { sites }) => {
        const m = (doc as unknown as { migration: Record<string, unknown> }).migration;
        m.targetContainer = sites.b;
        (m.defaults as Record<string, unknown>).retryIntervalSeconds = 0.5;
      },
    });
    await adMailStoresUp(fx.lab.ctx);
    await adPostfixUp(fx.lab.ctx);
    setup = migrationSetup(fx.project);
    const sample = await fx.a.search(fx.lab.dc.a.sitesDn, {
      scope: 'sub',
      filter: '(&(objectClass=user)(homeMDB=*))',
      sizeLimit: 1,
      attributes: ['homeMDB'],
    });
    sourceHome = String(sample.searchEntries[0]?.homeMDB);
  });
  after(async () => {
    await fx?.cleanup();
  });

  it('pre-stage, copy and cutover of two AD users: AD attributes on both sides, a GAL contact becomes the user, GAL sync joins it', async () => {
    const users = [await sourceUser('mig1', 4), await sourceUser('mig2', 3)];
    // GAL sync first: each person is a contact in B, which pre-stage must turn into the user.
    await fx.run('full-cycle');
    const contacts = await fx.list(fx.b, fx.gal.b);
    for (const u of users)
      assert.ok(
        contacts.some((c) => has(values(c, 'mail'), u.mail)),
        `GAL sync made a contact for ${u.mail}`,
      );

    await createBatch(setup, fx.store, {
      name: 'ad',
      from: names(users.map((u) => u.upn)),
      targetStore: 'store-b',
      options: { concurrency: 2 },
    });
    const r = await runBatch(setup, fx.store, 'ad');
    const rows = await mailboxesOf(fx.store, (await batchOrThrow(fx.store, 'ad')).id);
    assert.equal(r.status, 'completed', JSON.stringify(rows.map((m) => [m.state, m.error])));

    const storeB = setup.config.targetStores['store-b']!.homeMDB;
    for (const [i, u] of users.entries()) {
      const m = rows.find((x) => x.sourceLogin === u.upn)!;
      const t = await read(fx.b, m.plan.targetDn);
      assert.ok(t, `target user ${m.plan.targetDn} exists`);
      // AD's own user, as Prepare-MoveRequest makes it.
      assert.ok(has(t.objectClass ?? [], 'user') && !has(t.objectClass ?? [], 'crossforestMailRecipient'));
      assert.deepEqual(t.sAMAccountName, [u.sam]);
      assert.deepEqual(t.userPrincipalName, [m.plan.targetLogin]);
      assert.deepEqual(t.displayName, [`Test mig${i + 1}`]);
      assert.deepEqual(t.givenName, ['Test']);
      assert.deepEqual(t.sn, [`mig${i + 1}`]);
      assert.deepEqual(t.mail, [m.plan.targetPrimary]);
      assert.deepEqual(t.mailNickname, [u.sam]);
      assert.deepEqual(t.legacyExchangeDN, [m.plan.targetLegacyExchangeDn]);
      for (const p of [`SMTP:${m.plan.targetPrimary}`, `smtp:${u.mail}`, `smtp:${u.upn}`, `X500:${u.legacyDn}`])
        assert.ok(has(t.proxyAddresses ?? [], p), `${p} on the target user (${t.proxyAddresses})`);
      assert.deepEqual(t.homeMDB, [storeB]);
      assert.equal(t.targetAddress, undefined, 'after cutover the target user routes nowhere else');
      assert.equal(Number(t.userAccountControl?.[0]) & 2, 0, 'created enabled');
      // The generated password is the one the DC took: the user logs in to the new mailbox with it.
      const pw = await initialPasswordOf(setup, fx.store, u.upn);
      assert.equal(await loginWorks(m.plan.targetLogin, pw.password), true);
      assert.equal(await loginWorks(m.plan.targetLogin, `${pw.password}x`), false);
      // The source: mail-enabled, routed to the target, never deleted, every address kept, X500 of the target added.
      const s = await read(fx.a, u.dn);
      assert.ok(s, 'the source user is kept');
      assert.equal(s.homeMDB, undefined);
      assert.deepEqual(s.targetAddress, [`SMTP:${m.plan.targetPrimary}`]);
      for (const p of [`SMTP:${u.mail}`, `smtp:${u.upn}`, `X500:${m.plan.targetLegacyExchangeDn}`])
        assert.ok(has(s.proxyAddresses ?? [], p), `${p} on the source user`);
      // The contact is gone; the mail is on the target.
      assert.ok(m.plan.contactDn, 'the plan found the GAL contact');
      assert.equal(await readEntry(fx.b, m.plan.contactDn, ['cn']), undefined);
      assert.equal(await targetMessages(m.plan.targetLogin), i === 0 ? 4 : 3);
      assert.equal(m.verify?.ok, true, JSON.stringify(m.verify?.problems));
    }
    // Mail to the old address, through the source forest's Postfix (which reads its DC), lands in the new mailbox.
    const u0 = users[0]!;
    const m0 = rows.find((x) => x.sourceLogin === u0.upn)!;
    await mailToOldAddress(u0.mail, 'routed by targetAddress', m0.plan.targetLogin, 5);
    assert.ok(existsSync(`${reportsDir(setup, 'ad')}/report.html`) || existsSync(reportsDir(setup, 'ad')), 'the batch report is written');

    // GAL sync again, a full and a delta cycle: the new users join the people (no second person, no contact
    // re-created in B, none made in A for them) and the runs have no error.
    for (const profile of ['full-cycle', 'delta-cycle']) {
      const run = await fx.run(profile);
      assert.equal(run.status, 'success', `${profile}: ${JSON.stringify(await runErrors(fx.store, run.id))}`);
    }
    const mvOf = async (dn: string) =>
      (await fx.store.sql.get<{ mv_id: number | null }>('SELECT mv_id FROM sync_cs_object WHERE lower(dn) = lower(?)', [dn]))?.mv_id;
    for (const u of users) {
      const m = rows.find((x) => x.sourceLogin === u.upn)!;
      const person = await mvOf(u.dn);
      assert.ok(person, `${u.dn} is joined`);
      assert.equal(await mvOf(m.plan.targetDn), person, 'the new target user joined the same person');
    }
    const after = await fx.list(fx.b, fx.gal.b);
    for (const u of users) assert.ok(!after.some((c) => has(values(c, 'mail'), u.mail)), `no contact re-created for ${u.mail}`);
    const inA = await fx.list(fx.a, fx.gal.a);
    for (const m of rows) assert.ok(!inA.some((c) => has(values(c, 'mail'), m.plan.targetPrimary)), 'no contact in A for the moved user');
  });

  it('rollback on AD: mail delivered to the target after cutover comes back, the user reads mail on the source again', async () => {
    const u = await sourceUser('rb1', 3);
    await createBatch(setup, fx.store, { name: 'adrb', from: names([u.upn]), targetStore: 'store-b', options: {} });
    assert.equal((await runBatch(setup, fx.store, 'adrb')).status, 'completed');
    const [m] = await mailboxesOf(fx.store, (await batchOrThrow(fx.store, 'adrb')).id);
    // After cutover: a message for the old address, through forest A's Postfix, lands on the target.
    await mailToOldAddress(u.mail, 'to be rolled back', m!.plan.targetLogin, 4);

    const r = await rollbackMailbox(setup, fx.store, u.upn);
    assert.equal(r.outcome.copiedBack, 1, 'the one message that reached the target came back');
    // The source serves the user again with everything, its own password works; the DC entries are as before the move.
    assert.equal(await inboxCount('source', u.upn), 4);
    assert.equal(await loginWorks(u.upn, u.password, 'source'), true);
    const s = await read(fx.a, u.dn);
    assert.deepEqual(s?.homeMDB, [sourceHome]);
    assert.equal(s?.targetAddress, undefined);
    const t = await read(fx.b, m!.plan.targetDn);
    assert.equal(t?.homeMDB, undefined, 'the target user lost its mailbox');
    assert.deepEqual(t?.targetAddress, [`SMTP:${u.mail}`], 'and routes to the source');
    // Nothing lost on the target either: its mail stays on disk (the user object is kept, only not served).
    assert.ok(t, 'the target user is kept');
  });

  it('refuses before any write: a missing container, an account that may not create users, a name or address already taken', async () => {
    const u = await sourceUser('bad1', 1);
    const before = (await fx.list(fx.b, fx.sites.b)).length;
    const refused = async (edit: (s: MigrationSetup) => MigrationSetup, name: string, why: RegExp): Promise<void> => {
      await assert.rejects(
        createBatch(edit(setup), fx.store, { name, from: names([u.upn]), targetStore: 'store-b', options: {} }),
        (err: unknown) => err instanceof BatchRefusedError && why.test(err.message),
      );
    };
    const withConfig = (patch: Partial<MigrationSetup['config']>) => (s: MigrationSetup) => ({ ...s, config: { ...s.config, ...patch } });
    await refused(
      withConfig({ targetContainer: `OU=Nowhere,${fx.lab.dc.b.baseDn}` }),
      'nocontainer',
      /OU=Nowhere,DC=forestb,DC=test does not exist/,
    );
    const galsync = loadProject(fx.configPath).config.organizations.b!.directory;
    await refused(
      withConfig({ directoryAccounts: { ...setup.config.directoryAccounts, b: { bindDn: galsync.bindDn, password: galsync.password } } }),
      'norights',
      /galsync@forestb\.test may not create user objects in OU=/i,
    );
    // Another object in B already has the account name, or one of the person's addresses.
    await fx.addUser(fx.b, fx.sites.b, 'holder1', { sAMAccountName: u.sam, userPrincipalName: `${u.sam}-x@forest-b.test` } as never);
    await refused(
      withConfig({ nameConflicts: 'refuse' }),
      'samclash',
      new RegExp(`account name ${u.sam} is taken in b by CN=holder1`, 'i'),
    );
    await fx.b.modify(`CN=holder1,${fx.sites.b}`, [
      new Change({ operation: 'replace', modification: new Attribute({ type: 'sAMAccountName', values: [`${fx.tag.slice(-5)}hold`] }) }),
      new Change({ operation: 'replace', modification: new Attribute({ type: 'proxyAddresses', values: [`smtp:${u.upn}`] }) }),
    ]);
    await refused((s) => s, 'addrclash', new RegExp(`address ${u.upn.replace(/\./g, '\\.')} is already on CN=holder1`, 'i'));
    // Nothing was written: the only object added in the target container is the test's own holder.
    assert.equal((await fx.list(fx.b, fx.sites.b)).length, before + 1);
    assert.equal(await readEntry(fx.b, `CN=${u.sam},${fx.sites.b}`, ['cn']), undefined);
  });
});
