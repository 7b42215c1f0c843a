// The per-store limit on the lab (organizations.<id>.mailStore.maxMessagesPerSecond):
// two mailboxes copied at once against a limited store share its rate — whether the
// store is their source (reads) or their target (appends) — and still arrive whole
// (checked by reading the target); `crossforest mailbox copy` shows the limit. Only
// lower bounds on time are asserted: the limit must hold, a slow machine is no failure.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { defaultMailCopyOptions } from '../../src/config/mail.ts';
import { copyMailbox } from '../../src/mail/copyMailbox.ts';
import { projectCopyEndpoints } from '../../src/mail/endpoint.ts';
import type { StateStore } from '../../src/state/store.ts';
import { labProject, type TestProject } from '../helpers/project.ts';
import {
  contentKey,
  createMailboxUser,
  freshStore,
  type MailLab,
  mailLab,
  message,
  populate,
  readFolder,
  removeCreatedUsers,
  session,
} from './fixtures.ts';

const run = promisify(execFile);
let lab: MailLab;
const stores: StateStore[] = [];
before(async () => {
  lab = await mailLab();
});
after(async () => {
  for (const s of stores) await s.close();
  await removeCreatedUsers(lab);
});

/** The lab project with one organization's store limited to `rate` messages/s. */
function limitedProject(org: 'a' | 'b', rate: number): TestProject {
  const port = org === 'a' ? 1431 : 9932;
  return labProject(lab.info.labDir, (text) => {
    const re = new RegExp(`(port: ${port}\\n(?: {6}.*\\n)*? {6}maxMessagesPerSecond: )0`);
    assert.match(text, re, `the example sets maxMessagesPerSecond on the store at port ${port}`);
    return text.replace(re, `$1${rate}`);
  });
}

const FOLDERS = { INBOX: 20, 'INBOX.Projects': 10 } as const;
const PER_MAILBOX = 30;

/** A source mailbox with PER_MAILBOX messages in two folders, and an empty target. */
async function pair(tag: string): Promise<{ source: string; target: string }> {
  const source = await createMailboxUser(lab, 'a', tag);
  const target = await createMailboxUser(lab, 'b', tag);
  for (const [folder, n] of Object.entries(FOLDERS))
    await populate(
      lab,
      'a',
      source,
      folder,
      Array.from({ length: n }, () => ({ raw: message({ size: 2_000 }), flags: ['\\Seen'] })),
    );
  return { source, target };
}

/** Every message of both folders is on the target, bytes, flags and dates (read from the server). */
async function assertArrived(source: string, target: string): Promise<void> {
  const [a, b] = await Promise.all([session(lab, 'a', source), session(lab, 'b', target)]);
  try {
    for (const [folder, n] of Object.entries(FOLDERS)) {
      const s = await readFolder(a, folder);
      const t = await readFolder(b, folder === 'INBOX' ? 'INBOX' : 'Projects');
      assert.equal(s.length, n);
      assert.deepEqual(contentKey(t), contentKey(s), `${folder} of ${target}`);
    }
  } finally {
    await Promise.all([a.logout(), b.logout()]);
  }
}

describe('per-store throttling (lab)', () => {
  for (const [org, side] of [
    ['a', 'source'],
    ['b', 'target'],
  ] as const) {
    it(`two mailboxes copied at once share the ${side} store's limit and arrive whole`, async () => {
      const rate = 10;
      const project = limitedProject(org, rate);
      const pairs = [await pair(`thr${org}1`), await pair(`thr${org}2`)];
      const started = performance.now();
      const reports = await Promise.all(
        pairs.map(async ({ source, target }) => {
          const store = await freshStore();
          stores.push(store);
          const ep = projectCopyEndpoints(project, source, target, { from: 'a', to: 'b' });
          // nothing but the project file's store section limits these copies
          return copyMailbox({
            ...ep,
            options: defaultMailCopyOptions({ retryIntervalMs: 200, concurrency: 2 }),
            sourceMailbox: source,
            targetMailbox: target,
            store,
          });
        }),
      );
      const elapsed = (performance.now() - started) / 1000;
      // 60 messages against one store at 10/s, one second of burst: at least 5 s together
      // (each copy under a limit of its own would need 2 s). Generous slack: 75 %.
      const bound = ((2 * PER_MAILBOX - rate) / rate) * 0.75;
      assert.ok(elapsed >= bound, `took ${elapsed.toFixed(2)} s, the shared limit implies ≥ ${bound.toFixed(2)} s`);
      for (const r of reports) {
        assert.equal(r.status, 'completed');
        assert.equal(r.totals.copied, PER_MAILBOX);
        assert.deepEqual(
          r.throttles.map((t) => [t.scope, t.maxMessagesPerSecond]),
          [[`${side} store`, rate]],
        );
        assert.equal(r.throttles[0]?.store, org === 'a' ? 'imap://127.0.0.1:1431' : 'imaps://127.0.0.1:9932');
        assert.ok((r.throttles[0]?.waitedMs ?? 0) > 0, 'the copy waited for the store');
      }
      for (const { source, target } of pairs) await assertArrived(source, target);
    });
  }

  it('`crossforest mailbox copy` shows the store limit before it starts and the time waited for it', async () => {
    const rate = 15;
    const project = limitedProject('b', rate);
    const { source, target } = await pair('thrcli');
    const started = performance.now();
    const r = await run(
      process.execPath,
      ['bin/crossforest.js', '-c', project.path, 'mailbox', 'copy', source, target, '--from', 'a', '--to', 'b'],
      { maxBuffer: 16 << 20 },
    );
    const elapsed = (performance.now() - started) / 1000;
    assert.match(r.stderr, /^throttle target store imaps:\/\/127\.0\.0\.1:9932: 15 msg\/s \(every copy against it together\)$/m);
    assert.match(r.stdout, /^30 messages .* copied/m);
    assert.match(
      r.stdout,
      /^throttled by target store imaps:\/\/127\.0\.0\.1:9932: 15 msg\/s \(every copy against it together\): waited \d+\.\d s$/m,
    );
    const bound = ((PER_MAILBOX - rate) / rate) * 0.75;
    assert.ok(elapsed >= bound, `took ${elapsed.toFixed(2)} s, the limit implies ≥ ${bound.toFixed(2)} s`);
    await assertArrived(source, target);
  });
});
