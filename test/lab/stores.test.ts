// Live: several mail servers per organization (`lab up --stores 2`, issue 12). Each forest
// runs dovecot-<x> and dovecot-<x>2; each serves only the users whose homeMDB is its own
// (login refused on the other, the master user too), Postfix delivers each user's mail to
// the LMTP of the store their homeMDB names (and follows a homeMDB change at once),
// lab.json lists both stores per forest, and the sample mailboxes are spread over both.
// The test lab runs one store per forest (the rest of the suite expects that): this file
// asks for two and puts the lab back to one store at the end (lab/README.md).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ImapFlow } from 'imapflow';
import { Attribute, Change, Client, EqualityFilter } from 'ldapts';
import nodemailer from 'nodemailer';
import { FOREST_IDS, FORESTS, type ForestId, mailboxStoreDnOf } from '../../lab/forests.ts';
import { type LabInfo, labStatus, labUp, readLabInfo } from '../../lab/lab.ts';
import { readCorpusManifest } from '../../lab/mailstore/corpus/corpus.ts';
import { type ForestMailStore, forestStore } from '../../lab/mailstore/stores.ts';
import { type SamplePerson, samplePeople } from '../../lab/org/people.ts';
import { POSTFIX_LAB } from '../../lab/postfix/postfix.ts';
import { portOpen } from '../../lab/process.ts';
import { ensureLab, labSecret } from '../helpers/lab.ts';

const tag = `st${process.pid}`;
let lab: LabInfo;
let previousStores = 1;
let restored = false;
const created: { forest: ForestId; dn: string }[] = [];

const storesOf = (forest: ForestId): ForestMailStore[] => lab.forests[forest].mailStores;

/** An IMAP login (plain port, no TLS: the lab allows plaintext auth on loopback); resolves when logged in. */
async function login(store: ForestMailStore, user: string, pass: string): Promise<void> {
  const client = new ImapFlow({
    host: store.host,
    port: store.imapPort,
    secure: false,
    doSTARTTLS: false,
    auth: { user, pass },
    logger: false,
    connectionTimeout: 10_000,
  });
  // Without a listener a failed connection's 'error' event would crash the test process.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.mailboxOpen('INBOX', { readOnly: true });
  } finally {
    await client.logout().catch(() => client.close());
  }
}

const userPass = (): string => labSecret(lab, 'users.pw');
const masterPass = (forest: ForestId): string => labSecret(lab, `mail-${forest}-master.pw`);

async function canLogIn(store: ForestMailStore, user: string, pass: string): Promise<boolean> {
  try {
    await login(store, user, pass);
    return true;
  } catch {
    return false;
  }
}

/** The sample mailbox users of a forest with this lab's store count, by store number (1-based). */
function sampleByStore(forest: ForestId): Map<string, SamplePerson[]> {
  const out = new Map<string, SamplePerson[]>();
  for (const p of samplePeople(forest, lab.size, lab.seed, lab.stores)) {
    if (!p.hasMailbox || !p.homeMDB) continue;
    out.set(p.homeMDB, [...(out.get(p.homeMDB) ?? []), p]);
  }
  return out;
}

async function admin(forest: ForestId): Promise<Client> {
  const c = new Client({ url: FORESTS[forest].ldapUrl, timeout: 10_000 });
  await c.bind(FORESTS[forest].adminDn, labSecret(lab, `forest-${forest}-admin.pw`));
  return c;
}

async function send(port: number, to: string, subject: string): Promise<string> {
  const t = nodemailer.createTransport({ host: '127.0.0.1', port, secure: false, ignoreTLS: true });
  const info = await t.sendMail({ from: 'someone@internet.test', to, subject, text: 'mail store routing test\r\n' });
  t.close();
  return info.messageId;
}

