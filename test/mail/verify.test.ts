// Verification that reads every byte (issue 15): the copy records each message's SHA-256 as
// read from the source, and a full `verify` reads both sides back whole, so a body damaged on
// the target with its size unchanged, a keyword and an internal date that differ are each
// caught and named (folder, source and target UID, what differs); `quick` (headers only)
// is shown not to see the damaged body. Live: the lab's two Dovecots, a fresh state store
// (both engines).
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { copyMailbox } from '../../src/mail/copyMailbox.ts';
import { verifyMailbox } from '../../src/mail/verify.ts';
import type { StateStore } from '../../src/state/store.ts';
import {
  copyInput,
  createMailboxUser,
  freshStore,
  type MailLab,
  mailLab,
  message,
  populate,
  removeCreatedUsers,
  session,
} from './fixtures.ts';

let lab: MailLab;
const stores: StateStore[] = [];

before(async () => {
  lab = await mailLab();
});
after(async () => {
  for (const s of stores) await s.close();
  await removeCreatedUsers(lab);
});

const sha256 = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

/** Replaces one message of a target folder by `raw` with the given flags and date (IMAP cannot rewrite a message). */
async function replaceOnTarget(user: string, folder: string, uid: number, raw: Buffer, flags: string[], date: Date): Promise<void> {
  await populate(lab, 'b', user, folder, [{ raw, flags, date }]);
  const c = await session(lab, 'b', user);
  await c.mailboxOpen(folder);
  await c.messageDelete(String(uid), { uid: true });
  await c.logout();
}

/** The target's UID of the message whose Message-ID is `id`. */
async function targetUidOf(user: string, folder: string, raw: Buffer): Promise<number> {
  const id = /^Message-ID: (.*)$/im.exec(raw.toString('latin1'))?.[1]?.trim() as string;
  const c = await session(lab, 'b', user);
  await c.mailboxOpen(folder);
  const uids = (await c.search({ header: { 'message-id': id } }, { uid: true })) || [];
  await c.logout();
  assert.equal(uids.length, 1, `one target message with ${id}`);
  return uids[0] as number;
}

describe('full verification (lab)', () => {
  it('records each message SHA-256 at copy; catches a same-size body damage, a keyword and an internal date that --quick would pass', async () => {
    const source = await createMailboxUser(lab, 'a', 'vfy');
    const target = await createMailboxUser(lab, 'b', 'vfy');
    const date = new Date(Date.UTC(2020, 2, 2, 9, 0, 0));
    const msgs = Array.from({ length: 6 }, (_, i) => ({ raw: message({ size: 3000 + i * 500 }), flags: ['\\Seen'], date }));
    await populate(lab, 'a', source, 'INBOX', msgs);
    await populate(lab, 'a', source, 'INBOX.Projects', [{ raw: message({ size: 1200 }), flags: [], date }]);
    const st = await freshStore();
    stores.push(st);
    const input = copyInput(lab, st, source, target);
    const copied = await copyMailbox(input);
    assert.equal(copied.totals.copied, 7);

    // The copy recorded the SHA-256 of every message's bytes as the source gave them.
    const recorded = await st.sql.all<{ h: string | null }>('SELECT content_sha256 AS h FROM mail_uid_map');
    assert.equal(recorded.length, 7);
    for (const m of msgs)
      assert.ok(
        recorded.some((r) => r.h === sha256(m.raw)),
        'the source bytes hash is recorded',
      );

    const clean = await verifyMailbox(input);
    assert.equal(clean.fidelity, 1, JSON.stringify(clean.differences));

    // One byte of one body changed on the target, the size the same.
    const victim = msgs[2]?.raw as Buffer;
    const damaged = Buffer.from(victim);
    const at = damaged.indexOf('\r\n\r\n') + 10;
    damaged[at] = damaged[at] === 0x41 ? 0x42 : 0x41;
    assert.equal(damaged.length, victim.length);
    const vuid = await targetUidOf(target, 'INBOX', victim);
    await replaceOnTarget(target, 'INBOX', vuid, damaged, ['\\Seen'], date);
    // A keyword added on the target, and another message's internal date moved by an hour.
    const kuid = await targetUidOf(target, 'INBOX', msgs[0]?.raw as Buffer);
    const c = await session(lab, 'b', target);
    await c.mailboxOpen('INBOX');
    await c.messageFlagsAdd(String(kuid), ['$Label1'], { uid: true });
    await c.logout();
    const duid = await targetUidOf(target, 'INBOX', msgs[4]?.raw as Buffer);
    await replaceOnTarget(target, 'INBOX', duid, msgs[4]?.raw as Buffer, ['\\Seen'], new Date(date.getTime() + 3_600_000));

    const full = await verifyMailbox(input);
    const byKind = (k: string) => full.differences.filter((d) => d.kind === k);
    assert.equal(full.intact, 4, JSON.stringify(full.differences));
    assert.ok(full.fidelity < 1);
    const content = byKind('content');
    assert.equal(content.length, 1, JSON.stringify(full.differences));
    assert.equal(content[0]?.folder, 'INBOX');
    assert.equal(content[0]?.targetUid, await targetUidOf(target, 'INBOX', damaged));
    assert.match(content[0]?.detail ?? '', new RegExp(`source SHA-256 ${sha256(victim)}, target ${sha256(damaged)}`));
    const flags = byKind('flags');
    assert.equal(flags.length, 1);
    assert.equal(flags[0]?.targetUid, kuid);
    assert.match(flags[0]?.detail ?? '', /\+\$Label1/);
    const dates = byKind('date');
    assert.equal(dates.length, 1);
    assert.match(dates[0]?.detail ?? '', /source 2020-03-02T09:00:00\.000Z, target 2020-03-02T10:00:00\.000Z/);

    // The header fingerprint alone does not see the damaged body: why full is the default.
    const quick = await verifyMailbox({ ...input, depth: 'quick' });
    assert.equal(quick.differences.filter((d) => d.kind === 'content').length, 0);
    assert.equal(quick.intact, 5);
  });
});
