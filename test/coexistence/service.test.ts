// The coexistence service against the lab: GAL find over both forests (auth required,
// hidden objects never returned), free/busy merged from both Radicale servers for
// events this test writes, autoconfiguration that follows a cutover done in the
// directories, bad parameters refused with 400, login failures rate-limited, TLS.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import { after, before, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { Client } from 'ldapts';
import type { LabInfo } from '../../lab/lab.ts';
import { type Coexistence, createCoexistence } from '../../src/coexistence/coexistence.ts';
import { buildServer } from '../../src/coexistence/server.ts';
import type { GalEntry, PersonFreeBusy } from '../../src/coexistence/types.ts';
import { silentLogger } from '../../src/util/logger.ts';
import { ensureLab, labSecret } from '../helpers/lab.ts';
import { labProject } from '../helpers/project.ts';

let lab: LabInfo;
let app: FastifyInstance;
let cx: Coexistence;
let userPw: string;
const basic = (user: string, pw: string) => `Basic ${Buffer.from(`${user}:${pw}`).toString('base64')}`;
let alice: string; // forest A user jmuller

before(async () => {
  lab = await ensureLab();
  userPw = labSecret(lab, 'users.pw');
  alice = basic('jmuller@forest-a.test', userPw);
  const project = labProject(lab.labDir, (t) =>
    t.replace('mailboxCacheSeconds: 60', 'mailboxCacheSeconds: 0').replace('perUser: 5', 'perUser: 3'),
  );
  cx = createCoexistence(project, silentLogger);
  app = await buildServer(project, { logger: silentLogger, coexistence: cx });
  await app.ready();
});

after(async () => {
  await app?.close();
});

test("GAL find needs a login, checked by a bind against the caller's own forest", async () => {
  const none = await app.inject({ url: '/api/galfind?q=john' });
  assert.equal(none.statusCode, 401);
  assert.match(String(none.headers['www-authenticate']), /^Basic realm=/);
  const wrong = await app.inject({ url: '/api/galfind?q=john', headers: { authorization: basic('cdubois@forest-b.test', 'wrong') } });
  assert.equal(wrong.statusCode, 401);
  const empty = await app.inject({ url: '/api/galfind?q=john', headers: { authorization: basic('cdubois@forest-b.test', '') } });
  assert.equal(empty.statusCode, 401, 'an empty password is not an anonymous bind that "succeeds"');
  const b = await app.inject({ url: '/api/galfind?q=john', headers: { authorization: basic('cdubois@forest-b.test', userPw) } });
  assert.equal(b.statusCode, 200, b.body);
  assert.doesNotMatch(`${wrong.body}${b.body}`, new RegExp(userPw));
});

test('GAL find searches both forests, never returns hidden objects or other attributes, and pages', async () => {
  const find = async (q: string, extra = '') => {
    const r = await app.inject({ url: `/api/galfind?q=${encodeURIComponent(q)}${extra}`, headers: { authorization: alice } });
    assert.equal(r.statusCode, 200, r.body);
    return r.json() as { entries: GalEntry[]; total: number; offset: number; truncated: boolean };
  };
  const smiths = await find('John Smith');
  const orgs = new Set(smiths.entries.map((e) => e.directory));
  assert.deepEqual([...orgs].sort(), ['a', 'b'], 'people of both forests');
  const jsmithA = smiths.entries.find((e) => e.email === 'john.smith@forest-a.test');
  assert.equal(jsmithA?.mailboxOrg, 'a');
  assert.equal(jsmithA?.company, 'Forest A Inc.');
  assert.ok(jsmithA?.title && jsmithA.office && jsmithA.phone);
  const allowed = [
    'displayName',
    'kind',
    'title',
    'company',
    'office',
    'phone',
    'mobile',
    'alias',
    'email',
    'directory',
    'mailboxOrg',
  ].sort();
  for (const e of smiths.entries) assert.deepEqual(Object.keys(e).sort(), allowed);

  assert.equal((await find('Hidden')).total, 0, 'msExchHideFromAddressLists=TRUE in both forests');
  assert.equal((await find('hidden.executive@forest-a.test')).total, 0);
  assert.equal((await find('Nomail')).total, 0, 'no mail, not in the GAL');
  assert.equal((await find('zoe.ang')).entries[0]?.displayName, 'Zoë Ångström', 'by address prefix');
  assert.equal(
    (await find('Ødegård')).entries.some((e) => e.email === 'soren.odegard@forest-b.test'),
    true,
    'non-ASCII prefix',
  );
  assert.ok(
    (await find('All Staff')).entries.some((e) => e.kind === 'group'),
    'groups too',
  );
  assert.equal((await find('*')).total, 0, 'a * is a character, not a wildcard');
  assert.equal((await find('*)(mail=*')).total, 0);

  const seed = await app.inject({ url: `/public/?Cmd=galfind&q=${encodeURIComponent('Zoë')}`, headers: { authorization: alice } });
  assert.equal(seed.statusCode, 200, seed.body);
  assert.match(seed.body, /<a:item>\s*<a:DN>Zoë Ångström<\/a:DN>[\s\S]*<a:EM>zoe\.angstrom@forest-a\.test<\/a:EM>\s*<a:ORG>a<\/a:ORG>/);
  assert.equal((await app.inject({ url: '/public/?Cmd=galfind&q=Zo' })).statusCode, 401);

  const p1 = await find('j', '&limit=3');
  const p2 = await find('j', '&limit=3&offset=3');
  assert.equal(p1.entries.length, 3);
  assert.equal(p1.total, p2.total);
  assert.ok(p1.total > 6);
  const names = (p: typeof p1) => p.entries.map((e) => e.email);
  assert.equal(names(p1).filter((n) => names(p2).includes(n)).length, 0, 'pages do not overlap');
});

