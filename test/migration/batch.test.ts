// Migration batches end to end on the lab: a batch of several users (one with a GAL-sync
// contact, one a delegate of another) goes through pre-stage, copy, manual cutover,
// clean-up, verify and report; then what is in both directories and on both stores is
// checked, not what the code says it did. Also: refusal before anything starts, a window
// closing mid-batch, rollback, a forced split, concurrency measured on the server.
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { POSTFIX_LAB } from '../../lab/postfix/postfix.ts';
import { orgMailStores } from '../../src/config/organization.ts';
import { getAcl, setAcl } from '../../src/mail/acl.ts';
import { openMailSession } from '../../src/mail/connection.ts';
import { reopenWindow, requestComplete, rollbackMailbox, suspendBatch } from '../../src/migration/batchOps.ts';
import { batchByName, mailboxesOf } from '../../src/migration/batchStore.ts';
import { BatchRefusedError, createBatch } from '../../src/migration/createBatch.ts';
import { capacityPlan } from '../../src/migration/plan.ts';
import { planTarget, resolveSourceName } from '../../src/migration/resolve.ts';
import { runBatch } from '../../src/migration/runner.ts';
import type { RunEvent } from '../../src/migration/types.ts';
import { runWorker } from '../../src/migration/worker.ts';
import { insertCs, setJoin } from '../../src/sync/connectorSpace.ts';
import { createMv, updateMv } from '../../src/sync/metaverse.ts';
import { onWire } from '../helpers/wire.ts';
import {
  admin,
  canLogin,
  delegate,
  doveadmConf,
  entry,
  galContact,
  type MigLab,
  messageCount,
  migLab,
  namesFile,
  removeAll,
  run,
  sendMessage,
  session,
  sourceUser,
  waitForMessage,
} from './fixtures.ts';

const labs: MigLab[] = [];
async function lab(edit?: (t: string) => string): Promise<MigLab> {
  const l = await migLab(edit);
  labs.push(l);
  return l;
}
after(async () => {
  for (const l of labs) await removeAll(l);
});

const has = (list: string[] | undefined, v: string): boolean => (list ?? []).some((x) => x.toLowerCase() === v.toLowerCase());

/**
 * Closes the batch window the moment `when` sees its event. `batch suspend` writes the window's stop asynchronously,
 * and the pipeline may read the batch before that write lands (one step too far); the runner reads stopRequested
 * synchronously before every step, so the suspension point is exact. `written()` is the suspend itself, for resume.
 */
function closeWindowOn(store: MigLab['store'], name: string, when: (e: RunEvent) => boolean) {
  let closed = false;
  let write: Promise<void> = Promise.resolve();
  return {
    emit: (e: RunEvent): void => {
      if (closed || !when(e)) return;
      closed = true;
      write = suspendBatch(store, name);
    },
    stopRequested: () => closed,
    written: () => write,
  };
}

