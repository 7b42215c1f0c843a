// Calendars and contacts move with the mailbox (issue 14), on the OpenLDAP lab: two batch
// users get a sample user's generated calendars, task list and address book (copied into
// their Radicale A home over plain HTTP), the batch moves mail and calendars, a change made
// on the source between two passes reaches the target, verify compares every object, and
// free/busy through `serve` answers the same before and after the move. Then the failures:
// an object the target refuses (forest B's Radicale takes 2 MB at most) is a skipped item,
// and an unreachable calendar server fails the mailbox at copied with its mail kept.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { RADICALE_MAX_ITEM_BYTES } from '../../lab/radicale/radicale.ts';
import { buildServer } from '../../src/coexistence/server.ts';
import { requestComplete } from '../../src/migration/batchOps.ts';
import { batchByName, mailboxesOf, stepsOf } from '../../src/migration/batchStore.ts';
import { createBatch } from '../../src/migration/createBatch.ts';
import { reportsDir } from '../../src/migration/report.ts';
import { runBatch } from '../../src/migration/runner.ts';
import { migrationSetup } from '../../src/migration/setup.ts';
import type { VerifyOutcome } from '../../src/migration/types.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { type MigLab, migLab, namesFile, removeAll, sourceUser } from './fixtures.ts';

let l: MigLab;
const homes: { org: 'a' | 'b'; login: string }[] = [];
const SAMPLE = 'jmuller@forest-a.test';

const secret = (name: string): string => readFileSync(`${l.info.labDir}/secrets/${name}`, 'utf8').split('\n')[0] as string;
const auth = (org: 'a' | 'b') => ({
  authorization: `Basic ${Buffer.from(`calmigrate:${secret(`radicale-${org}-calmigrate.pw`)}`).toString('base64')}`,
});
const home = (org: 'a' | 'b', login: string) => `http://127.0.0.1:${org === 'a' ? 5231 : 5232}/${encodeURIComponent(login)}/`;

async function http(org: 'a' | 'b', method: string, url: string, body?: string, headers: Record<string, string> = {}) {
  const r = await fetch(url, { method, body, headers: { ...auth(org), ...headers } });
  return { status: r.status, text: await r.text() };
}

/** Members of a collection or home: [href, is a collection, display name]. Plain PROPFIND, not the product's code. */
async function members(org: 'a' | 'b', url: string): Promise<{ href: string; kind?: 'calendar' | 'addressbook'; name?: string }[]> {
  const r = await http(org, 'PROPFIND', url, undefined, { depth: '1' });
  const path = new URL(url).pathname;
  return r.text
    .split('<response>')
    .slice(1)
    .map((chunk) => ({
      href: /^<href>([^<]+)<\/href>/.exec(chunk)?.[1] ?? '',
      kind: /<C:calendar ?\/>/.test(chunk)
        ? ('calendar' as const)
        : /<CR:addressbook ?\/>/.test(chunk)
          ? ('addressbook' as const)
          : undefined,
      name: /<displayname>([^<]*)<\/displayname>/.exec(chunk)?.[1],
    }))
    .filter((m) => m.href.startsWith(path) && m.href !== path);
}

/** The sample user's collections, item by item, into `login`'s Radicale A home. Returns the item count. */
async function giveCalendars(login: string): Promise<number> {
  homes.push({ org: 'a', login });
  await http('a', 'MKCOL', home('a', login));
  let items = 0;
  for (const c of await members('a', home('a', SAMPLE))) {
    if (!c.kind) continue;
    const name = c.href.replace(/\/$/, '').split('/').pop() as string;
    const to = `${home('a', login)}${name}/`;
    const props = `<D:set><D:prop><D:displayname>${c.name ?? name}</D:displayname>${c.kind === 'addressbook' ? '<D:resourcetype><D:collection/><CR:addressbook/></D:resourcetype>' : ''}</D:prop></D:set>`;
    const made =
      c.kind === 'calendar'
        ? await http(
            'a',
            'MKCALENDAR',
            to,
            `<?xml version="1.0"?><C:mkcalendar xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">${props}</C:mkcalendar>`,
          )
        : await http(
            'a',
            'MKCOL',
            to,
            `<?xml version="1.0"?><D:mkcol xmlns:D="DAV:" xmlns:CR="urn:ietf:params:xml:ns:carddav">${props}</D:mkcol>`,
          );
    assert.ok(made.status < 300, `${to}: ${made.status} ${made.text}`);
    for (const item of await members('a', new URL(c.href, home('a', SAMPLE)).href)) {
      const text = (await http('a', 'GET', new URL(item.href, home('a', SAMPLE)).href)).text;
      const type = c.kind === 'calendar' ? 'text/calendar' : 'text/vcard';
      assert.ok((await http('a', 'PUT', `${to}${item.href.split('/').pop()}`, text, { 'content-type': type })).status < 300);
      items++;
    }
  }
  return items;
}