// --- free/busy ---------------------------------------------------------------------
const CAL = 'cf-coexistence-test';
async function dav(method: string, url: string, user: string, body?: string, headers: Record<string, string> = {}): Promise<number> {
  const r = await fetch(url, {
    method,
    body,
    headers: { authorization: basic(user, userPw), ...headers },
    signal: AbortSignal.timeout(10_000),
  });
  await r.arrayBuffer();
  return r.status;
}
async function putEvents(base: string, user: string, events: Record<string, string>): Promise<void> {
  const cal = `${base}${encodeURIComponent(user)}/${CAL}/`;
  const made = await dav('MKCALENDAR', cal, user);
  assert.ok(made === 201 || made === 405 || made === 409, `MKCALENDAR ${cal}: ${made}`);
  for (const [uid, lines] of Object.entries(events)) {
    const ics = `BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//crossforest//test//EN\r\nBEGIN:VEVENT\r\nUID:${uid}\r\nDTSTAMP:20310101T000000Z\r\n${lines}END:VEVENT\r\nEND:VCALENDAR\r\n`;
    const s = await dav('PUT', `${cal}${uid}.ics`, user, ics, { 'content-type': 'text/calendar; charset=utf-8' });
    assert.ok(s === 201 || s === 204, `PUT ${uid}: ${s}`);
  }
}

