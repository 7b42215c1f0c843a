// The relay under abuse: pipelining, oversize, header bombs, garbage, slow and vanishing
// clients, too many connections, a dead next hop, SMTPUTF8. Every case asserts the SMTP
// reply and that the relay still serves the next client; the next hop is a sink.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { relayLimitsSchema } from '../../src/config/transport.ts';
import { policyTable } from '../../src/transport/policy.ts';
import type { RelayListenerHandle, RelayOutcome } from '../../src/transport/relayListener.ts';
import { loopbackListener } from './listener.ts';
import { type Sink, startSink } from './sink.ts';
import { type RawSmtp, rawSmtp } from './smtpClient.ts';

let sink: Sink;
let out: RelayListenerHandle;
let inbound: RelayListenerHandle;
let dead: RelayListenerHandle;
const MAX = 64 * 1024;

const table = policyTable({ internalDomains: [], policy: { 'partner.test': { partner: true } } }, ['forest-a.test']);
const limits = relayLimitsSchema.parse({
  maxMessageBytes: MAX,
  maxHeaderBytes: 8 * 1024,
  maxConnections: 4,
  socketTimeoutMs: 1_500,
  nextHopTimeoutMs: 5_000,
});

function listener(name: string, direction: 'inbound' | 'outbound', hopPort: number) {
  return loopbackListener(name, direction, hopPort, { table, limits });
}

let n = 0;
const mid = (tag: string) => `${tag}.${process.pid}.${n++}@robust.test`;
const plain = (id: string, extra = '') =>
  `Message-ID: <${id}>\r\nFrom: a@forest-a.test\r\nTo: b@internet.test\r\nSubject: t\r\n${extra}\r\nbody\r\n`;

/** Connects, greets, and opens one transaction up to the 354 of DATA. */
async function openData(port: number, from = 'a@forest-a.test', to = 'b@internet.test'): Promise<RawSmtp> {
  const c = await rawSmtp(port);
  assert.match((await c.reply())!, /^220 /);
  assert.match((await c.command('EHLO client.test\r\n'))!, /^250/);
  assert.match((await c.command(`MAIL FROM:<${from}>\r\n`))!, /^250/);
  assert.match((await c.command(`RCPT TO:<${to}>\r\n`))!, /^250/);
  assert.match((await c.command('DATA\r\n'))!, /^354/);
  return c;
}

