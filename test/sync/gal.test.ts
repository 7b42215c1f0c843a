// GAL sync end to end on the lab's two slapd forests: the seed's scenarios. Each test
// has its own state store and its own provisioning containers (ou=<tag> under each
// forest's GAL Contacts) and removes what it created.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import * as cs from '../../src/sync/connectorSpace.ts';
import { mvById } from '../../src/sync/metaverse.ts';
import { listPending, preview } from '../../src/sync/preview.ts';
import { newRunContext } from '../../src/sync/runContext.ts';
import { runErrors } from '../../src/sync/runHistory.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { syncFixture, values, type SyncFixture } from './fixture.ts';

const CLI = join(resolve(fileURLToPath(new URL('../..', import.meta.url))), 'bin', 'crossforest.js');
const exec = promisify(execFile);

function byMail(list: { attributes: Record<string, string[]> }[], mail: string) {
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
    const p = preview(fx.engine, fx.store, 'full', newRunContext(silentLogger));
    assert.ok(p.items.length > 40, `a preview of the whole lab (${p.items.length} items)`);
    assert.equal(cs.pendingExports(fx.store, 'b').length, 0, 'preview wrote nothing');
    await fx.run('full-sync');
    assert.deepEqual(listPending(fx.engine, fx.store), p.items, 'the synchronization queues what the preview showed');
    const run = await fx.run('export');
    assert.equal(run.status, 'success', run.message ?? '');
    for (const item of p.items) {
      const client = item.agent === 'a' ? fx.a : fx.b;
      const e = await fx.read(client, item.dn, item.changes.map((c) => c.attribute));
      assert.ok(e, `${item.dn} was written`);
      for (const c of item.changes) {
        assert.deepEqual(values(e, c.attribute).map((v) => v.toLowerCase()).sort(), c.new.map((v) => v.toLowerCase()).sort(), `${item.dn} ${c.attribute}`);
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
    assert.ok(proxies.includes('X500:/o=ForestA/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=jsmith2'), 'legacyExchangeDN as X500');
    assert.ok(!proxies.some((p) => /^x400:|^ccmail:/i.test(p)), 'only SMTP and X500 proxies on the contact');
    const inA = await fx.list(fx.a, fx.galA);
    const reverse = inA.filter((e) => values(e, 'mail')[0]?.endsWith('@forest-b.test'));
    assert.ok(reverse.length > 20, 'forest B people are contacts in A');
    for (const e of reverse) assert.equal(values(e, 'targetAddress')[0]?.toLowerCase(), `smtp:${values(e, 'mail')[0]?.toLowerCase()}`);
  });

  it('an existing contact in B for an A user joins instead of duplicating; filtered objects are not provisioned', async () => {
    const inB = await fx.list(fx.b, fx.galB);
    assert.equal(byMail(inB, 'jose.muller@forest-a.test').length, 0, 'José Müller already has a contact in B: joined, not duplicated');
    const existing = await fx.list(fx.b, 'ou=Contacts,dc=forest-b,dc=test');
    assert.equal(byMail(existing, 'jose.muller@forest-a.test').length, 1);
    // The Exchange 5.5 DL "Atlanta/sales" joins B's contact for it through the cleaned mail.
    assert.equal(byMail(inB, 'Atlantasales@forest-a.test').length + byMail(inB, 'Atlanta/sales@forest-a.test').length, 0);
    const noMail = (await fx.list(fx.a, 'ou=Sites,dc=forest-a,dc=test', ['cn', 'mail', 'objectClass'])).filter((e) => values(e, 'mail').length === 0);
    assert.ok(noMail.length > 0, 'the lab has users without mail');
    for (const u of noMail) assert.equal(inB.filter((e) => values(e, 'cn')[0] === values(u, 'cn')[0]).length, 0, `${u.dn} has no contact`);
  });

  it('a second cycle changes nothing (no exported-change-not-reimported loop)', async () => {
    const run = await fx.run('delta-cycle');
    assert.equal(run.status, 'success', JSON.stringify(runErrors(fx.store, run.id)));
    assert.equal(run.counts.exportAdds, 0);
    assert.equal(run.counts.exportUpdates, 0);
    assert.equal(run.counts.exportDeletes, 0);
    assert.equal(listPending(fx.engine, fx.store).length, 0);
  });

  it('history and errors on the command line, as JSON', async () => {
    fx.store.close(); // the CLI opens the same state file (last test of this suite)
    const { stdout } = await exec(process.execPath, [CLI, '-c', fx.configPath, '--json', 'sync', 'history']);
    const runs = JSON.parse(stdout) as { id: number; profile: string; status: string }[];
    assert.deepEqual(runs.map((r) => r.profile).reverse(), ['full-import', 'full-sync', 'export', 'delta-cycle']);
    const errs = await exec(process.execPath, [CLI, '-c', fx.configPath, '--json', 'sync', 'errors', String(runs[0]?.id)]);
    assert.deepEqual((JSON.parse(errs.stdout) as { errors: unknown[] }).errors, []);
    const bad = await exec(process.execPath, [CLI, '-c', fx.configPath, 'sync', 'errors', '999']).catch((e: { stderr: string; code: number }) => e);
    assert.match((bad as { stderr: string }).stderr, /no sync run 999/);
  });
});
