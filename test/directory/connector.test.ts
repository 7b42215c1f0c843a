// The LDAP connector against the lab's slapd: paged full import as an async iterator,
// binary objectGUID as a GUID string, entryUUID anchors, delta by entryCSN, deletes from
// the accesslog, and export errors that carry the DN and the server's words. Objects
// are created under an OU of this test's own (as admin) and removed at the end.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Client } from 'ldapts';
import { connectDirectory, type DirectoryConnection } from '../../src/directory/connection.ts';
import { changedSince, deletedSince, generalizedTime, readContextCsn } from '../../src/directory/delta.ts';
import { DirectoryError } from '../../src/directory/errors.ts';
import { escapeDnValue, ldapFilter } from '../../src/directory/escape.ts';
import { addEntry, deleteEntry, modifyEntry, renameEntry } from '../../src/directory/export.ts';
import { readEntry, searchEntries } from '../../src/directory/import.ts';
import { ensureLab, labSecret } from '../helpers/lab.ts';

describe('LDAP connector on the lab', () => {
  let admin: Client;
  let galsync: DirectoryConnection;
  let ou = '';
  let gal = '';
  let lab: Awaited<ReturnType<typeof ensureLab>>;

  before(async () => {
    lab = await ensureLab();
    const f = lab.forests.b;
    admin = new Client({ url: f.ldapUrl, timeout: 10_000 });
    await admin.bind(f.adminDn, labSecret(lab, 'forest-b-admin.pw'));
    const tag = `c${Date.now().toString(36)}`;
    ou = `ou=${tag},${f.sitesDn}`;
    gal = `ou=${tag},${f.galContactsDn}`;
    await admin.add(ou, { objectClass: ['top', 'organizationalUnit'], ou: tag });
    await admin.add(gal, { objectClass: ['top', 'organizationalUnit'], ou: tag });
    galsync = await connectDirectory(
      {
        url: f.ldapUrl,
        baseDn: f.suffix,
        bindDn: f.galsyncDn,
        password: { file: `${lab.labDir}/secrets/forest-b-galsync.pw` },
        startTls: false,
        insecureSkipVerify: false,
        timeoutMs: 10_000,
        kind: 'openldap',
        mailboxFilter: '(homeMDB=*)',
        loginAttribute: 'userPrincipalName',
      },
      { baseDir: lab.labDir, keyPath: 'organizations.b.directory' },
    );
  });
  after(async () => {
    await galsync?.close();
    for (const base of [gal, ou]) {
      const all: string[] = [];
      for await (const e of searchEntries(admin, { bases: [base], filter: '(objectClass=*)', attributes: ['1.1'] })) all.push(e.dn);
      for (const d of all.sort((x, y) => y.split(',').length - x.split(',').length)) await admin.del(d).catch(() => {});
    }
    await admin?.unbind();
  });

  it('pages through every user, as the galsync account, with objectGUID as a GUID string', async () => {
    const all = await admin.search(lab.forests.b.sitesDn, { filter: '(objectClass=user)', attributes: ['1.1'] });
    let n = 0;
    let sample: { guid: string; uuid: string } | undefined;
    for await (const e of searchEntries(galsync.client, {
      bases: [lab.forests.b.sitesDn],
      filter: '(objectClass=user)',
      attributes: ['objectGUID', 'entryUUID', 'mail'],
      binaryAttributes: ['objectGUID'],
      pageSize: 7,
    })) {
      n++;
      sample ??= { guid: e.attributes.objectGUID?.[0] ?? '', uuid: e.attributes.entryUUID?.[0] ?? '' };
    }
    assert.equal(n, all.searchEntries.length, 'pages of 7 add up to everything');
    assert.match(sample?.guid ?? '', /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/);
    assert.match(sample?.uuid ?? '', /^[0-9a-f-]{36}$/);
  });

  it('a hostile value in a filter matches nothing more than itself', async () => {
    const found: string[] = [];
    for await (const e of searchEntries(galsync.client, {
      bases: [lab.forests.b.suffix],
      filter: ldapFilter`(mail=${'*)(objectClass=*'})`,
      attributes: ['mail'],
    }))
      found.push(e.dn);
    assert.deepEqual(found, []);
  });

  it('export: add, modify, rename, delete; errors name the DN and keep the LDAP result', async () => {
    const dn = `cn=${escapeDnValue('Smith, John #1 (test)')},${gal}`;
    await addEntry(galsync.client, dn, { objectClass: ['top', 'contact'], cn: ['Smith, John #1 (test)'], mail: ['js@x.test'] });
    const dup = await addEntry(galsync.client, dn, { objectClass: ['top', 'contact'], cn: ['Smith, John #1 (test)'] }).catch(
      (e: unknown) => e,
    );
    assert.ok(dup instanceof DirectoryError);
    assert.equal(dup.ldapCode, 68);
    assert.equal(dup.object, dn);
    await modifyEntry(galsync.client, dn, [
      { attribute: 'mail', values: ['js2@x.test'] },
      { attribute: 'displayName', values: ['J. Smith'] },
    ]);
    const moved = `cn=${escapeDnValue('Smith\\John, renamed')},${gal}`;
    await renameEntry(galsync.client, dn, moved);
    const e = await readEntry(galsync.client, moved, ['mail', 'displayName', 'cn']);
    assert.deepEqual(e?.attributes.mail, ['js2@x.test']);
    assert.deepEqual(e?.attributes.cn, ['Smith\\John, renamed']);
    // Outside the GAL container the galsync account may not write: the error says so and names the DN.
    const denied = await addEntry(galsync.client, `cn=nope,${ou}`, { objectClass: ['top', 'contact'], cn: ['nope'] }).catch(
      (x: unknown) => x,
    );
    assert.ok(denied instanceof DirectoryError);
    assert.equal(denied.ldapCode, 50);
    assert.match(denied.message, /cn=nope/);
    assert.match(denied.message, /Insufficient Access Rights \(LDAP 50\): no write access to parent/);
    const violation = await addEntry(galsync.client, `cn=bad,${gal}`, { objectClass: ['top', 'contact'], cn: ['bad'], uid: ['x'] }).catch(
      (x: unknown) => x,
    );
    assert.match((violation as Error).message, /Object Class Violation \(LDAP 65\): attribute 'uid' not allowed/);
    await deleteEntry(galsync.client, moved);
    await deleteEntry(galsync.client, moved); // already gone: fine (a re-run after a cut-off export)
    assert.equal(await readEntry(galsync.client, moved, ['cn']), undefined);
  });

  it('delta: changes since the contextCSN, deletes from the accesslog', async () => {
    const since = generalizedTime(new Date(Date.now() - 60_000));
    const csn = await readContextCsn(galsync.client, lab.forests.b.suffix);
    assert.ok(csn);
    const dn = `cn=Delta Probe,${ou}`;
    await admin.add(dn, { objectClass: ['top', 'contact'], cn: 'Delta Probe', mail: 'delta@x.test' });
    const uuid = (await readEntry(admin, dn, ['entryUUID']))?.attributes.entryUUID?.[0];
    const changed: string[] = [];
    for await (const e of changedSince(galsync.client, { bases: [ou], filter: '(objectClass=contact)', attributes: ['cn'] }, csn))
      changed.push(e.dn);
    assert.deepEqual(changed, [dn]);
    await admin.del(dn);
    const gone: string[] = [];
    for await (const d of deletedSince(galsync.client, 'cn=accesslog', since)) gone.push(d.uuid);
    assert.ok(uuid && gone.includes(uuid), 'the delete is in the accesslog with its entryUUID');
  });
});