async function freeBusy(app: Awaited<ReturnType<typeof buildServer>>, address: string, start: string, end: string) {
  const who = `Basic ${Buffer.from(`${SAMPLE}:${secret('users.pw')}`).toString('base64')}`;
  const r = await app.inject({
    url: `/api/freebusy?start=${start}&end=${end}&interval=60&u=${encodeURIComponent(address)}`,
    headers: { authorization: who },
  });
  assert.equal(r.statusCode, 200, r.body);
  return (r.json() as { people: { org: string | null; fbdata: string; error?: string }[] }).people[0]!;
}

describe('calendars and contacts move with the mailbox (lab)', () => {
  before(async () => {
    // Every free/busy answer asks the directory again: the move shows at once.
    l = await migLab((t) => t.replace('mailboxCacheSeconds: 60', 'mailboxCacheSeconds: 0'));
  });
  after(async () => {
    for (const h of homes) await http(h.org, 'DELETE', home(h.org, h.login)).catch(() => {});
    if (l) await removeAll(l);
  });

  it('a batch of two users: every event, task and vCard on the target, a change between passes carried, free/busy the same after', async () => {
    const users = [await sourceUser(l, 'cal1', 3), await sourceUser(l, 'cal2', 2)];
    const items = [await giveCalendars(users[0]!.upn), await giveCalendars(users[1]!.upn)];
    assert.ok(items[0]! > 50, `the sample user's generated collections hold ${items[0]} items`);
    // This week and the next, hour by hour: the generated meetings, series, out-of-office and tentative events.
    const monday = new Date();
    monday.setUTCDate(monday.getUTCDate() - ((monday.getUTCDay() + 6) % 7));
    const start = `${monday.toISOString().slice(0, 10)}T00:00:00Z`;
    const end = `${new Date(monday.getTime() + 14 * 86_400_000).toISOString().slice(0, 10)}T00:00:00Z`;
    const app = await buildServer(l.project, { logger: silentLogger, state: l.store });
    try {
      const beforeMove = await Promise.all(users.map((u) => freeBusy(app, u.mail, start, end)));
      for (const fb of beforeMove) {
        assert.equal(fb.org, 'a');
        assert.match(fb.fbdata, /[23]/, 'busy or out of office somewhere in the two weeks');
      }

      await createBatch(l.setup, l.store, {
        name: 'cal',
        from: {
          file: namesFile(
            l,
            users.map((u) => u.sam),
          ),
        },
        targetStore: 'store-b',
        options: { cutover: 'manual' },
      });
      const first = await runBatch(l.setup, l.store, 'cal');
      assert.equal(first.status, 'synced');
      const batchId = (await batchByName(l.store, 'cal'))!.id;
      const rows = await mailboxesOf(l.store, batchId);
      // Between two passes: an event changed on the source.
      const cal = `${home('a', users[0]!.upn)}calendar/`;
      const href = (await members('a', cal))[0]!.href;
      const url = new URL(href, cal).href;
      const changed = (await http('a', 'GET', url)).text.replace(/^SUMMARY[^\r\n]*/m, 'SUMMARY:Moved to Thursday');
      assert.ok((await http('a', 'PUT', url, changed, { 'content-type': 'text/calendar' })).status < 300);

      await requestComplete(l.store, 'cal');
      const done = await runBatch(l.setup, l.store, 'cal');
      const final = await mailboxesOf(l.store, batchId);
      assert.equal(done.status, 'completed', JSON.stringify(final.map((m) => [m.state, m.error])));
      const steps = await stepsOf(l.store, batchId);
      for (const [i, m] of final.entries()) {
        homes.push({ org: 'b', login: m.plan.targetLogin });
        // What the verify step found (its detail; the mailbox row keeps the cutover's comparison).
        const verified = steps.find((s) => s.mailboxId === m.id && s.step === 'verify' && s.status === 'done')?.detail as VerifyOutcome;
        assert.equal(verified?.calendars?.ok, true, JSON.stringify(verified?.problems));
        const c = verified.calendars!;
        assert.equal(c.calendarItems.intact + c.contactItems.intact, items[i]);
        assert.equal(c.calendarItems.source + c.contactItems.source, items[i]);
        // Read back over plain HTTP: each collection with its name and as many objects as the source.
        for (const col of await members('a', home('a', m.sourceLogin))) {
          const name = col.href.replace(/\/$/, '').split('/').pop() as string;
          const there = await members('b', `${home('b', m.plan.targetLogin)}${name}/`);
          assert.equal(
            there.length,
            (await members('a', new URL(col.href, home('a', m.sourceLogin)).href)).length,
            `${name} of ${m.sourceLogin}`,
          );
        }
      }
      const moved = rows.find((m) => m.sourceLogin === users[0]!.upn)!;
      const onTarget = (await http('b', 'GET', `${home('b', moved.plan.targetLogin)}calendar/${href.split('/').pop()}`)).text;
      assert.match(onTarget, /SUMMARY:Moved to Thursday/, 'the change made between the two passes reached the target');
      // The batch report counts calendar items and contacts beside the mail.
      const html = readFileSync(`${reportsDir(l.setup, 'cal')}/batch.html`, 'utf8');
      assert.match(html, /<th[^>]*>calendar<\/th><th[^>]*>contacts<\/th>/);

      const afterMove = await Promise.all(users.map((u) => freeBusy(app, u.mail, start, end)));
      for (const [i, fb] of afterMove.entries()) {
        assert.equal(fb.org, 'b', 'the moved person is answered from the target organization');
        assert.equal(fb.fbdata, beforeMove[i]!.fbdata, `free/busy of ${users[i]!.mail} is the same after the move`);
      }
    } finally {
      await app.close();
    }
  });

  it('an object the target refuses is a skipped item; an unreachable calendar server fails the mailbox at copied, its mail kept', async () => {
    const u = await sourceUser(l, 'cal3', 2);
    homes.push({ org: 'a', login: u.upn });
    await http('a', 'MKCOL', home('a', u.upn));
    await http('a', 'MKCALENDAR', `${home('a', u.upn)}calendar/`);
    const big = `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//crossforest//test//EN\r\nBEGIN:VEVENT\r\nUID:cf-too-big\r\nDTSTAMP:20261201T000000Z\r\nDTSTART:20261210T090000Z\r\nDTEND:20261210T100000Z\r\nSUMMARY:Board pack\r\nATTACH;VALUE=BINARY;ENCODING=BASE64;FMTTYPE=application/pdf:${'QUJD'.repeat(RADICALE_MAX_ITEM_BYTES.b / 3)}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n`;
    assert.ok((await http('a', 'PUT', `${home('a', u.upn)}calendar/big.ics`, big, { 'content-type': 'text/calendar' })).status < 300);
    const small = big.replace('cf-too-big', 'cf-small').replace(/ATTACH[^\r]*\r\n/, '');
    assert.ok((await http('a', 'PUT', `${home('a', u.upn)}calendar/small.ics`, small, { 'content-type': 'text/calendar' })).status < 300);

    // The calendar server of B cannot be reached: the calendars step fails, the mail stays copied.
    const unreachable = migrationSetup({
      ...l.project,
      config: {
        ...l.project.config,
        organizations: {
          ...l.project.config.organizations,
          b: {
            ...l.project.config.organizations.b!,
            calendar: { ...l.project.config.organizations.b!.calendar!, url: 'http://127.0.0.1:9/', timeoutMs: 2000 },
          },
        },
      },
    });
    await createBatch(unreachable, l.store, {
      name: 'calbad',
      from: { file: namesFile(l, [u.sam]) },
      targetStore: 'store-b',
      options: { badItemLimit: 1 },
    });
    const r = await runBatch(unreachable, l.store, 'calbad');
    const batchId = (await batchByName(l.store, 'calbad'))!.id;
    const [m] = await mailboxesOf(l.store, batchId);
    assert.equal(r.status, 'completed-with-errors');
    assert.deepEqual([m!.state, m!.resumeState], ['failed', 'copied']);
    assert.match(m!.error ?? '', /127\.0\.0\.1:9/);
    assert.ok(m!.copied >= 4, 'the mail was copied before the calendars failed');

    // The server back: retry-failed copies the calendars; the oversized event is a skipped item naming its collection and UID.
    homes.push({ org: 'b', login: m!.plan.targetLogin });
    const again = await runBatch(l.setup, l.store, 'calbad', { retryFailed: true });
    const [after] = await mailboxesOf(l.store, batchId);
    assert.equal(again.status, 'completed', after?.error ?? '');
    // The calendar passes of this mailbox: the calendars steps, and the final one inside cutover.
    type Pass = { collections: { skipped: { collection: string; uid: string; reason: string }[] }[] };
    const passes = (await stepsOf(l.store, batchId))
      .filter((s) => s.status === 'done' && (s.step === 'calendars' || s.step === 'cutover'))
      .map((s) => (s.step === 'cutover' ? (s.detail as { calendars?: Pass }).calendars : (s.detail as Pass)))
      .filter((p): p is Pass => Boolean(p));
    const skipped = [...new Map(passes.flatMap((p) => p.collections.flatMap((c) => c.skipped)).map((x) => [x.uid, x])).values()];
    assert.deepEqual(
      skipped.map((s) => [s.collection, s.uid]),
      [['calendar', 'cf-too-big']],
    );
    assert.match(skipped[0]!.reason, /HTTP 413/);
    assert.equal((await members('b', `${home('b', after!.plan.targetLogin)}calendar/`)).length, 1, 'the small event is there');
  });
});
