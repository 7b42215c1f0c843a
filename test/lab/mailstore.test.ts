// Live tests of the mail-store half of the lab: both Dovecot instances, LDAP login by
// userPrincipalName, the master user, TLS, forest A's generated corpus against its
// manifest, delegate ACLs, and homeMDB turning a mail-enabled user into a mailbox.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { connect as tlsConnect } from 'node:tls';
import { ImapFlow, type ListResponse } from 'imapflow';
import { Attribute, Change, Client } from 'ldapts';
import { FORESTS, type ForestId } from '../../lab/forests.ts';
import type { LabInfo } from '../../lab/lab.ts';
import { type CorpusManifest, readCorpusManifest } from '../../lab/mailstore/corpus/corpus.ts';
import { STORES } from '../../lab/mailstore/stores.ts';
import { samplePeople } from '../../lab/org/people.ts';
import { getAcl } from '../../src/mail/acl.ts';
import type { RawWire } from '../../src/mail/wire.ts';
import { ensureLab, labSecret } from '../helpers/lab.ts';
import { onWire, rawCommand } from '../helpers/wire.ts';

let lab: LabInfo;
let manifestA: CorpusManifest;
let manifestB: CorpusManifest;
const open: ImapFlow[] = [];

interface Connect {
  user: string;
  pass: string;
  /** Implicit TLS on the imaps port instead of STARTTLS on the plain one. */
  imaps?: boolean;
  ca?: boolean;
}

async function imap(store: ForestId, c: Connect): Promise<ImapFlow> {
  const s = STORES[store];
  const client = new ImapFlow({
    host: s.host,
    port: c.imaps ? s.imapsPort : s.imapPort,
    secure: c.imaps === true,
    doSTARTTLS: c.imaps ? undefined : true,
    tls: c.ca === false ? { rejectUnauthorized: true } : { ca: readFileSync(lab.tls.caCert), servername: 'localhost' },
    auth: { user: c.user, pass: c.pass },
    logger: false,
    connectionTimeout: 10_000,
  });
  // Without a listener a failed connection's 'error' event would crash the test process.
  client.on('error', () => {});
  open.push(client);
  await client.connect();
  return client;
}

const userPass = (): string => labSecret(lab, 'users.pw');
const master = (store: ForestId, upn: string): Connect => ({ user: `${upn}*admin`, pass: labSecret(lab, `mail-${store}-master.pw`) });

/** A folder's ACL over raw IMAP (imapflow has no GETACL), as identifier → rights. */
async function aclOf(w: RawWire, mailbox: string): Promise<Map<string, string>> {
  return new Map((await getAcl(w, mailbox)).map((e) => [e.identifier, e.rights]));
}

/**
 * One POP3 session on store A: STLS on the plain port (or implicit TLS on pop3s), verified
 * against the lab CA, USER/PASS, STAT. Returns the message count and size of the INBOX.
 */
