// The lab's calendars and address books (lab/radicale/corpus.ts). Without a server: every
// generated iCalendar object and vCard parses with ical.js, has CRLF line ends and lines of
// at most 75 octets (never cut inside a UTF-8 sequence), every TZID travels with its
// VTIMEZONE, every RECURRENCE-ID and EXDATE is an occurrence of its series, every user has
// every kind of event this or next week, the same inputs give the same bytes, and a
// benchmark's exact counts are honoured. Live, over CalDAV/CardDAV on both Radicales: a
// user's home lists calendar, tasks and contacts with their display names; the items come
// back with every kind and parse; a vCard 4.0 with a PHOTO is there; calmigrate reads and
// writes other users' homes; freebusy reads but cannot write; users cannot read each
// other's calendars; the shared meeting-rooms calendar follows the rights file.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { inflateSync } from 'node:zlib';
import ICAL from 'ical.js';
import { calendarQuery, propfind } from 'tsdav';
import { FOREST_IDS, type ForestId } from '../../lab/forests.ts';
import type { LabInfo } from '../../lab/lab.ts';
import {
  LAB_RANGES,
  type RadicaleCorpusManifest,
  radicaleCorpusStale,
  readRadicaleManifest,
  SHARED_CALENDAR,
  writeRadicaleCorpus,
} from '../../lab/radicale/corpus.ts';
import { mondayOf } from '../../lab/radicale/icalText.ts';
import { crc32 } from '../../lab/radicale/photos.ts';
import { CALMIGRATE_USER, FREEBUSY_USER, radicalePaths, radicaleUrl } from '../../lab/radicale/radicale.ts';
import { CalendarReader } from '../../src/coexistence/calendarReader.ts';
import { busyFromEvents } from '../../src/coexistence/icalBusy.ts';
import { FB_BUSY, FB_OOF, FB_TENTATIVE } from '../../src/coexistence/types.ts';
import { ensureLab, labSecret } from '../helpers/lab.ts';

const DAY = 86_400_000;

// --- checks shared by the offline and the live tests ------------------------------------

/** CRLF only, every physical line at most 75 octets and valid UTF-8 on its own. */
function checkLines(raw: Buffer, what: string): void {
  const utf8 = new TextDecoder('utf-8', { fatal: true });
  const text = raw.toString('latin1');
  assert.ok(text.endsWith('\r\n'), `${what}: ends with CRLF`);
  for (const l of text.slice(0, -2).split('\r\n')) {
    assert.ok(!/[\r\n]/.test(l), `${what}: a bare CR or LF`);
    const bytes = Buffer.from(l, 'latin1');
    assert.ok(bytes.length <= 75, `${what}: a line of ${bytes.length} octets`);
    assert.doesNotThrow(() => utf8.decode(bytes), `${what}: a fold cuts a UTF-8 sequence`);
  }
}

function component(text: string): ICAL.Component {
  return new ICAL.Component(ICAL.parse(text) as unknown as unknown[]);
}

function registerZones(cal: ICAL.Component): Set<string> {
  const ids = new Set<string>();
  for (const vtz of cal.getAllSubcomponents('vtimezone')) {
    const tz = new ICAL.Timezone(vtz);
    ids.add(tz.tzid);
    if (!ICAL.TimezoneService.has(tz.tzid)) ICAL.TimezoneService.register(tz);
  }
  return ids;
}

