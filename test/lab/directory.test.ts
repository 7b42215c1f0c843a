// Live tests of the directory half of the lab: both slapd forests, as admin, as the
// galsync service account and as a sample user, over ldap and ldaps.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { Attribute, Change, Client, type Entry, InsufficientAccessError, InvalidCredentialsError } from 'ldapts';
import { FORESTS, type ForestId } from '../../lab/forests.ts';
import { type LabInfo, labUp } from '../../lab/lab.ts';
import { samplePeople } from '../../lab/org/people.ts';
import { ensureLab, labSecret } from '../helpers/lab.ts';

let lab: LabInfo;
const clients: Client[] = [];

function client(forest: ForestId, ldaps = false): Client {
  const f = lab.forests[forest];
  const c = new Client({
    url: ldaps ? f.ldapsUrl : f.ldapUrl,
    timeout: 10_000,
    connectTimeout: 5_000,
    tlsOptions: ldaps ? { ca: readFileSync(lab.tls.caCert), servername: 'localhost' } : undefined,
  });
  clients.push(c);
  return c;
}

async function asAdmin(forest: ForestId, ldaps = false): Promise<Client> {
  const c = client(forest, ldaps);
  await c.bind(FORESTS[forest].adminDn, labSecret(lab, `forest-${forest}-admin.pw`));
  return c;
}

async function asGalsync(forest: ForestId): Promise<Client> {
  const c = client(forest);
  await c.bind(FORESTS[forest].galsyncDn, labSecret(lab, `forest-${forest}-galsync.pw`));
  return c;
}

function first<T>(it: Iterable<T>, pred: (x: T) => boolean): T {
  for (const x of it) if (pred(x)) return x;
  throw new Error('no sample record matches');
}

function str(e: Entry, name: string): string[] {
  const v = e[name];
  if (v === undefined) return [];
  return (Array.isArray(v) ? v : [v]).map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : String(x)));
}

before(async () => {
  lab = await ensureLab();
});

after(async () => {
  await Promise.all(clients.map((c) => c.unbind().catch(() => undefined)));
});