test('free/busy merged from both Radicale servers at 30-minute intervals matches the events written', async () => {
  await putEvents('http://127.0.0.1:5231/', 'jmuller@forest-a.test', {
    'cf-a-busy': 'DTSTART:20310303T083000Z\r\nDTEND:20310303T093000Z\r\nSUMMARY:busy\r\n',
    'cf-a-tentative': 'DTSTART:20310303T100000Z\r\nDTEND:20310303T101500Z\r\nSTATUS:TENTATIVE\r\n',
    'cf-a-weekly': 'DTSTART:20310224T110000Z\r\nDTEND:20310224T113000Z\r\nRRULE:FREQ=WEEKLY;COUNT=4\r\n',
  });
  await putEvents('http://127.0.0.1:5232/', 'sodegard@forest-b.test', {
    'cf-b-oof': 'DTSTART:20310303T080000Z\r\nDTEND:20310303T090000Z\r\nX-MICROSOFT-CDO-BUSYSTATUS:OOF\r\n',
    'cf-b-transparent': 'DTSTART:20310303T090000Z\r\nDTEND:20310303T100000Z\r\nTRANSP:TRANSPARENT\r\n',
    'cf-b-late': 'DTSTART:20310303T113000Z\r\nDTEND:20310303T123000Z\r\n',
  });
  // The seed's URL shape, with offsets as Exchange's clients sent them.
  const url =
    '/api/freebusy?start=2031-03-03T03:00:00-05:00&end=2031-03-03T07:00:00-05:00&interval=30' +
    '&u=SMTP:jose.muller%40forest-a.test&u=SMTP:Soren.Odegard%40forest-b.test&u=SMTP:nobody%40forest-a.test';
  const r = await app.inject({ url, headers: { authorization: alice } });
  assert.equal(r.statusCode, 200, r.body);
  const people = (r.json() as { people: PersonFreeBusy[] }).people;
  assert.deepEqual(
    people.map((p) => [p.address, p.org, p.fbdata]),
    [
      ['jose.muller@forest-a.test', 'a', '02201020'],
      ['soren.odegard@forest-b.test', 'b', '33000002'],
      ['nobody@forest-a.test', null, '44444444'],
    ],
  );
  // The seed's own URL answers in Exchange 2003's XML, with the merged "All Attendees" row first.
  const seed = await app.inject({ url: url.replace('/api/freebusy?', '/public/?Cmd=freebusy&'), headers: { authorization: alice } });
  assert.equal(seed.statusCode, 200, seed.body);
  assert.deepEqual(
    [...seed.body.matchAll(/<a:fbdata>(\d+)<\/a:fbdata>/g)].map((m) => m[1]),
    ['33201022', '02201020', '33000002', '44444444'],
  );
  assert.match(seed.body, /<a:displayname>Søren Ødegård<\/a:displayname>\s*<a:email type="SMTP">soren\.odegard@forest-b\.test<\/a:email>/);
  // Radicale 3.1 answers free-busy-query with an empty multistatus: the reader fell back.
  assert.deepEqual(
    cx.readers.map((x) => x.method),
    ['calendar-query', 'calendar-query'],
  );
  const unauth = await app.inject({ url });
  assert.equal(unauth.statusCode, 401);
});

test('bad parameters are refused with 400 and a message, before any login is checked', async () => {
  const cases: [string, RegExp][] = [
    ['/api/freebusy?start=2030-01-01T00:00:00Z&end=2031-01-01T00:00:00Z&interval=1&u=a@forest-a.test', /525,600 slots; at most 2,000/],
    ['/api/freebusy?start=tomorrow&end=2031-01-01T00:00:00Z&interval=30&u=a@forest-a.test', /start must be an ISO 8601 date-time/],
    ['/api/freebusy?start=2031-01-02T00:00:00Z&end=2031-01-01T00:00:00Z&interval=30&u=a@forest-a.test', /end must be after start/],
    ['/api/freebusy?start=2031-01-01T00:00:00Z&end=2031-01-02T00:00:00Z&interval=30&u=%3Cscript%3E', /u\.0: an e-mail address/],
    ['/api/freebusy?start=2031-01-01T00:00:00Z&end=2031-01-02T00:00:00Z&interval=abc&u=a@forest-a.test', /interval/],
    ['/api/galfind?q=', /q must not be empty/],
    ['/api/galfind?q=a&limit=1000', /limit is at most 25/],
    ['/api/galfind?q=a&sort=evil', /unknown parameter sort/],
    ['/public/?Cmd=exec', /Cmd must be galfind or freebusy/],
    ['/mail/config-v1.1.xml', /emailaddress is required/],
    ['/mail/config-v1.1.xml?emailaddress=not-an-address', /an e-mail address/],
  ];
  for (const [url, message] of cases) {
    const r = await app.inject({ url });
    assert.equal(r.statusCode, 400, `${url}: ${r.body}`);
    assert.match((r.json() as { message: string }).message, message, url);
  }
  const ad = await app.inject({
    method: 'POST',
    url: '/autodiscover/autodiscover.xml',
    headers: { 'content-type': 'text/xml' },
    payload: '<!DOCTYPE x [<!ENTITY e "x">]><EMailAddress>&e;</EMailAddress>',
  });
  assert.equal(ad.statusCode, 400);
  assert.match(ad.body, /<ErrorCode>600<\/ErrorCode>/);
});

test('login failures are rate-limited per user: the right password is refused once over the limit', async () => {
  const user = 'ajanssen@forest-b.test';
  for (let i = 0; i < 3; i++) {
    const r = await app.inject({ url: '/api/galfind?q=a', headers: { authorization: basic(user, `wrong${i}`) } });
    assert.equal(r.statusCode, 401);
  }
  const r = await app.inject({ url: '/api/galfind?q=a', headers: { authorization: basic(user, userPw) } });
  assert.equal(r.statusCode, 429, r.body);
  assert.ok(Number(r.headers['retry-after']) > 0);
  assert.match((r.json() as { message: string }).message, /too many failed logins/);
});

