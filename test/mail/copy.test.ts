// The copy engine against the lab's Dovecot stores: a sample mailbox arrives whole
// (checked by reading the target), a re-run copies nothing, deltas carry new mail and
// flag changes, a partly filled target merges without duplicates.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { readCorpusManifest } from '../../lab/mailstore/corpus/corpus.ts';
import { STORES } from '../../lab/mailstore/stores.ts';
import { defaultMailCopyOptions } from '../../src/config/mail.ts';
import { getAcl } from '../../src/mail/acl.ts';
import { copyMailbox } from '../../src/mail/copyMailbox.ts';
import { projectCopyEndpoints } from '../../src/mail/endpoint.ts';
import { verifyMailbox } from '../../src/mail/verify.ts';
import type { StateStore } from '../../src/state/store.ts';
import { onWire } from '../helpers/wire.ts';
import {
  contentKey,
  copyInput,
  createMailboxUser,
  folderPaths,
  freshStore,
  type MailLab,
  mailLab,
  message,
  populate,
  readFolder,
  removeCreatedUsers,
  session,
} from './fixtures.ts';

let lab: MailLab;
const stores: StateStore[] = [];
const store = async (): Promise<StateStore> => {
  const s = await freshStore();
  stores.push(s);
  return s;
};

before(async () => {
  lab = await mailLab();
});
after(async () => {
  for (const s of stores) await s.close();
  await removeCreatedUsers(lab);
});

/** The lab's sample user with a role (showcase, hoarder, big), from the corpus manifest. */
function labUser(role: string): string {
  const m = readCorpusManifest(lab.info.labDir, STORES.a);
  const u = m?.users.find((x) => x.roles.includes(role));
  assert.ok(u, `the lab corpus has a ${role} user (lab up with the mail stores)`);
  return u.upn;
}

/** Every mapped folder's content (bytes, flags, dates) on the target equals the source's. */
async function assertExactCopy(source: string, target: string, mapping: { source: string; target: string }[]): Promise<number> {
  const [a, b] = await Promise.all([session(lab, 'a', source), session(lab, 'b', target)]);
  let n = 0;
  try {
    for (const m of mapping) {
      const s = await readFolder(a, m.source);
      const t = await readFolder(b, m.target);
      assert.deepEqual(contentKey(t), contentKey(s), `${m.source} → ${m.target}`);
      n += s.length;
    }
  } finally {
    await Promise.all([a.logout(), b.logout()]);
  }
  return n;
}