/** What an event object exercises, read from the parsed data (not from the generator's labels). */
function kindsOf(cal: ICAL.Component): Set<string> {
  const out = new Set<string>();
  const events = cal.getAllSubcomponents('vevent');
  const master = events.find((e) => !e.hasProperty('recurrence-id'));
  for (const e of events) {
    const ex = e.hasProperty('recurrence-id');
    const status = String(e.getFirstPropertyValue('status') ?? '');
    if (ex) out.add(status === 'CANCELLED' ? 'cancelled-instance' : 'moved-instance');
    else if (status === 'CANCELLED') out.add('cancelled');
    if (status === 'TENTATIVE') out.add('tentative');
    if (e.getFirstPropertyValue('x-microsoft-cdo-busystatus') === 'OOF') out.add('oof');
    if (e.getFirstPropertyValue('transp') === 'TRANSPARENT') out.add('transparent');
    const start = e.getFirstProperty('dtstart');
    if ((start?.getFirstValue() as ICAL.Time | undefined)?.isDate) out.add('all-day');
    const tz = start?.getParameter('tzid');
    if (typeof tz === 'string') out.add(`tz:${tz}`);
    const words = `${e.getFirstPropertyValue('summary') ?? ''} ${e.getFirstPropertyValue('location') ?? ''}`;
    if (/[^\x20-\x7e]/.test(words)) out.add('non-ascii');
    const people = [e.getFirstPropertyValue('organizer'), ...e.getAllProperties('attendee').map((p) => p.getFirstValue())].map(String);
    if (people.some((p) => p.endsWith('@forest-a.test')) && people.some((p) => p.endsWith('@forest-b.test'))) out.add('both-organizations');
  }
  const rrule = master?.getFirstPropertyValue('rrule') as ICAL.Recur | undefined;
  if (rrule) out.add(`rrule:${rrule.freq}`);
  if (master?.hasProperty('exdate')) out.add('exdate');
  return out;
}

const EVERY_KIND = [
  'both-organizations',
  'rrule:WEEKLY',
  'rrule:DAILY',
  'moved-instance',
  'cancelled-instance',
  'exdate',
  'all-day',
  'tz:Europe/Berlin',
  'tz:America/New_York',
  'tentative',
  'oof',
  'transparent',
  'cancelled',
  'non-ascii',
];

/** Parses one calendar object and checks TZIDs, UIDs, RECURRENCE-IDs and EXDATEs against its series. */
function checkCalendarObject(text: string, what: string, component_: 'vevent' | 'vtodo'): ICAL.Component {
  const cal = component(text);
  assert.equal(cal.name, 'vcalendar', what);
  assert.equal(cal.getFirstPropertyValue('version'), '2.0', what);
  assert.ok(cal.getFirstPropertyValue('prodid'), `${what}: PRODID`);
  const zones = registerZones(cal);
  const items = cal.getAllSubcomponents(component_);
  assert.ok(items.length >= 1, `${what}: a ${component_}`);
  assert.equal(new Set(items.map((i) => i.getFirstPropertyValue('uid'))).size, 1, `${what}: one UID`);
  for (const item of items) {
    for (const p of item.getAllProperties()) {
      const tz = p.getParameter('tzid');
      if (typeof tz === 'string') assert.ok(zones.has(tz), `${what}: TZID ${tz} without its VTIMEZONE`);
    }
  }
  const master = items.find((i) => !i.hasProperty('recurrence-id'));
  const rrule = master?.getFirstPropertyValue('rrule') as ICAL.Recur | undefined;
  if (master && rrule) {
    const occurrences = new Set<string>();
    const it = rrule.iterator(master.getFirstPropertyValue('dtstart') as ICAL.Time);
    for (let next = it.next(), n = 0; next && n < 5000; next = it.next(), n++) occurrences.add(next.toString());
    const claimed = [
      ...items.filter((i) => i !== master).map((i) => i.getFirstPropertyValue('recurrence-id') as ICAL.Time),
      ...master.getAllProperties('exdate').flatMap((p) => p.getValues() as ICAL.Time[]),
    ];
    for (const t of claimed) assert.ok(occurrences.has(t.toString()), `${what}: ${t.toString()} is no occurrence of its series`);
  }
  return cal;
}

/**
 * Radicale 3.1 reads vCards with vobject, which knows vCard 3.0 only: a 4.0 PHOTO data: URI
 * is taken for TEXT, cut at its comma and served as `data:image/png\;base64` (Kozea/Radicale
 * #648, #1795, #1863). What it serves (`served`) is checked for that; the stored file holds the photo.
 */
const RADICALE_V4_PHOTO = 'data:image/png\\;base64';