describe('migration batch (lab)', () => {
  let l: MigLab;
  before(async () => {
    l = await lab();
  });

  it('moves a batch end to end: addresses and X500 both ways, source disconnected but kept, delegates work, legacy ACLs removed, verify passes, reports written', async () => {
    const owner = await sourceUser(l, 'own', 6);
    const dlg = await sourceUser(l, 'dlg', 2);
    const third = await sourceUser(l, 'thr', 3);
    const contactDn = await galContact(l, owner);
    await delegate(l, owner.upn, 'INBOX', dlg.upn);
    const file = namesFile(l, ['# group 1', owner.sam, '', dlg.upn, third.mail]);
    await createBatch(l.setup, l.store, { name: 'e2e', from: { file }, targetStore: 'store-b', options: { cutover: 'manual' } });

    // Manual cutover: the first run pre-stages and copies, then waits for `batch complete`.
    const first = await runBatch(l.setup, l.store, 'e2e');
    assert.equal(first.status, 'synced');
    assert.deepEqual(first.states, { copied: 3 });
    const rows = await mailboxesOf(l.store, (await batchByName(l.store, 'e2e'))!.id);
    const planOf = (login: string) => rows.find((r) => r.sourceLogin === login)!.plan;
    const ownerB = planOf(owner.upn);
    const dlgB = planOf(dlg.upn);
    // Until cutover, mail for the new target user still routes to the source mailbox.
    assert.ok(has((await entry(l, 'b', ownerB.targetDn))?.targetAddress, `SMTP:${owner.mail}`));
    // A legacy identity's ACL entry on the target (what a data move carries over): clean-up must remove it.
    await onWire(await session(l, 'b', ownerB.targetLogin), (w) => setAcl(w, 'INBOX', `ghost@${l.info.forests.a.mailDomain}`, 'lr'));

    await requestComplete(l.store, 'e2e');
    const done = await runBatch(l.setup, l.store, 'e2e');
    assert.equal(
      done.status,
      'completed',
      JSON.stringify((await mailboxesOf(l.store, (await batchByName(l.store, 'e2e'))!.id)).map((m) => m.error)),
    );
    assert.deepEqual(done.states, { done: 3 });

    for (const u of [owner, dlg, third]) {
      const p = planOf(u.upn);
      const a = await entry(l, 'a', u.dn);
      const b = await entry(l, 'b', p.targetDn);
      assert.ok(a && b);
      // Cross-pollination both ways.
      assert.ok(
        has(b.proxyAddresses, `X500:/o=ForestA/ou=Exchange Administrative Group (FYDIBOHF23SPDLT)/cn=Recipients/cn=${u.sam}`),
        'B carries X500 of A',
      );
      assert.ok(has(a.proxyAddresses, `X500:${p.targetLegacyExchangeDn}`), 'A carries X500 of B');
      assert.ok(has(b.proxyAddresses, `smtp:${u.mail}`) && has(b.proxyAddresses, `smtp:${u.upn}`), 'B answers to every A address');
      assert.ok(b.proxyAddresses?.includes(`SMTP:${p.targetPrimary}`));
      // Routing at the directory level: A forwards to the B mailbox, B delivers locally.
      assert.deepEqual(a.targetAddress, [`SMTP:${p.targetPrimary}`]);
      assert.equal(a.homeMDB, undefined);
      assert.equal(b.targetAddress, undefined);
      assert.ok(b.homeMDB?.[0]?.toLowerCase().startsWith('cn=mailbox store b'));
      // A keeps every old address (mail to them still arrives, via targetAddress).
      for (const x of [`SMTP:${u.mail}`, `smtp:${u.upn}`]) assert.ok(has(a.proxyAddresses, x));
      // The A mailbox cannot be logged into but its mail is still on disk; the B mailbox holds it all.
      assert.equal(await canLogin(l, 'a', u.upn), false);
      const cur = join(l.info.labDir, 'mail-a', u.upn.toLowerCase(), 'Maildir');
      assert.ok(
        existsSync(cur) && readdirSync(join(cur, 'cur')).length + readdirSync(join(cur, 'new')).length > 0,
        'source mail kept on disk',
      );
      assert.ok(await canLogin(l, 'b', p.targetLogin));
      // The user logs in to the new mailbox with the password they know (copyPasswordHash).
      const own = await openMailSession(orgMailStores(l.project.config.organizations.b!, 'b')[0]!, p.targetLogin, {
        baseDir: l.project.baseDir,
        keyPath: 'b',
        ownLogin: { user: p.targetLogin, password: u.password },
      });
      await own.logout();
    }
    assert.equal(await messageCount(l, 'b', ownerB.targetLogin), 8);
    assert.equal(await messageCount(l, 'b', planOf(third.upn).targetLogin), 5);
    // The GAL-sync contact became the user, its extra address kept.
    assert.equal(await entry(l, 'b', contactDn), undefined);
    assert.ok(has((await entry(l, 'b', ownerB.targetDn))?.proxyAddresses, `smtp:galonly-${owner.sam}@forest-a.test`));

    // Delegates work in B: the delegate's B identity reads the owner's INBOX through the translated ACL.
    const acl = await onWire(await session(l, 'b', ownerB.targetLogin), (w) => getAcl(w, 'INBOX'));
    assert.ok(
      acl.some((e) => e.identifier === dlgB.targetLogin && e.rights.includes('r')),
      JSON.stringify(acl),
    );
    assert.ok(!acl.some((e) => e.identifier.toLowerCase().endsWith('@forest-a.test')), `legacy entries gone: ${JSON.stringify(acl)}`);
    const d = await session(l, 'b', dlgB.targetLogin);
    try {
      const st = await d.status(`shared/${ownerB.targetLogin}/INBOX`, { messages: true });
      assert.equal(st ? st.messages : undefined, 6);
    } finally {
      await d.logout();
    }

    // Verify passed with full fidelity; reports on disk.
    for (const m of await mailboxesOf(l.store, (await batchByName(l.store, 'e2e'))!.id)) assert.equal(m.fidelity, 1);
    const html = readFileSync(done.reportHtml, 'utf8');
    assert.match(html, /<svg[^>]*>[\s\S]*<polyline/);
    assert.ok(!/https?:\/\/(?!www\.w3\.org)/.test(html), 'self-contained: no external URL');
    const json = JSON.parse(readFileSync(join(l.project.dir, 'reports', 'e2e', 'batch.json'), 'utf8'));
    assert.equal(json.totals.mailboxes, 3);
    assert.equal(json.totals.byState.done, 3);
    assert.ok(existsSync(join(l.project.dir, 'reports', 'e2e', `${owner.upn}.json`)));

    // Mail routing through the lab's Postfix: a message sent to the OLD forest-A address
    // at forest A's MX reaches the forest-B mailbox (A forwards by targetAddress, B delivers over LMTP).
    const sent = await sendMessage(POSTFIX_LAB.a.smtpPort, owner.mail, 'after the move');
    assert.equal(
      await waitForMessage(l, 'b', ownerB.targetLogin, sent),
      1,
      `mail to ${owner.mail} (old address) arrived in the B mailbox ${ownerB.targetLogin}`,
    );
  });

  it('plans capacity from the measured passes: a finished batch and a names file (sizes from the inventory)', async () => {
    const p = await capacityPlan(l.setup, l.store, { subject: 'e2e', windowHours: 1 });
    assert.match(p.rate.source, /measured on \d+ earlier copy passes/);
    assert.equal(p.mailboxes.length, 3);
    assert.equal(p.totals.messages, 8 + 4 + 5);
    assert.equal(p.fits, true);
    assert.equal(p.mailboxesThatFit, 3);
    assert.ok(p.actualSeconds !== null && p.actualSeconds > 0);
    const u = await sourceUser(l, 'pln', 4);
    const q = await capacityPlan(l.setup, l.store, { subject: namesFile(l, [u.sam]), windowHours: 1e-9 });
    assert.equal(q.mailboxes[0]!.messages, 6);
    assert.ok(q.mailboxes[0]!.bytes > 0);
    assert.equal(q.fits, false);
    assert.equal(q.mailboxesThatFit, 0);
  });

  it('refuses a names file with an unknown and a duplicated name, one line each, before anything starts', async () => {
    const u = await sourceUser(l, 'ref', 0);
    const file = namesFile(l, [u.sam, 'no-such-user-xyz', u.upn, 'cn=nobody,dc=forest-a,dc=test']);
    await assert.rejects(
      createBatch(l.setup, l.store, { name: 'refused', from: { file }, targetStore: 'store-b', options: {} }),
      (err: unknown) => {
        assert.ok(err instanceof BatchRefusedError);
        assert.equal(err.problems.length, 3, err.message);
        assert.match(err.problems[0]!, /line 2: "no-such-user-xyz": unknown/);
        assert.match(err.problems[1]!, /line 3: .*same user as .*duplicated/);
        assert.match(err.problems[2]!, /line 4: .*no such entry/);
        return true;
      },
    );
    assert.equal(await batchByName(l.store, 'refused'), undefined);
    // Nothing was written in the target directory.
    const found = await admin(l, 'b', (c) => c.search(l.info.forests.b.suffix, { filter: `(sAMAccountName=${u.sam})` }));
    assert.equal(found.searchEntries.length, 0);
    // An already-migrated user (mail-enabled, no mailbox) is refused too.
    await admin(l, 'a', (c) =>
      c
        .modify(u.dn, [
          { operation: 'delete', modification: { type: 'homeMDB' } } as never,
          { operation: 'add', modification: { type: 'targetAddress', values: ['SMTP:x@forest-b.test'] } } as never,
        ])
        .catch(async () => {
          const { Attribute, Change } = await import('ldapts');
          await c.modify(u.dn, [
            new Change({ operation: 'delete', modification: new Attribute({ type: 'homeMDB' }) }),
            new Change({ operation: 'add', modification: new Attribute({ type: 'targetAddress', values: ['SMTP:x@forest-b.test'] }) }),
          ]);
        }),
    );
    await assert.rejects(
      createBatch(l.setup, l.store, { name: 'refused2', from: { file: namesFile(l, [u.sam]) }, targetStore: 'store-b', options: {} }),
      /already migrated/,
    );
  });

  it("refuses an ambiguous name (one user's login is another's address)", async () => {
    const u1 = await sourceUser(l, 'amb1', 0);
    const u2 = await sourceUser(l, 'amb2', 0);
    const { Attribute, Change } = await import('ldapts');
    await admin(l, 'a', (c) =>
      c.modify(u2.dn, [
        new Change({ operation: 'add', modification: new Attribute({ type: 'proxyAddresses', values: [`smtp:${u1.upn}`] }) }),
      ]),
    );
    await assert.rejects(
      createBatch(l.setup, l.store, { name: 'amb', from: { file: namesFile(l, [u1.upn]) }, targetStore: 'store-b', options: {} }),
      /line 1: ".*": ambiguous, 2 users match/,
    );
  });

  it('resolves through the metaverse when GAL sync knows the person: the source connector and the contact to convert', async () => {
    const u = await sourceUser(l, 'mv', 0);
    const contact = await galContact(l, u);
    // What a GAL sync run leaves in the state store: one metaverse object joined to the
    // forest-A user and to the contact it provisioned in forest B.
    const mv = await createMv(l.store, 'Metaverse_Contact');
    await updateMv(l.store, mv, { mail: [u.mail], proxyAddresses: [`SMTP:${u.mail}`] }, new Set(['mail', 'proxyaddresses']));
    for (const [agent, dn, cls] of [
      ['a', u.dn, 'user'],
      ['b', contact, 'contact'],
    ] as const) {
      const id = await insertCs(l.store, {
        agent,
        anchor: `test-${agent}-${u.sam}`,
        dn,
        objectClass: cls,
        attributes: {},
        hash: '',
        provisioned: agent === 'b',
        runId: null,
      });
      await setJoin(l.store, id, mv);
    }
    const { migrationDirectory } = await import('../../src/migration/setup.ts');
    const [src, tgt] = [await migrationDirectory(l.setup, 'source'), await migrationDirectory(l.setup, 'target')];
    try {
      const r = await resolveSourceName(l.setup, src.client, l.store, u.mail);
      assert.ok(typeof r !== 'string');
      assert.equal(r.via, 'metaverse');
      assert.equal(r.entry.dn, u.dn);
      const plan = await planTarget(l.setup, tgt.client, l.store, { source: r.entry, overrides: {}, taken: new Set() });
      assert.ok(typeof plan !== 'string');
      assert.equal(plan.contactDn?.toLowerCase(), contact.toLowerCase());
      assert.equal(plan.targetPrimary, `${u.sam}.mail@forest-b.test`);
    } finally {
      await Promise.all([src.close(), tgt.close()]);
    }
  });

  it('a window closing mid-batch suspends cleanly; resume finishes; rollback restores A login and routing', async () => {
    const users = [await sourceUser(l, 'win1', 3), await sourceUser(l, 'win2', 3), await sourceUser(l, 'win3', 3)];
    await createBatch(l.setup, l.store, {
      name: 'window',
      from: {
        file: namesFile(
          l,
          users.map((u) => u.sam),
        ),
      },
      targetStore: 'store-b',
      options: { concurrency: 1 },
    });
    // The window closes as soon as the first mailbox is cut over.
    const close = closeWindowOn(l.store, 'window', (e) => e.type === 'state' && e.state === 'cutover' && e.step === 'cutover');
    const r = await runBatch(l.setup, l.store, 'window', close);
    await close.written();
    assert.equal(r.status, 'suspended');
    const states = await mailboxesOf(l.store, (await batchByName(l.store, 'window'))!.id);
    assert.ok(
      states.every((m) => m.state === 'suspended'),
      JSON.stringify(states.map((m) => [m.state, m.error])),
    );
    // One at a time: the first was cut over, the others had not started copying.
    assert.deepEqual(
      states.map((m) => m.resumeState),
      ['cutover', 'prestaged', 'prestaged'],
    );
    assert.ok(states.every((m) => m.error === 'the batch window closed'));

    // Rollback of the cut-over mailbox (suspended before its clean-up): A serves and routes it again.
    const u = users[0]!;
    const before = await entry(l, 'a', u.dn);
    assert.ok(before?.targetAddress && !before.homeMDB);
    await rollbackMailbox(l.setup, l.store, u.upn);
    const a = await entry(l, 'a', u.dn);
    assert.equal(a?.targetAddress, undefined);
    assert.equal(a?.homeMDB?.length, 1);
    assert.equal(await canLogin(l, 'a', u.upn), true);
    const p = states[0]!.plan;
    assert.deepEqual((await entry(l, 'b', p.targetDn))?.targetAddress, [`SMTP:${u.mail}`]);
    // Queued again: the rollback took the target user's mailbox away, so the next run pre-stages it anew (rollback.ts).
    assert.equal((await entry(l, 'b', p.targetDn))?.homeMDB, undefined);
    assert.equal((await mailboxesOf(l.store, (await batchByName(l.store, 'window'))!.id))[0]!.state, 'queued');

    await reopenWindow(l.store, 'window');
    const again = await runBatch(l.setup, l.store, 'window');
    assert.equal(
      again.status,
      'completed',
      JSON.stringify((await mailboxesOf(l.store, (await batchByName(l.store, 'window'))!.id)).map((m) => m.error)),
    );
    for (const x of users) assert.equal(await canLogin(l, 'a', x.upn), false);
  });

  it('detects a forced split: mailbox on another store, and an empty target while the source held mail', async () => {
    const [u1, u2] = [await sourceUser(l, 'spl1', 3), await sourceUser(l, 'spl2', 3)];
    await createBatch(l.setup, l.store, {
      name: 'split',
      from: { file: namesFile(l, [u1.sam, u2.sam]) },
      targetStore: 'store-b',
      options: { concurrency: 1 },
    });
    // Each run stops as soon as a mailbox is cleaned up (before its verify), so the test can break things there.
    const untilCleaned = async (): Promise<void> => {
      const close = closeWindowOn(l.store, 'split', (e) => e.type === 'state' && e.state === 'cleaned' && e.step === 'cleanup');
      await runBatch(l.setup, l.store, 'split', close);
      await close.written();
    };
    const rows = async () => mailboxesOf(l.store, (await batchByName(l.store, 'split'))!.id);
    await untilCleaned();
    assert.deepEqual(
      (await rows()).map((m) => m.resumeState),
      ['cleaned', 'prestaged'],
    );
    // u1's mailbox is now served from another store than the batch's.
    const { Attribute, Change } = await import('ldapts');
    const u1Target = (await rows())[0]!.plan.targetDn;
    await admin(l, 'b', (c) =>
      c.modify(u1Target, [
        new Change({
          operation: 'replace',
          modification: new Attribute({ type: 'homeMDB', values: ['CN=Mailbox Store B2,CN=Servers,DC=forest-b,DC=test'] }),
        }),
      ]),
    );
    await reopenWindow(l.store, 'split');
    await untilCleaned();
    assert.deepEqual(
      (await rows()).map((m) => [m.state, m.resumeState]),
      [
        ['failed', 'cleaned'],
        ['suspended', 'cleaned'],
      ],
    );
    assert.match((await rows())[0]!.error!, /SPLIT MAILBOX: .* has its mailbox on CN=Mailbox Store B2/i);
    // u2's target mail vanished: an empty mailbox in the right store while the source held mail.
    await run('doveadm', ['-c', doveadmConf(l, 'b'), 'expunge', '-u', (await rows())[1]!.plan.targetLogin, 'mailbox', '*', 'all']);
    await reopenWindow(l.store, 'split');
    const v = await runBatch(l.setup, l.store, 'split');
    assert.equal(v.status, 'completed-with-errors');
    assert.deepEqual(
      (await rows()).map((m) => [m.state, m.resumeState]),
      [
        ['failed', 'cleaned'],
        ['failed', 'cleaned'],
      ],
    );
    assert.match((await rows())[1]!.error!, /SPLIT MAILBOX: .* is empty while the source held 5 messages/);
  });
});

