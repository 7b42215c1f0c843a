// GAL sync end to end on the lab's Samba AD forests (FORESTA 127.0.0.2, FORESTB
// 127.0.0.3), with the `init --directory samba` example project: contacts both ways
// with X500 and targetAddress; a DirSync delta after a rename, an address change, a
// membership change of a 5,000-member group and a delete (tombstone) in FORESTA;
// objectGUID anchors across a rename; the DirSync cookie across an engine restart (a
// new crossforest process on the same state file). Each scenario works in OU=<tag>
// containers of its own and removes them.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { Attribute, Change } from 'ldapts';
import { RANGE_FIXTURE_SIZE, rangeFixtureDn } from '../../lab/samba/organization.ts';
import { sambaSkipReason } from '../../lab/samba/testing.ts';
import { decodeUac } from '../../src/directory/ad/uac.ts';
import { parseAdWatermark } from '../../src/sync/adWatermark.ts';
import * as cs from '../../src/sync/connectorSpace.ts';
import { getRun, getWatermark, runErrors } from '../../src/sync/runHistory.ts';
import { type SambaSyncFixture, sambaSyncFixture, values } from './sambaFixture.ts';

const skip = sambaSkipReason();
const CLI = join(resolve(fileURLToPath(new URL('../..', import.meta.url))), 'bin', 'crossforest.js');
const exec = promisify(execFile);
const LEGACY = '/o=ForestA/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=';

function replace(type: string, vals: string[]): Change {
  return new Change({ operation: 'replace', modification: new Attribute({ type, values: vals }) });
}