test("an attacker's failures from one address never lock the real user out: the right password from another address gets in", async () => {
  const user = 'cdubois@forest-b.test';
  for (let i = 0; i < 8; i++) {
    const r = await app.inject({
      url: '/api/galfind?q=a',
      remoteAddress: '127.0.0.1',
      headers: { authorization: basic(user, `guess${i}`) },
    });
    assert.ok(r.statusCode === 401 || r.statusCode === 429, r.body);
  }
  const attacker = await app.inject({
    url: '/api/galfind?q=a',
    remoteAddress: '127.0.0.1',
    headers: { authorization: basic(user, userPw) },
  });
  assert.equal(attacker.statusCode, 429, 'from the guessing address even the right password waits');
  const real = await app.inject({ url: '/api/galfind?q=a', remoteAddress: '127.0.0.9', headers: { authorization: basic(user, userPw) } });
  assert.equal(real.statusCode, 200, real.body);
});

test('a password spray from one address across many names is stopped at perIp, before any bind', async () => {
  const codes: number[] = [];
  for (let i = 0; i < 25; i++) {
    const r = await app.inject({
      url: '/api/galfind?q=a',
      remoteAddress: '127.0.0.77',
      headers: { authorization: basic(`spray${i}@forest-b.test`, 'Winter2026!') },
    });
    codes.push(r.statusCode);
  }
  // perIp is 20 in this project: 20 refusals by the directory, then 429 for every further name.
  assert.deepEqual(codes.slice(0, 20), Array(20).fill(401));
  assert.deepEqual(codes.slice(20), Array(5).fill(429));
});

test('parallel wrong guesses cannot outrun the limit while their LDAP binds run', async () => {
  const user = 'bparallel@forest-b.test';
  const answers = await Promise.all(
    Array.from({ length: 10 }, (_, i) => app.inject({ url: '/api/galfind?q=a', headers: { authorization: basic(user, `guess${i}`) } })),
  );
  const codes = answers.map((r) => r.statusCode).sort();
  // perUser is 3 in this project: three binds tried, seven refused before any bind.
  assert.deepEqual(codes, [401, 401, 401, 429, 429, 429, 429, 429, 429, 429]);
});

// --- autoconfiguration across a cutover ------------------------------------------------
const PROBE = { sam: 'cfprobe', mail: 'cf.probe@forest-a.test', cn: 'Crossforest Coexistence Probe' };
function probeDn(id: 'a' | 'b'): string {
  return `cn=${PROBE.cn},ou=Atlanta,ou=Sites,dc=forest-${id},dc=test`;
}
async function admin(id: 'a' | 'b'): Promise<Client> {
  const c = new Client({ url: lab.forests[id].ldapUrl, timeout: 10_000, connectTimeout: 10_000 });
  await c.bind(lab.forests[id].adminDn, labSecret(lab, `forest-${id}-admin.pw`));
  return c;
}
async function removeProbe(): Promise<void> {
  for (const id of ['a', 'b'] as const) {
    const c = await admin(id);
    try {
      await c.del(probeDn(id)).catch(() => {});
    } finally {
      await c.unbind();
    }
  }
}
async function addProbe(): Promise<void> {
  await removeProbe();
  const base = {
    objectClass: ['top', 'person', 'organizationalPerson', 'user', 'securityPrincipal', 'crossforestMailRecipient'],
    cn: PROBE.cn,
    sn: 'Probe',
    givenName: 'Crossforest',
    displayName: PROBE.cn,
    sAMAccountName: PROBE.sam,
  };
  const a = await admin('a');
  const b = await admin('b');
  try {
    // Before cutover: a mailbox in A; in B a pre-staged mail-enabled user routing to A.
    await a.add(probeDn('a'), {
      ...base,
      userPrincipalName: `${PROBE.sam}@forest-a.test`,
      mail: PROBE.mail,
      proxyAddresses: [`SMTP:${PROBE.mail}`],
      homeMDB: lab.forests.a.mailboxStoreDn,
      userPassword: userPw,
    });
    await b.add(probeDn('b'), {
      ...base,
      userPrincipalName: `${PROBE.sam}@forest-b.test`,
      mail: 'cf.probe@forest-b.test',
      proxyAddresses: ['SMTP:cf.probe@forest-b.test', `smtp:${PROBE.mail}`],
      targetAddress: `SMTP:${PROBE.mail}`,
      userPassword: userPw,
    });
  } finally {
    await a.unbind();
    await b.unbind();
  }
}
async function cutover(): Promise<void> {
  const { Change, Attribute } = await import('ldapts');
  const a = await admin('a');
  const b = await admin('b');
  try {
    await b.modify(probeDn('b'), [
      new Change({ operation: 'add', modification: new Attribute({ type: 'homeMDB', values: [lab.forests.b.mailboxStoreDn] }) }),
      new Change({ operation: 'delete', modification: new Attribute({ type: 'targetAddress' }) }),
    ]);
    await a.modify(probeDn('a'), [
      new Change({ operation: 'delete', modification: new Attribute({ type: 'homeMDB' }) }),
      new Change({ operation: 'add', modification: new Attribute({ type: 'targetAddress', values: ['SMTP:cf.probe@forest-b.test'] }) }),
    ]);
  } finally {
    await a.unbind();
    await b.unbind();
  }
}

