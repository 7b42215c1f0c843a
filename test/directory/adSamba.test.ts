// The AD side of the LDAP connector against real Active Directory (the lab's Samba
// DCs): DirSync deltas with tombstones and renames, uSNChanged fallback, range
// retrieval on a 5,000-member group, escaped DNs, objectGUID anchors, the
// CN=Configuration continuation reference, ldaps verification, AD's refusals.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Attribute, Change, type Client } from 'ldapts';
import { RANGE_FIXTURE_SIZE, rangeFixtureDn } from '../../lab/samba/organization.ts';
import { ensureSamba, type SambaLab, sambaSkipReason } from '../../lab/samba/testing.ts';
import { directorySchema } from '../../src/config/organization.ts';
import { AD_BINARY_ATTRIBUTES } from '../../src/directory/ad/adEntry.ts';
import { adRefusal, toAdExportError } from '../../src/directory/ad/adError.ts';
import { ShowDeletedControl } from '../../src/directory/ad/controls.ts';
import { type DirSyncPage, dirSync, isDirSyncDenied } from '../../src/directory/ad/dirSync.ts';
import { guidFilter, guidToString } from '../../src/directory/ad/guid.ts';
import { allValues } from '../../src/directory/ad/memberRange.ts';
import type { AdChange } from '../../src/directory/ad/types.ts';
import { decodeUac } from '../../src/directory/ad/uac.ts';
import { readUsnState, usnChanges } from '../../src/directory/ad/usnPoll.ts';
import { connectDirectory, type DirectoryConnection } from '../../src/directory/connection.ts';
import { DirectoryError } from '../../src/directory/errors.ts';

const skip = sambaSkipReason();
const run = randomBytes(3).toString('hex');

async function connect(
  lab: SambaLab,
  as: 'admin' | { dn: string; password: string },
  overrides: Record<string, unknown> = {},
): Promise<DirectoryConnection> {
  const dc = lab.dc.a;
  const cfg = directorySchema.parse({
    url: dc.ldapsUrl,
    baseDn: dc.baseDn,
    bindDn: dc.adminUpn,
    password: { file: lab.adminSecretFile('a') },
    caFile: lab.caFile,
    kind: 'activedirectory',
    ...overrides,
  });
  return connectDirectory(cfg, { baseDir: process.cwd(), keyPath: 'organizations.a.directory', ...(as === 'admin' ? {} : { bindAs: as }) });
}

async function collect(pages: AsyncGenerator<DirSyncPage>): Promise<{ changes: AdChange[]; cookie: string }> {
  const changes: AdChange[] = [];
  let cookie = '';
  for await (const p of pages) {
    changes.push(...p.changes);
    cookie = p.cookie;
  }
  return { changes, cookie };
}

async function guidOf(client: Client, dn: string): Promise<string> {
  const e = (await client.search(dn, { scope: 'base', attributes: ['objectGUID'], explicitBufferAttributes: ['objectGUID'] }))
    .searchEntries[0];
  assert.ok(e && Buffer.isBuffer(e.objectGUID), `objectGUID of ${dn}`);
  return guidToString(e.objectGUID as Buffer);
}