function checkVcard(text: string, what: string, served = false): ICAL.Component {
  const card = component(text);
  assert.equal(card.name, 'vcard', what);
  const version = card.getFirstPropertyValue('version');
  assert.ok(version === '4.0' || version === '3.0', `${what}: VERSION ${version}`);
  assert.ok(card.getFirstPropertyValue('uid'), `${what}: UID`);
  assert.ok(card.getFirstPropertyValue('fn'), `${what}: FN`);
  const photo = card.getFirstProperty('photo');
  if (!photo) return card;
  const value = String(photo.getFirstValue());
  if (version === '4.0' && served) {
    assert.equal(value, RADICALE_V4_PHOTO, `${what}: Radicale's 4.0 PHOTO`);
    return card;
  }
  const bytes = Buffer.from(version === '4.0' ? value.replace(/^data:image\/png;base64,/, '') : value, 'base64');
  if (version === '4.0') checkPng(bytes, what);
  else
    assert.ok(
      bytes.subarray(0, 2).equals(Buffer.from([0xff, 0xd8])) && bytes.subarray(-2).equals(Buffer.from([0xff, 0xd9])),
      `${what}: JPEG`,
    );
  assert.ok(bytes.length > 80 && bytes.length < 1000, `${what}: a small photo (${bytes.length} bytes)`);
  return card;
}

/** PNG signature, every chunk's CRC, and IDAT inflating to the rows IHDR announces. */
function checkPng(b: Buffer, what: string): void {
  assert.ok(b.subarray(0, 8).equals(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])), `${what}: PNG signature`);
  let off = 8;
  let width = 0;
  let height = 0;
  const idat: Buffer[] = [];
  while (off < b.length) {
    const len = b.readUInt32BE(off);
    const type = b.toString('latin1', off + 4, off + 8);
    const data = b.subarray(off + 8, off + 8 + len);
    assert.equal(b.readUInt32BE(off + 8 + len), crc32(b.subarray(off + 4, off + 8 + len)), `${what}: CRC of ${type}`);
    if (type === 'IHDR') [width, height] = [data.readUInt32BE(0), data.readUInt32BE(4)];
    if (type === 'IDAT') idat.push(data);
    off += 12 + len;
  }
  assert.equal(inflateSync(Buffer.concat(idat)).length, height * (1 + width * 3), `${what}: IDAT size`);
}

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => !f.split('/').some((part) => part.startsWith('.')))
    .map((f) => join(dir, f))
    .filter((f) => statSync(f).isFile());
}

// --- without a server ------------------------------------------------------------------

