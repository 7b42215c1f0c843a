// GAL sync end to end on the lab's two slapd forests: the seed's scenarios. Each test
// has its own state store and its own provisioning containers (ou=<tag> under each
// forest's GAL Contacts) and removes what it created.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as cs from '../../src/sync/connectorSpace.ts';
import { mvById } from '../../src/sync/metaverse.ts';
import { listPending, preview } from '../../src/sync/preview.ts';
import { newRunContext } from '../../src/sync/runContext.ts';
import { runErrors } from '../../src/sync/runHistory.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { type SyncFixture, syncFixture, values } from './fixture.ts';

const CLI = join(resolve(fileURLToPath(new URL('../..', import.meta.url))), 'bin', 'crossforest.js');
const exec = promisify(execFile);

function byMail<T extends { attributes: Record<string, string[]> }>(list: T[], mail: string): T[] {
  return list.filter((e) => (e.attributes.mail ?? []).some((m) => m.toLowerCase() === mail.toLowerCase()));
}

describe('GAL sync on the lab organization', () => {
  let fx: SyncFixture;
  before(async () => {
    fx = await syncFixture({ scope: 'lab' });
  });
  after(async () => {
    await fx?.cleanup();
  });

  it('preview lists exactly what the export then writes', async () => {
    await fx.run('full-import');
    const p = await preview(fx.engine, fx.store, 'full', newRunContext(silentLogger));
    assert.ok(p.items.length > 40, `a preview of the whole lab (${p.items.length} items)`);
    assert.equal((await cs.pendingExports(fx.store, 'b')).length, 0, 'preview wrote nothing');
    // The command line computes it on a copy of the store: the same list, no copy left behind.
    const cli = await exec(process.execPath, [CLI, '-c', fx.configPath, '--json', 'sync', 'preview', '--full']);
    assert.deepEqual((JSON.parse(cli.stdout) as { items: unknown[] }).items, JSON.parse(JSON.stringify(p.items)));
    assert.deepEqual(
      readdirSync(fx.dir).filter((n) => n.startsWith('.crossforest-preview-')),
      [],
    );
    await fx.run('full-sync');
    assert.deepEqual(await listPending(fx.engine, fx.store), p.items, 'the synchronization queues what the preview showed');
    const run = await fx.run('export');
    assert.equal(run.status, 'success', run.message ?? '');
    for (const item of p.items) {
      const client = item.agent === 'a' ? fx.a : fx.b;
      const e = await fx.read(
        client,
        item.dn,
        item.changes.map((c) => c.attribute),
      );
      assert.ok(e, `${item.dn} was written`);
      for (const c of item.changes) {
        assert.deepEqual(
          values(e, c.attribute)
            .map((v) => v.toLowerCase())
            .sort(),
          c.new.map((v) => v.toLowerCase()).sort(),
          `${item.dn} ${c.attribute}`,
        );
      }
    }
    const written = [...(await fx.list(fx.a, fx.galA)), ...(await fx.list(fx.b, fx.galB))];
    assert.equal(written.length, p.items.filter((i) => i.op === 'add').length, 'nothing beyond the preview');
  });

  it('a user in A is a contact in B with X500 and targetAddress, and the reverse', async () => {
    const inB = await fx.list(fx.b, fx.galB);
    const [smith2] = byMail(inB, 'john.smith2@forest-a.test');
    assert.ok(smith2, 'John Smith (jsmith2) of forest A has a contact in B');
    assert.deepEqual(values(smith2, 'targetAddress'), ['SMTP:john.smith2@forest-a.test']);
    const proxies = values(smith2, 'proxyAddresses');
    assert.ok(proxies.includes('SMTP:john.smith2@forest-a.test'));
    assert.ok(proxies.includes('smtp:jsmith2@forest-a.test'));
    assert.ok(
      proxies.includes('X500:/o=ForestA/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=jsmith2'),
      'legacyExchangeDN as X500',
    );
    assert.ok(!proxies.some((p) => /^x400:|^ccmail:/i.test(p)), 'only SMTP and X500 proxies on the contact');
    const inA = await fx.list(fx.a, fx.galA);
    const reverse = inA.filter((e) => values(e, 'mail')[0]?.endsWith('@forest-b.test'));
    assert.ok(reverse.length > 20, 'forest B people are contacts in A');
    for (const e of reverse) assert.equal(values(e, 'targetAddress')[0]?.toLowerCase(), `smtp:${values(e, 'mail')[0]?.toLowerCase()}`);
    // Distribution lists are provisioned as contacts too (the seed: DLs → mail-enabled contacts).
    const groups = await fx.list(fx.a, 'ou=Groups,dc=forest-a,dc=test', ['cn', 'mail', 'objectClass']);
    const allStaff = groups.find((g) => values(g, 'cn')[0] === 'All Staff');
    assert.ok(allStaff && values(allStaff, 'mail')[0], 'the lab has the All Staff list');
    const [contact] = byMail(inB, values(allStaff, 'mail')[0] as string);
    assert.deepEqual(values(contact, 'targetAddress'), [`SMTP:${values(allStaff, 'mail')[0]}`]);
  });

  it('an existing contact in B for an A user joins instead of duplicating; filtered objects are not provisioned', async () => {
    const inB = await fx.list(fx.b, fx.galB);
    assert.equal(byMail(inB, 'jose.muller@forest-a.test').length, 0, 'José Müller already has a contact in B: joined, not duplicated');
    const existing = await fx.list(fx.b, 'ou=Contacts,dc=forest-b,dc=test');
    assert.equal(byMail(existing, 'jose.muller@forest-a.test').length, 1);
    // The Exchange 5.5 DL "Atlanta/sales" joins B's contact for it through the cleaned mail.
    assert.equal(byMail(inB, 'Atlantasales@forest-a.test').length + byMail(inB, 'Atlanta/sales@forest-a.test').length, 0);
    const noMail = (await fx.list(fx.a, 'ou=Sites,dc=forest-a,dc=test', ['cn', 'mail', 'objectClass'])).filter(
      (e) => values(e, 'mail').length === 0,
    );
    assert.ok(noMail.length > 0, 'the lab has users without mail');
    for (const u of noMail) assert.equal(inB.filter((e) => values(e, 'cn')[0] === values(u, 'cn')[0]).length, 0, `${u.dn} has no contact`);
  });

  it('a second cycle re-exports nothing it wrote (no exported-change-not-reimported loop)', async () => {
    // Other suites may change the shared lab meanwhile, so the claim is about what we wrote:
    // after the confirming import nothing of it is queued again, and nothing was re-spelled.
    const run = await fx.run('delta-cycle');
    const errors = await runErrors(fx.store, run.id);
    assert.equal(run.status, 'success', JSON.stringify(errors));
    assert.deepEqual(
      errors.filter((e) => e.code === 'exported-change-not-reimported'),
      [],
    );
    assert.deepEqual(await listPending(fx.engine, fx.store), []);
    const quiet = await fx.run('delta-cycle');
    assert.equal(quiet.counts.exportUpdates, 0, JSON.stringify(quiet.steps));
  });

  it('history and errors on the command line, as JSON', async () => {
    await fx.store.close(); // the CLI opens the same state file (last test of this suite)
    const { stdout } = await exec(process.execPath, [CLI, '-c', fx.configPath, '--json', 'sync', 'history']);
    const runs = JSON.parse(stdout) as { id: number; profile: string; status: string }[];
    assert.deepEqual(runs.map((r) => r.profile).reverse(), ['full-import', 'full-sync', 'export', 'delta-cycle', 'delta-cycle']);
    const errs = await exec(process.execPath, [CLI, '-c', fx.configPath, '--json', 'sync', 'errors', String(runs[0]?.id)]);
    assert.deepEqual((JSON.parse(errs.stdout) as { errors: unknown[] }).errors, []);
    const bad = await exec(process.execPath, [CLI, '-c', fx.configPath, 'sync', 'errors', '999']).catch(
      (e: { stderr: string; code: number }) => e,
    );
    assert.match((bad as { stderr: string }).stderr, /no sync run 999/);
  });
});