describe('GAL sync on the Samba AD forests', { skip }, () => {
  let fx: SambaSyncFixture;
  const t = () => fx.tag;
  let alice: string;
  let carol: string;
  let dave: string;
  let _bob: string;
  let group: string;
  let aliceGuid: string;

  before(async () => {
    fx = await sambaSyncFixture({
      // The big group's member list is imported into the connector space (not flowed).
      edit: (doc) => doc.sync.agents.a?.attributes.push('member'),
    });
    const mailUser = (nick: string, forest: 'a' | 'b') => ({
      mail: `${nick}.${t()}@forest-${forest}.test`,
      mailNickname: `${nick}${t()}`,
      displayName: `${nick} ${t()}`,
      proxyAddresses: [
        `SMTP:${nick}.${t()}@forest-${forest}.test`,
        `smtp:${nick}${t()}@forest-${forest}.test`,
        `X400:c=US;a= ;p=ForestA;s=${nick}`,
      ],
      legacyExchangeDN: `${LEGACY}${nick}${t()}`,
    });
    alice = await fx.addUser(fx.a, fx.sites.a, `Alice ${t()}`, mailUser('alice', 'a'));
    carol = await fx.addUser(fx.a, fx.sites.a, `Carol ${t()}`, mailUser('carol', 'a'));
    dave = await fx.addUser(fx.a, fx.sites.a, `Dave ${t()}`, mailUser('dave', 'a'));
    _bob = await fx.addUser(fx.b, fx.sites.b, `Bob ${t()}`, {
      ...mailUser('bob', 'b'),
      legacyExchangeDN: `/o=ForestB/cn=Recipients/cn=bob${t()}`,
    });
    const members = Array.from({ length: RANGE_FIXTURE_SIZE }, (_, i) => `CN=member ${i},${rangeFixtureDn('a')}`);
    group = `CN=Big ${t()},${fx.sites.a}`;
    await fx.a.add(group, {
      objectClass: ['top', 'group'],
      sAMAccountName: `big${t()}`,
      mail: `big.${t()}@forest-a.test`,
      displayName: `Big ${t()}`,
      member: members,
    });
    aliceGuid = await fx.guidOf(fx.a, alice);
  });
  after(async () => {
    await fx?.cleanup();
  });

  it('full cycle: A users and groups are contacts in B with X500 and targetAddress, B users contacts in A', async () => {
    const run = await fx.run('full-cycle');
    assert.equal(run.status, 'success', `${run.message ?? ''} ${JSON.stringify(await runErrors(fx.store, run.id))}`);
    const inB = await fx.list(fx.b, fx.gal.b);
    const contact = inB.find((e) => values(e, 'mail')[0] === `alice.${t()}@forest-a.test`);
    assert.ok(contact, `alice has a contact in B (B holds ${inB.map((e) => e.dn).join('; ')})`);
    assert.deepEqual(values(contact, 'targetAddress'), [`SMTP:alice.${t()}@forest-a.test`]);
    const proxies = values(contact, 'proxyAddresses');
    assert.ok(proxies.includes(`SMTP:alice.${t()}@forest-a.test`), proxies.join(' '));
    assert.ok(proxies.includes(`X500:${LEGACY}alice${t()}`), 'legacyExchangeDN as X500');
    assert.ok(!proxies.some((p) => /^x400:/i.test(p)), 'only SMTP and X500 on the contact');
    assert.ok(values(contact, 'objectClass').includes('contact'));
    assert.ok(
      inB.some((e) => values(e, 'mail')[0] === `big.${t()}@forest-a.test`),
      'the group has a contact in B',
    );
    assert.equal(inB.length, 4, 'alice, carol, dave and the group');
    const inA = await fx.list(fx.a, fx.gal.a);
    assert.deepEqual(
      inA.map((e) => [values(e, 'mail')[0], values(e, 'targetAddress')[0]]),
      [[`bob.${t()}@forest-b.test`, `SMTP:bob.${t()}@forest-b.test`]],
    );
    assert.ok(values(inA[0], 'proxyAddresses').includes(`X500:/o=ForestB/cn=Recipients/cn=bob${t()}`));
    // Anchors are objectGUIDs; the big group's 5,000 members came by range retrieval.
    const aliceCs = await cs.csByAnchor(fx.store, 'a', aliceGuid);
    assert.equal(aliceCs?.dn, alice);
    // Alice's account is disabled (created without a password): still a GAL entry.
    const uac = decodeUac(values(await fx.read(fx.a, alice, ['userAccountControl']), 'userAccountControl')[0] ?? '');
    assert.equal(uac?.disabled, true);
    const groupCs = await cs.csByAnchor(fx.store, 'a', await fx.guidOf(fx.a, group));
    assert.equal(values(groupCs, 'member').length, RANGE_FIXTURE_SIZE);
    // The confirming import learnt the contacts' objectGUIDs.
    const contactCs = await cs.csByAnchor(fx.store, 'b', values(contact, 'objectGUID')[0] ?? '');
    assert.ok(contactCs?.provisioned, 'the contact in B is the provisioned connector, anchored on its objectGUID');
    const wm = parseAdWatermark(await getWatermark(fx.store, 'a', 'ad'));
    assert.equal(wm?.kind, 'dirsync', 'galsync may use DirSync: its cookie is the watermark');
  });

  it('delta: rename, address change, 5,000-member group change and delete in FORESTA; objectGUID anchors hold', async () => {
    const contactOf = async (mail: string) => (await fx.list(fx.b, fx.gal.b)).find((e) => values(e, 'mail')[0] === mail);
    const aliceContactBefore = await contactOf(`alice.${t()}@forest-a.test`);
    assert.ok(aliceContactBefore);
    // Rename and move at once, to an RDN with an escaped comma and plus sign and non-ASCII letters.
    const sub = `OU=sub,${fx.sites.a}`;
    await fx.a.add(sub, { objectClass: ['top', 'organizationalUnit'], ou: 'sub' });
    const renamed = `CN=Müller\\, Alice \\+ Ærø ${t()},${sub}`;
    await fx.a.modifyDN(alice, renamed);
    await fx.a.modify(renamed, [replace('displayName', [`Alice Müller ${t()}`])]);
    await fx.a.modify(carol, [
      replace('mail', [`carol.new.${t()}@forest-a.test`]),
      replace('proxyAddresses', [`SMTP:carol.new.${t()}@forest-a.test`, `smtp:carol.${t()}@forest-a.test`]),
    ]);
    await fx.a.modify(
      group,
      new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [`CN=member 0,${rangeFixtureDn('a')}`] }) }),
    );
    await fx.a.del(dave);

    const run = await fx.run('delta-cycle');
    assert.equal(run.status, 'success', `${run.message ?? ''} ${JSON.stringify(await runErrors(fx.store, run.id))}`);
    const importA = run.steps.find((s) => s.step === 'delta-import' && s.agent === 'a');
    assert.ok(importA && importA.counts.imported <= 4, `DirSync delta read only what changed (${importA?.counts.imported})`);
    assert.equal(importA.counts.importDeletes, 1, 'the delete came as a tombstone');

    // Rename: the same connector-space object (objectGUID anchor), new DN; not delete + add.
    const aliceCs = await cs.csByAnchor(fx.store, 'a', aliceGuid);
    assert.equal(aliceCs?.dn, renamed);
    assert.equal(await fx.guidOf(fx.a, renamed), aliceGuid, 'objectGUID kept by the rename');
    assert.ok(aliceCs?.mvId !== null, 'still joined');
    const aliceContact = await contactOf(`alice.${t()}@forest-a.test`);
    assert.ok(aliceContact);
    assert.equal(values(aliceContact, 'cn')[0], `Müller, Alice + Ærø ${t()}`, 'the contact in B was renamed');
    assert.match(aliceContact.dn, new RegExp(`^CN=Müller\\\\, Alice \\\\\\+ Ærø ${t()},OU=${t()},OU=GAL Contacts,`, 'i'));
    assert.equal(values(aliceContact, 'objectGUID')[0], values(aliceContactBefore, 'objectGUID')[0], 'renamed, not re-created');
    assert.equal(values(aliceContact, 'displayName')[0], `Alice Müller ${t()}`);

    // Address change: new targetAddress and proxies on the contact.
    const carolContact = await contactOf(`carol.new.${t()}@forest-a.test`);
    assert.ok(carolContact, 'carol’s contact follows her new address');
    assert.deepEqual(values(carolContact, 'targetAddress'), [`SMTP:carol.new.${t()}@forest-a.test`]);
    assert.ok(values(carolContact, 'proxyAddresses').includes(`X500:${LEGACY}carol${t()}`));

    // Membership change on the 5,000-member group: the full list again, by range retrieval.
    const groupCs = await cs.csByAnchor(fx.store, 'a', await fx.guidOf(fx.a, group));
    const members = values(groupCs, 'member');
    assert.equal(members.length, RANGE_FIXTURE_SIZE - 1);
    assert.ok(!members.some((m) => m.toLowerCase().startsWith('cn=member 0,')));

    // Delete: the tombstone removed dave's contact from B.
    assert.equal(await contactOf(`dave.${t()}@forest-a.test`), undefined);
    assert.equal((await fx.list(fx.b, fx.gal.b)).length, 3);
  });

  it('the DirSync cookie survives an engine restart: a new crossforest process reads only the change', async () => {
    const renamed = (await cs.csByAnchor(fx.store, 'a', aliceGuid))?.dn ?? '';
    const before = await getWatermark(fx.store, 'a', 'ad');
    await fx.a.modify(renamed, [replace('telephoneNumber', ['+49 30 1234'])]);
    await fx.store.close();
    const { stdout } = await exec(process.execPath, [CLI, '--config', fx.configPath, '--json', 'sync', 'run', 'a:delta-import'], {
      timeout: 120_000,
    });
    await fx.restart();
    const out = JSON.parse(stdout) as { id: number };
    const run = await getRun(fx.store, out.id);
    assert.equal(run?.status, 'success', run?.message ?? stdout);
    assert.equal(run?.counts.imported, 1, 'only the changed user was read');
    assert.equal(run?.counts.importUpdates, 1);
    assert.deepEqual(values(await cs.csByAnchor(fx.store, 'a', aliceGuid), 'telephoneNumber'), ['+49 30 1234']);
    assert.notEqual(await getWatermark(fx.store, 'a', 'ad'), before, 'the new cookie was stored');
    // …and the next cycle (a new engine instance in this process) carries it to B.
    const cycle = await fx.run('delta-cycle');
    assert.equal(cycle.status, 'success', cycle.message ?? '');
    const contact = (await fx.list(fx.b, fx.gal.b, ['mail', 'telephoneNumber'])).find(
      (e) => values(e, 'mail')[0] === `alice.${t()}@forest-a.test`,
    );
    assert.deepEqual(values(contact, 'telephoneNumber'), ['+49 30 1234']);
  });
});