async function galMailboxOrg(mail: string): Promise<string | null | undefined> {
  const r = await app.inject({ url: `/api/galfind?q=${encodeURIComponent(PROBE.cn)}`, headers: { authorization: alice } });
  assert.equal(r.statusCode, 200, r.body);
  return (r.json() as { entries: GalEntry[] }).entries.find((e) => e.email === mail)?.mailboxOrg;
}

async function allThree(address: string): Promise<{ tb: string; pox: string; apple: string }> {
  const tb = await app.inject({ url: `/.well-known/autoconfig/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(address)}` });
  const tb2 = await app.inject({ url: `/mail/config-v1.1.xml?emailaddress=${encodeURIComponent(address)}` });
  const pox = await app.inject({
    method: 'POST',
    url: '/autodiscover/autodiscover.xml',
    headers: { 'content-type': 'text/xml; charset=utf-8' },
    payload: `<?xml version="1.0" encoding="utf-8"?><Autodiscover xmlns="http://schemas.microsoft.com/exchange/autodiscover/outlook/requestschema/2006"><Request><EMailAddress>${address}</EMailAddress><AcceptableResponseSchema>http://schemas.microsoft.com/exchange/autodiscover/outlook/responseschema/2006a</AcceptableResponseSchema></Request></Autodiscover>`,
  });
  const apple = await app.inject({ url: `/apple/mail.mobileconfig?emailaddress=${encodeURIComponent(address)}` });
  for (const r of [tb, tb2, pox, apple]) assert.equal(r.statusCode, 200, r.body);
  assert.equal(tb.body, tb2.body);
  assert.equal(apple.headers['content-type'], 'application/x-apple-aspen-config');
  return { tb: tb.body, pox: pox.body, apple: apple.body };
}