describe('GAL sync of changes, conflicts and thresholds (objects of its own)', () => {
  let fx: SyncFixture;
  let t: string;
  const mailA = (local: string) => `${local}.${t}@forest-a.test`;
  const legDN = (x: string) => `/o=ForestA/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=${x}${t}`;
  let eveContact = '';
  let eveCsn = '';
  const dns: Record<string, string> = {};

  before(async () => {
    fx = await syncFixture({
      scope: 'own',
      edit: (s) => {
        const b = s.agents.b;
        if (b) b.deleteThreshold = 2;
      },
    });
    t = fx.tag;
    const user = async (key: string, cn: string, attrs: Record<string, string | string[]>) => {
      dns[key] = await fx.addUser(fx.a, fx.sitesA, cn, attrs);
    };
    await user('ada', 'Ada Lovelace', {
      mail: mailA('ada'),
      proxyAddresses: [`SMTP:${mailA('ada')}`, `smtp:${mailA('countess')}`],
      legacyExchangeDN: legDN('ada'),
    });
    await user('bob', 'Bob Slash', { mail: `night/ops.${t}@forest-a.test`, legacyExchangeDN: legDN('bob') });
    await user('carol', 'Carol Legacy', {
      mail: mailA('carol'),
      otherMailbox: 'ccmail$Legacy, Carol at atlanta',
      textEncodedORAddress: `c=US;a= ;p=ForestA;o=atlanta;s=legacy${t};g=carol;`,
      legacyExchangeDN: legDN('carol'),
    });
    await user('dan', 'Dan Nomail', { title: 'no Internet address' });
    await user('eve', 'Eve Existing', { mail: mailA('eve') });
    await user('fay', 'Fay Twin', { mail: mailA('fay') });
    await user('gus', 'Gus Conflict', { mail: mailA('gus'), proxyAddresses: [`SMTP:${mailA('gus')}`, `smtp:${mailA('shared')}`] });
    await user('ivy', 'Ivy Extra', { mail: mailA('ivy') });
    // Forest B: an existing contact for Eve, two contacts with Fay's address, a user sharing Gus's alias.
    eveContact = `cn=Eve Existing,${fx.sitesB}`;
    await fx.b.add(eveContact, {
      objectClass: ['top', 'contact'],
      cn: 'Eve Existing',
      mail: mailA('eve'),
      targetAddress: `SMTP:${mailA('eve')}`,
    });
    for (const n of ['1', '2'])
      await fx.b.add(`cn=Fay Twin ${n},${fx.sitesB}`, { objectClass: ['top', 'contact'], cn: `Fay Twin ${n}`, mail: mailA('fay') });
    dns.hal = await fx.addUser(fx.b, fx.sitesB, 'Hal Owner', {
      mail: `hal.${t}@forest-b.test`,
      proxyAddresses: [`SMTP:hal.${t}@forest-b.test`, `smtp:${mailA('shared')}`],
    });
    eveCsn = values(await fx.read(fx.b, eveContact, ['entryCSN']), 'entryCSN')[0] ?? '';
  });
  after(async () => {
    await fx?.cleanup();
  });

  it('full cycle: contacts for real recipients only, cleaned mail, 5.5 proxies, joins, ambiguity and conflicts reported', async () => {
    // Forest B first: its two Fay contacts become two metaverse objects with one address,
    // so that Fay of forest A then meets two candidates.
    await fx.run('b:full-import');
    await fx.run('full-sync');
    const run = await fx.run('full-cycle');
    assert.equal(run.status, 'completed-with-errors');
    const inB = await fx.list(fx.b, fx.galB);
    assert.deepEqual(inB.map((e) => values(e, 'cn')[0]).sort(), ['Ada Lovelace', 'Bob Slash', 'Carol Legacy', 'Ivy Extra']);
    const bob = inB.find((e) => values(e, 'cn')[0] === 'Bob Slash');
    assert.deepEqual(values(bob, 'mail'), [`nightops.${t}@forest-a.test`], '"/" stripped by the mail rules extension');
    assert.deepEqual(values(bob, 'targetAddress'), [`SMTP:nightops.${t}@forest-a.test`]);
    const carol = inB.find((e) => values(e, 'cn')[0] === 'Carol Legacy');
    assert.deepEqual(values(carol, 'proxyAddresses').sort(), [`SMTP:${mailA('carol')}`, `X500:${legDN('carol')}`].sort());
    // In the metaverse, Carol's proxyAddresses were built from the three Exchange 5.5 fields.
    const carolCs = (await cs.csByDn(fx.store, 'a', dns.carol as string))[0];
    const mv = await mvById(fx.store, carolCs?.mvId ?? -1);
    assert.deepEqual(mv?.attributes.proxyAddresses, [
      `SMTP:${mailA('carol')}`,
      `X400:c=US;a= ;p=ForestA;o=atlanta;s=legacy${t};g=carol;`,
      'CCMAIL:Legacy, Carol at atlanta',
    ]);
    // Eve joined B's contact: nothing provisioned, and the contact was not touched.
    assert.equal(values(await fx.read(fx.b, eveContact, ['entryCSN']), 'entryCSN')[0], eveCsn);
    assert.deepEqual(await fx.list(fx.a, fx.galA), [], 'contacts and conflicting objects of B are not provisioned in A');

    const errors = await runErrors(fx.store, run.id);
    const ambiguous = errors.filter((e) => e.code === 'ambiguous-join');
    assert.equal(ambiguous.length, 1, JSON.stringify(errors));
    assert.equal(ambiguous[0]?.dn, dns.fay);
    assert.match(ambiguous[0]?.reason ?? '', /Fay Twin 1/);
    assert.match(ambiguous[0]?.reason ?? '', /Fay Twin 2/);
    const conflicts = errors.filter((e) => e.code === 'proxy-conflict');
    assert.ok(
      conflicts.some((e) => e.agent === 'b' && e.reason.includes(dns.gus as string) && e.reason.includes(dns.hal as string)),
      JSON.stringify(conflicts),
    );
    assert.ok(
      conflicts.some((e) => e.agent === 'a' && e.reason.includes(dns.hal as string) && e.reason.includes(dns.gus as string)),
      JSON.stringify(conflicts),
    );
    assert.ok(!errors.some((e) => e.code === 'export-failed'), JSON.stringify(errors));
  });

  it('a rename, an address change and a delete in A reach B on a delta run', async () => {
    await fx.a.modifyDN(dns.ada as string, `cn=Ada King,${fx.sitesA}`);
    const bobNew = mailA('bob');
    await fx.a.modify(dns.bob as string, [
      new (await import('ldapts')).Change({
        operation: 'replace',
        modification: new (await import('ldapts')).Attribute({ type: 'mail', values: [bobNew] }),
      }),
    ]);
    await fx.a.del(dns.carol as string);
    const run = await fx.run('delta-cycle');
    const delta = run.steps.find((s) => s.step === 'delta-import' && s.agent === 'a');
    assert.ok((delta?.counts.imported ?? 99) <= 3, `the delta import read only what changed (${delta?.counts.imported})`);
    assert.equal(run.counts.exportRenames, 1);
    assert.equal(run.counts.exportDeletes, 1);
    const inB = await fx.list(fx.b, fx.galB);
    assert.deepEqual(inB.map((e) => values(e, 'cn')[0]).sort(), ['Ada King', 'Bob Slash', 'Ivy Extra']);
    const bob = inB.find((e) => values(e, 'cn')[0] === 'Bob Slash');
    assert.deepEqual(values(bob, 'mail'), [bobNew]);
    assert.deepEqual(values(bob, 'targetAddress'), [`SMTP:${bobNew}`]);
    assert.ok(
      values(
        inB.find((e) => values(e, 'cn')[0] === 'Ada King'),
        'proxyAddresses',
      ).includes(`X500:${legDN('ada')}`),
    );
  });

  it('the delete threshold stops a mass delete before writing; --allow-deletes lets it through', async () => {
    for (const k of ['bob', 'ivy']) await fx.a.del(dns[k] as string);
    await fx.a.del(`cn=Ada King,${fx.sitesA}`);
    const run = await fx.run('delta-cycle');
    assert.equal(run.status, 'stopped');
    assert.match(run.message ?? '', /would delete 3 of .* more than the delete threshold \(2\)/);
    assert.equal((await fx.list(fx.b, fx.galB)).length, 3, 'nothing deleted');
    const p = (await listPending(fx.engine, fx.store)).filter((i) => i.agent === 'b');
    assert.deepEqual(
      p.map((i) => i.op),
      ['delete', 'delete', 'delete'],
    );
    const go = await fx.run('b:export', { allowDeletes: 3 });
    assert.equal(go.status, 'success', go.message ?? '');
    assert.equal((await fx.list(fx.b, fx.galB)).length, 0);
  });
});