/** How many messages with this Message-ID are in the INBOX of `upn` on `store` (master login); null if no login. */
async function inInbox(forest: ForestId, store: ForestMailStore, upn: string, messageId: string): Promise<number | null> {
  const client = new ImapFlow({
    host: store.host,
    port: store.imapPort,
    secure: false,
    doSTARTTLS: false,
    auth: { user: `${upn}*admin`, pass: masterPass(forest) },
    logger: false,
    connectionTimeout: 10_000,
  });
  client.on('error', () => {});
  try {
    await client.connect();
  } catch {
    return null;
  }
  try {
    await client.mailboxOpen('INBOX', { readOnly: true });
    const found = await client.search({ header: { 'message-id': messageId } }, { uid: true });
    return found ? found.length : 0;
  } finally {
    await client.logout().catch(() => client.close());
  }
}

async function waitForInbox(forest: ForestId, store: ForestMailStore, upn: string, messageId: string, ms = 20_000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (((await inInbox(forest, store, upn, messageId)) ?? 0) > 0) return true;
    await new Promise((r) => setTimeout(r, 300));
  }
  return false;
}

async function backToPreviousStores(): Promise<void> {
  if (restored) return;
  restored = true;
  await labUp({ labDir: lab.labDir, stores: previousStores });
}

