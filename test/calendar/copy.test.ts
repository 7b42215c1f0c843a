// The calendar copy against the lab's two Radicales (issue 14): a sample user's generated
// calendars, task list and address book (lab/radicale) copied into a fresh target home as
// the calmigrate service account; what is on the target read back over plain HTTP; a change,
// an addition and a deletion on the source carried by the next pass (sync-collection); and
// the errors an administrator meets, each naming the server and the user's home.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { readRadicaleManifest } from '../../lab/radicale/corpus.ts';
import { type CalendarCopyError, calendarServers, copyCalendars, DavServer, verifyCalendars } from '../../src/calendar/index.ts';
import { openProjectState, type StateStore } from '../../src/state/store.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { ensureLab } from '../helpers/lab.ts';
import { labProject, type TestProject } from '../helpers/project.ts';

let project: TestProject;
let store: StateStore;
let servers: { source: DavServer; target: DavServer };
let labDir: string;
let sourceLogin: string;
const targets: string[] = [];

const auth = (org: 'a' | 'b') => ({
  authorization: `Basic ${Buffer.from(`calmigrate:${readFileSync(`${labDir}/secrets/radicale-${org}-calmigrate.pw`, 'utf8').split('\n')[0]}`).toString('base64')}`,
});
const base = (org: 'a' | 'b') => `http://127.0.0.1:${org === 'a' ? 5231 : 5232}/`;
const home = (org: 'a' | 'b', login: string) => `${base(org)}${encodeURIComponent(login)}/`;

async function http(org: 'a' | 'b', method: string, url: string, body?: string, headers: Record<string, string> = {}) {
  const r = await fetch(url, { method, body, headers: { ...auth(org), ...headers } });
  return { status: r.status, text: await r.text() };
}

/** The hrefs in a collection, from a plain PROPFIND (not the product's code). */
async function hrefs(org: 'a' | 'b', url: string): Promise<string[]> {
  const r = await http(org, 'PROPFIND', url, undefined, { depth: '1' });
  const path = new URL(url).pathname;
  // Only the members' own hrefs: allprop also names principals (owner, current-user-principal).
  return [...r.text.matchAll(/<response><href>([^<]+)<\/href>/g)]
    .map((m) => m[1] as string)
    .filter((h) => h.startsWith(path) && h !== path);
}

const copy = (sourceUser: string, targetUser: string, extra: Partial<Parameters<typeof copyCalendars>[0]> = {}) =>
  copyCalendars({
    ...servers,
    sourceLogin: sourceUser,
    targetLogin: targetUser,
    store,
    deleteOnTarget: false,
    badItemLimit: 0,
    logger: silentLogger,
    ...extra,
  });