describe('AD connector against Samba AD DC', { skip }, () => {
  let lab: SambaLab;
  let conn: DirectoryConnection;
  let client: Client;
  let base: string;
  let gal: string;

  before(async () => {
    lab = await ensureSamba();
    conn = await connect(lab, 'admin');
    client = conn.client;
    base = lab.dc.a.baseDn;
    gal = lab.dc.a.galContactsDn;
  });
  after(async () => {
    await conn?.close();
  });

  test('DirSync: full first run, then only changes; modify, rename (same objectGUID, new DN), delete as tombstone', async () => {
    const filter = '(objectClass=contact)';
    const attributes = ['cn', 'mail', 'description', 'name'];
    const first = await collect(dirSync(client, { baseDn: base, filter, attributes }));
    assert.ok(
      first.changes.some((c) => c.attributes.mail?.[0] === 'ingrid@partner.example'),
      'the full run returns the sample contacts',
    );
    assert.ok(first.changes.every((c) => /^[0-9a-f]{8}-/.test(c.guid)));
    assert.ok(first.cookie.length > 0);

    const dn = `CN=adtest ${run} dirsync,${gal}`;
    await client.add(dn, {
      objectClass: ['top', 'person', 'organizationalPerson', 'contact'],
      cn: `adtest ${run} dirsync`,
      mail: `dirsync.${run}@forest-b.test`,
      description: 'adtest',
    });
    const guid = await guidOf(client, dn);
    const added = await collect(dirSync(client, { baseDn: base, filter, attributes, cookie: first.cookie }));
    assert.deepEqual(
      added.changes.map((c) => c.guid),
      [guid],
      'only the new contact is reported',
    );
    assert.equal(added.changes[0]?.attributes.mail?.[0], `dirsync.${run}@forest-b.test`);

    // A "restart": the cookie travels as text (as the state store keeps it) to a new connection.
    await client.modify(
      dn,
      new Change({ operation: 'replace', modification: new Attribute({ type: 'mail', values: [`dirsync2.${run}@forest-b.test`] }) }),
    );
    const conn2 = await connect(lab, 'admin');
    let cookie: string;
    try {
      const modified = await collect(dirSync(conn2.client, { baseDn: base, filter, attributes, cookie: String(added.cookie) }));
      assert.deepEqual(
        modified.changes.map((c) => c.guid),
        [guid],
      );
      assert.deepEqual(modified.changes[0]?.attributes.mail, [`dirsync2.${run}@forest-b.test`]);
      assert.equal(modified.changes[0]?.attributes.description, undefined, 'DirSync sends only what changed');
      cookie = modified.cookie;
    } finally {
      await conn2.close();
    }

    const renamedRdn = `CN=Müller\\, Hans \\+ Ærø ${run}`;
    await client.modifyDN(dn, `${renamedRdn},${gal}`);
    const renamed = await collect(dirSync(client, { baseDn: base, filter, attributes, cookie }));
    assert.deepEqual(
      renamed.changes.map((c) => c.guid),
      [guid],
      'a rename is the same object, not delete + add',
    );
    assert.match(renamed.changes[0]?.dn ?? '', /^CN=Müller\\, Hans \\\+ Ærø /i);
    assert.equal(renamed.changes[0]?.deleted, false);

    await client.del(`${renamedRdn},${gal}`);
    const deleted = await collect(dirSync(client, { baseDn: base, filter, attributes, cookie: renamed.cookie }));
    const tomb = deleted.changes.find((c) => c.guid === guid);
    assert.ok(tomb, 'the delete is reported');
    assert.equal(tomb.deleted, true, 'as a tombstone (isDeleted=TRUE)');
    assert.match(tomb.dn, /CN=Deleted Objects/i);

    // Show Deleted: the tombstone is there, found by its objectGUID.
    const res = await client.search(
      base,
      {
        scope: 'sub',
        filter: guidFilter(guid),
        attributes: ['isDeleted', 'objectGUID'],
        explicitBufferAttributes: AD_BINARY_ATTRIBUTES,
      },
      new ShowDeletedControl(),
    );
    assert.equal(res.searchEntries.length, 1);
    assert.equal(String(res.searchEntries[0]?.isDeleted), 'TRUE');
    const hidden = await client.search(base, { scope: 'sub', filter: guidFilter(guid), attributes: ['cn'] });
    assert.equal(hidden.searchEntries.length, 0, 'without Show Deleted the tombstone is invisible');
  });

  test('uSNChanged polling sees modifies and deletes (tombstones) since a watermark', async () => {
    const dn = `CN=adtest ${run} usn,${gal}`;
    await client.add(dn, {
      objectClass: ['top', 'person', 'organizationalPerson', 'contact'],
      cn: `adtest ${run} usn`,
      mail: `usn.${run}@forest-b.test`,
    });
    const guid = await guidOf(client, dn);
    const mark = await readUsnState(client);
    assert.match(mark.highestUsn, /^\d+$/);
    assert.match(mark.invocationId, /^[0-9a-f-]{36}$/);
    await client.modify(
      dn,
      new Change({ operation: 'replace', modification: new Attribute({ type: 'mail', values: [`usn2.${run}@forest-b.test`] }) }),
    );
    const seen: AdChange[] = [];
    for await (const c of usnChanges(client, {
      baseDn: base,
      filter: '(objectClass=contact)',
      attributes: ['mail'],
      sinceUsn: mark.highestUsn,
    }))
      seen.push(c);
    assert.deepEqual(
      seen.map((c) => [c.guid, c.attributes.mail?.[0]]),
      [[guid, `usn2.${run}@forest-b.test`]],
    );

    const mark2 = await readUsnState(client);
    await client.del(dn);
    const gone: AdChange[] = [];
    for await (const c of usnChanges(client, {
      baseDn: base,
      filter: '(objectClass=contact)',
      attributes: ['mail'],
      sinceUsn: mark2.highestUsn,
    }))
      gone.push(c);
    assert.deepEqual(
      gone.map((c) => [c.guid, c.deleted]),
      [[guid, true]],
    );
    assert.equal((await readUsnState(client)).invocationId, mark.invocationId, 'same DC, same invocationId');
  });

  test('an account without the DirSync right is refused with a clear error (the cue to fall back to uSNChanged)', async () => {
    const user = (
      await client.search(lab.dc.a.sitesDn, {
        scope: 'sub',
        filter: '(&(objectClass=user)(sAMAccountName=jmuller))',
        attributes: ['userPrincipalName'],
      })
    ).searchEntries[0];
    assert.ok(user);
    const plain = await connect(lab, { dn: String(user.userPrincipalName), password: lab.usersPassword });
    try {
      await assert.rejects(
        collect(dirSync(plain.client, { baseDn: base, filter: '(objectClass=contact)', attributes: ['mail'], flags: 0 })),
        (err: unknown) => {
          assert.ok(isDirSyncDenied(err), String(err));
          assert.match((err as Error).message, /refused DirSync/);
          assert.match((err as DirectoryError).hint ?? '', /Replicating Directory Changes/);
          return true;
        },
      );
      // …and the fallback works for the same account.
      const mark = await readUsnState(plain.client);
      assert.match(mark.highestUsn, /^\d+$/);
    } finally {
      await plain.close();
    }
  });

  test('galsync (granted "Replicating Directory Changes") may run DirSync', async () => {
    const g = await connect(lab, { dn: lab.dc.a.galsyncUpn, password: lab.galsyncPassword('a') });
    try {
      const r = await collect(dirSync(g.client, { baseDn: base, filter: '(objectClass=contact)', attributes: ['mail'] }));
      assert.ok(r.changes.length > 0 && r.cookie.length > 0);
    } finally {
      await g.close();
    }
  });

  test('range retrieval reads all 5,000 members of a group (member;range=…)', async () => {
    const fixture = rangeFixtureDn('a');
    const dns = Array.from({ length: RANGE_FIXTURE_SIZE }, (_, i) => `CN=member ${i},${fixture}`);
    const group = `CN=adtest ${run} big,${lab.dc.a.groupsDn}`;
    await client.add(group, { objectClass: ['top', 'group'], sAMAccountName: `big${run}`, member: dns });
    try {
      const firstSlice = (await client.search(group, { scope: 'base', attributes: ['member;range=0-1499'] })).searchEntries[0] ?? {};
      assert.deepEqual(
        Object.keys(firstSlice).filter((k) => k !== 'dn'),
        ['member;range=0-1499'],
        'the DC answers a slice',
      );
      const seen = new Set<string>();
      for await (const v of allValues(client, group, 'member')) seen.add(v.toLowerCase());
      assert.equal(seen.size, 5000);
      assert.ok(seen.has(`CN=member 4999,${fixture}`.toLowerCase()));
      // A membership change on the big group is one more value, read back the same way.
      await client.modify(
        group,
        new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [dns[0] as string] }) }),
      );
      let n = 0;
      for await (const _v of allValues(client, group, 'member')) n++;
      assert.equal(n, 4999);
    } finally {
      await client.del(group);
    }
  });

  test('escaped DNs (comma, plus, non-ASCII) round-trip, and objectGUID stays across a rename and a move', async () => {
    const rdn = `CN=Łódź\\, Zoë \\+ 山田 ${run}`;
    const dn = `${rdn},${gal}`;
    await client.add(dn, {
      objectClass: ['top', 'person', 'organizationalPerson', 'contact'],
      cn: `Łódź, Zoë + 山田 ${run}`,
      mail: `escaped.${run}@forest-b.test`,
    });
    try {
      const guid = await guidOf(client, dn);
      const found = (await client.search(base, { scope: 'sub', filter: guidFilter(guid), attributes: ['cn'] })).searchEntries[0];
      assert.equal(found?.dn, dn, 'AD returns the DN with the same escapes');
      assert.equal(String(found?.cn), `Łódź, Zoë + 山田 ${run}`);
      const moved = `${rdn} moved,${lab.dc.a.contactsDn}`;
      await client.modifyDN(dn, moved);
      assert.equal(await guidOf(client, moved), guid, 'objectGUID survives rename + move');
      await client.modifyDN(moved, dn);
    } finally {
      await client.del(dn).catch(() => {});
    }
  });

  test('a subtree search from the domain root gets the CN=Configuration continuation reference; it is not chased', async () => {
    const res = await client.search(base, { scope: 'sub', filter: '(objectClass=organizationalUnit)', attributes: ['ou'] });
    assert.ok(
      res.searchReferences.some((r) => /CN=Configuration/i.test(r)),
      `references: ${res.searchReferences.join(' ')}`,
    );
    assert.ok(res.searchEntries.length > 0);
    assert.ok(res.searchEntries.every((e) => !/CN=Configuration/i.test(e.dn)));
    // The delta readers search from the root too, and neither fails nor follows it.
    let n = 0;
    for await (const c of usnChanges(client, {
      baseDn: base,
      filter: '(objectClass=organizationalUnit)',
      attributes: ['ou'],
      sinceUsn: '0',
    })) {
      assert.ok(!/CN=Configuration/i.test(c.dn));
      n++;
    }
    assert.ok(n > 0);
  });

  test('ldaps: the DC certificate verifies against the lab CA file; another CA gives a clear TLS error', async () => {
    const ok = await connect(lab, 'admin');
    await ok.close();
    const dir = mkdtempSync(join(tmpdir(), 'cf-ad-ca-'));
    // A CA that did not sign the DC's certificate (the system bundle would not either).
    writeFileSync(join(dir, 'other-ca.pem'), (await import('node:tls')).rootCertificates[0] ?? '');
    await assert.rejects(connect(lab, 'admin', { caFile: join(dir, 'other-ca.pem') }), (err: unknown) => {
      assert.ok(err instanceof DirectoryError);
      assert.equal(err.code, 'CF_ERR_LDAP_TLS');
      assert.match(err.message, /does not verify/);
      assert.match(err.hint ?? '', /caFile/);
      assert.doesNotMatch(err.message, new RegExp(lab.adminPassword('a')));
      return true;
    });
  });

  test("AD's own words when it refuses an export: duplicate sAMAccountName, dangling DN, over-long mailNickname", async () => {
    const dup = `CN=adtest ${run} dup,${gal}`;
    const dupErr = await client
      .add(dup, { objectClass: ['top', 'person', 'organizationalPerson', 'user'], sAMAccountName: 'jmuller' })
      .then(
        () => null,
        (e: unknown) => e,
      );
    assert.ok(dupErr, 'a second jmuller is refused');
    const e1 = toAdExportError(dupErr, 'add', dup);
    assert.equal(e1.code, 'CF_ERR_AD_REFUSED');
    assert.equal(e1.object, dup);
    assert.match(e1.message, /jmuller/);
    assert.match(e1.message, /already in use/);
    assert.match(e1.message, /AD error 0x2071/);
    assert.equal(adRefusal(dupErr).ldapCode, 68);

    const dangling = `CN=adtest ${run} dangling,${gal}`;
    const e2 = await client
      .add(dangling, {
        objectClass: ['top', 'person', 'organizationalPerson', 'contact'],
        homeMDB: `CN=No Such Store,CN=Services,CN=Configuration,${base}`,
      })
      .then(
        () => null,
        (e: unknown) => e,
      );
    assert.ok(e2);
    assert.equal(adRefusal(e2).ldapCode, 19, 'constraint violation');
    assert.match(toAdExportError(e2, 'add', dangling).message, /Referenced object not found/i);

    const long = `CN=adtest ${run} long,${gal}`;
    const e3 = await client
      .add(long, { objectClass: ['top', 'person', 'organizationalPerson', 'contact'], mailNickname: 'x'.repeat(65) })
      .then(
        () => null,
        (e: unknown) => e,
      );
    await client.del(long).catch(() => {});
    assert.ok(e3, 'mailNickname has rangeUpper 64 in the extended schema');
    // Windows says constraintViolation (19); Samba says invalidAttributeSyntax (21). Either way, its words are kept.
    assert.ok([19, 21].includes(adRefusal(e3).ldapCode ?? 0), String(e3));
    assert.match(toAdExportError(e3, 'add', long).message, /mailNickname/);
  });

  test('userAccountControl of the sample users decodes; a disabled account is still there to be a GAL entry', async () => {
    const res = await client.search(lab.dc.a.sitesDn, {
      scope: 'sub',
      filter: '(objectClass=user)',
      attributes: ['userAccountControl', 'mail', 'sAMAccountName'],
    });
    const decoded = res.searchEntries.map((e) => ({ sam: String(e.sAMAccountName), uac: decodeUac(String(e.userAccountControl)) }));
    assert.ok(decoded.every((d) => d.uac?.normalAccount));
    assert.ok(
      decoded.some((d) => d.uac?.disabled),
      'the sample has a disabled user',
    );
    assert.ok(decoded.some((d) => d.uac && !d.uac.disabled));
  });
});