describe('worker (lab)', () => {
  it('runs the batches whose window is open, leaves the others alone, refuses a second runner of one batch', async () => {
    const l = await lab();
    const [u1, u2] = [await sourceUser(l, 'wk1', 2), await sourceUser(l, 'wk2', 2)];
    const now = Date.now();
    await createBatch(l.setup, l.store, {
      name: 'open',
      from: { file: namesFile(l, [u1.sam]) },
      targetStore: 'store-b',
      options: { windowStart: new Date(now - 1000).toISOString(), windowStop: new Date(now + 3_600_000).toISOString() },
    });
    await createBatch(l.setup, l.store, {
      name: 'later',
      from: { file: namesFile(l, [u2.sam]) },
      targetStore: 'store-b',
      options: { windowStart: new Date(now + 3_600_000).toISOString() },
    });
    const results: string[] = [];
    let second: unknown;
    await runWorker(l.setup, l.store, {
      once: true,
      stopRequested: () => false,
      emit: (b, e) => {
        if (b === 'open' && e.type === 'state' && e.step === 'copy' && !second)
          second = runBatch(l.setup, l.store, 'open').catch((err: unknown) => err);
      },
      onResult: (r) => results.push(`${r.batch.name}:${r.status}`),
    });
    assert.deepEqual(results, ['open:completed']);
    assert.match(String(await second), /batch open is being run by/);
    assert.equal((await batchByName(l.store, 'later'))!.status, 'created');
  });
});

