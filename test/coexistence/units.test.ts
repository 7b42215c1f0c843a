// Pure logic of the coexistence service: fbdata slots, iCalendar expansion, XML in and
// out, LDAP filter escaping, Basic auth parsing, the login throttle, request bounds.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { appleProfile, autodiscoverResponse, type ClientSettings, thunderbirdConfig } from '../../src/coexistence/autoconfig.ts';
import { toFbData } from '../../src/coexistence/freeBusySlots.ts';
import { galFilter } from '../../src/coexistence/galSource.ts';
import { busyFromEvents, busyFromFreeBusy } from '../../src/coexistence/icalBusy.ts';
import { LoginThrottle } from '../../src/coexistence/loginThrottle.ts';
import { normalizeAddress } from '../../src/coexistence/mailboxLocator.ts';
import { BadRequestError, freeBusyQuery, freeBusyWindow, galQuery, parseOr400 } from '../../src/coexistence/requestSchemas.ts';
import { mergeAttendees } from '../../src/coexistence/seedXml.ts';
import { parseBasicAuth } from '../../src/coexistence/userAuthenticator.ts';
import { autodiscoverEmail, escapeXml } from '../../src/coexistence/xml.ts';
import { escapeFilterValue as ldapFilterValue } from '../../src/directory/escape.ts';

const H = 3_600_000;
const T0 = Date.parse('2030-01-07T00:00:00Z');

test('fbdata: strongest level per slot, half-open periods, clipped to the window', () => {
  const w = { start: T0, end: T0 + 4 * H, intervalMinutes: 30 };
  const fb = toFbData(
    [
      { start: T0 + H, end: T0 + 2 * H, level: 2 },
      { start: T0 + 1.5 * H, end: T0 + 1.75 * H, level: 3 },
      { start: T0 + 2 * H, end: T0 + 2.25 * H, level: 1 },
      { start: T0 - H, end: T0 + 0.1 * H, level: 2 },
      { start: T0 + 10 * H, end: T0 + 11 * H, level: 2 },
    ],
    w,
  );
  assert.equal(fb, '20231000');
});

const CAL = (body: string) => `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//crossforest//test//EN\r\n${body}END:VCALENDAR\r\n`;
const EV = (uid: string, lines: string) => `BEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20300101T000000Z\r\n${lines}END:VEVENT\r\n`;

test('All Attendees: the strongest known level per slot, 4 only where nobody has data', () => {
  assert.equal(mergeAttendees(['0120', '4404', '3004']), '3120');
  assert.equal(mergeAttendees(['44', '04']), '04');
  assert.equal(mergeAttendees([]), '');
});

test('events: recurrences with an exception, status, transparency and the Microsoft busy status', () => {
  const ics = CAL(
    EV('daily', 'DTSTART:20300107T090000Z\r\nDTEND:20300107T100000Z\r\nRRULE:FREQ=DAILY;COUNT=3\r\n') +
      EV('daily', 'RECURRENCE-ID:20300108T090000Z\r\nDTSTART:20300108T120000Z\r\nDTEND:20300108T130000Z\r\nSTATUS:TENTATIVE\r\n') +
      EV('free', 'DTSTART:20300107T110000Z\r\nDTEND:20300107T120000Z\r\nTRANSP:TRANSPARENT\r\n') +
      EV('gone', 'DTSTART:20300107T130000Z\r\nDTEND:20300107T140000Z\r\nSTATUS:CANCELLED\r\n') +
      EV('oof', 'DTSTART:20300109T000000Z\r\nDTEND:20300109T020000Z\r\nX-MICROSOFT-CDO-BUSYSTATUS:OOF\r\n'),
  );
  const periods = busyFromEvents([ics], T0, T0 + 72 * H).map((p) => [new Date(p.start).toISOString().slice(5, 16), p.level]);
  assert.deepEqual(periods.sort(), [
    ['01-07T09:00', 2],
    ['01-08T12:00', 1],
    ['01-09T00:00', 3],
    ['01-09T09:00', 2],
  ]);
});

test('events: an endless RRULE is bounded and a time zone is honoured', () => {
  const tz =
    'BEGIN:VTIMEZONE\r\nTZID:Test/Plus2\r\nBEGIN:STANDARD\r\nDTSTART:19700101T000000\r\nTZOFFSETFROM:+0200\r\nTZOFFSETTO:+0200\r\nEND:STANDARD\r\nEND:VTIMEZONE\r\n';
  const ics = CAL(tz + EV('forever', 'DTSTART;TZID=Test/Plus2:20300107T100000\r\nDURATION:PT30M\r\nRRULE:FREQ=MINUTELY;INTERVAL=1440\r\n'));
  const periods = busyFromEvents([ics], T0, T0 + 48 * H);
  assert.deepEqual(
    periods.map((p) => new Date(p.start).toISOString()),
    ['2030-01-07T08:00:00.000Z', '2030-01-08T08:00:00.000Z'],
  );
});