describe('GAL sync export killed mid-way', () => {
  // More users than the export keeps in flight (8) past the kill after the fifth write.
  const USERS = 30;
  let fx: SyncFixture;
  before(async () => {
    fx = await syncFixture({ scope: 'own' });
    for (let i = 1; i <= USERS; i++) await fx.addUser(fx.a, fx.sitesA, `Kill Test ${i}`, { mail: `kill${i}.${fx.tag}@forest-a.test` });
  });
  after(async () => {
    await fx?.cleanup();
  });

  it('kill -9 during export, run again: every contact once', async () => {
    await fx.run('full-import');
    await fx.run('full-sync');
    assert.equal((await cs.pendingExports(fx.store, 'b')).length, USERS);
    await fx.store.close(); // the CLI processes use the same state file
    const killed = await exec(process.execPath, [CLI, '-c', fx.configPath, 'sync', 'run', 'b:export'], {
      env: { ...process.env, CROSSFOREST_TEST_CRASH_AFTER_WRITES: '5' },
    }).catch((e: { signal?: string }) => e);
    assert.equal((killed as { signal?: string }).signal, 'SIGKILL');
    const before = (await fx.list(fx.b, fx.galB)).length;
    // Killed right after the fifth add answered; up to 8 more may have been in flight.
    assert.ok(before >= 5 && before <= 13, `${before} contacts written before the kill`);
    const again = await exec(process.execPath, [CLI, '-c', fx.configPath, '--json', 'sync', 'run', 'full-cycle']);
    const run = JSON.parse(again.stdout) as { status: string; counts: { exportAdds: number } };
    assert.equal(run.status, 'success');
    const inB = await fx.list(fx.b, fx.galB);
    assert.equal(inB.length, USERS);
    assert.equal(new Set(inB.map((e) => values(e, 'mail')[0])).size, USERS, 'no address twice');
    assert.ok(!inB.some((e) => / \(\d+\),/.test(e.dn)), 'no "(2)" duplicates');
  });
});