describe('lab: several mail stores per forest (--stores 2)', { timeout: 600_000 }, () => {
  before(async () => {
    previousStores = readLabInfo()?.stores ?? 1;
    lab = await ensureLab({ stores: 2 });
  });

  after(async () => {
    for (const { forest, dn } of created.reverse()) {
      const c = await admin(forest);
      await c.del(dn).catch(() => {});
      await c.unbind();
    }
    // The rest of the suite expects one store per forest (ensureLab would restore it too).
    if (lab) await backToPreviousStores();
  });

  test('lab.json lists both stores of each forest with their ports and homeMDB', () => {
    const info = readLabInfo(lab.labDir);
    assert.ok(info);
    assert.equal(info.stores, 2);
    for (const forest of FOREST_IDS) {
      const one = forestStore(forest, 1, 2);
      const two = forestStore(forest, 2, 2);
      assert.deepEqual(info.forests[forest].mailStores, [
        {
          name: `dovecot-${forest}`,
          key: forest,
          host: '127.0.0.1',
          imapPort: one.imapPort,
          imapsPort: one.imapsPort,
          lmtpPort: one.lmtpPort,
          homeMDB: FORESTS[forest].mailboxStoreDn,
          mailRoot: join(lab.labDir, `mail-${forest}`),
        },
        {
          name: `dovecot-${forest}2`,
          key: `${forest}2`,
          host: '127.0.0.1',
          imapPort: two.imapPort,
          imapsPort: two.imapsPort,
          lmtpPort: two.lmtpPort,
          homeMDB: mailboxStoreDnOf(forest, 2),
          mailRoot: join(lab.labDir, `mail-${forest}2`),
        },
      ]);
      // Store 1 is exactly as with one store: the same name, ports and homeMDB.
      assert.deepEqual([one.imapPort, one.imapsPort, one.lmtpPort], forest === 'a' ? [1431, 9931, 2401] : [1432, 9932, 2402]);
      assert.match(mailboxStoreDnOf(forest, 2), new RegExp(`^CN=Mailbox Store ${forest.toUpperCase()}2,CN=First Storage Group,`));
    }
    // Every Dovecot process is in the top-level list too, alive, store 1 first.
    const dovecots = info.mailStores.filter((m) => m.name.startsWith('dovecot-')).map((m) => `${m.name} ${m.endpoints.imap} ${m.alive}`);
    assert.deepEqual(dovecots, [
      'dovecot-a 127.0.0.1:1431 true',
      'dovecot-b 127.0.0.1:1432 true',
      'dovecot-a2 127.0.0.1:1461 true',
      'dovecot-b2 127.0.0.1:1462 true',
    ]);
  });

  test('lab status shows every store process', async () => {
    const st = await labStatus({ labDir: lab.labDir });
    assert.equal(st.stores, 2);
    const names = st.mailStores.filter((m) => m.name.startsWith('dovecot-') && m.alive).map((m) => m.name);
    assert.deepEqual(names, ['dovecot-a', 'dovecot-b', 'dovecot-a2', 'dovecot-b2']);
    assert.equal(st.forests.b.mailStores.length, 2);
  });

  test('the sample mailboxes are spread over both stores, in the directory and in the corpus', async () => {
    for (const forest of FOREST_IDS) {
      const byStore = sampleByStore(forest);
      const [one, two] = storesOf(forest);
      assert.ok(one && two);
      const expect1 = (byStore.get(one.homeMDB) ?? []).map((p) => p.upn.toLowerCase()).sort();
      const expect2 = (byStore.get(two.homeMDB) ?? []).map((p) => p.upn.toLowerCase()).sort();
      assert.ok(expect1.length > 0 && expect2.length > 0, `forest ${forest}: mailboxes on both stores`);
      const all = expect1.length + expect2.length;
      assert.ok(expect1.length >= all / 4 && expect2.length >= all / 4, `round robin: ${expect1.length} + ${expect2.length}`);
      // The directory holds what the sample generator says (sample users only: ou=Sites).
      const c = await admin(forest);
      try {
        for (const [store, want] of [
          [one, expect1],
          [two, expect2],
        ] as const) {
          const { searchEntries } = await c.search(FORESTS[forest].sitesDn, {
            filter: new EqualityFilter({ attribute: 'homeMDB', value: store.homeMDB }),
            attributes: ['userPrincipalName'],
            sizeLimit: 0,
          });
          const got = searchEntries.map((e) => String(e.userPrincipalName).toLowerCase()).sort();
          assert.deepEqual(got, want, `forest ${forest}: users with ${store.name}'s homeMDB`);
        }
      } finally {
        await c.unbind();
      }
      // Each store's corpus holds exactly its own users.
      const m1 = readCorpusManifest(lab.labDir, forestStore(forest, 1, 2));
      const m2 = readCorpusManifest(lab.labDir, forestStore(forest, 2, 2));
      assert.ok(m1 && m2, 'a corpus manifest per store');
      assert.deepEqual(m1.users.map((u) => u.upn.toLowerCase()).sort(), expect1, `${one.name}'s corpus`);
      assert.deepEqual(m2.users.map((u) => u.upn.toLowerCase()).sort(), expect2, `${two.name}'s corpus`);
      assert.equal(m2.homeMDB, two.homeMDB);
      assert.ok(m2.totals.messages > 0, `${two.name} has mail`);
    }
  });

  test('a user logs in (and the master user for them) only on the store their homeMDB names', async () => {
    for (const forest of FOREST_IDS) {
      const byStore = sampleByStore(forest);
      const [one, two] = storesOf(forest);
      assert.ok(one && two);
      const u1 = byStore.get(one.homeMDB)?.[0];
      const u2 = byStore.get(two.homeMDB)?.[0];
      assert.ok(u1 && u2);
      for (const [user, home, other] of [
        [u2, two, one],
        [u1, one, two],
      ] as const) {
        assert.equal(await canLogIn(home, user.upn, userPass()), true, `${user.upn} logs in on ${home.name}`);
        assert.equal(await canLogIn(home, `${user.upn}*admin`, masterPass(forest)), true, `master for ${user.upn} on ${home.name}`);
        assert.equal(await canLogIn(other, user.upn, userPass()), false, `${user.upn} refused on ${other.name}`);
        assert.equal(
          await canLogIn(other, `${user.upn}*admin`, masterPass(forest)),
          false,
          `master for ${user.upn} refused on ${other.name}`,
        );
      }
    }
  });

  test("mail sent through the forest's Postfix reaches the store the user's homeMDB names", async () => {
    for (const forest of FOREST_IDS) {
      const [one, two] = storesOf(forest);
      assert.ok(one && two);
      const u2 = sampleByStore(forest).get(two.homeMDB)?.[0];
      assert.ok(u2?.mail);
      const id = await send(POSTFIX_LAB[forest].smtpPort, u2.mail, `to ${u2.upn} on store 2`);
      assert.equal(await waitForInbox(forest, two, u2.upn, id), true, `delivered to ${two.name}`);
      assert.equal(await inInbox(forest, one, u2.upn, id), null, `${u2.upn} has no mailbox on ${one.name}`);
    }
  });

  test('when homeMDB moves a user to the other store, login follows at once and the next message within 30 s', async () => {
    const forest: ForestId = 'a';
    const [one, two] = storesOf(forest);
    assert.ok(one && two);
    const f = FORESTS[forest];
    const sam = `${tag}-mover`;
    const upn = `${sam}@${f.mailDomain}`;
    const dn = `cn=${sam},ou=Atlanta,${f.sitesDn}`;
    const c = await admin(forest);
    try {
      await c.add(dn, {
        objectClass: ['top', 'person', 'organizationalPerson', 'user', 'securityPrincipal', 'crossforestMailRecipient'],
        cn: sam,
        sn: sam,
        sAMAccountName: sam,
        userPrincipalName: upn,
        mail: upn,
        proxyAddresses: [`SMTP:${upn}`],
        userPassword: userPass(),
        homeMDB: two.homeMDB,
      });
      created.push({ forest, dn });
      const first = await send(POSTFIX_LAB[forest].smtpPort, upn, 'while on store 2');
      assert.equal(await waitForInbox(forest, two, upn, first), true, 'on store 2 first');
      assert.equal(await canLogIn(one, upn, userPass()), false, 'not on store 1 yet');
      await c.modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'homeMDB', values: [one.homeMDB] }) }));
      assert.equal(await canLogIn(one, upn, userPass()), true, 'homeMDB → store 1: logs in there at once');
      assert.equal(await canLogIn(two, upn, userPass()), false, 'and no longer on store 2');
      // Postfix's queue manager may still hold the old route for up to 30 s (its last resolved
      // address): the old store refuses, the message is deferred (soft_bounce on lmtp), not bounced.
      const second = await send(POSTFIX_LAB[forest].smtpPort, upn, 'after the move to store 1');
      assert.equal(await waitForInbox(forest, one, upn, second, 50_000), true, 'the next message reaches store 1');
      assert.equal(await inInbox(forest, two, upn, second), null, 'not on store 2 (no login there any more)');
      const log = readFileSync(join(lab.labDir, `postfix-${forest}`, 'postfix.log'), 'utf8');
      assert.equal(
        log.split('\n').some((l) => l.includes(`to=<${upn}>`) && l.includes('status=bounced')),
        false,
        'nothing bounced',
      );
    } finally {
      await c.unbind();
    }
  });

  test('lab up with one store stops the extra stores and puts every mailbox back on store 1', async () => {
    if (previousStores !== 1) return;
    await backToPreviousStores();
    const info = readLabInfo(lab.labDir);
    assert.ok(info);
    assert.equal(info.stores, 1);
    for (const forest of FOREST_IDS) {
      assert.equal(info.forests[forest].mailStores.length, 1, 'a list of one');
      assert.equal(info.forests[forest].mailStores[0]?.homeMDB, FORESTS[forest].mailboxStoreDn);
      const two = forestStore(forest, 2, 2);
      assert.equal(await portOpen('127.0.0.1', two.imapPort), false, `${two.name} stopped`);
      assert.equal(await portOpen('127.0.0.1', two.lmtpPort), false, `${two.name} LMTP closed`);
      const u2 = [...samplePeople(forest, lab.size, lab.seed, 2)].find((p) => p.homeMDB === two.homeMDB);
      assert.ok(u2);
      assert.equal(await canLogIn(storesOf(forest)[0] as ForestMailStore, u2.upn, userPass()), true, `${u2.upn} is on store 1 again`);
    }
    assert.deepEqual(
      info.mailStores.filter((m) => m.name.startsWith('dovecot-')).map((m) => m.name),
      ['dovecot-a', 'dovecot-b'],
    );
  });
});