test('events: a daily meeting that started 30 years before the window still blocks it', () => {
  const ics = CAL(EV('old', 'DTSTART:20000103T090000Z\r\nDTEND:20000103T100000Z\r\nRRULE:FREQ=DAILY\r\n'));
  const periods = busyFromEvents([ics], T0, T0 + 24 * H);
  assert.deepEqual(
    periods.map((p) => new Date(p.start).toISOString()),
    ['2030-01-07T09:00:00.000Z'],
  );
});

test('VFREEBUSY answers map FBTYPE to levels; malformed iCalendar throws instead of inventing data', () => {
  const fb = CAL(
    'BEGIN:VFREEBUSY\r\nFREEBUSY;FBTYPE=BUSY-UNAVAILABLE:20300107T010000Z/PT1H\r\nFREEBUSY:20300107T030000Z/20300107T040000Z\r\nFREEBUSY;FBTYPE=FREE:20300107T050000Z/PT1H\r\nEND:VFREEBUSY\r\n',
  );
  assert.deepEqual(
    busyFromFreeBusy(fb, T0, T0 + 24 * H).map((p) => p.level),
    [3, 2],
  );
  for (const bad of ['', 'BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\n', '\u0000\u0001garbage', 'BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n'.repeat(2)]) {
    try {
      assert.deepEqual(busyFromEvents([bad], T0, T0 + H), []);
    } catch (err) {
      assert.ok(err instanceof Error, `a parse failure is an Error for ${JSON.stringify(bad)}`);
    }
  }
});

test('LDAP filter values cannot add clauses or wildcards', () => {
  assert.equal(ldapFilterValue('*)(objectClass=*'), '\\2a\\29\\28objectClass=\\2a');
  assert.equal(ldapFilterValue('a\\b\u0000'), 'a\\5cb\\00');
  const f = galFilter('x*)(|(mail=*', { requireShowInAddressBook: false });
  assert.ok(f.includes('(displayName=x\\2a\\29\\28|\\28mail=\\2a*)'));
  assert.ok(f.includes('(!(msExchHideFromAddressLists=TRUE))'));
  assert.ok(galFilter('a', { requireShowInAddressBook: true }).includes('(showInAddressBook=*)'));
});

test('XML escaping and the Autodiscover request reader refuse hostile input', () => {
  assert.equal(escapeXml(`<a href="x">&'\u0001`), '&lt;a href=&quot;x&quot;&gt;&amp;&apos;');
  const req = (addr: string) =>
    `<?xml version="1.0"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>${addr}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`;
  assert.equal(autodiscoverEmail(req('jdoe@example.com')), 'jdoe@example.com');
  assert.equal(autodiscoverEmail(req('o&apos;brien@example.com')), "o'brien@example.com");
  assert.equal(autodiscoverEmail(`<a:EMailAddress>x@y.z</a:EMailAddress>`), 'x@y.z');
  assert.equal(autodiscoverEmail(`<!DOCTYPE r [<!ENTITY e SYSTEM "file:///etc/passwd">]>${req('&e;')}`), null);
  assert.equal(autodiscoverEmail(req('&e;')), null, 'unknown entity');
  assert.equal(autodiscoverEmail(req('&#0;x@y.z')), null, 'control character reference');
  assert.equal(autodiscoverEmail(req('a@b.c') + req('d@e.f')), null, 'two addresses');
  assert.equal(autodiscoverEmail('x'.repeat(20_000)), null);
  assert.equal(autodiscoverEmail('<EMailAddress></EMailAddress>'), null);
});

test('autoconfig documents escape every value', () => {
  const evil = '"><script>&';
  const c: ClientSettings = {
    email: 'x@example.com',
    displayName: evil,
    login: evil,
    org: 'a',
    orgDisplayName: evil,
    domain: 'example.com',
    servers: {
      imap: { host: 'imap.example.com', port: 993, socketType: 'SSL' },
      smtp: { host: 'smtp.example.com', port: 587, socketType: 'STARTTLS' },
    },
  };
  for (const doc of [thunderbirdConfig(c), autodiscoverResponse(c), appleProfile(c, 'mail.example.com')]) {
    assert.ok(!doc.includes('<script>'), doc);
    assert.ok(doc.includes('&quot;&gt;&lt;script&gt;&amp;'));
  }
  assert.match(autodiscoverResponse(c), /<Type>SMTP<\/Type>[\s\S]*<Port>587<\/Port>[\s\S]*<Encryption>TLS<\/Encryption>/);
  assert.equal(appleProfile(c, 'mail.example.com'), appleProfile(c, 'mail.example.com'), 'stable payload UUIDs');
});