describe('lab directory', () => {
  test('lab.json records both forests on the fixed ports, alive', () => {
    assert.equal(lab.forests.a.ldapUrl, 'ldap://127.0.0.1:3891');
    assert.equal(lab.forests.b.ldapsUrl, 'ldaps://127.0.0.1:6362');
    for (const id of ['a', 'b'] as const) {
      assert.ok(lab.forests[id].alive, `slapd ${id} alive`);
      assert.ok(lab.forests[id].pid);
      assert.equal(lab.forests[id].loaded?.counts.users, lab.size);
    }
  });

  test('a second lab up is quick and does nothing', async () => {
    const t0 = performance.now();
    const again = await labUp({ mailStores: false });
    assert.deepEqual(again.actions, []);
    assert.ok(performance.now() - t0 < 3_000);
  });

  for (const forest of ['a', 'b'] as const) {
    test(`forest ${forest}: admin binds over ldap and ldaps and sees the layout`, async () => {
      const f = FORESTS[forest];
      for (const ldaps of [false, true]) {
        const c = await asAdmin(forest, ldaps);
        const { searchEntries } = await c.search(f.suffix, {
          scope: 'one',
          filter: '(objectClass=organizationalUnit)',
          attributes: ['ou'],
        });
        const ous = searchEntries.map((e) => str(e, 'ou')[0]).sort();
        assert.deepEqual(ous, ['Contacts', 'GAL Contacts', 'Groups', 'Service Accounts', 'Sites']);
      }
    });

    test(`forest ${forest}: galsync reads users but never userPassword`, async () => {
      const c = await asGalsync(forest);
      const { searchEntries } = await c.search(FORESTS[forest].sitesDn, {
        filter: '(objectClass=user)',
        attributes: ['sAMAccountName', 'userPassword'],
      });
      // Other live tests may add users of their own: every sample user must be readable.
      const readable = new Set(searchEntries.map((e) => str(e, 'sAMAccountName')[0]));
      const missing = [...samplePeople(forest, lab.size, lab.seed)].filter((p) => !readable.has(p.sam)).map((p) => p.sam);
      assert.deepEqual(missing, []);
      assert.ok(searchEntries.length >= lab.size);
      assert.ok(searchEntries.every((e) => str(e, 'userPassword').length === 0));
    });

    test(`forest ${forest}: a sample user binds with the users password and can read; a wrong password fails`, async () => {
      const p = first(samplePeople(forest, lab.size, lab.seed), (x) => x.hasMailbox);
      const c = client(forest);
      await c.bind(p.dn, labSecret(lab, 'users.pw'));
      const { searchEntries } = await c.search(FORESTS[forest].suffix, { filter: `(userPrincipalName=${p.upn})`, attributes: ['mail'] });
      assert.equal(searchEntries.length, 1);
      assert.deepEqual(str(searchEntries[0] as Entry, 'mail'), [p.mail]);
      const bad = client(forest);
      await assert.rejects(bad.bind(p.dn, 'not-the-password'), InvalidCredentialsError);
    });

    test(`forest ${forest}: users carry AD attributes (objectGUID 16 bytes, proxyAddresses, legacyExchangeDN …)`, async () => {
      const p = first(samplePeople(forest, lab.size, lab.seed), (x) => x.hasMailbox);
      const c = await asGalsync(forest);
      // Equality on proxyAddresses works (msuser has no matching rule: our patched copy adds it), case-insensitively.
      const { searchEntries } = await c.search(FORESTS[forest].suffix, {
        filter: `(proxyAddresses=smtp:${p.mail?.toUpperCase()})`,
        attributes: [
          'objectGUID',
          'proxyAddresses',
          'legacyExchangeDN',
          'sAMAccountName',
          'userPrincipalName',
          'homeMDB',
          'displayName',
          'mailNickname',
        ],
        explicitBufferAttributes: ['objectGUID'],
      });
      assert.equal(searchEntries.length, 1);
      const e = searchEntries[0] as Entry;
      const guid = e.objectGUID as Buffer;
      assert.ok(Buffer.isBuffer(guid));
      assert.equal(guid.length, 16);
      assert.deepEqual(guid, p.objectGUID);
      assert.ok(str(e, 'proxyAddresses').includes(`SMTP:${p.mail}`));
      assert.match(
        str(e, 'legacyExchangeDN')[0] ?? '',
        /^\/o=Forest[AB]\/ou=Exchange Administrative Group \(FYDIBOHF23SPDLT\)\/cn=Recipients\/cn=/,
      );
      assert.deepEqual(str(e, 'sAMAccountName'), [p.sam]);
      assert.deepEqual(str(e, 'userPrincipalName'), [`${p.sam}@forest-${forest}.test`]);
      assert.deepEqual(str(e, 'homeMDB'), [FORESTS[forest].mailboxStoreDn]);
      assert.deepEqual(str(e, 'displayName'), [p.displayName]);
    });

    test(`forest ${forest}: galsync writes under ou=GAL Contacts and nowhere else`, async () => {
      const f = FORESTS[forest];
      const c = await asGalsync(forest);
      const dn = `cn=Test Contact ${process.pid},${f.galContactsDn}`;
      await c.add(dn, {
        objectClass: ['top', 'contact'],
        cn: `Test Contact ${process.pid}`,
        mail: `t${process.pid}@elsewhere.test`,
        targetAddress: `SMTP:t${process.pid}@elsewhere.test`,
        proxyAddresses: [`SMTP:t${process.pid}@elsewhere.test`, 'X500:/o=Elsewhere/cn=Recipients/cn=t'],
      });
      try {
        const { searchEntries } = await c.search(dn, { scope: 'base', attributes: ['entryUUID'] });
        const uuid = str(searchEntries[0] as Entry, 'entryUUID')[0];
        await c.del(dn);
        // The delete is readable in the accesslog with its entryUUID (what delta import needs).
        const log = await c.search('cn=accesslog', { filter: `(&(reqType=delete)(reqEntryUUID=${uuid}))`, attributes: ['reqDN'] });
        assert.equal(log.searchEntries.length, 1);
      } finally {
        const admin = await asAdmin(forest);
        await admin.del(dn).catch(() => undefined);
      }
      await assert.rejects(
        c.add(`cn=Nope ${process.pid},${f.contactsDn}`, { objectClass: ['top', 'contact'], cn: `Nope ${process.pid}` }),
        InsufficientAccessError,
      );
      const p = first(samplePeople(forest, lab.size, lab.seed), (x) => x.hasMailbox);
      await assert.rejects(
        c.modify(p.dn, new Change({ operation: 'replace', modification: new Attribute({ type: 'title', values: ['Hacked'] }) })),
        InsufficientAccessError,
      );
    });
  }

  test('forest A: non-ASCII names, duplicate common names, users without mail or without homeMDB', async () => {
    const c = await asGalsync('a');
    const jose = await c.search(FORESTS.a.sitesDn, { filter: '(displayName=José Müller)', attributes: ['sAMAccountName', 'mail'] });
    assert.equal(jose.searchEntries.length, 1);
    const smiths = await c.search(FORESTS.a.sitesDn, { filter: '(displayName=John Smith)', attributes: ['sAMAccountName', 'mail'] });
    const sams = smiths.searchEntries.map((e) => str(e, 'sAMAccountName')[0]);
    assert.ok(sams.length >= 2 && new Set(sams).size === sams.length, `distinct John Smith accounts: ${sams}`);
    const yamada = await c.search(FORESTS.a.sitesDn, { filter: '(sn=山田)', attributes: ['displayName'] });
    assert.ok(yamada.searchEntries.length >= 1);
    const noMail = await c.search(FORESTS.a.sitesDn, { filter: '(&(objectClass=user)(!(mail=*)))', attributes: ['cn'] });
    assert.ok(noMail.searchEntries.length >= 1);
    const noMdb = await c.search(FORESTS.a.sitesDn, { filter: '(&(objectClass=user)(!(homeMDB=*)))', attributes: ['cn'] });
    assert.ok(noMdb.searchEntries.length >= 1);
    const slash = await c.search(FORESTS.a.groupsDn, { filter: '(mail=Atlanta/sales@forest-a.test)', attributes: ['member'] });
    assert.equal(slash.searchEntries.length, 1);
  });

  test('forest B: mail-enabled users have targetAddress and no homeMDB; contacts join forest A users by mail', async () => {
    const c = await asGalsync('b');
    const me = await c.search(FORESTS.b.sitesDn, {
      filter: '(&(objectClass=user)(mail=*)(targetAddress=*)(!(homeMDB=*)))',
      attributes: ['targetAddress'],
    });
    assert.ok(me.searchEntries.length >= 1);
    const aUser = first(samplePeople('a', lab.size, lab.seed), (x) => x.hasMailbox && !x.hidden && x.index % 3 === 0);
    const joined = await c.search(FORESTS.b.contactsDn, { filter: `(mail=${aUser.mail})`, attributes: ['targetAddress'] });
    assert.equal(joined.searchEntries.length, 1);
  });

  test('paged search as galsync returns every entry, beyond the 500 default limit', async () => {
    const admin = await asAdmin('a');
    const base = `ou=paging-test-${process.pid},${FORESTS.a.suffix}`;
    const n = 620;
    await admin.add(base, { objectClass: ['top', 'organizationalUnit'], ou: `paging-test-${process.pid}` });
    try {
      for (let i = 0; i < n; i += 40) {
        await Promise.all(
          Array.from({ length: Math.min(40, n - i) }, (_, k) =>
            admin.add(`cn=r${i + k},${base}`, { objectClass: ['top', 'organizationalRole'], cn: `r${i + k}` }),
          ),
        );
      }
      const c = await asGalsync('a');
      let count = 0;
      let pages = 0;
      for await (const page of c.searchPaginated(base, {
        scope: 'one',
        filter: '(objectClass=organizationalRole)',
        attributes: ['1.1'],
        paged: { pageSize: 200 },
      })) {
        count += page.searchEntries.length;
        pages++;
      }
      assert.equal(count, n);
      assert.ok(pages >= 4);
      // Without paging too: the server-side size limit is unlimited for everyone.
      const all = await c.search(base, { scope: 'one', filter: '(objectClass=organizationalRole)', attributes: ['1.1'] });
      assert.equal(all.searchEntries.length, n);
    } finally {
      const { searchEntries } = await admin.search(base, { scope: 'one', attributes: ['1.1'] });
      for (let i = 0; i < searchEntries.length; i += 40) {
        await Promise.all(searchEntries.slice(i, i + 40).map((e) => admin.del(e.dn)));
      }
      await admin.del(base);
    }
  });
});