describe('mailbox copy (lab)', () => {
  it('copies a sample mailbox whole: every message, flags, keywords, dates, non-ASCII and special-use folders, subscriptions, ACLs; a re-run copies nothing', async () => {
    const source = labUser('showcase'); // every awkward case, delegate ACLs
    const target = await createMailboxUser(lab, 'b', 'sample');
    const ownerBefore = await session(lab, 'b', target).then(async (c) => {
      const acl = await onWire(c, (w) => getAcl(w, 'INBOX'));
      return acl.find((e) => e.identifier === target)?.rights;
    });
    const st = await store();
    const report = await copyMailbox(copyInput(lab, st, source, target));
    assert.equal(report.status, 'completed');
    assert.equal(report.skipped.length, 0);
    const byName = Object.fromEntries(report.folderMapping.map((m) => [m.source, m.target]));
    assert.equal(byName['INBOX.Sent Items'], 'Sent');
    assert.equal(byName['INBOX.Deleted Items'], 'Trash');
    assert.equal(byName['INBOX.Junk E-mail'], 'Junk');
    assert.equal(byName['INBOX.日本語.取引先'], '日本語/取引先');
    assert.equal(byName['INBOX.Partners.Vendors/Suppliers'], 'Partners/Vendors\u2215Suppliers');

    const copied = await assertExactCopy(source, target, report.folderMapping);
    assert.ok(copied >= 60, `the showcase mailbox holds its ~63 messages (${copied})`);

    const [a, b] = await Promise.all([session(lab, 'a', source), session(lab, 'b', target)]);
    try {
      const targetFolders = new Set(await folderPaths(b));
      for (const m of report.folderMapping) assert.ok(targetFolders.has(m.target), `folder ${m.target} exists`);
      const subscribedA = (await a.list())
        .filter((l) => l.subscribed)
        .map((l) => byName[l.path])
        .filter(Boolean);
      const subscribedB = new Set((await b.list()).filter((l) => l.subscribed).map((l) => l.path));
      for (const f of subscribedA) assert.ok(subscribedB.has(f as string), `${f} subscribed on the target`);
      // Delegate ACLs translated to forest B identities; the owner's own rights untouched.
      const delegations = readCorpusManifest(lab.info.labDir, STORES.a)?.acls.filter((d) => d.owner === source) ?? [];
      assert.ok(delegations.length > 0, 'the showcase user has delegate ACLs in the lab');
      const aclOf = async (folder: string) => onWire(await session(lab, 'b', target), (w) => getAcl(w, folder));
      for (const d of delegations) {
        const folder = byName[d.folder === 'INBOX' ? 'INBOX' : `INBOX.${d.folder}`] as string;
        const acl = await aclOf(folder);
        const grantee = d.grantee.replace('@forest-a.test', '@forest-b.test');
        const sorted = (x: string | undefined): string => (x ?? '').split('').sort().join('');
        assert.equal(sorted(acl.find((e) => e.identifier === grantee)?.rights), sorted(d.imapRights), `${grantee} on ${folder}`);
        assert.equal(acl.find((e) => e.identifier === target)?.rights, ownerBefore, `owner rights on ${folder} untouched`);
      }
      const inbox = await aclOf('INBOX');
      assert.ok(!inbox.some((e) => e.identifier.endsWith('@forest-a.test')), 'no source identity left on the target');
    } finally {
      await Promise.all([a.logout(), b.logout()]);
    }

    const again = await copyMailbox(copyInput(lab, st, source, target));
    assert.equal(again.totals.copied, 0);
    assert.equal(again.totals.flagsUpdated, 0);
    await assertExactCopy(source, target, report.folderMapping);
    const v = await verifyMailbox({ ...copyInput(lab, st, source, target) });
    assert.equal(v.fidelity, 1, JSON.stringify(v.differences.slice(0, 5)));
  });

  it('a delta carries a new message and flag/keyword changes, and reports a source deletion without applying it', async () => {
    const source = await createMailboxUser(lab, 'a', 'delta');
    const target = await createMailboxUser(lab, 'b', 'delta');
    const msgs = Array.from({ length: 12 }, (_, i) => ({
      raw: message({ size: 2000 }),
      flags: i % 2 ? ['\\Seen'] : ['\\Seen', '$Forwarded'],
      date: new Date(Date.UTC(2019, 0, i + 1, 8, 30, 15)),
    }));
    await populate(lab, 'a', source, 'INBOX', msgs);
    await populate(lab, 'a', source, 'INBOX.Projekte.Größe', [{ raw: message({ subject: 'Ünïcode' }), flags: ['Project-Phoenix'] }]);
    const st = await store();
    const first = await copyMailbox(copyInput(lab, st, source, target));
    assert.equal(first.totals.copied, 13);

    const a = await session(lab, 'a', source);
    await a.mailboxOpen('INBOX');
    await a.messageFlagsAdd('1', ['\\Flagged'], { uid: true });
    await a.messageFlagsAdd('2', ['Project-Phoenix'], { uid: true });
    await a.messageFlagsRemove('3', ['\\Seen'], { uid: true });
    await a.messageDelete('4', { uid: true });
    await a.logout();
    await populate(lab, 'a', source, 'INBOX', [{ raw: message({ subject: 'new one' }), flags: ['\\Answered'] }]);

    const delta = await copyMailbox(copyInput(lab, st, source, target));
    const inbox = delta.folders.find((f) => f.source === 'INBOX');
    assert.equal(inbox?.copied, 1);
    assert.equal(inbox?.flagsUpdated, 3);
    assert.equal(inbox?.deletedOnSource, 1);
    assert.equal(inbox?.deletedOnTarget, 0);
    const [sa, tb] = await Promise.all([session(lab, 'a', source), session(lab, 'b', target)]);
    try {
      const s = await readFolder(sa, 'INBOX');
      const t = await readFolder(tb, 'INBOX');
      assert.equal(t.length, s.length + 1, 'the message deleted on the source stays on the target');
      const tk = new Set(contentKey(t));
      for (const k of contentKey(s)) assert.ok(tk.has(k), `target has ${k}`);
      assert.deepEqual(contentKey(await readFolder(tb, 'Projekte/Größe')), contentKey(await readFolder(sa, 'INBOX.Projekte.Größe')));
    } finally {
      await Promise.all([sa.logout(), tb.logout()]);
    }
    const quiet = await copyMailbox(copyInput(lab, st, source, target));
    assert.equal(quiet.totals.copied + quiet.totals.flagsUpdated, 0);
  });

  it('a source UIDVALIDITY change (folder recreated) rebuilds the map by fingerprint: only the new message is copied', async () => {
    const source = await createMailboxUser(lab, 'a', 'uidv');
    const target = await createMailboxUser(lab, 'b', 'uidv');
    const msgs = Array.from({ length: 6 }, (_, i) => ({ raw: message({ messageId: i === 2 ? null : undefined }), flags: ['\\Seen'] }));
    await populate(lab, 'a', source, 'INBOX.Reports', msgs);
    const st = await store();
    assert.equal((await copyMailbox(copyInput(lab, st, source, target))).totals.copied, 6);
    const a = await session(lab, 'a', source);
    await a.mailboxDelete('INBOX.Reports');
    await a.logout();
    await populate(lab, 'a', source, 'INBOX.Reports', [...msgs, { raw: message({ subject: 'after the reset' }), flags: [] }]);
    const again = await copyMailbox(copyInput(lab, st, source, target));
    const f = again.folders.find((x) => x.source === 'INBOX.Reports');
    assert.equal(f?.matched, 6);
    assert.equal(f?.copied, 1);
    await assertExactCopy(source, target, [{ source: 'INBOX.Reports', target: 'Reports' }]);
  });

  it('without APPENDUID (a target lacking UIDPLUS) finds its copies by fingerprint, so flag changes still follow', async () => {
    const source = await createMailboxUser(lab, 'a', 'nouidplus');
    const target = await createMailboxUser(lab, 'b', 'nouidplus');
    await populate(lab, 'a', source, 'INBOX', [
      ...Array.from({ length: 4 }, () => ({ raw: message() })),
      { raw: message({ messageId: null }) },
    ]);
    const st = await store();
    const first = await copyMailbox({ ...copyInput(lab, st, source, target), ignoreAppendUid: true });
    assert.equal(first.totals.copied, 5);
    const a = await session(lab, 'a', source);
    await a.mailboxOpen('INBOX');
    await a.messageFlagsAdd('1:5', ['\\Flagged'], { uid: false });
    await a.logout();
    const delta = await copyMailbox({ ...copyInput(lab, st, source, target), ignoreAppendUid: true });
    assert.equal(delta.totals.flagsUpdated, 5);
    await assertExactCopy(source, target, [{ source: 'INBOX', target: 'INBOX' }]);
  });

  it('copies the 100+ folder mailbox of the lab (hoarder) exactly', async () => {
    const target = await createMailboxUser(lab, 'b', 'hoarder');
    const source = labUser('hoarder');
    const report = await copyMailbox(copyInput(lab, await store(), source, target));
    assert.ok(report.folderMapping.length > 100, `${report.folderMapping.length} folders`);
    await assertExactCopy(source, target, report.folderMapping);
  });

  it('copies the other way (/ into INBOX.): a "." inside a name is escaped, special-use still mapped by use', async () => {
    const source = await createMailboxUser(lab, 'b', 'reverse');
    const target = await createMailboxUser(lab, 'a', 'reverse');
    await populate(lab, 'b', source, 'Projects/Phoenix', [{ raw: message() }]);
    await populate(lab, 'b', source, 'v1.2 notes', [{ raw: message(), flags: ['$Forwarded'] }]);
    await populate(lab, 'b', source, 'Sent', [{ raw: message({ subject: 'sent' }), flags: ['\\Seen'] }]);
    const ep = projectCopyEndpoints(lab.project, source, target, { from: 'b', to: 'a' });
    const report = await copyMailbox({
      ...ep,
      options: defaultMailCopyOptions(),
      sourceMailbox: source,
      targetMailbox: target,
      store: await store(),
    });
    const byName = Object.fromEntries(report.folderMapping.map((m) => [m.source, m.target]));
    assert.equal(byName['Projects/Phoenix'], 'INBOX.Projects.Phoenix');
    assert.equal(byName['v1.2 notes'], 'INBOX.v1\u20242 notes');
    assert.equal(byName.Sent, 'INBOX.Sent Items');
    const [b, a] = await Promise.all([session(lab, 'b', source), session(lab, 'a', target)]);
    try {
      const selectable = new Set(await folderPaths(b)); // "Projects" is only a parent on sdbox
      for (const m of report.folderMapping.filter((x) => selectable.has(x.source)))
        assert.deepEqual(contentKey(await readFolder(a, m.target)), contentKey(await readFolder(b, m.source)), m.source);
    } finally {
      await Promise.all([a.logout(), b.logout()]);
    }
  });

  it('merges into a target that already holds part of the mail: nothing twice, two different messages sharing a Message-ID both kept, exact duplicates both kept', async () => {
    const source = await createMailboxUser(lab, 'a', 'merge');
    const target = await createMailboxUser(lab, 'b', 'merge');
    const shared = message({ messageId: '<same-id@test.example>', subject: 'first' });
    const other = message({ messageId: '<same-id@test.example>', subject: 'second, same Message-ID, other text' });
    const noId = message({ messageId: null, subject: 'no Message-ID' });
    const dup = message({ subject: 'sent twice' });
    const plain = Array.from({ length: 8 }, () => message());
    const date = new Date('2020-02-02T02:02:02Z');
    const src = [...plain, shared, noId, dup, dup].map((raw) => ({ raw, flags: ['\\Seen'], date }));
    await populate(lab, 'a', source, 'INBOX', src);
    // The target already has 4 of them (as an earlier tool left them), the twin and one copy of dup.
    await populate(
      lab,
      'b',
      target,
      'INBOX',
      [...plain.slice(0, 3), noId, other, dup].map((raw) => ({ raw, flags: ['\\Seen'], date })),
    );
    const report = await copyMailbox(copyInput(lab, await store(), source, target));
    const inbox = report.folders.find((f) => f.source === 'INBOX');
    assert.equal(inbox?.matched, 5, 'plain×3, noId and one dup recognized by fingerprint');
    assert.equal(inbox?.copied, 7);
    const b = await session(lab, 'b', target);
    try {
      const t = await readFolder(b, 'INBOX');
      assert.equal(t.length, src.length + 1, 'every source message once, plus the twin that only the target had');
      const count = (raw: Buffer): number => t.filter((m) => m.sha === createHash('sha256').update(raw).digest('hex')).length;
      assert.equal(count(dup), 2);
      assert.equal(count(shared), 1);
      assert.equal(count(other), 1);
      assert.equal(count(noId), 1);
    } finally {
      await b.logout();
    }
  });
});