describe('GAL sync deprovisioning by disconnect', () => {
  let fx: SyncFixture;
  before(async () => {
    fx = await syncFixture({
      scope: 'own',
      edit: (s) => {
        const b = s.agents.b;
        if (b) b.provisioning.deprovision = 'disconnect';
      },
    });
  });
  after(async () => {
    await fx?.cleanup();
  });

  it('a deleted source leaves its contact in place, disconnected and marked', async () => {
    const dn = await fx.addUser(fx.a, fx.sitesA, 'Kim Leaving', { mail: `kim.${fx.tag}@forest-a.test` });
    await fx.run('full-cycle');
    assert.equal((await fx.list(fx.b, fx.galB)).length, 1);
    await fx.a.del(dn);
    const run = await fx.run('delta-cycle');
    assert.equal(run.counts.exportDeletes, 0);
    assert.equal(run.counts.deprovisioned, 1);
    const [contact] = await fx.list(fx.b, fx.galB);
    assert.ok(contact, 'the contact stays in the directory');
    const [kept] = await cs.csByDn(fx.store, 'b', contact.dn);
    assert.equal(kept?.mvId, null);
    assert.equal(kept?.state, 'filtered');
    // Later runs leave it alone: no delete, no re-join.
    const again = await fx.run('full-cycle');
    assert.equal(again.counts.exportDeletes, 0);
    assert.equal((await fx.list(fx.b, fx.galB)).length, 1);
  });
});