describe('generated collections (no server)', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'cf-radicale-test-'));
  const now = Date.now();
  const manifests: Partial<Record<ForestId, RadicaleCorpusManifest>> = {};
  before(() => {
    for (const f of FOREST_IDS) manifests[f] = writeRadicaleCorpus(join(scratch, f), { forest: f, size: 50, seed: 'crossforest', now });
  });
  after(() => rmSync(scratch, { recursive: true, force: true }));

  test('every item parses with ical.js, CRLF, folded at 75 octets, zones and recurrences consistent', () => {
    let n = 0;
    for (const f of FOREST_IDS) {
      for (const file of filesUnder(join(scratch, f))) {
        const raw = readFileSync(file);
        checkLines(raw, file);
        const component_ = file.includes('/tasks/') ? 'vtodo' : 'vevent';
        if (file.endsWith('.vcf')) checkVcard(raw.toString('utf8'), file);
        else checkCalendarObject(raw.toString('utf8'), file, component_);
        n++;
      }
      const m = manifests[f] as RadicaleCorpusManifest;
      assert.equal(m.totals.files - m.totals.collections, m.totals.events + m.totals.tasks + m.totals.contacts);
    }
    assert.equal(
      n,
      FOREST_IDS.reduce((s, f) => s + ((manifests[f]?.totals.files ?? 0) - (manifests[f]?.totals.collections ?? 0)), 0),
    );
  });

  test('every user has calendar, tasks and contacts in the lab ranges; every fifth a private calendar; one shared calendar', () => {
    for (const f of FOREST_IDS) {
      const m = manifests[f] as RadicaleCorpusManifest;
      assert.ok(m.users.length >= 40, `forest ${f}: ${m.users.length} mailbox users`);
      m.users.forEach((u, i) => {
        const c = Object.fromEntries(u.collections.map((x) => [x.name, x]));
        const within = (n: number | undefined, [min, max]: [number, number]) => n !== undefined && n >= min && n <= max;
        assert.ok(within(c.calendar?.items, LAB_RANGES.events), `${u.upn}: ${c.calendar?.items} events`);
        assert.ok(within(c.tasks?.items, LAB_RANGES.tasks), `${u.upn}: ${c.tasks?.items} tasks`);
        assert.ok(within(c.contacts?.items, LAB_RANGES.contacts), `${u.upn}: ${c.contacts?.items} vCards`);
        assert.equal(c.tasks?.component, 'VTODO');
        assert.equal(c.contacts?.component, 'VCARD');
        assert.equal('private' in c, i % 5 === 0, `${u.upn}: private calendar`);
        assert.ok(
          (c.contacts?.kinds['vcard4-photo'] ?? 0) >= 1 && (c.contacts?.kinds['vcard3-photo'] ?? 0) >= 1,
          `${u.upn}: cards with photos`,
        );
        assert.ok((c.tasks?.kinds.completed ?? 0) >= 1, `${u.upn}: a completed task`);
      });
      assert.equal(m.shared?.owner, m.users[1]?.upn);
      assert.deepEqual(
        m.shared?.writers,
        [0, 2, 3].map((i) => m.users[i]?.upn),
      );
      const owner = m.users[1]?.collections.find((c) => c.name === SHARED_CALENDAR);
      assert.equal(owner?.items, 16);
      assert.equal(m.users.filter((u) => u.collections.some((c) => c.name === SHARED_CALENDAR)).length, 1);
    }
  });

  test('every user has every kind of event, and this and next week free/busy shows busy, tentative and OOF', () => {
    const anchor = mondayOf(now);
    for (const f of FOREST_IDS) {
      for (const u of manifests[f]?.users ?? []) {
        const dir = join(scratch, f, u.upn, 'calendar');
        const texts = readdirSync(dir)
          .filter((x) => x.endsWith('.ics'))
          .map((x) => readFileSync(join(dir, x), 'utf8'));
        const kinds = new Set(texts.flatMap((t) => [...kindsOf(component(t))]));
        for (const k of EVERY_KIND) assert.ok(kinds.has(k), `${u.upn}: no event of kind ${k}`);
        const levels = new Set<number>(busyFromEvents(texts, anchor, anchor + 14 * DAY).map((p) => p.level));
        for (const l of [FB_BUSY, FB_TENTATIVE, FB_OOF]) assert.ok(levels.has(l), `${u.upn}: level ${l} this or next week`);
        // Series are bounded: nothing is busy a year from now (test windows in 2031 stay empty).
        assert.deepEqual(busyFromEvents(texts, anchor + 365 * DAY, anchor + 400 * DAY), [], `${u.upn}: events a year ahead`);
      }
    }
  });

  test('the same size, seed and week give the same bytes; another week moves the events', () => {
    const digest = (root: string) => {
      const h = createHash('sha256');
      for (const file of filesUnder(root).sort()) h.update(file.slice(root.length)).update(readFileSync(file));
      return h.digest('hex');
    };
    const again = (name: string, at: number) => {
      const root = join(scratch, name);
      writeRadicaleCorpus(root, { forest: 'a', size: 50, seed: 'crossforest', now: at, users: 3 });
      return digest(root);
    };
    assert.equal(again('same1', now), again('same2', now + (now === mondayOf(now) ? 1 : -1)));
    assert.notEqual(again('same1', now), again('week', now + 7 * DAY));
    const m = manifests.a as RadicaleCorpusManifest;
    assert.equal(radicaleCorpusStale(m, 50, 'crossforest', now), null);
    assert.match(radicaleCorpusStale(m, 50, 'crossforest', now + 7 * DAY) ?? '', /week of/);
    assert.match(radicaleCorpusStale(m, 60, 'crossforest', now) ?? '', /size 50/);
  });

  test('a benchmark gets exactly the counts it asks for, for the users it asks for', () => {
    const root = join(scratch, 'bench');
    const m = writeRadicaleCorpus(root, {
      forest: 'b',
      size: 50,
      seed: 'crossforest',
      users: 2,
      counts: { events: 70, contacts: 55, tasks: 3 },
    });
    assert.equal(m.users.length, 2);
    for (const u of m.users) {
      const c = Object.fromEntries(u.collections.map((x) => [x.name, x.items]));
      assert.equal(c.calendar, 70);
      assert.equal(c.contacts, 55);
      assert.equal(c.tasks, 3);
      assert.equal(readdirSync(join(root, u.upn, 'calendar')).filter((x) => x.endsWith('.ics')).length, 70);
    }
  });
});