test('autoconfiguration points at A before cutover and at B after it', async () => {
  await addProbe();
  try {
    const before = await allThree(PROBE.mail);
    assert.match(
      before.tb,
      /<incomingServer type="imap">\s*<hostname>127\.0\.0\.1<\/hostname>\s*<port>9931<\/port>\s*<socketType>SSL<\/socketType>[\s\S]*<username>cfprobe@forest-a\.test<\/username>/,
    );
    assert.match(
      before.pox,
      /<Type>IMAP<\/Type>\s*<Server>127\.0\.0\.1<\/Server>\s*<Port>9931<\/Port>\s*<LoginName>cfprobe@forest-a\.test<\/LoginName>/,
    );
    assert.match(before.apple, /<key>IncomingMailServerPortNumber<\/key>\s*<integer>9931<\/integer>/);
    assert.equal(await galMailboxOrg(PROBE.mail), 'a');
    await cutover();
    assert.equal(await galMailboxOrg(PROBE.mail), 'b', 'GAL find shows where the mailbox is now');
    const afterCut = await allThree(PROBE.mail);
    assert.match(
      afterCut.tb,
      /<port>9932<\/port>[\s\S]*<username>cfprobe@forest-b\.test<\/username>[\s\S]*<outgoingServer type="smtp">\s*<hostname>127\.0\.0\.1<\/hostname>\s*<port>587<\/port>\s*<socketType>STARTTLS<\/socketType>/,
    );
    assert.match(afterCut.pox, /<Port>9932<\/Port>\s*<LoginName>cfprobe@forest-b\.test<\/LoginName>/);
    assert.match(
      afterCut.apple,
      /<key>IncomingMailServerPortNumber<\/key>\s*<integer>9932<\/integer>[\s\S]*<string>cfprobe@forest-b\.test<\/string>/,
    );
    assert.equal((await cx.locator.locate(PROBE.mail))?.org, 'b');
  } finally {
    await removeProbe();
  }
  const unknown = await allThree('nobody-here@forest-b.test');
  assert.match(
    unknown.tb,
    /<port>9932<\/port>[\s\S]*<username>nobody-here@forest-b\.test<\/username>/,
    "unknown address: its domain's organization",
  );
  const foreign = await app.inject({ url: '/mail/config-v1.1.xml?emailaddress=someone%40example.org' });
  assert.equal(foreign.statusCode, 404);
});

test('an unreachable server is named in the answer: a directory gives 503, a calendar server gives that person 4s', async () => {
  const project = labProject(lab.labDir, (t) =>
    t.replace('mailboxCacheSeconds: 60', 'mailboxCacheSeconds: 0').replace('url: http://127.0.0.1:5232/', 'url: http://127.0.0.1:1/'),
  );
  const broken = await buildServer(project, { logger: silentLogger });
  try {
    const url =
      '/api/freebusy?start=2031-03-03T08:00:00Z&end=2031-03-03T12:00:00Z&interval=30&u=jose.muller@forest-a.test&u=soren.odegard@forest-b.test';
    const r = await broken.inject({ url, headers: { authorization: alice } });
    assert.equal(r.statusCode, 200, r.body);
    const [a, b] = (r.json() as { people: PersonFreeBusy[] }).people;
    assert.equal(a?.fbdata, '02201020', 'forest A unaffected');
    assert.equal(b?.fbdata, '44444444');
    assert.match(b?.error ?? '', /http:\/\/127\.0\.0\.1:1\//);
  } finally {
    await broken.close();
  }
  const noDir = labProject(lab.labDir, (t) => t.replace('ldaps://127.0.0.1:6362', 'ldaps://127.0.0.1:2'));
  const down = await buildServer(noDir, { logger: silentLogger });
  try {
    const r = await down.inject({ url: '/api/galfind?q=john', headers: { authorization: alice } });
    assert.equal(r.statusCode, 503, r.body);
    assert.match((r.json() as { message: string }).message, /ldaps:\/\/127\.0\.0\.1:2 is unreachable/);
    assert.doesNotMatch(r.body, new RegExp(userPw));
  } finally {
    await down.close();
  }
});

test('the service speaks TLS with the lab certificate; without operators the dashboard is off', async () => {
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  const port = Number(new URL(address).port);
  assert.match(address, /^https:/);
  const body = await new Promise<string>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/healthz', ca: readFileSync(lab.tls.caCert), timeout: 5_000 }, (res) => {
      let data = '';
      res.on('data', (d: Buffer) => (data += d));
      res.on('end', () => resolve(data));
    });
    req.on('error', reject);
    req.end();
  });
  assert.deepEqual(JSON.parse(body), { ok: true });
  // The example has the lab's operator: /dashboard sends to the login
  // (test/coexistence/dashboard*.test.ts test the dashboard itself).
  const on = await app.inject({ url: '/dashboard' });
  assert.equal(on.statusCode, 303);
  assert.equal(on.headers.location, '/dashboard/login');
  // Without a coexistence.dashboard section the dashboard is off and says so.
  const noOperators = labProject(lab.labDir, (t) => t.replace(/^ {2}dashboard:.*\n(?: {4,}.*\n)*/m, ''));
  const off = await buildServer(noOperators, { logger: silentLogger });
  try {
    const dash = await off.inject({ url: '/dashboard' });
    assert.equal(dash.statusCode, 404);
    assert.match(dash.body, /coexistence\.dashboard\.operators/);
  } finally {
    await off.close();
  }
});
