// Forest B's own mailboxes: an INBOX with a few messages each (the target store is
// mostly empty before migration). sdbox cannot be written by hand, so each user's
// messages are written to a scratch Maildir and brought in with `doveadm import`.
import { createHash } from 'node:crypto';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { LabContext } from '../../context.ts';
import { samplePeople } from '../../org/people.ts';
import { createPrng } from '../../org/prng.ts';
import { run } from '../../proc.ts';
import { doveadm } from '../dovecot.ts';
import { type StoreDef, type StorePaths, servesPerson } from '../stores.ts';
import { systemUser } from '../systemUser.ts';
import type { UserManifest } from './mailboxA.ts';
import { createMaildir, type StoredMessage, writeMaildirMessages } from './maildir.ts';
import { buildMessage } from './message.ts';

const END = Date.UTC(2026, 5, 1);

/** How many users are imported at once (doveadm processes). */
const PARALLEL = 4;

/** Seeds the INBOX of every forest-B mailbox user this store serves (servesPerson). */
export async function seedStoreB(ctx: LabContext, store: StoreDef, paths: StorePaths): Promise<UserManifest[]> {
  const scratch = join(paths.dir, 'seed');
  rmSync(scratch, { recursive: true, force: true });
  const jobs: { upn: string; dir: string; manifest: UserManifest }[] = [];
  for (const person of samplePeople('b', ctx.size, ctx.seed, ctx.stores)) {
    if (!servesPerson(store, person)) continue;
    const rnd = createPrng('corpus', ctx.seed, person.upn);
    const me = { name: person.displayName, address: person.mail ?? person.upn };
    const n = 2 + rnd.int(4);
    const msgs: StoredMessage[] = [];
    for (let k = 0; k < n; k++) {
      const date = new Date(END - (n - k) * 3 * 86_400_000 - rnd.int(86_400_000));
      const from =
        k === 0
          ? { name: 'IT Service Desk', address: 'servicedesk@forest-b.test' }
          : { name: 'Søren Ødegård', address: 'soren.odegard@forest-b.test' };
      const data = buildMessage(
        {
          kind: 'plain',
          from,
          to: [me],
          subject: k === 0 ? `Willkommen / Welcome, ${person.givenName}` : `Team update ${k}`,
          date,
          tzOffset: 60,
          messageId: `b-${person.sam}-${k}@forest-b.test`,
          size: 1200 + rnd.int(2000),
          eightBitHeaders: false,
          seedKey: `${ctx.seed}\u0000${person.upn}\u0000${k}`,
        },
        rnd,
      );
      msgs.push({ data, internalDate: new Date(date.getTime() + 120_000), flags: k < n - 1 ? ['\\Seen'] : [], keywords: [] });
    }
    const dir = join(scratch, person.upn.toLowerCase(), 'Maildir');
    mkdirSync(dir, { recursive: true });
    createMaildir(dir, false);
    // A real (non-empty) mailbox GUID: doveadm asserts on an all-zero one.
    const guid = createHash('sha256').update(`${ctx.seed}\u0000${person.upn}`).digest('hex').slice(0, 32);
    const totals = writeMaildirMessages(dir, msgs, 1, guid, '0');
    jobs.push({
      upn: person.upn,
      dir,
      manifest: {
        upn: person.upn,
        roles: [],
        folders: [{ name: 'INBOX', messages: totals.messages, bytes: totals.bytes, subscribed: true }],
        messages: totals.messages,
        bytes: totals.bytes,
      },
    });
  }
  const mail = systemUser('mail');
  await run('chown', ['-R', `${mail.uid}:${mail.gid}`, scratch], { what: `lab corpus ${store.key.toUpperCase()}` });
  const queue = [...jobs];
  const worker = async (): Promise<void> => {
    for (let job = queue.shift(); job; job = queue.shift()) {
      await doveadm(paths, ['import', '-u', job.upn, `maildir:${job.dir}`, '', 'all'], {
        what: `dovecot store ${store.key.toUpperCase()}: doveadm import for ${job.upn}`,
      });
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));
  rmSync(scratch, { recursive: true, force: true });
  return jobs.map((j) => j.manifest);
}