test('Basic auth parsing rejects malformed headers', () => {
  const b = (s: string) => `Basic ${Buffer.from(s).toString('base64')}`;
  assert.deepEqual(parseBasicAuth(b('jdoe@x.test:p:w')), { user: 'jdoe@x.test', password: 'p:w' });
  assert.deepEqual(parseBasicAuth(b('jdoe:')), { user: 'jdoe', password: '' });
  for (const h of [
    undefined,
    '',
    'Bearer abc',
    'Basic',
    'Basic !!!',
    b(':nouser'),
    b('nocolon'),
    b('a\u0000b:p'),
    `Basic ${'A'.repeat(5000)}`,
  ]) {
    assert.equal(parseBasicAuth(h), null, String(h).slice(0, 40));
  }
});

test('the login throttle: per address in a sliding window, per (user, address) with growing delays, never per user alone', () => {
  let now = 0;
  const t = new LoginThrottle({ perIp: 6, perUser: 2, windowSeconds: 60 }, { now: () => now });
  t.fail('ip1', 'alice');
  assert.equal(t.retryAfter('ip1', 'alice'), 0);
  t.fail('ip1', 'Alice');
  assert.equal(t.retryAfter('ip1', 'alice'), 1, 'at perUser from one address: 1 s, case-insensitive');
  assert.equal(t.retryAfter('ip2', 'alice'), 0, 'the same user from another address is not held');
  now = 1_000;
  t.fail('ip1', 'alice');
  assert.equal(t.retryAfter('ip1', 'alice'), 2, 'then 2 s');
  now = 3_000;
  t.fail('ip1', 'alice');
  assert.equal(t.retryAfter('ip1', 'alice'), 4, 'then 4 s');
  t.fail('ip1', 'bob');
  t.fail('ip1', 'carol');
  assert.ok(t.retryAfter('ip1', 'dave') > 0, 'per address: six failures from ip1 stop every name');
  assert.equal(t.retryAfter('ip3', 'dave'), 0);
  now = 64_000;
  assert.equal(t.retryAfter('ip1', 'alice'), 0, 'the window slides');
  t.fail('ip9', 'erin');
  t.fail('ip9', 'erin');
  t.succeed('ip9', 'erin');
  assert.equal(t.retryAfter('ip9', 'erin'), 0, 'a success clears that pair');
});

test('request bounds: a year at one-minute intervals, backwards windows, bad parameters', () => {
  const fb = freeBusyQuery(3);
  const q = parseOr400(fb, { start: '2030-01-01T00:00:00Z', end: '2031-01-01T00:00:00Z', interval: '1', u: 'SMTP:a@b.test' });
  assert.deepEqual(q.u, ['a@b.test']);
  assert.throws(
    () => freeBusyWindow(q, 2000),
    (e: unknown) => e instanceof BadRequestError && /525,600 slots; at most 2,000/.test(e.message),
  );
  assert.throws(() => freeBusyWindow({ ...q, end: q.start }, 2000), /end must be after start/);
  const bad: Record<string, unknown>[] = [
    { start: 'yesterday', end: '2030-01-02T00:00:00Z', interval: '30', u: 'a@b.test' },
    { start: '2030-01-01T00:00:00Z', end: '2030-01-02T00:00:00Z', interval: '0', u: 'a@b.test' },
    { start: '2030-01-01T00:00:00Z', end: '2030-01-02T00:00:00Z', interval: '30', u: 'not-an-address' },
    { start: '2030-01-01T00:00:00Z', end: '2030-01-02T00:00:00Z', interval: '30', u: ['a@b.test', 'b@b.test', 'c@b.test', 'd@b.test'] },
    { start: '2030-01-01T00:00:00Z', end: '2030-01-02T00:00:00Z', interval: '30' },
    { start: '2030-01-01T00:00:00Z', end: '2030-01-02T00:00:00Z', interval: '30', u: 'a@b.test', evil: '1' },
    { start: ['2030-01-01T00:00:00Z', '2030-01-01T00:00:00Z'], end: '2030-01-02T00:00:00Z', interval: '30', u: 'a@b.test' },
  ];
  for (const b of bad) assert.throws(() => parseOr400(fb, b), BadRequestError, JSON.stringify(b));
  const gal = galQuery(25);
  assert.deepEqual(parseOr400(gal, { q: ' jo ' }), { q: 'jo', offset: 0, limit: 25 });
  for (const b of [{}, { q: '' }, { q: 'x'.repeat(65) }, { q: 'a', limit: '26' }, { q: 'a', offset: '-1' }, { q: ['a', 'b'] }]) {
    assert.throws(() => parseOr400(gal, b), /bad request: /, JSON.stringify(b));
  }
  assert.equal(normalizeAddress(' SMTP:Jose.Muller@Forest-A.test '), 'jose.muller@forest-a.test');
});