describe('GAL sync when the directory re-spells an exported value', () => {
  let fx: SyncFixture;
  before(async () => {
    fx = await syncFixture({ scope: 'own' });
  });
  after(async () => {
    await fx?.cleanup();
  });

  it('is reported once as exported-change-not-reimported and not exported again until the source changes', async () => {
    const { Attribute, Change } = await import('ldapts');
    const replace = (type: string, value: string) =>
      new Change({ operation: 'replace', modification: new Attribute({ type, values: [value] }) });
    const source = await fx.addUser(fx.a, fx.sitesA, 'Lee Respelled', {
      mail: `lee.${fx.tag}@forest-a.test`,
      displayName: 'Lee Respelled',
    });
    await fx.run('full-import');
    await fx.run('full-sync');
    await fx.run('b:export');
    // Before the confirming import, the directory holds another spelling (a server rule, an editor…).
    const contact = `cn=Lee Respelled,${fx.galB}`;
    await fx.b.modify(contact, replace('displayName', 'Lee R.'));
    const confirm = await fx.run('delta-cycle');
    const errors = (await runErrors(fx.store, confirm.id)).filter((e) => e.code === 'exported-change-not-reimported');
    assert.equal(errors.length, 1, JSON.stringify(await runErrors(fx.store, confirm.id)));
    assert.match(errors[0]?.reason ?? '', /displayName: exported \[Lee Respelled\] but the directory holds \[Lee R\.\]/);
    const quiet = await fx.run('delta-cycle');
    assert.equal(quiet.counts.exportUpdates, 0, 'no loop');
    assert.equal((await runErrors(fx.store, quiet.id)).length, 0);
    // A real change at the source flows again.
    await fx.a.modify(source, replace('displayName', 'Lee Spelled'));
    await fx.run('delta-cycle');
    assert.deepEqual(values(await fx.read(fx.b, contact, ['displayName']), 'displayName'), ['Lee Spelled']);
  });
});