describe('relay robustness', { timeout: 120_000 }, () => {
  before(async () => {
    sink = await startSink(mkdtempSync(join(tmpdir(), 'cf-robust-sink-')));
    out = await listener('out', 'outbound', sink.port);
    inbound = await listener('in', 'inbound', sink.port);
    // A port nobody listens on: the sink's port after it is closed would race; take one and free it.
    const tmp = await startSink(mkdtempSync(join(tmpdir(), 'cf-robust-dead-')));
    const deadPort = tmp.port;
    await tmp.close();
    dead = await listener('dead', 'outbound', deadPort);
  });
  after(async () => {
    await Promise.all([out?.close(), inbound?.close(), dead?.close()]);
    await sink?.close();
  });

  it('answers a fully pipelined session (two transactions, RSET, junk) in order and forwards both', async () => {
    const c = await rawSmtp(out.port);
    assert.match((await c.reply())!, /^220 /);
    const [m1, m2] = [mid('pipe1'), mid('pipe2')];
    await c.write(
      `EHLO client.test\r\nMAIL FROM:<a@forest-a.test>\r\nRCPT TO:<b@internet.test>\r\nDATA\r\n${plain(m1)}.\r\n` +
        `RSET\r\nNOOP\r\nFOO bar\r\nMAIL FROM:<a@forest-a.test>\r\nRCPT TO:<b@internet.test>\r\nDATA\r\n${plain(m2)}.\r\nQUIT\r\n`,
    );
    const replies: string[] = [];
    for (;;) {
      const r = await c.reply();
      if (r === null) break;
      replies.push(r.split('\n').pop()!.slice(0, 3));
    }
    assert.deepEqual(replies, ['250', '250', '250', '354', '250', '250', '250', '500', '250', '250', '354', '250', '221']);
    await sink.waitFor(m1);
    await sink.waitFor(m2);
  });

  it('refuses an oversized message with 552 and keeps the session usable', async () => {
    const c = await rawSmtp(out.port);
    await c.reply();
    await c.command('EHLO client.test\r\n');
    assert.match((await c.command(`MAIL FROM:<a@forest-a.test> SIZE=${MAX * 10}\r\n`))!, /^552 /);
    await c.command('MAIL FROM:<a@forest-a.test>\r\n');
    await c.command('RCPT TO:<b@internet.test>\r\n');
    assert.match((await c.command('DATA\r\n'))!, /^354/);
    const big = mid('big');
    await c.write(`${plain(big).replace('body', 'x'.repeat(76).concat('\r\n').repeat(3000))}.\r\n`);
    assert.match((await c.reply())!, /^552 /);
    const ok = mid('after-big');
    await c.command('MAIL FROM:<a@forest-a.test>\r\n');
    await c.command('RCPT TO:<b@internet.test>\r\n');
    await c.command('DATA\r\n');
    assert.match((await c.command(`${plain(ok)}.\r\n`))!, /^250 /);
    c.end();
    await sink.waitFor(ok);
    assert.equal(sink.messages().filter((m) => m.raw.includes(big)).length, 0);
  });

  it('refuses a header bomb with 552', async () => {
    const c = await openData(out.port);
    const id = mid('bomb');
    assert.match((await c.command(`${plain(id, `X-Bomb: ${'z'.repeat(20_000)}\r\n`)}.\r\n`))!, /^552 5\.3\.4 header block too large/);
    assert.match((await c.command('NOOP\r\n'))!, /^250/);
    c.end();
  });

  it('survives garbage, binary, an over-long command line and a client that vanishes mid-DATA', async () => {
    const c = await rawSmtp(out.port);
    await c.reply();
    assert.match((await c.command('\x00\xff\xfe GARBAGE\r\n'))!, /^5\d\d /);
    const long = await c.command(`HELO ${'h'.repeat(100_000)}\r\n`);
    assert.ok(long === null || /^[45]\d\d /.test(long), String(long));
    c.end();
    const v = await openData(out.port);
    const gone = mid('vanished');
    await v.write(`Message-ID: <${gone}>\r\nSubject: half`);
    v.end();
    // The relay still answers, and nothing half-received was forwarded.
    const w = await rawSmtp(out.port);
    assert.match((await w.reply())!, /^220 /);
    assert.match((await w.command('NOOP\r\n'))!, /^250/);
    w.end();
    assert.equal(sink.messages().filter((m) => m.raw.includes(gone)).length, 0);
  });

  it('drops an idle (slow) client with 421 after the socket timeout', async () => {
    const c = await rawSmtp(out.port);
    await c.reply();
    await c.write('EH');
    const r = await c.reply(30_000);
    assert.ok(r === null || /^421 /.test(r), String(r));
    await c.closed();
  });

  it('turns away connections over the limit with 421', async () => {
    const held = await Promise.all(Array.from({ length: 4 }, () => rawSmtp(out.port)));
    for (const h of held) assert.match((await h.reply())!, /^220 /);
    const extra = await rawSmtp(out.port);
    assert.match((await extra.reply())!, /^421 /);
    for (const h of held) h.end();
    extra.end();
  });

  it('answers 451 (try later) when the next hop is down, so the sender keeps the message', async () => {
    const c = await openData(dead.port);
    assert.match((await c.command(`${plain(mid('dead'))}.\r\n`))!, /^451 4\.4\.0 next hop/);
    c.end();
  });

  it('reports a recipient the next hop refuses while the others get the message', async () => {
    const picky = await startSink(mkdtempSync(join(tmpdir(), 'cf-robust-picky-')), 0, { refuse: ['gone@internet.test'] });
    const l = await listener('picky', 'outbound', picky.port);
    const seen: RelayOutcome[] = [];
    l.on('message', (o) => seen.push(o));
    try {
      const c = await rawSmtp(l.port);
      await c.reply();
      await c.command('EHLO client.test\r\n');
      await c.command('MAIL FROM:<a@forest-a.test>\r\n');
      assert.match((await c.command('RCPT TO:<b@internet.test>\r\n'))!, /^250/);
      assert.match((await c.command('RCPT TO:<gone@internet.test>\r\n'))!, /^250/);
      await c.command('DATA\r\n');
      const id = mid('picky');
      assert.match((await c.command(`${plain(id)}.\r\n`))!, /^250 /);
      c.end();
      assert.deepEqual((await picky.waitFor(id)).recipients, ['b@internet.test']);
      const o = seen.find((x) => x.messageId === `<${id}>`);
      assert.equal(o?.result, 'forwarded');
      assert.deepEqual(
        o?.refusedByNextHop?.map((r) => r.recipient),
        ['gone@internet.test'],
      );
      assert.match(o?.refusedByNextHop?.[0]?.reply ?? '', /^550 5\.1\.1/);
    } finally {
      await l.close();
      await picky.close();
    }
  });

  it('relays SMTPUTF8 addresses and 8-bit bodies unchanged', async () => {
    const c = await rawSmtp(out.port);
    await c.reply();
    const ehlo = (await c.command('EHLO x\r\n'))!;
    assert.match(ehlo, /SMTPUTF8/);
    assert.match(ehlo, /8BITMIME/);
    assert.match((await c.command('MAIL FROM:<josé@forest-a.test> SMTPUTF8 BODY=8BITMIME\r\n'))!, /^250/);
    assert.match((await c.command('RCPT TO:<müller@internet.test>\r\n'))!, /^250/);
    await c.command('DATA\r\n');
    const id = mid('utf8');
    const raw = `Message-ID: <${id}>\r\nFrom: josé@forest-a.test\r\nTo: müller@internet.test\r\nSubject: Grüße\r\n\r\nÄÖÜ 日本語\r\n`;
    assert.match((await c.command(`${raw}.\r\n`))!, /^250/);
    c.end();
    const got = await sink.waitFor(id);
    assert.deepEqual(got.recipients, ['müller@internet.test']);
    assert.deepEqual(got.raw, Buffer.from(raw, 'utf8'));
  });

  it('strips read-receipt requests inbound with every other byte (CRLF) unchanged', async () => {
    const c = await openData(inbound.port, 'o@internet.test', 'a@forest-a.test');
    const id = mid('strip');
    const keep = `Message-ID: <${id}>\r\nFrom: o@internet.test\r\nSubject: x\r\n\tfolded\r\n`;
    const body = '\r\n..dot-stuffed line\r\nlast';
    assert.match((await c.command(`${keep}Disposition-Notification-To: o@internet.test\r\n${body}\r\n.\r\n`))!, /^250/);
    c.end();
    const got = await sink.waitFor(id);
    assert.deepEqual(got.raw, Buffer.from(`${keep}${body.replace('..', '.')}\r\n`));
  });
});