async function pop3Stat(c: { user: string; pass: string; pop3s?: boolean }): Promise<{ count: number; bytes: number }> {
  const s = STORES.a;
  const tlsOpts = { ca: readFileSync(lab.tls.caCert), servername: 'localhost' };
  let sock: Socket = c.pop3s
    ? tlsConnect({ host: s.host, port: s.pop3sPort!, ...tlsOpts })
    : netConnect({ host: s.host, port: s.pop3Port! });
  let buf = '';
  const onData = (d: Buffer) => {
    buf += d.toString('latin1');
  };
  const line = async (): Promise<string> => {
    const end = Date.now() + 10_000;
    for (;;) {
      const nl = buf.indexOf('\r\n');
      if (nl >= 0) {
        const l = buf.slice(0, nl);
        buf = buf.slice(nl + 2);
        return l;
      }
      if (Date.now() > end || sock.destroyed) throw new Error(`POP3: no reply (${JSON.stringify(buf)})`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  // `what` names the command in a failure; never the password.
  const ok = async (cmd: string | undefined, what = cmd ?? 'greeting'): Promise<string> => {
    if (cmd !== undefined) sock.write(`${cmd}\r\n`);
    const l = await line();
    assert.match(l, /^\+OK/, `${what} → ${l}`);
    return l;
  };
  sock.on('data', onData);
  sock.on('error', () => {});
  try {
    await ok(undefined);
    if (!c.pop3s) {
      await ok('STLS');
      sock.off('data', onData);
      const secure = tlsConnect({ socket: sock, ...tlsOpts });
      await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
      sock = secure;
      sock.on('data', onData);
      sock.on('error', () => {});
    }
    await ok(`USER ${c.user}`);
    await ok(`PASS ${c.pass}`, 'PASS');
    const [, count, bytes] = /^\+OK (\d+) (\d+)/.exec(await ok('STAT')) ?? [];
    await ok('QUIT');
    return { count: Number(count), bytes: Number(bytes) };
  } finally {
    sock.destroy();
  }
}

const byUse = (list: ListResponse[], use: string): string | undefined => list.find((m) => m.specialUse === use)?.path;

function ldapAdmin(forest: ForestId): Promise<Client> {
  const c = new Client({ url: FORESTS[forest].ldapUrl, timeout: 10_000, connectTimeout: 5_000 });
  return c.bind(FORESTS[forest].adminDn, labSecret(lab, `forest-${forest}-admin.pw`)).then(() => c);
}

before(async () => {
  lab = await ensureLab();
  const a = readCorpusManifest(lab.labDir, STORES.a);
  const b = readCorpusManifest(lab.labDir, STORES.b);
  assert.ok(a && b, 'lab up writes .lab/corpus-a.json and corpus-b.json');
  manifestA = a;
  manifestB = b;
});

after(async () => {
  await Promise.all(open.map((c) => c.logout().catch(() => c.close())));
});

describe('mail stores: processes and endpoints', () => {
  test('lab.json reports both Dovecot instances alive on the fixed ports', () => {
    const names = lab.mailStores
      .filter((s) => s.name === 'dovecot-a' || s.name === 'dovecot-b')
      .map((s) => `${s.name} ${Object.values(s.endpoints).join(' ')} ${s.alive}`)
      .sort();
    assert.deepEqual(names, [
      'dovecot-a 127.0.0.1:1431 127.0.0.1:9931 127.0.0.1:1101 127.0.0.1:9951 true',
      'dovecot-b 127.0.0.1:1432 127.0.0.1:9932 true',
    ]);
    assert.deepEqual(Object.keys(lab.mailStores.find((s) => s.name === 'dovecot-a')!.endpoints), ['imap', 'imaps', 'pop3', 'pop3s']);
  });

  test('the corpus manifest matches the lab size and seed; the big mailbox has 3,000 messages', () => {
    assert.equal(manifestA.size, lab.size);
    assert.equal(manifestA.seed, lab.seed);
    const big = manifestA.users.find((u) => u.roles.includes('big'));
    assert.ok(big, 'one user has the big mailbox');
    assert.ok(big.messages >= manifestA.sizing.bigMailboxMessages, `big mailbox has ${big.messages} messages`);
    const hoarder = manifestA.users.find((u) => u.roles.includes('hoarder'));
    assert.ok(hoarder && hoarder.folders.length > 100, 'one user has more than 100 folders');
  });
});

describe('mail stores: login', () => {
  test('a forest-A user logs in with userPrincipalName over STARTTLS; capabilities a copy engine needs', async () => {
    const upn = manifestA.users[0]?.upn ?? '';
    const c = await imap('a', { user: upn, pass: userPass() });
    for (const cap of ['CONDSTORE', 'QRESYNC', 'UIDPLUS', 'SPECIAL-USE', 'LIST-STATUS', 'QUOTA', 'ACL', 'MOVE', 'ESEARCH']) {
      assert.ok(c.capabilities.has(cap), `capability ${cap}`);
    }
    assert.ok(c.secureConnection, 'STARTTLS was used');
    await c.logout();
  });

  test('a wrong password is refused', async () => {
    await assert.rejects(imap('a', { user: manifestA.users[0]?.upn ?? '', pass: 'wrong' }));
  });

  test('master user admin logs in as any user on both stores (user*admin)', async () => {
    for (const [store, m] of [
      ['a', manifestA],
      ['b', manifestB],
    ] as const) {
      const upn = m.users[0]?.upn ?? '';
      const c = await imap(store, master(store, upn));
      const box = await c.mailboxOpen('INBOX');
      assert.equal(box.exists, m.users[0]?.folders.find((f) => f.name === 'INBOX')?.messages, `${store}: INBOX of ${upn} as master`);
      await c.logout();
    }
  });

  test('POP3 on store A: STLS on 1101 and pop3s on 9951 (lab CA) show the user’s INBOX; a wrong password is refused', async () => {
    const u = manifestA.users[0];
    assert.ok(u);
    const inbox = u.folders.find((f) => f.name === 'INBOX')?.messages;
    const viaStls = await pop3Stat({ user: u.upn, pass: userPass() });
    assert.equal(viaStls.count, inbox);
    assert.deepEqual(await pop3Stat({ user: u.upn, pass: userPass(), pop3s: true }), viaStls);
    // The master user works as for IMAP.
    assert.deepEqual(await pop3Stat({ ...master('a', u.upn), pop3s: true }), viaStls);
    await assert.rejects(pop3Stat({ user: u.upn, pass: 'wrong', pop3s: true }), /PASS → -ERR/);
  });

  test('imaps on 9931 works with the lab CA and is refused without it', async () => {
    const upn = manifestA.users[0]?.upn ?? '';
    const c = await imap('a', { user: upn, pass: userPass(), imaps: true });
    assert.ok(c.secureConnection);
    await c.logout();
    await assert.rejects(imap('a', { user: upn, pass: userPass(), imaps: true, ca: false }), /certificate/i);
  });
});

describe('mail stores: forest A corpus', () => {
  test('special-use folders carry Exchange names on A and plain names on B', async () => {
    const a = await imap('a', master('a', manifestA.users[0]?.upn ?? ''));
    const la = await a.list();
    assert.equal(byUse(la, '\\Sent'), 'INBOX.Sent Items');
    assert.equal(byUse(la, '\\Trash'), 'INBOX.Deleted Items');
    assert.equal(byUse(la, '\\Junk'), 'INBOX.Junk E-mail');
    assert.equal(byUse(la, '\\Drafts'), 'INBOX.Drafts');
    assert.equal(byUse(la, '\\Archive'), 'INBOX.Archive');
    assert.ok(la.every((m) => m.delimiter === '.'));
    await a.logout();
    const b = await imap('b', master('b', manifestB.users[0]?.upn ?? ''));
    const lb = await b.list();
    assert.deepEqual(
      ['\\Sent', '\\Drafts', '\\Trash', '\\Junk', '\\Archive'].map((u) => byUse(lb, u)),
      ['Sent', 'Drafts', 'Trash', 'Junk', 'Archive'],
    );
    assert.ok(lb.every((m) => m.delimiter === '/'));
    await b.logout();
  });

  test('non-ASCII folder names and a folder name containing `/` exist on A', async () => {
    const showcase = manifestA.users.find((u) => u.roles.includes('showcase'));
    assert.ok(showcase);
    const c = await imap('a', master('a', showcase.upn));
    const paths = new Set((await c.list()).map((m) => m.path));
    for (const p of [
      'INBOX.Entwürfe alt',
      'INBOX.Проекты',
      'INBOX.日本語.取引先',
      'INBOX.Ação & Co',
      'INBOX.Q1/Q2 Reports',
      'INBOX.Partners.Vendors/Suppliers',
      'INBOX.R&D',
    ]) {
      assert.ok(paths.has(p), `folder ${p}`);
    }
    // The awkward messages are where the generator put them.
    await c.mailboxOpen('INBOX');
    assert.equal(
      ((await c.search({ header: { 'message-id': 'duplicate-id@' } }, { uid: true })) || []).length,
      2,
      'two messages share one Message-ID',
    );
    assert.equal(((await c.search({ subject: 'Broken MIME boundary' })) || []).length, 1);
    const noId = (await c.search({ subject: 'No Message-ID on this one' }, { uid: true })) || [];
    assert.equal(noId.length, 1);
    const msg = await c.fetchOne(String(noId[0]), { headers: ['message-id'] }, { uid: true });
    assert.ok(msg && !/message-id/i.test(msg.headers?.toString() ?? ''), 'that message has no Message-ID header');
    await c.logout();
  });

  test('every A user: per-folder message counts match the manifest (LIST-STATUS as master)', async () => {
    for (const u of manifestA.users) {
      const c = await imap('a', master('a', u.upn));
      const list = await c.list({ statusQuery: { messages: true } });
      const seen = new Map(list.map((m) => [m.path, m.status?.messages]));
      for (const f of u.folders) assert.equal(seen.get(f.name), f.messages, `${u.upn} ${f.name}`);
      await c.logout();
    }
  });

  test('quota usage equals the manifest bytes (count backend, virtual sizes)', async () => {
    const u = manifestA.users[0];
    assert.ok(u);
    const c = await imap('a', master('a', u.upn));
    const q = await c.getQuota('INBOX');
    assert.ok(q !== false, 'QUOTA answers');
    assert.ok(q.storage, 'QUOTA has a STORAGE resource');
    assert.ok(Math.abs((q.storage.usage ?? 0) - u.bytes) < 1024, `usage ${q.storage.usage} vs manifest ${u.bytes}`);
    assert.ok((q.storage.limit ?? 0) >= 10 * 1024 ** 3, 'generous limit');
    await c.logout();
  });

  test('delegate ACLs: GETACL shows them and the assistant sees the shared folders', async () => {
    assert.ok(manifestA.acls.length > 0, 'the manifest lists delegations');
    const byOwner = new Map<string, typeof manifestA.acls>();
    for (const d of manifestA.acls) byOwner.set(d.owner, [...(byOwner.get(d.owner) ?? []), d]);
    for (const [owner, list] of byOwner) {
      await onWire(await imap('a', master('a', owner)), async (w) => {
        for (const d of list) {
          const acl = await aclOf(w, d.folder === 'INBOX' ? 'INBOX' : `INBOX.${d.folder}`);
          assert.deepEqual([...(acl.get(d.grantee) ?? '')].sort(), [...d.imapRights].sort(), `${owner} ${d.folder} → ${d.grantee}`);
        }
      });
    }
    // Store A shows other users' mailboxes as `shared.<local part>` (its separator is `.`).
    const first = manifestA.acls[0];
    assert.ok(first);
    const owner = first.owner.split('@')[0];
    // imapflow's list() only walks the personal namespace: LIST the shared one raw.
    await onWire(await imap('a', { user: first.grantee, pass: userPass() }), async (w) => {
      const shared = (await rawCommand(w, 'LIST "" "shared.*"', 'LIST')).map((a) => a[2]);
      for (const d of manifestA.acls.filter((x) => x.grantee === first.grantee)) {
        const path = d.folder === 'INBOX' ? `shared.${owner}` : `shared.${owner}.${d.folder}`;
        assert.ok(shared.includes(path), `${first.grantee} sees ${path} (listed: ${shared.join(', ')})`);
      }
      const inbox = await rawCommand(w, `STATUS "shared.${owner}" (MESSAGES)`, 'STATUS');
      const expected = manifestA.users.find((u) => u.upn === first.owner)?.folders.find((f) => f.name === 'INBOX')?.messages;
      assert.deepEqual(inbox[0]?.[1], ['MESSAGES', String(expected)], 'the assistant sees every message of the manager INBOX');
    });
  });
});

describe('mail stores: homeMDB decides who has a mailbox', () => {
  test('a mail-enabled forest-B user cannot log in until homeMDB is set', async () => {
    const person = [...samplePeople('b', lab.size, lab.seed)].find((p) => p.mailKind === 'mail-enabled');
    assert.ok(person, 'forest B has a mail-enabled user');
    await assert.rejects(imap('b', { user: person.upn, pass: userPass() }), 'no homeMDB: no login');
    await assert.rejects(imap('b', master('b', person.upn)), 'no homeMDB: not even as master');
    const ldap = await ldapAdmin('b');
    try {
      await ldap.modify(
        person.dn,
        new Change({ operation: 'add', modification: new Attribute({ type: 'homeMDB', values: [FORESTS.b.mailboxStoreDn] }) }),
      );
      const c = await imap('b', { user: person.upn, pass: userPass() });
      const box = await c.mailboxOpen('INBOX');
      assert.equal(box.exists, 0, 'a new, empty mailbox');
      await c.logout();
    } finally {
      // Put the directory back: other tests count forest B's mailboxes.
      await ldap
        .modify(person.dn, new Change({ operation: 'delete', modification: new Attribute({ type: 'homeMDB', values: [] }) }))
        .catch(() => {});
      await ldap.unbind();
    }
    await assert.rejects(imap('b', { user: person.upn, pass: userPass() }), 'homeMDB removed: no login again');
  });
});