describe('calendar copy between the lab Radicales', () => {
  before(async () => {
    const info = await ensureLab();
    labDir = info.labDir;
    project = labProject(labDir);
    store = await openProjectState(project);
    const orgs = project.config.organizations;
    const s = calendarServers({ id: 'a', org: orgs.a! }, { id: 'b', org: orgs.b! }, project.baseDir);
    assert.ok(s, 'the example project has a calendar server in both organizations');
    servers = s;
    // A user with every kind of collection the lab makes (calendar, tasks, contacts, and a private calendar).
    const manifest = readRadicaleManifest(labDir, 'a');
    const pick = manifest?.users.find((u) => u.collections.length >= 4) ?? manifest?.users[0];
    assert.ok(pick, 'the lab generated calendars for forest A');
    sourceLogin = pick.upn;
  });
  after(async () => {
    for (const t of targets) await http('b', 'DELETE', home('b', t)).catch(() => {});
    await store?.close();
  });

  it('copies every collection and object unchanged; a later pass copies only what changed', async () => {
    const target = `cfcal-${randomBytes(3).toString('hex')}@forest-b.test`;
    targets.push(target);
    const first = await copy(sourceLogin, target);
    const src = await servers.source.collections(await servers.source.homeOf(sourceLogin));
    assert.ok(src.length >= 3, `${sourceLogin} has collections`);
    assert.deepEqual(
      first.collections.map((c) => [c.name, c.created, c.method, c.copied, c.skipped.length]),
      first.collections.map((c) => [c.name, true, 'full', c.objects, 0]),
    );
    // Read back over plain HTTP: the same collections with the same names and properties, the same number of objects.
    const tgt = await servers.target.collections(await servers.target.homeOf(target));
    for (const c of src) {
      const t = tgt.find((x) => x.name === c.name);
      assert.ok(t, `${c.name} exists on the target`);
      assert.deepEqual([t.kind, t.displayName, t.color, t.description], [c.kind, c.displayName, c.color, c.description], c.name);
      assert.equal((await hrefs('b', t.url)).length, (await hrefs('a', c.url)).length, `${c.name}: as many objects`);
    }
    const v = await verifyCalendars({ ...servers, sourceLogin, targetLogin: target });
    assert.equal(v.ok, true, JSON.stringify(v.collections.filter((c) => c.missing.length || c.different.length)));
    assert.ok(v.calendarItems.source > 0 && v.contactItems.source > 0);

    // On the source: one event changed, one vCard added, one task deleted.
    const cal = src.find((c) => c.name === 'calendar')!;
    const book = src.find((c) => c.kind === 'addressbook')!;
    const tasks = src.find((c) => c.name === 'tasks')!;
    const eventHref = (await hrefs('a', cal.url))[0]!;
    const eventUrl = new URL(eventHref, cal.url).href;
    const original = (await http('a', 'GET', eventUrl)).text;
    const taskUrl = new URL((await hrefs('a', tasks.url))[0]!, tasks.url).href;
    const task = (await http('a', 'GET', taskUrl)).text;
    const cardUrl = `${book.url}cf-added-${randomBytes(3).toString('hex')}.vcf`;
    const card = 'BEGIN:VCARD\r\nVERSION:4.0\r\nUID:cf-added-card\r\nFN:Añadida Tarjeta\r\nEMAIL:added@forest-a.test\r\nEND:VCARD\r\n';
    try {
      const changed = original.replace(/^SUMMARY[^\r\n]*/m, 'SUMMARY:Changed between two passes');
      assert.equal((await http('a', 'PUT', eventUrl, changed, { 'content-type': 'text/calendar' })).status < 300, true);
      assert.equal((await http('a', 'PUT', cardUrl, card, { 'content-type': 'text/vcard' })).status < 300, true);
      assert.equal((await http('a', 'DELETE', taskUrl)).status < 300, true);
      const second = await copy(sourceLogin, target);
      const by = (n: string) => second.collections.find((c) => c.name === n)!;
      assert.deepEqual([by('calendar').method, by('calendar').updated, by('calendar').copied], ['sync-collection', 1, 0]);
      assert.deepEqual([by(book.name).copied, by(book.name).updated], [1, 0]);
      assert.deepEqual([by('tasks').deletedOnSource, by('tasks').deletedOnTarget], [1, 0]);
      // The target has the change and the new card; the task deleted on the source stays (deleteOnTarget is off).
      const tgtCal = tgt.find((c) => c.name === 'calendar')!;
      const copiedEvent = (await http('b', 'GET', new URL(eventHref.split('/').pop()!, tgtCal.url).href)).text;
      assert.match(copiedEvent, /SUMMARY:Changed between two passes/);
      assert.equal((await hrefs('b', tgt.find((c) => c.name === 'tasks')!.url)).length, (await hrefs('a', tasks.url)).length + 1);
      const after = await verifyCalendars({ ...servers, sourceLogin, targetLogin: target });
      assert.equal(after.ok, true);
      // Nothing changed since: nothing is written.
      const third = await copy(sourceLogin, target);
      assert.deepEqual(
        third.collections.map((c) => c.copied + c.updated),
        third.collections.map(() => 0),
      );
    } finally {
      await http('a', 'PUT', eventUrl, original, { 'content-type': 'text/calendar' });
      await http('a', 'PUT', taskUrl, task, { 'content-type': 'text/calendar' });
      await http('a', 'DELETE', cardUrl);
    }
  });

  it('an unreachable server, a wrong password and an account without rights are clear errors naming the server and the home', async () => {
    const orgs = project.config.organizations;
    const target = `cfcal-${randomBytes(3).toString('hex')}@forest-b.test`;
    const down = new DavServer('b', { ...orgs.b!.calendar!, url: 'http://127.0.0.1:9/', timeoutMs: 2000 }, project.baseDir);
    await assert.rejects(
      copy(sourceLogin, target, { target: down }),
      (e: CalendarCopyError) => e.code === 'CF_ERR_CALDAV' && /127\.0\.0\.1:9/.test(e.message),
    );
    process.env.CF_TEST_BAD_PW = 'not-the-password';
    const wrong = new DavServer('a', { ...orgs.a!.calendar!, password: { env: 'CF_TEST_BAD_PW' } }, project.baseDir);
    await assert.rejects(
      copy(sourceLogin, target, { source: wrong }),
      (e: CalendarCopyError) => e.code === 'CF_ERR_CALDAV_AUTH' && /5231/.test(e.message) && !e.message.includes('not-the-password'),
    );
    // The free/busy account may read calendars but not write them: the target refuses it, naming the home.
    const readOnly = new DavServer(
      'b',
      { ...orgs.b!.calendar!, user: 'freebusy', password: { file: `${labDir}/secrets/radicale-b-freebusy.pw` } },
      project.baseDir,
    );
    await assert.rejects(
      copy(sourceLogin, target, { target: readOnly }),
      (e: CalendarCopyError) => e.code === 'CF_ERR_CALDAV_AUTH' && e.message.includes(encodeURIComponent(target)),
    );
  });
});