describe('concurrency limits (lab, measured on the target server)', () => {
  it('never has more mailboxes in flight on the target store than its limit', async () => {
    const l = await lab((t) => t.replace('maxConcurrentMailboxes: 4', 'maxConcurrentMailboxes: 2'));
    const users = [];
    for (let i = 0; i < 5; i++) users.push(await sourceUser(l, `cc${i}`, 20));
    await createBatch(l.setup, l.store, {
      name: 'cc',
      from: {
        file: namesFile(
          l,
          users.map((u) => u.sam),
        ),
      },
      targetStore: 'store-b',
      options: { concurrency: 5 },
    });
    const mine = new Set(users.map((u) => `${u.sam}@forest-b.test`));
    let max = 0;
    let samples = 0;
    let stop = false;
    const watch = (async () => {
      while (!stop) {
        const { stdout } = await run('doveadm', ['-c', doveadmConf(l, 'b'), 'who', '-1']).catch(() => ({ stdout: '' }));
        const seen = new Set(
          stdout
            .split('\n')
            .map((x) => x.trim().split(/\s+/)[0] ?? '')
            .filter((u) => mine.has(u)),
        );
        max = Math.max(max, seen.size);
        samples++;
      }
    })();
    const r = await runBatch(l.setup, l.store, 'cc');
    stop = true;
    await watch;
    assert.equal(r.status, 'completed');
    assert.ok(samples > 0);
    assert.ok(max >= 1 && max <= 2, `at most 2 target mailboxes in session at once, saw ${max} (${samples} samples)`);
  });
});