// --- live -------------------------------------------------------------------------------

describe('the lab Radicales', () => {
  let lab: LabInfo;
  const manifests: Partial<Record<ForestId, RadicaleCorpusManifest>> = {};
  const cleanup: { url: string; auth: string }[] = [];
  const basic = (user: string, pass: string) => `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
  const asUser = (upn: string) => basic(upn, labSecret(lab, 'users.pw'));
  const service = (id: ForestId, user: string) => {
    const p = radicalePaths(lab.labDir, id);
    const file = user === CALMIGRATE_USER ? p.calmigrateSecret : p.secret;
    return basic(user, readFileSync(file, 'utf8').split('\n', 1)[0] ?? '');
  };
  const home = (id: ForestId, upn: string) => `${radicaleUrl(id)}${encodeURIComponent(upn)}/`;
  const m = (id: ForestId) => manifests[id] as RadicaleCorpusManifest;

  async function dav(method: string, url: string, auth: string, body?: string, headers: Record<string, string> = {}) {
    const r = await fetch(url, { method, body, headers: { authorization: auth, ...headers }, signal: AbortSignal.timeout(60_000) });
    return { status: r.status, text: await r.text() };
  }

  async function listHome(id: ForestId, upn: string, auth: string) {
    const res = await propfind({
      url: home(id, upn),
      depth: '1',
      props: { 'd:displayname': {}, 'd:resourcetype': {}, 'c:supported-calendar-component-set': {}, 'ca:calendar-color': {} },
      headers: { authorization: auth },
    });
    return res.filter((r) => r.ok && r.href && decodeURIComponent(r.href) !== `/${upn}/`);
  }

  async function calendarObjects(url: string, auth: string, comp: 'VEVENT' | 'VTODO'): Promise<string[]> {
    const res = await calendarQuery({
      url,
      depth: '1',
      props: { 'c:calendar-data': {} },
      filters: { 'comp-filter': { _attributes: { name: 'VCALENDAR' }, 'comp-filter': { _attributes: { name: comp } } } },
      headers: { authorization: auth },
      fetchOptions: { signal: AbortSignal.timeout(120_000) },
    });
    return res.flatMap((r) => {
      const d = r.props?.calendarData as unknown;
      const t =
        typeof d === 'string' ? d : ((d as { _cdata?: string; _text?: string } | undefined)?._cdata ?? (d as { _text?: string })?._text);
      return r.ok && typeof t === 'string' ? [t] : [];
    });
  }

  before(async () => {
    lab = await ensureLab();
    for (const id of FOREST_IDS) {
      const have = readRadicaleManifest(lab.labDir, id);
      assert.ok(have, `no manifest for radicale-${id}`);
      manifests[id] = have;
    }
  });

  after(async () => {
    for (const c of cleanup.reverse()) await dav('DELETE', c.url, c.auth).catch(() => {});
  });

  test('lab.json lists both Radicales with their service accounts and collections, never a password', () => {
    const raw = readFileSync(join(lab.labDir, 'lab.json'), 'utf8');
    for (const id of FOREST_IDS) {
      const s = lab.mailStores.find((x) => x.name === `radicale-${id}`);
      assert.equal(s?.alive, true);
      assert.equal(s?.details?.calmigrateUser, CALMIGRATE_USER);
      assert.equal(s?.details?.freebusyUser, FREEBUSY_USER);
      assert.equal(s?.details?.calmigrateSecretFile, join(lab.labDir, 'secrets', `radicale-${id}-calmigrate.pw`));
      const summary = s?.details?.collections as { users: number; events: number; anchor: string } | null;
      assert.equal(summary?.users, m(id).users.length);
      assert.equal(summary?.anchor, new Date(mondayOf(Date.now())).toISOString().slice(0, 10));
      assert.equal(radicaleCorpusStale(m(id), lab.size, lab.seed), null);
      const p = radicalePaths(lab.labDir, id);
      for (const file of [p.secret, p.calmigrateSecret]) {
        assert.equal(statSync(file).mode & 0o777, 0o600);
        assert.ok(!raw.includes(readFileSync(file, 'utf8').trim()), 'a service password in lab.json');
      }
    }
    assert.ok(!raw.includes(labSecret(lab, 'users.pw')), 'the users password in lab.json');
  });

  for (const id of FOREST_IDS) {
    test(`forest ${id.toUpperCase()}: a user's home lists calendar, tasks and contacts with their names; every kind comes back and parses`, async () => {
      const u = m(id).users[0];
      assert.ok(u);
      const auth = asUser(u.upn);
      const listed = await listHome(id, u.upn, auth);
      const byName = new Map(
        listed.map((r) => [
          decodeURIComponent(r.href ?? '')
            .split('/')
            .filter(Boolean)
            .pop(),
          r.props,
        ]),
      );
      for (const c of u.collections) {
        const props = byName.get(c.name);
        assert.ok(props, `${c.name} listed in ${u.upn}'s home`);
        assert.equal(props.displayname, c.displayName);
        const types = Object.keys(props.resourcetype ?? {});
        assert.ok(types.includes(c.component === 'VCARD' ? 'addressbook' : 'calendar'), `${c.name}: ${types}`);
        if (c.component !== 'VCARD') assert.match(String(props.calendarColor), /^#[0-9A-F]{8}$/);
      }
      const tasksSet = JSON.stringify(byName.get('tasks')?.supportedCalendarComponentSet);
      assert.match(tasksSet, /VTODO/);
      assert.doesNotMatch(tasksSet, /VEVENT/);

      const calendar = u.collections.find((c) => c.name === 'calendar');
      const events = await calendarObjects(`${home(id, u.upn)}calendar/`, auth, 'VEVENT');
      assert.equal(events.length, calendar?.items);
      const kinds = new Set<string>();
      for (const [i, t] of events.entries()) for (const k of kindsOf(checkCalendarObject(t, `event ${i}`, 'vevent'))) kinds.add(k);
      for (const k of EVERY_KIND) assert.ok(kinds.has(k), `no ${k} event over CalDAV`);

      const todos = await calendarObjects(`${home(id, u.upn)}tasks/`, auth, 'VTODO');
      assert.equal(todos.length, u.collections.find((c) => c.name === 'tasks')?.items);
      const statuses = todos.map((t) =>
        String(checkCalendarObject(t, 'task', 'vtodo').getFirstSubcomponent('vtodo')?.getFirstPropertyValue('status')),
      );
      assert.ok(statuses.includes('COMPLETED') && statuses.includes('NEEDS-ACTION'), statuses.join(' '));

      // The address book: every card over GET, 4.0 and 3.0 with and without photos. A 3.0 JPEG
      // photo comes back whole; a 4.0 data: URI photo as Radicale 3.1 cuts it (checkVcard).
      const cards = await propfind({
        url: `${home(id, u.upn)}contacts/`,
        depth: '1',
        props: { 'd:getetag': {} },
        headers: { authorization: auth },
      });
      const hrefs = cards.map((r) => r.href ?? '').filter((h) => h.endsWith('.vcf'));
      assert.equal(hrefs.length, u.collections.find((c) => c.name === 'contacts')?.items);
      const versions = new Set<string>();
      for (const href of hrefs) {
        const r = await dav('GET', new URL(href, radicaleUrl(id)).href, auth);
        assert.equal(r.status, 200);
        const card = checkVcard(r.text, href, true);
        const version = card.getFirstPropertyValue('version');
        versions.add(`${version}${card.hasProperty('photo') ? '+photo' : ''}`);
        if (!card.hasProperty('photo')) continue;
        const file = join(radicalePaths(lab.labDir, id).collectionRoot, u.upn, 'contacts', decodeURIComponent(href.split('/').pop() ?? ''));
        const stored = checkVcard(readFileSync(file, 'utf8'), file);
        const photo = (c: ICAL.Component) => String(c.getFirstPropertyValue('photo'));
        if (version === '3.0') assert.equal(photo(card), photo(stored), `${href}: the 3.0 photo comes back whole`);
        else assert.match(photo(stored), /^data:image\/png;base64,iVBOR/, `${href}: the stored 4.0 photo`);
      }
      assert.ok(
        versions.has('4.0+photo') && versions.has('3.0+photo') && versions.has('4.0') && versions.has('3.0'),
        [...versions].join(' '),
      );
    });
  }

  test('free/busy through the coexistence reader (as freebusy) sees busy, tentative and OOF this and next week', async () => {
    for (const id of FOREST_IDS) {
      const u = m(id).users[0];
      assert.ok(u);
      const reader = new CalendarReader(
        id,
        { url: radicaleUrl(id), user: FREEBUSY_USER, password: { file: radicalePaths(lab.labDir, id).secret }, timeoutMs: 60_000 },
        lab.labDir,
      );
      const anchor = mondayOf(Date.now());
      const levels = new Set<number>((await reader.busyPeriods(u.upn, anchor, anchor + 14 * DAY)).map((p) => p.level));
      for (const l of [FB_BUSY, FB_TENTATIVE, FB_OOF]) assert.ok(levels.has(l), `${u.upn}: level ${l}`);
    }
  });

  test("calmigrate reads and writes every home: lists, reads, PUTs and DELETEs in another user's calendar, makes a home and a calendar", async () => {
    for (const id of FOREST_IDS) {
      const auth = service(id, CALMIGRATE_USER);
      const u = m(id).users[2];
      assert.ok(u);
      const listed = await listHome(id, u.upn, auth);
      assert.deepEqual(
        listed
          .map((r) =>
            decodeURIComponent(r.href ?? '')
              .split('/')
              .filter(Boolean)
              .pop(),
          )
          .sort(),
        u.collections.map((c) => c.name).sort(),
      );
      assert.equal(
        (await calendarObjects(`${home(id, u.upn)}tasks/`, auth, 'VTODO')).length,
        u.collections.find((c) => c.name === 'tasks')?.items,
      );
      const url = `${home(id, u.upn)}calendar/cf-calmigrate-test-${process.pid}.ics`;
      const ics =
        'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//crossforest//test//EN\r\nBEGIN:VEVENT\r\n' +
        `UID:cf-calmigrate-test-${process.pid}\r\nDTSTAMP:20310101T000000Z\r\nDTSTART:20310105T090000Z\r\nDTEND:20310105T100000Z\r\n` +
        'SUMMARY:Migrated – Übernahme\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
      cleanup.push({ url, auth });
      assert.equal((await dav('PUT', url, auth, ics, { 'content-type': 'text/calendar; charset=utf-8' })).status, 201);
      const back = await dav('GET', url, auth);
      assert.equal(back.status, 200);
      assert.match(back.text, /SUMMARY:Migrated – Übernahme/);
      assert.equal((await dav('GET', url, asUser(u.upn))).status, 200, 'the owner sees what calmigrate wrote');
      assert.equal((await dav('DELETE', url, auth)).status, 200);
      assert.equal((await dav('GET', url, auth)).status, 404);
      // A target user who has no home yet (no Radicale login before the migration): calmigrate makes it.
      const newcomer = `cf-newcomer-${process.pid}@forest-${id}.test`;
      cleanup.push({ url: home(id, newcomer), auth });
      assert.equal((await dav('MKCOL', home(id, newcomer), auth)).status, 201);
      assert.equal((await dav('MKCALENDAR', `${home(id, newcomer)}calendar/`, auth)).status, 201);
      assert.equal((await dav('DELETE', home(id, newcomer), auth)).status, 200);
    }
  });

  test("freebusy reads every calendar but cannot write; a user cannot read another user's calendar", async () => {
    for (const id of FOREST_IDS) {
      const fb = service(id, FREEBUSY_USER);
      // Neither is the shared calendar's owner nor one of its delegates.
      const [a, b] = [m(id).users[6], m(id).users[7]];
      assert.ok(a && b);
      assert.equal((await calendarObjects(`${home(id, b.upn)}calendar/`, fb, 'VEVENT')).length, b.collections[0]?.items);
      const url = `${home(id, b.upn)}calendar/cf-freebusy-test.ics`;
      const ics =
        'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\nUID:cf-fb\r\nDTSTAMP:20310101T000000Z\r\nDTSTART:20310105T090000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n';
      assert.equal((await dav('PUT', url, fb, ics, { 'content-type': 'text/calendar' })).status, 403);
      assert.equal((await dav('MKCALENDAR', `${home(id, b.upn)}cf-freebusy-test/`, fb)).status, 403);
      const some = readdirSync(join(radicalePaths(lab.labDir, id).collectionRoot, b.upn, 'calendar')).find((f) => f.endsWith('.ics'));
      assert.equal((await dav('DELETE', `${home(id, b.upn)}calendar/${some}`, fb)).status, 403);
      assert.equal((await dav('PROPFIND', `${home(id, b.upn)}calendar/`, asUser(a.upn), undefined, { depth: '1' })).status, 403);
      assert.equal((await dav('GET', `${home(id, b.upn)}calendar/${some}`, asUser(a.upn))).status, 403);
    }
  });

  test("the shared meeting-rooms calendar: writers book and cancel, readers read only and see only it in the owner's home", async () => {
    for (const id of FOREST_IDS) {
      const shared = m(id).shared;
      assert.ok(shared);
      const cal = `${home(id, shared.owner)}${SHARED_CALENDAR}/`;
      const writer = shared.writers[0] as string;
      const reader = shared.readers[0] as string;
      const url = `${cal}cf-room-test-${process.pid}.ics`;
      const ics =
        'BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//t//EN\r\nBEGIN:VEVENT\r\n' +
        `UID:cf-room-${process.pid}\r\nDTSTAMP:20310101T000000Z\r\nDTSTART:20310106T090000Z\r\nDTEND:20310106T100000Z\r\nSUMMARY:Raum gebucht\r\nTRANSP:TRANSPARENT\r\n` +
        'END:VEVENT\r\nEND:VCALENDAR\r\n';
      cleanup.push({ url, auth: service(id, CALMIGRATE_USER) });
      assert.equal((await dav('PUT', url, asUser(writer), ics, { 'content-type': 'text/calendar' })).status, 201);
      assert.equal((await dav('GET', url, asUser(reader))).status, 200);
      assert.equal((await dav('DELETE', url, asUser(reader))).status, 403);
      assert.equal((await dav('PUT', url, asUser(reader), ics, { 'content-type': 'text/calendar' })).status, 403);
      assert.equal((await dav('DELETE', url, asUser(writer))).status, 200);
      const seen = (await listHome(id, shared.owner, asUser(reader))).map((r) =>
        decodeURIComponent(r.href ?? '')
          .split('/')
          .filter(Boolean)
          .pop(),
      );
      assert.deepEqual(seen, [SHARED_CALENDAR]);
      const outsider = m(id).users[6]?.upn as string;
      assert.equal((await dav('PROPFIND', cal, asUser(outsider), undefined, { depth: '0' })).status, 403);
    }
  });
});
